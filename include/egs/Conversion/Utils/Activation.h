//===- Activation.h - fused epilogue activations ----------------*- C++ -*-===//
//
// The math of gather_matmul's `activation` attribute, built from arith/math
// ops on f32 scalars or vectors, shared by the host and the GPU lowering so
// both compute the same function.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_CONVERSION_UTILS_ACTIVATION_H
#define EGS_CONVERSION_UTILS_ACTIVATION_H

#include "egs/Dialect/EGS/IR/EGSOps.h"

namespace egs {
/// silu(v) = v * sigmoid(v) (also the gate half of swiglu); gelu in its tanh
/// approximation (PyTorch's approximate="tanh"); none returns v.
mlir::Value buildActivation(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value v, Activation act);
} // namespace egs

#endif
