//===- MatmulOps.cpp - host lowering of gather_matmul / matmul_scatter ----===//
//
// Both ops are, per routed row, a row times an expert matrix: gather_matmul
// reads the row from x at the routed token and writes it to y; matmul_scatter
// reads y's row and adds it, scaled, into the routed token of out. The loops
// over rows differ only in how rows and experts are enumerated (expert-choice
// index tensor, or expert_offsets ranges), which forEachRoutedRow hides.
//
//===----------------------------------------------------------------------===//
#include "LoopBuilder.h"
#include "egs/Conversion/EGSToLoops/EGSToLoops.h"
#include "egs/Conversion/Utils/Activation.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace egs;

namespace {
/// One routed row: expert `e`, token `t`, the row's own index prefix
/// (`[b,e,k]` or `[r]`) and the batch prefix of token-indexed tensors.
struct RoutedRow {
  Value e, t;
  SmallVector<Value> rowIvs;
  SmallVector<Value> batchIvs;
};
} // namespace

/// Enumerates the rows of an expert-choice (`ind : [B?,E,K]`) or ragged
/// (`rows : [R]` + `offsets : [E+1]`) op. Ragged rows not covered by
/// [offsets[0], offsets[E]) are handed to `uncovered(lo, hi)`.
static void forEachRoutedRow(LoopBuilder &lb, Value ind, Value offsets,
                             Value numExperts, Value numTokens, bool batched,
                             function_ref<void(const RoutedRow &)> body,
                             function_ref<void(Value, Value)> uncovered) {
  if (!offsets) {
    SmallVector<Value> sizes;
    for (int64_t d = 0, n = cast<MemRefType>(ind.getType()).getRank(); d < n; ++d)
      sizes.push_back(lb.dim(ind, d));
    lb.forNest(sizes, [&](ValueRange ivs) {
      RoutedRow row;
      row.rowIvs.assign(ivs.begin(), ivs.end());
      row.e = ivs[batched ? 1 : 0];
      if (batched)
        row.batchIvs.push_back(ivs[0]);
      row.t = lb.loadIndex(ind, ivs);
      lb.checkInRange(row.t, numTokens, "routed token index (operand 'ind')");
      body(row);
    });
    return;
  }
  Value numRows = lb.dim(ind, 0);
  Value zero = lb.idx(0);
  Value first = lb.loadIndex(offsets, {zero});
  Value last = lb.loadIndex(offsets, {numExperts});
  lb.checkBetween(first, zero, numRows, "expert_offsets[0]");
  lb.checkBetween(last, first, numRows, "expert_offsets[E]");
  // Clamping keeps even unchecked, malformed offsets inside the buffers.
  auto clamp = [&](Value v) {
    return lb.minS(arith::MaxSIOp::create(lb.builder(), lb.getLoc(), v, zero),
                     numRows);
  };
  uncovered(zero, clamp(first));
  uncovered(clamp(last), numRows);
  lb.forLoop(numExperts, [&](Value e) {
    Value lo = lb.loadIndex(offsets, {e});
    Value hi = lb.loadIndex(offsets, {lb.add(e, lb.idx(1))});
    lb.checkBetween(hi, lo, numRows, "expert_offsets (must be non-decreasing)");
    lb.forLoop(clamp(lo), clamp(hi), 1, [&](Value r) {
      RoutedRow row{e, lb.loadIndex(ind, {r}), {r}, {}};
      lb.checkInRange(row.t, numTokens, "routed token index (operand 'rows')");
      body(row);
    });
  });
}

/// Copies every element of `from` into `to`, converting through f32.
static void copyAll(LoopBuilder &lb, Value from, Value to) {
  SmallVector<Value> sizes;
  for (int64_t d = 0, n = cast<MemRefType>(from.getType()).getRank(); d < n; ++d)
    sizes.push_back(lb.dim(from, d));
  lb.forNest(sizes, [&](ValueRange ivs) {
    lb.storeF32(lb.loadF32(from, ivs), to, ivs);
  });
}

/// `buffer` itself when it holds f32, else a fresh f32 copy of it.
static Value stageAsF32(LoopBuilder &lb, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  if (type.getElementType().isF32())
    return buffer;
  SmallVector<Value> dynSizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynSizes.push_back(lb.dim(buffer, d));
  auto f32Type = MemRefType::get(type.getShape(), lb.builder().getF32Type());
  Value staged = memref::AllocOp::create(lb.builder(), lb.getLoc(), f32Type, dynSizes);
  copyAll(lb, buffer, staged);
  return staged;
}

namespace {
struct LowerGatherMatmul : LoopLoweringPattern<GatherMatmulOp> {
  using LoopLoweringPattern::LoopLoweringPattern;

