//===- EGSOps.h - egs operations and attributes -----------------*- C++ -*-===//
#ifndef EGS_DIALECT_EGS_IR_EGSOPS_H
#define EGS_DIALECT_EGS_IR_EGSOPS_H

#include "egs/Dialect/EGS/IR/EGSDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "egs/Dialect/EGS/IR/EGSEnums.h.inc"
#define GET_ATTRDEF_CLASSES
#include "egs/Dialect/EGS/IR/EGSAttrs.h.inc"
#define GET_OP_CLASSES
#include "egs/Dialect/EGS/IR/EGSOps.h.inc"

#endif // EGS_DIALECT_EGS_IR_EGSOPS_H
