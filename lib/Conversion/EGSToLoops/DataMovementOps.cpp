//===- DataMovementOps.cpp - host lowering of gather / scatter_add / concat ===//
#include "LoopBuilder.h"
#include "egs/Conversion/EGSToLoops/EGSToLoops.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace egs;

namespace {
/// take(x, ind, axis) with `batchDims` shared leading dims, as index math:
/// maps an index of the gathered value to the index of x it reads.
struct TakeIndexing {
  Value ind;
  int64_t axis, batchDims;
  /// Names the index operand in index errors.
  std::string what;

  int64_t indexDims() const {
    return cast<MemRefType>(ind.getType()).getRank() - batchDims;
  }

  /// Sizes of the gathered value (before any permutation).
  SmallVector<Value> gatheredSizes(LoopBuilder &lb, Value x) const {
    SmallVector<Value> sizes;
    int64_t xRank = cast<MemRefType>(x.getType()).getRank();
    for (int64_t d = 0; d < axis; ++d)
      sizes.push_back(lb.dim(x, d));
    for (int64_t d = batchDims; d < batchDims + indexDims(); ++d)
      sizes.push_back(lb.dim(ind, d));
    for (int64_t d = axis + 1; d < xRank; ++d)
      sizes.push_back(lb.dim(x, d));
    return sizes;
  }

  /// The index of x (or init) that gathered index `g` reads (or updates).
  SmallVector<Value> sourceIndex(LoopBuilder &lb, Value x, ValueRange g) const {
    SmallVector<Value> indIvs(g.begin(), g.begin() + batchDims);
    indIvs.append(g.begin() + axis, g.begin() + axis + indexDims());
    Value v = lb.loadIndex(ind, indIvs);
    lb.checkInRange(v, lb.dim(x, axis), what);
    SmallVector<Value> xIvs(g.begin(), g.begin() + axis);
    xIvs.push_back(v);
    xIvs.append(g.begin() + axis + indexDims(), g.end());
    return xIvs;
  }
};
} // namespace

/// Result index -> gathered index through `perm` (result dim d is g's dim
/// perm[d]).
static SmallVector<Value> unpermute(ValueRange r,
                                    std::optional<ArrayRef<int64_t>> perm) {
  SmallVector<Value> g(r.begin(), r.end());
  if (perm)
    for (auto [d, p] : llvm::enumerate(*perm))
      g[p] = r[d];
  return g;
}

namespace {
struct LowerGather : LoopLoweringPattern<GatherOp> {
  using LoopLoweringPattern::LoopLoweringPattern;

  void lower(GatherOp op, LoopBuilder &lb,
             PatternRewriter &rewriter) const override {
    TakeIndexing take{op.getInd(), op.getAxisAttr().getInt(),
                      op.getBatchDimsAttr().getInt(),
                      "gather index (operand 'ind')"};
    auto perm = op.getPermutation();
    Value x = op.getX(), out = op.getOut();
    lb.forNest(permuteGathered<Value>(take.gatheredSizes(lb, x), perm), [&](ValueRange r) {
      SmallVector<Value> src = take.sourceIndex(lb, x, unpermute(r, perm));
      Value v = memref::LoadOp::create(rewriter, op.getLoc(), x, src);
      memref::StoreOp::create(rewriter, op.getLoc(), v, out, r);
    });
  }
};

struct LowerScatterAdd : LoopLoweringPattern<ScatterAddOp> {
  using LoopLoweringPattern::LoopLoweringPattern;

  void lower(ScatterAddOp op, LoopBuilder &lb,
             PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    TakeIndexing take{op.getInd(), op.getAxisAttr().getInt(),
                      op.getBatchDimsAttr().getInt(),
                      "scatter index (operand 'ind')"};
    Value src = op.getSrc(), out = op.getInit();
    bool isFloat = isa<FloatType>(cast<MemRefType>(out.getType()).getElementType());
    lb.forNest(take.gatheredSizes(lb, out), [&](ValueRange g) {
      SmallVector<Value> dst = take.sourceIndex(lb, out, g);
      Value a = memref::LoadOp::create(rewriter, loc, out, dst);
      Value v = memref::LoadOp::create(rewriter, loc, src, g);
      Value sum = isFloat ? arith::AddFOp::create(rewriter, loc, a, v).getResult()
                          : arith::AddIOp::create(rewriter, loc, a, v).getResult();
      memref::StoreOp::create(rewriter, loc, sum, out, dst);
    });
  }
};

struct LowerGatherConcat : LoopLoweringPattern<GatherConcatOp> {
  using LoopLoweringPattern::LoopLoweringPattern;

  void lower(GatherConcatOp op, LoopBuilder &lb,
             PatternRewriter &rewriter) const override {
    int64_t dim = op.getDimAttr().getInt();
    Value out = op.getOut();
    Value offset = lb.idx(0);
    for (auto [s, x] : llvm::enumerate(op.getSources())) {
      TakeIndexing take{op.getIndices()[s], op.getAxisAttr().getInt(), 0,
                        "gather index (index operand #" + std::to_string(s) + ")"};
      std::optional<ArrayRef<int64_t>> perm;
      if (ArrayAttr perms = op.getPermutationsAttr())
        perm = cast<DenseI64ArrayAttr>(perms[s]).asArrayRef();
      SmallVector<Value> sizes = permuteGathered<Value>(take.gatheredSizes(lb, x), perm);
      lb.forNest(sizes, [&](ValueRange r) {
        SmallVector<Value> src = take.sourceIndex(lb, x, unpermute(r, perm));
        Value v = memref::LoadOp::create(rewriter, op.getLoc(), x, src);
        SmallVector<Value> dst(r.begin(), r.end());
        dst[dim] = lb.add(dst[dim], offset);
        memref::StoreOp::create(rewriter, op.getLoc(), v, out, dst);
      });
      offset = lb.add(offset, sizes[dim]);
    }
  }
};
} // namespace

void egs::populateEGSDataMovementToLoopsPatterns(
    RewritePatternSet &patterns, const LoopLoweringOptions &options) {
  patterns.add<LowerGather, LowerScatterAdd, LowerGatherConcat>(
      patterns.getContext(), options);
}
