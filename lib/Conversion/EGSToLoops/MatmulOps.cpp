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
/// One slot of an expert: expert `e`, the slot's own index prefix
/// (`[b,e,k]` or `[r]`) and the batch prefix of token-indexed tensors.
struct RoutedSlot {
  Value e;
  SmallVector<Value> rowIvs;
  SmallVector<Value> batchIvs;
};
/// A slot together with the token it is routed to.
struct RoutedRow : RoutedSlot {
  Value t;
};
} // namespace

/// Enumerates the slots of an expert-choice (`[B?,E,K]`: the leading dims of
/// `slots`) or ragged (`[R]`: dim 0 of `slots`, with `offsets : [E+1]`) op,
/// expert by expert in a fixed order. Ragged slots not covered by
/// [offsets[0], offsets[E]) are handed to `uncovered(lo, hi)`.
static void forEachSlot(LoopBuilder &lb, Value slots, Value offsets,
                        Value numExperts, bool batched,
                        function_ref<void(const RoutedSlot &)> body,
                        function_ref<void(Value, Value)> uncovered) {
  if (!offsets) {
    SmallVector<Value> sizes;
    for (int64_t d = 0, n = batched ? 3 : 2; d < n; ++d)
      sizes.push_back(lb.dim(slots, d));
    lb.forNest(sizes, [&](ValueRange ivs) {
      RoutedSlot slot;
      slot.rowIvs.assign(ivs.begin(), ivs.end());
      slot.e = ivs[batched ? 1 : 0];
      if (batched)
        slot.batchIvs.push_back(ivs[0]);
      body(slot);
    });
    return;
  }
  Value numRows = lb.dim(slots, 0);
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
    lb.forLoop(clamp(lo), clamp(hi), 1,
               [&](Value r) { body(RoutedSlot{e, {r}, {}}); });
  });
}

/// The token slot `slot` reads through `ind` (checked against `numTokens`).
static Value routedToken(LoopBuilder &lb, Value ind, const RoutedSlot &slot,
                         Value numTokens, StringRef what) {
  Value t = lb.loadIndex(ind, slot.rowIvs);
  lb.checkInRange(t, numTokens, what);
  return t;
}

