//===- CheckInput.cpp - reject input upstream pipeline passes crash on ----===//
#include "egs/Conversion/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"

namespace egs {
using namespace mlir;
#define GEN_PASS_DEF_CHECKINPUT
#include "egs/Conversion/Passes.h.inc"
} // namespace egs

using namespace mlir;

/// The value of `v` when it is a constant integer or folds to one from
/// constants (a few levels deep: what the pipeline's first canonicalizer
/// would see).
static std::optional<int64_t> foldedInt(Value v, unsigned depth = 4) {
  APInt value;
  if (matchPattern(v, m_ConstantInt(&value)))
    return value.getSExtValue();
  Operation *def = v.getDefiningOp();
  if (!def || depth == 0 || def->getNumResults() != 1 ||
      def->getNumRegions() != 0)
    return std::nullopt;
  Builder b(v.getContext());
  SmallVector<Attribute> operands;
  for (Value operand : def->getOperands()) {
    std::optional<int64_t> c = foldedInt(operand, depth - 1);
    if (!c || !operand.getType().isIntOrIndex())
      return std::nullopt;
    operands.push_back(b.getIntegerAttr(operand.getType(), *c));
  }
  SmallVector<OpFoldResult> results;
  if (failed(def->fold(operands, results)) || results.size() != 1)
    return std::nullopt;
  if (auto attr = dyn_cast_if_present<IntegerAttr>(
          dyn_cast_if_present<Attribute>(results[0])))
    return attr.getValue().getSExtValue();
  return std::nullopt;
}

/// A dim op's constant index must name a dimension of its source.
static LogicalResult checkDimIndex(Operation *op, Value source, Value index) {
  std::optional<int64_t> i = foldedInt(index);
  if (!i)
    return success();
  auto shaped = dyn_cast<ShapedType>(source.getType());
  bool ranked = shaped && shaped.hasRank();
  if (*i >= 0 && (!ranked || *i < shaped.getRank()))
    return success();
  InFlightDiagnostic diag = op->emitOpError()
                            << "index " << *i << " is out of range";
  if (ranked)
    diag << " [0, " << shaped.getRank() << ")";
  return diag << " for " << source.getType();
}

namespace {
struct CheckInputPass : public egs::impl::CheckInputBase<CheckInputPass> {
  using Base::Base;

  void runOnOperation() override {
    bool ok = true;
    getOperation().walk([&](Operation *op) {
      if (auto dim = dyn_cast<memref::DimOp>(op))
        ok &= succeeded(checkDimIndex(op, dim.getSource(), dim.getIndex()));
      else if (auto dim = dyn_cast<tensor::DimOp>(op))
        ok &= succeeded(checkDimIndex(op, dim.getSource(), dim.getIndex()));
    });
    if (!ok)
      signalPassFailure();
  }
};
} // namespace
