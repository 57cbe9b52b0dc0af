//===- Passes.h - egs dialect transforms ------------------------*- C++ -*-===//
#ifndef EGS_DIALECT_EGS_TRANSFORMS_PASSES_H
#define EGS_DIALECT_EGS_TRANSFORMS_PASSES_H

#include "egs/Dialect/EGS/Transforms/Fusion.h"
#include "mlir/Pass/Pass.h"

namespace egs {
#define GEN_PASS_DECL
#include "egs/Dialect/EGS/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "egs/Dialect/EGS/Transforms/Passes.h.inc"
} // namespace egs

#endif // EGS_DIALECT_EGS_TRANSFORMS_PASSES_H