/// forEachSlot over the slots of `ind`, each with its routed token.
static void forEachRoutedRow(LoopBuilder &lb, Value ind, Value offsets,
                             Value numExperts, Value numTokens, bool batched,
                             function_ref<void(const RoutedRow &)> body,
                             function_ref<void(Value, Value)> uncovered) {
  StringRef what = offsets ? "routed token index (operand 'rows')"
                           : "routed token index (operand 'ind')";
  forEachSlot(lb, ind, offsets, numExperts, batched, [&](const RoutedSlot &s) {
    RoutedRow row;
    static_cast<RoutedSlot &>(row) = s;
    row.t = routedToken(lb, ind, s, numTokens, what);
    body(row);
  }, uncovered);
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
    bool wt = op.getWTransposed();
    Value reduce = lb.dim(w, wt ? 2 : 1), cols = lb.dim(w, wt ? 1 : 2);
    bool vectorsOk = hasUnitInnerStride(y) && hasUnitInnerStride(x) &&
                     (!bias || hasUnitInnerStride(bias));
    // Activations other than none see the whole row (a gated activation
    // pairs column j with j + J/2, or 2j with 2j + 1 when interleaved), so
    // the row is staged in a scratch buffer.
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
      lb.rowTimesExpertMatrix(w, wt, row.e, reduce, cols, vectorsOk, loadA,
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
        Value v;
        if (op.isGated()) {
          bool il = op.getInterleaved();
          Value gateCol = il ? lb.mul(c, lb.idx(2)) : c;
          Value upCol = il ? lb.add(gateCol, lb.idx(1)) : lb.add(c, outCols);
          v = buildGatedActivation(rewriter, op.getLoc(),
                                   lb.loadF32(scratch, {gateCol}),
                                   lb.loadF32(scratch, {upCol}), act,
                                   op.alphaValue(), op.limitValue());
        } else {
          v = buildActivation(rewriter, op.getLoc(), lb.loadF32(scratch, {c}), act);
        }
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
    bool wt = op.getWTransposed();
    Value reduce = lb.dim(w, wt ? 2 : 1), cols = lb.dim(w, wt ? 1 : 2);
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
      lb.rowTimesExpertMatrix(w, wt, row.e, reduce, cols, vectorsOk, loadA,
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

/// dw[e] = sum over the slots s of e, in slot order, of
/// scale[s] * lhs(s)^T rhs(s), accumulated in an f32 buffer (dw itself when
/// it is f32) by one rank-1 update per slot and rounded once.
struct LowerWeightGrad : LoopLoweringPattern<WeightGradOp> {
  using LoopLoweringPattern::LoopLoweringPattern;

  void lower(WeightGradOp op, LoopBuilder &lb,
             PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value dw = op.getOut(), scale = op.getScale();
    bool batched = op.isBatched();
    Value numExperts = lb.dim(dw, 0), numI = lb.dim(dw, 1), numJ = lb.dim(dw, 2);
    auto dwType = cast<MemRefType>(dw.getType());
    Value acc = dw;
    if (!dwType.getElementType().isF32()) {
      SmallVector<Value> dynSizes;
      for (int64_t d = 0; d < 3; ++d)
        if (dwType.isDynamicDim(d))
          dynSizes.push_back(lb.dim(dw, d));
      acc = memref::AllocOp::create(
          rewriter, loc, MemRefType::get(dwType.getShape(), rewriter.getF32Type()),
          dynSizes);
    }
    lb.forNest({numExperts, numI, numJ},
               [&](ValueRange ivs) { lb.storeF32(lb.f32(0.0), acc, ivs); });
    // The index prefix of slot `s`'s row of `data`: its token when read
    // through `ind`, else the slot itself.
    auto rowOf = [&](Value data, Value ind, const RoutedSlot &s, StringRef what) {
      if (!ind)
        return SmallVector<Value>(s.rowIvs);
      SmallVector<Value> ivs(s.batchIvs);
      ivs.push_back(routedToken(lb, ind, s, lb.dim(data, batched ? 1 : 0), what));
      return ivs;
    };
    Value slots = op.getLhsInd() ? op.getLhsInd()
                  : op.getRhsInd() ? op.getRhsInd() : op.getLhs();
    forEachSlot(lb, slots, op.getExpertOffsets(), numExperts, batched,
                [&](const RoutedSlot &s) {
      SmallVector<Value> lhsRow = rowOf(op.getLhs(), op.getLhsInd(), s,
                                        "routed row index (operand 'lhs_ind')");
      SmallVector<Value> rhsRow = rowOf(op.getRhs(), op.getRhsInd(), s,
                                        "routed row index (operand 'rhs_ind')");
      Value sv = scale ? lb.loadF32(scale, s.rowIvs) : Value();
      lb.forLoop(numI, [&](Value i) {
        SmallVector<Value> li(lhsRow);
        li.push_back(i);
        Value a = lb.loadF32(op.getLhs(), li);
        if (sv)
          a = lb.mulF(a, sv);
        lb.forLoop(numJ, [&](Value j) {
          SmallVector<Value> rj(rhsRow);
          rj.push_back(j);
          Value sum = lb.fma(a, lb.loadF32(op.getRhs(), rj),
                             lb.loadF32(acc, {s.e, i, j}));
          lb.storeF32(sum, acc, {s.e, i, j});
        });
      });
    }, [](Value, Value) {});
    if (acc != dw) {
      copyAll(lb, acc, dw);
      memref::DeallocOp::create(rewriter, loc, acc);
    }
  }
};
} // namespace

void egs::populateEGSMatmulToLoopsPatterns(
    RewritePatternSet &patterns, const LoopLoweringOptions &options) {
  patterns.add<LowerGatherMatmul, LowerMatmulScatter, LowerWeightGrad>(patterns.getContext(),
                                                      options);
}
