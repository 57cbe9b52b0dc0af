//===- EGSOpInterfaces.cpp - memory effects and result shapes -------------===//
//
// The tensor form of every egs op is pure. The memref form reads its inputs,
// writes its outs(...) buffers and reads and writes `init` (accumulating ops).
// reifyResultShapes gives the dynamic result sizes that bufferization needs
// to allocate outputs.
//
//===----------------------------------------------------------------------===//
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace egs;

using MemoryEffectList =
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>;

namespace {
enum class Access { Read, Write, ReadWrite };
} // namespace

/// `accessOf` classifies each memref operand; tensor-form ops have no effects.
static void addBufferEffects(Operation *op, MemoryEffectList &effects,
                             function_ref<Access(OpOperand &)> accessOf) {
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    Access a = accessOf(operand);
    if (a != Access::Write)
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
    if (a != Access::Read)
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

/// Operands from `firstOut` on are outputs; the one at `init` (if any) is
/// accumulated in place.
static void addEffects(Operation *op, MemoryEffectList &effects,
                       unsigned firstOut, int init = -1) {
  addBufferEffects(op, effects, [&](OpOperand &o) {
    if (static_cast<int>(o.getOperandNumber()) == init)
      return Access::ReadWrite;
    return o.getOperandNumber() >= firstOut ? Access::Write : Access::Read;
  });
}

void GatherMatmulOp::getEffects(MemoryEffectList &effects) {
  unsigned firstOut = getNumOperands() - (getOut() ? 1 : 0);
  addEffects(*this, effects, firstOut);
}
void MatmulScatterOp::getEffects(MemoryEffectList &effects) {
  addEffects(*this, effects, getNumOperands(),
             getInitMutable().getOperandNumber());
}
void WeightGradOp::getEffects(MemoryEffectList &effects) {
  addEffects(*this, effects, getNumOperands() - (getOut() ? 1 : 0));
}
void PermuteOp::getEffects(MemoryEffectList &effects) {
  addEffects(*this, effects, getNumOperands() - getOuts().size());
}
void UnpermuteOp::getEffects(MemoryEffectList &effects) {
  addEffects(*this, effects, getNumOperands() - (getOut() ? 1 : 0));
}
void SinkhornOp::getEffects(MemoryEffectList &effects) {
  addEffects(*this, effects, getNumOperands() - (getOut() ? 1 : 0));
}
void RouteOp::getEffects(MemoryEffectList &effects) {
  addEffects(*this, effects, getNumOperands() - getOuts().size());
}
void GatherOp::getEffects(MemoryEffectList &effects) {
  addEffects(*this, effects, getNumOperands() - (getOut() ? 1 : 0));
}
void ScatterAddOp::getEffects(MemoryEffectList &effects) {
  addEffects(*this, effects, getNumOperands(),
             getInitMutable().getOperandNumber());
}
void GatherConcatOp::getEffects(MemoryEffectList &effects) {
  addEffects(*this, effects, getNumOperands() - (getOut() ? 1 : 0));
}

//===----------------------------------------------------------------------===//
// Result shapes
//===----------------------------------------------------------------------===//

namespace {
/// Builds index arithmetic on OpFoldResults, folding constants.
struct DimBuilder {
  OpBuilder &b;
  Location loc;

  OpFoldResult dim(Value v, int64_t d) {
    if (isa<MemRefType>(v.getType()))
      return memref::getMixedSize(b, loc, v, d);
    return tensor::getMixedSize(b, loc, v, d);
  }
  OpFoldResult cst(int64_t v) { return b.getIndexAttr(v); }
  Value value(OpFoldResult r) {
    return getValueOrCreateConstantIndexOp(b, loc, r);
  }
  OpFoldResult mul(OpFoldResult x, OpFoldResult y) {
    auto cx = getConstantIntValue(x), cy = getConstantIntValue(y);
    if (cx && cy)
      return cst(*cx * *cy);
    return arith::MulIOp::create(b, loc, value(x), value(y)).getResult();
  }
  OpFoldResult add(OpFoldResult x, OpFoldResult y) {
    auto cx = getConstantIntValue(x), cy = getConstantIntValue(y);
    if (cx && cy)
      return cst(*cx + *cy);
    return arith::AddIOp::create(b, loc, value(x), value(y)).getResult();
  }
  OpFoldResult half(OpFoldResult x) {
    if (auto c = getConstantIntValue(x))
      return cst(*c / 2);
    return arith::DivUIOp::create(b, loc, value(x), value(cst(2))).getResult();
  }
  /// All dims of `v`.
  SmallVector<OpFoldResult> dims(Value v) {
    SmallVector<OpFoldResult> r;
    for (int64_t d = 0, e = cast<ShapedType>(v.getType()).getRank(); d < e; ++d)
      r.push_back(dim(v, d));
    return r;
  }
};
} // namespace

/// Static sizes of the declared result type win over computed ones.
static void preferStatic(Type type, SmallVectorImpl<OpFoldResult> &sizes,
                         OpBuilder &b) {
  auto shaped = cast<ShapedType>(type);
  for (int64_t d = 0; d < shaped.getRank(); ++d)
    if (!shaped.isDynamicDim(d))
      sizes[d] = b.getIndexAttr(shaped.getDimSize(d));
}

static LogicalResult finish(Operation *op, OpBuilder &b,
                            ReifiedRankedShapedTypeDims &out,
                            SmallVector<SmallVector<OpFoldResult>> shapes) {
  for (auto [r, shape] : llvm::zip(op->getResults(), shapes)) {
    preferStatic(r.getType(), shape, b);
    out.push_back(shape);
  }
  return success();
}

LogicalResult
GatherMatmulOp::reifyResultShapes(OpBuilder &b,
                                  ReifiedRankedShapedTypeDims &out) {
  DimBuilder d{b, getLoc()};
  OpFoldResult j = d.dim(getW(), getWTransposed() ? 1 : 2);
  if (isGated())
    j = d.half(j);
  SmallVector<OpFoldResult> shape = d.dims(getInd());
  shape.push_back(j);
  return finish(*this, b, out, {shape});
}

LogicalResult
MatmulScatterOp::reifyResultShapes(OpBuilder &b,
                                   ReifiedRankedShapedTypeDims &out) {
  DimBuilder d{b, getLoc()};
  return finish(*this, b, out, {d.dims(getInit())});
}

/// dw [E,I,J]: E from expert_offsets (E+1 entries) or from the slot-order
/// index [B?,E,K] or lhs [B?,E,K,I]; I and J from the rows of lhs and rhs.
LogicalResult WeightGradOp::reifyResultShapes(OpBuilder &b,
                                              ReifiedRankedShapedTypeDims &out) {
  DimBuilder d{b, getLoc()};
  OpFoldResult e;
  if (isRagged()) {
    e = d.add(d.dim(getExpertOffsets(), 0), d.cst(-1));
  } else {
    Value slots = getLhsInd() ? getLhsInd() : getRhsInd() ? getRhsInd() : getLhs();
    e = d.dim(slots, isBatched() ? 1 : 0);
  }
  auto width = [&](Value v) {
    return d.dim(v, cast<ShapedType>(v.getType()).getRank() - 1);
  };
  return finish(*this, b, out, {{e, width(getLhs()), width(getRhs())}});
}

LogicalResult PermuteOp::reifyResultShapes(OpBuilder &b,
                                           ReifiedRankedShapedTypeDims &out) {
  DimBuilder d{b, getLoc()};
  OpFoldResult kt = d.mul(d.dim(getTopkIds(), 0), d.dim(getTopkIds(), 1));
  OpFoldResult r = kt;
  if (IntegerAttr n = getNumOutTokensAttr())
    r = d.cst(n.getInt());
  return finish(*this, b, out,
                {{r, d.dim(getX(), 1)},
                 {kt},
                 {d.cst(getNumExpertsAttr().getInt() + 1)}});
}

LogicalResult UnpermuteOp::reifyResultShapes(OpBuilder &b,
                                             ReifiedRankedShapedTypeDims &out) {
  DimBuilder d{b, getLoc()};
  return finish(*this, b, out, {{d.dim(getProbs(), 0), d.dim(getXSorted(), 1)}});
}

LogicalResult SinkhornOp::reifyResultShapes(OpBuilder &b,
                                            ReifiedRankedShapedTypeDims &out) {
  DimBuilder d{b, getLoc()};
  return finish(*this, b, out, {{d.dim(getLogits(), 0), d.dim(getLogits(), 1)}});
}

LogicalResult RouteOp::reifyResultShapes(OpBuilder &b,
                                         ReifiedRankedShapedTypeDims &out) {
  DimBuilder d{b, getLoc()};
  OpFoldResult kt = d.mul(d.dim(getTopkIds(), 0), d.dim(getTopkIds(), 1));
  SmallVector<SmallVector<OpFoldResult>> shapes{
      {kt}, {d.cst(getNumExpertsAttr().getInt() + 1)}, {kt}};
  if (getWeights())
    shapes.push_back({kt});
  return finish(*this, b, out, shapes);
}

/// take(x, ind, axis) sizes, then permuted.
static SmallVector<OpFoldResult>
gatheredSizes(DimBuilder &d, Value x, Value ind, int64_t axis,
              int64_t batchDims, std::optional<ArrayRef<int64_t>> perm) {
  SmallVector<OpFoldResult> xs = d.dims(x), is = d.dims(ind);
  SmallVector<OpFoldResult> g(xs.begin(), xs.begin() + axis);
  g.append(is.begin() + batchDims, is.end());
  g.append(xs.begin() + axis + 1, xs.end());
  return permuteGathered<OpFoldResult>(g, perm);
}

LogicalResult GatherOp::reifyResultShapes(OpBuilder &b,
                                          ReifiedRankedShapedTypeDims &out) {
  DimBuilder d{b, getLoc()};
  return finish(*this, b, out,
                {gatheredSizes(d, getX(), getInd(), getAxisAttr().getInt(),
                               getBatchDimsAttr().getInt(), getPermutation())});
}

LogicalResult ScatterAddOp::reifyResultShapes(OpBuilder &b,
                                              ReifiedRankedShapedTypeDims &out) {
  DimBuilder d{b, getLoc()};
  return finish(*this, b, out, {d.dims(getInit())});
}

LogicalResult
GatherConcatOp::reifyResultShapes(OpBuilder &b,
                                  ReifiedRankedShapedTypeDims &out) {
  DimBuilder d{b, getLoc()};
  int64_t dim = getDimAttr().getInt();
  SmallVector<OpFoldResult> total;
  for (auto [s, src] : llvm::enumerate(getSources())) {
    std::optional<ArrayRef<int64_t>> perm;
    if (ArrayAttr perms = getPermutationsAttr())
      perm = cast<DenseI64ArrayAttr>(perms[s]).asArrayRef();
    SmallVector<OpFoldResult> piece = gatheredSizes(
        d, src, getIndices()[s], getAxisAttr().getInt(), 0, perm);
    if (s == 0)
      total = piece;
    else
      total[dim] = d.add(total[dim], piece[dim]);
  }
  return finish(*this, b, out, {total});
}
