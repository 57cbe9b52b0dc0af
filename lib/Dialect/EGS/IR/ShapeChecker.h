//===- ShapeChecker.h - symbolic shape checks for egs verifiers -*- C++ -*-===//
//
// Every egs op states its operand layouts with dimension symbols (x : [B,T,I],
// w : [E,I,J], ...). The checker binds each symbol to the first static size
// it sees and reports any later disagreement naming both operands, so all
// verifiers produce the same kind of message.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_DIALECT_EGS_IR_SHAPECHECKER_H
#define EGS_LIB_DIALECT_EGS_IR_SHAPECHECKER_H

#include "egs/Dialect/EGS/IR/ShapeConstraints.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/StringMap.h"

namespace egs::detail {
using namespace mlir;
using egs::ShapeConstraint;

class ShapeChecker {
public:
  explicit ShapeChecker(Operation *op);

  /// Checks that `type` has one dimension per symbol in `layout` (e.g.
  /// "B,T,I") and binds or checks each static size. A symbol "E+1" relates to
  /// "E"; a symbol "-" is unconstrained.
  LogicalResult check(Type type, StringRef name, StringRef layout);
  /// As above for an operand or outs buffer; when constraints are being
  /// collected (getShapeConstraints) also records the dims it ties together.
  LogicalResult check(Value value, StringRef name, StringRef layout);

  /// Binds `sym` to a value that comes from an attribute.
  LogicalResult bind(StringRef sym, int64_t value, StringRef from);

  /// The bound size of `sym`, or ShapedType::kDynamic.
  int64_t get(StringRef sym) const;

  /// Element type checks; `name` names the operand in the message.
  LogicalResult isDataType(Type type, StringRef name);
  LogicalResult isIndexType(Type type, StringRef name);
  /// Data that gather, gather_concat and permute move (isMovableElementType).
  LogicalResult isMovableType(Type type, StringRef name);
  /// Data that scatter_add accumulates (isAccumulableElementType).
  LogicalResult isAccumulableType(Type type, StringRef name);

private:
  struct Binding {
    int64_t value;
    std::string source;
  };
  LogicalResult bindDim(StringRef sym, int64_t size, StringRef name,
                        unsigned dim, StringRef layout);
  /// First operand dim (or attribute value) seen for each symbol.
  struct Anchor {
    Value value;
    unsigned dim;
    int64_t offset;
    int64_t constant;
    std::string name;
  };
  void record(StringRef sym, Anchor here);
  Operation *op;
  llvm::StringMap<Binding> bound;
  llvm::StringMap<Anchor> anchors;
  SmallVectorImpl<ShapeConstraint> *recorded;
};

/// "[B,T,I]" for messages.
std::string layoutString(StringRef layout);

} // namespace egs::detail

#endif // EGS_LIB_DIALECT_EGS_IR_SHAPECHECKER_H
