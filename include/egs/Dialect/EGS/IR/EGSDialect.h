//===- EGSDialect.h - the egs dialect ---------------------------*- C++ -*-===//
#ifndef EGS_DIALECT_EGS_IR_EGSDIALECT_H
#define EGS_DIALECT_EGS_IR_EGSDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "egs/Dialect/EGS/IR/EGSOpsDialect.h.inc"

#endif // EGS_DIALECT_EGS_IR_EGSDIALECT_H