  void lower(GatherMatmulOp op, LoopBuilder &lb,
             PatternRewriter &rewriter) const override {
    Value x = op.getX(), w = op.getW(), y = op.getOut(), bias = op.getBias();
    Activation act = op.getActivation().value_or(Activation::none);
    bool batched = op.isBatched();
    Value numTokens = lb.dim(x, batched ? 1 : 0);
    Value reduce = lb.dim(w, 1), cols = lb.dim(w, 2);
    bool vectorsOk = hasUnitInnerStride(y) && hasUnitInnerStride(x) &&
                     (!bias || hasUnitInnerStride(bias));
    // Activations other than none see the whole row (swiglu pairs column j
    // with j + J/2), so the row is staged in a scratch buffer.
    Value scratch;
    if (act != Activation::none) {
      scratch = memref::AllocOp::create(
          rewriter, op.getLoc(),
          MemRefType::get({ShapedType::kDynamic}, rewriter.getF32Type()),
          ValueRange{cols});
    }
    auto rowBody = [&](const RoutedRow &row) {
      auto loadA = [&](Value i) {
        SmallVector<Value> ivs(row.batchIvs);
        ivs.append({row.t, i});
        return lb.loadF32(x, ivs);
      };
      auto yIvs = [&](Value c) {
        SmallVector<Value> ivs(row.rowIvs);
        ivs.push_back(c);
        return ivs;
      };
      lb.rowTimesExpertMatrix(w, row.e, reduce, cols, vectorsOk, loadA,
                              [&](Value c, Value acc) {
        if (bias)
          acc = arith::AddFOp::create(rewriter, op.getLoc(), acc,
                                      lb.loadLikeF32(acc, bias, {row.e, c}));
        if (scratch)
          return lb.storeLikeF32(acc, scratch, {c});
        lb.storeLikeF32(acc, y, yIvs(c));
      });
      if (!scratch)
        return;
      Value outCols = lb.dim(y, cast<MemRefType>(y.getType()).getRank() - 1);
      lb.forLoop(outCols, [&](Value c) {
        Value v = buildActivation(rewriter, op.getLoc(), lb.loadF32(scratch, {c}), act);
        if (act == Activation::swiglu)
          v = arith::MulFOp::create(rewriter, op.getLoc(), v,
                                    lb.loadF32(scratch, {lb.add(c, outCols)}));
        lb.storeF32(v, y, yIvs(c));
      });
    };
    Value numExperts = lb.dim(w, 0);
    forEachRoutedRow(lb, op.getInd(), op.getExpertOffsets(), numExperts,
                     numTokens, batched, rowBody,
                     [&](Value lo, Value hi) { lb.zeroRows(y, lo, hi); });
    if (scratch)
      memref::DeallocOp::create(rewriter, op.getLoc(), scratch);
  }
};

struct LowerMatmulScatter : LoopLoweringPattern<MatmulScatterOp> {
  using LoopLoweringPattern::LoopLoweringPattern;

  void lower(MatmulScatterOp op, LoopBuilder &lb,
             PatternRewriter &rewriter) const override {
    Value y = op.getY(), w = op.getW(), init = op.getInit(), scale = op.getScale();
    bool batched = op.isBatched();
    // The sum is accumulated in f32 and rounded once: 16-bit outputs get an
    // f32 staging copy of init.
    Value out = stageAsF32(lb, init);
    Value numTokens = lb.dim(out, batched ? 1 : 0);
    Value reduce = lb.dim(w, 1), cols = lb.dim(w, 2);
    bool vectorsOk = hasUnitInnerStride(out);
    // Rows are visited in a fixed order, so the host result is always
    // deterministic.
    auto rowBody = [&](const RoutedRow &row) {
      Value s = scale ? lb.loadF32(scale, row.rowIvs) : Value();
      auto loadA = [&](Value j) {
        SmallVector<Value> ivs(row.rowIvs);
        ivs.push_back(j);
        return lb.loadF32(y, ivs);
      };
      lb.rowTimesExpertMatrix(w, row.e, reduce, cols, vectorsOk, loadA,
                              [&](Value c, Value acc) {
        SmallVector<Value> outIvs(row.batchIvs);
        outIvs.append({row.t, c});
        if (s) {
          Value sv = s;
          if (auto vt = dyn_cast<VectorType>(acc.getType()))
            sv = vector::BroadcastOp::create(rewriter, op.getLoc(), vt, s);
          acc = arith::MulFOp::create(rewriter, op.getLoc(), acc, sv);
        }
        Value sum = arith::AddFOp::create(rewriter, op.getLoc(),
                                          lb.loadLikeF32(acc, out, outIvs), acc);
        lb.storeLikeF32(sum, out, outIvs);
      });
    };
    forEachRoutedRow(lb, op.getInd(), op.getExpertOffsets(), lb.dim(w, 0),
                     numTokens, batched, rowBody, [](Value, Value) {});
    if (out != init) {
      copyAll(lb, out, init);
      memref::DeallocOp::create(rewriter, op.getLoc(), out);
    }
  }
};
} // namespace

void egs::populateEGSMatmulToLoopsPatterns(
    RewritePatternSet &patterns, const LoopLoweringOptions &options) {
  patterns.add<LowerGatherMatmul, LowerMatmulScatter>(patterns.getContext(),
                                                      options);
}
