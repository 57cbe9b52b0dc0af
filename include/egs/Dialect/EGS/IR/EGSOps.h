//===- EGSOps.h - egs operations and attributes -----------------*- C++ -*-===//
#ifndef EGS_DIALECT_EGS_IR_EGSOPS_H
#define EGS_DIALECT_EGS_IR_EGSOPS_H

#include "egs/Dialect/EGS/IR/EGSDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
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

namespace egs {
/// The sizes (or indices) of a gathered value in the layout of a
/// `permutation` attribute: result dim d is `gathered[perm[d]]`; unchanged
/// without one. Shared by the verifiers, result-shape reification and the
/// lowerings.
template <typename T>
llvm::SmallVector<T> permuteGathered(llvm::ArrayRef<T> gathered,
                                     std::optional<llvm::ArrayRef<int64_t>> perm) {
  if (!perm || perm->empty())
    return llvm::SmallVector<T>(gathered);
  return mlir::applyPermutation(gathered, *perm);
}
} // namespace egs

#endif // EGS_DIALECT_EGS_IR_EGSOPS_H
