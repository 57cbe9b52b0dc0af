//===- ShapeConstraints.h - dim agreements an egs op requires ---*- C++ -*-===//
//
// The verifiers state each op's operand layouts once (x : [B,T,I],
// w : [E,I,J], ...). getShapeConstraints replays an op's verifier and returns
// every dimension the layouts tie together, so the lowerings can check at
// run time what the verifier could not see in dynamic dims.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_DIALECT_EGS_IR_SHAPECONSTRAINTS_H
#define EGS_DIALECT_EGS_IR_SHAPECONSTRAINTS_H

#include "mlir/IR/Operation.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace egs {

/// size(lhs, lhsDim) must equal size(rhs, rhsDim) + offset, or, when `rhs`
/// is null, `constant` (a size from an attribute or a static product).
struct ShapeConstraint {
  mlir::Value lhs;
  unsigned lhsDim = 0;
  std::string lhsName;
  mlir::Value rhs;
  unsigned rhsDim = 0;
  int64_t offset = 0;
  int64_t constant = 0;
  std::string rhsName;

  /// True when the verifier already decided it (both sides static).
  bool isStatic() const;
};

/// The dim agreements the verifier of `op` (an egs op) requires between its
/// operands and outs buffers, static or not. `op` must verify.
llvm::SmallVector<ShapeConstraint> getShapeConstraints(mlir::Operation *op);

} // namespace egs

#endif // EGS_DIALECT_EGS_IR_SHAPECONSTRAINTS_H
