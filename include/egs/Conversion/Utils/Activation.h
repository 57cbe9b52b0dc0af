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
/// silu(v) = v * sigmoid(v); gelu in its tanh approximation (PyTorch's
/// approximate="tanh"); none returns v. Not for the gated activations.
mlir::Value buildActivation(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value v, Activation act);

/// The gated activations from a gate and an up value: swiglu
/// silu(gate) * up; clamped_swiglu g * sigmoid(alpha * g) * (u + 1) with
/// g = min(gate, limit), u = clamp(up, -limit, limit).
mlir::Value buildGatedActivation(mlir::OpBuilder &b, mlir::Location loc,
                                 mlir::Value gate, mlir::Value up,
                                 Activation act, float alpha, float limit);
} // namespace egs

#endif
