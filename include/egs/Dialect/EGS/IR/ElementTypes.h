//===- ElementTypes.h - element types every egs lowering supports -*- C++ -*-===//
//
// The element types each egs op accepts, stated once: the verifiers accept
// exactly these, the fusion patterns fire only on them, and both lowerings
// (host loops and GPU kernels) handle every one of them.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_DIALECT_EGS_IR_ELEMENTTYPES_H
#define EGS_DIALECT_EGS_IR_ELEMENTTYPES_H

#include "mlir/IR/Types.h"
#include "llvm/ADT/StringRef.h"

namespace egs {

/// Data of the products and weighted sums (gather_matmul, matmul_scatter,
/// weight_grad, unpermute, route's weights): f32, f16, bf16.
bool isComputeElementType(mlir::Type t);
/// "f32, f16 or bf16", for messages.
llvm::StringRef computeElementTypesString();

/// Data that is only moved (gather, gather_concat, permute): a signless
/// integer or float of 8, 16, 32 or 64 bits (i8..i64, f8 types, f16, bf16,
/// f32, f64). Complex, vector, index, sub-byte and f80/f128 elements are not.
bool isMovableElementType(mlir::Type t);
llvm::StringRef movableElementTypesString();

/// Data that scatter_add accumulates (atomically on the GPU): f16, bf16, f32,
/// f64, i32, i64.
bool isAccumulableElementType(mlir::Type t);
llvm::StringRef accumulableElementTypesString();

} // namespace egs

#endif // EGS_DIALECT_EGS_IR_ELEMENTTYPES_H
