//===- RoutingOps.cpp - host lowering of permute / route / unpermute ------===//
//
// permute and route share one counting sort: count the rows of each expert,
// prefix-sum the counts, then walk (token, choice) in order handing out the
// next slot of each expert. Slots past R (num_out_tokens) are dropped (-1).
//
//===----------------------------------------------------------------------===//
#include "LoopBuilder.h"
#include "egs/Conversion/EGSToLoops/EGSToLoops.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace egs;

/// Runs the counting sort over `ids : [T,k]` into `rowIdMap : [k*T]` and
/// `offsets : [E+1]`, keeping `numRows` slots; calls `place(t, slot)` for
/// every kept (token, choice).
static void sortByExpert(LoopBuilder &lb, Value ids, int64_t numExperts,
                         Value numRows, Value rowIdMap, Value offsets,
                         function_ref<void(Value t, Value j, Value slot)> place) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  Value numTokens = lb.dim(ids, 0), topK = lb.dim(ids, 1);
  Value numE = lb.idx(numExperts);
  auto i32Buf = MemRefType::get({numExperts + 1}, b.getI32Type());
  Value next = memref::AllocOp::create(b, loc, i32Buf);
  lb.forLoop(lb.idx(numExperts + 1), [&](Value e) {
    memref::StoreOp::create(b, loc, lb.i32(0), next, ValueRange{e});
  });
  // next[e+1] = rows of expert e, then prefix sums: next[e] = first slot of e.
  lb.forNest({numTokens, topK}, [&](ValueRange tj) {
    Value e = lb.loadIndex(ids, tj);
    lb.checkInRange(e, numE, "expert id (operand 'topk_ids')");
    Value slot = lb.add(e, lb.idx(1));
    Value c = memref::LoadOp::create(b, loc, next, ValueRange{slot});
    memref::StoreOp::create(b, loc, arith::AddIOp::create(b, loc, c, lb.i32(1)),
                            next, ValueRange{slot});
  });
  lb.forLoop(lb.idx(1), lb.idx(numExperts + 1), 1, [&](Value e) {
    Value prev = memref::LoadOp::create(b, loc, next, ValueRange{lb.sub(e, lb.idx(1))});
    Value cur = memref::LoadOp::create(b, loc, next, ValueRange{e});
    memref::StoreOp::create(b, loc, arith::AddIOp::create(b, loc, prev, cur), next,
                            ValueRange{e});
  });
  Value keep = arith::IndexCastOp::create(b, loc, b.getI32Type(), numRows);
  lb.forLoop(lb.idx(numExperts + 1), [&](Value e) {
    Value v = memref::LoadOp::create(b, loc, next, ValueRange{e});
    memref::StoreOp::create(b, loc, arith::MinSIOp::create(b, loc, v, keep),
                            offsets, ValueRange{e});
  });
  lb.forNest({numTokens, topK}, [&](ValueRange tj) {
    Value t = tj[0], j = tj[1];
    Value e = lb.loadIndex(ids, tj);
    // Unchecked out-of-range ids are clamped so that nothing is written
    // outside the scratch buffer.
    e = lb.minS(arith::MaxSIOp::create(b, loc, e, lb.idx(0)), lb.idx(numExperts - 1));
    Value s32 = memref::LoadOp::create(b, loc, next, ValueRange{e});
    memref::StoreOp::create(b, loc, arith::AddIOp::create(b, loc, s32, lb.i32(1)),
                            next, ValueRange{e});
    Value kept = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, s32, keep);
    Value mapped = arith::SelectOp::create(b, loc, kept, s32, lb.i32(-1));
    memref::StoreOp::create(b, loc, mapped, rowIdMap,
                            ValueRange{lb.add(lb.mul(j, numTokens), t)});
    lb.ifThen(kept, [&] {
      place(t, j, arith::IndexCastOp::create(b, loc, b.getIndexType(), s32));
    });
  });
  memref::DeallocOp::create(b, loc, next);
}

namespace {
struct LowerPermute : LoopLoweringPattern<PermuteOp> {
  using LoopLoweringPattern::LoopLoweringPattern;

  void lower(PermuteOp op, LoopBuilder &lb,
             PatternRewriter &rewriter) const override {
    Value x = op.getX(), sorted = op.getOuts()[0];
    Value hidden = lb.dim(x, 1);
    // Rows past T*k (num_out_tokens larger than T*k) receive no token.
    Value numRows = lb.dim(sorted, 0);
    Value filled = lb.minS(lb.mul(lb.dim(op.getTopkIds(), 0),
                                    lb.dim(op.getTopkIds(), 1)), numRows);
    lb.zeroRows(sorted, filled, numRows);
    sortByExpert(lb, op.getTopkIds(), op.getNumExpertsAttr().getInt(),
                 lb.dim(sorted, 0), op.getOuts()[1], op.getOuts()[2],
                 [&](Value t, Value, Value slot) {
                   lb.forLoop(hidden, [&](Value h) {
                     Value v = memref::LoadOp::create(rewriter, op.getLoc(), x,
                                                      ValueRange{t, h});
                     memref::StoreOp::create(rewriter, op.getLoc(), v, sorted,
                                             ValueRange{slot, h});
                   });
                 });
  }
};

struct LowerRoute : LoopLoweringPattern<RouteOp> {
  using LoopLoweringPattern::LoopLoweringPattern;

  void lower(RouteOp op, LoopBuilder &lb,
             PatternRewriter &rewriter) const override {
    Value rows = op.getOuts()[0], weights = op.getWeights();
    sortByExpert(lb, op.getTopkIds(), op.getNumExpertsAttr().getInt(),
                 lb.dim(rows, 0), op.getOuts()[2], op.getOuts()[1],
                 [&](Value t, Value j, Value slot) {
                   Value t32 = arith::IndexCastOp::create(
                       rewriter, op.getLoc(), rewriter.getI32Type(), t);
                   memref::StoreOp::create(rewriter, op.getLoc(), t32, rows,
                                           ValueRange{slot});
                   if (weights)
                     lb.storeF32(lb.loadF32(weights, {t, j}), op.getOuts()[3],
                                 {slot});
                 });
  }
};

struct LowerUnpermute : LoopLoweringPattern<UnpermuteOp> {
  using LoopLoweringPattern::LoopLoweringPattern;

  void lower(UnpermuteOp op, LoopBuilder &lb,
             PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value xs = op.getXSorted(), map = op.getRowIdMap(), probs = op.getProbs(),
          out = op.getOut();
    Value numTokens = lb.dim(probs, 0), topK = lb.dim(probs, 1);
    Value hidden = lb.dim(out, 1), numRows = lb.dim(xs, 0);
    lb.forNest({numTokens, hidden}, [&](ValueRange th) {
      Value t = th[0], h = th[1];
      auto loop = scf::ForOp::create(rewriter, loc, lb.idx(0), topK, lb.idx(1),
                                     ValueRange{lb.f32(0.0)});
      {
        OpBuilder::InsertionGuard g(rewriter);
        rewriter.setInsertionPointToStart(loop.getBody());
        Value j = loop.getInductionVar();
        Value acc = loop.getRegionIterArgs()[0];
        Value row = lb.loadIndex(map, {lb.add(lb.mul(j, numTokens), t)});
        Value dropped = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::slt,
                                              row, lb.idx(0));
        auto ifOp = scf::IfOp::create(rewriter, loc, TypeRange{rewriter.getF32Type()},
                                      dropped, /*withElseRegion=*/true);
        rewriter.setInsertionPointToStart(ifOp.thenBlock());
        scf::YieldOp::create(rewriter, loc, acc);
        rewriter.setInsertionPointToStart(ifOp.elseBlock());
        lb.checkInRange(row, numRows, "row of x_sorted (operand 'row_id_map')");
        Value safeRow = lb.minS(row, lb.sub(numRows, lb.idx(1)));
        Value term = arith::MulFOp::create(rewriter, loc, lb.loadF32(probs, {t, j}),
                                           lb.loadF32(xs, {safeRow, h}));
        scf::YieldOp::create(rewriter, loc,
                             ValueRange{arith::AddFOp::create(rewriter, loc, acc, term)});
        rewriter.setInsertionPointAfter(ifOp);
        scf::YieldOp::create(rewriter, loc, ifOp.getResults());
      }
      lb.storeF32(loop.getResult(0), out, {t, h});
    });
  }
};
/// Sinkhorn-Knopp: p holds K = exp(logits - row max) while r [T] and c [E]
/// are iterated (each sum in index order), then p = r * K * c.
struct LowerSinkhorn : LoopLoweringPattern<SinkhornOp> {
  using LoopLoweringPattern::LoopLoweringPattern;

  void lower(SinkhornOp op, LoopBuilder &lb,
             PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value logits = op.getLogits(), p = op.getOut();
    Value numT = lb.dim(logits, 0), numE = lb.dim(logits, 1);
    Type f32 = rewriter.getF32Type();
    auto vec = [&](Value n) {
      return memref::AllocOp::create(rewriter, loc,
                                     MemRefType::get({ShapedType::kDynamic}, f32),
                                     ValueRange{n});
    };
    Value r = vec(numT), c = vec(numE);
    auto div = [&](Value x, Value y) {
      return arith::DivFOp::create(rewriter, loc, x, y).getResult();
    };
    auto asF32 = [&](Value n) {
      return arith::SIToFPOp::create(rewriter, loc, f32, lb.toI64(n)).getResult();
    };
    Value eps = lb.f32(1e-8);
    Value invT = div(lb.f32(1.0), asF32(numT));
    Value invE = div(lb.f32(1.0), asF32(numE));
    Value tol = arith::ConstantOp::create(rewriter, loc, op.getToleranceAttr());
    Value one = lb.idx(1), zero = lb.idx(0);
    // K, with each row's maximum subtracted.
    lb.forLoop(numT, [&](Value t) {
      Value m = lb.forLoop(zero, numE, one,
                           {lb.f32(-std::numeric_limits<float>::infinity())},
                           [&](Value e, ValueRange acc) -> SmallVector<Value> {
                             return {arith::MaximumFOp::create(
                                 rewriter, loc, acc[0], lb.loadF32(logits, {t, e}))};
                           })[0];
      lb.forLoop(numE, [&](Value e) {
        Value z = arith::SubFOp::create(rewriter, loc, lb.loadF32(logits, {t, e}), m);
        lb.storeF32(math::ExpOp::create(rewriter, loc, z), p, {t, e});
      });
    });
    lb.forLoop(numE, [&](Value e) { lb.storeF32(lb.f32(1.0), c, {e}); });
    Value iterations = lb.idx(op.getIterations());
    lb.forLoop(zero, iterations, one, {lb.boolean(false)},
               [&](Value, ValueRange done) -> SmallVector<Value> {
      return lb.ifElse(
          done[0], {rewriter.getI1Type()},
          [&]() -> SmallVector<Value> { return {lb.boolean(true)}; },
          [&]() -> SmallVector<Value> {
            lb.forLoop(numT, [&](Value t) {
              Value s = lb.forLoop(zero, numE, one, {lb.f32(0.0)},
                                   [&](Value e, ValueRange acc) -> SmallVector<Value> {
                                     return {lb.fma(lb.loadF32(p, {t, e}),
                                                    lb.loadF32(c, {e}), acc[0])};
                                   })[0];
              lb.storeF32(div(invT, lb.addF(s, eps)), r, {t});
            });
            Value delta = lb.forLoop(zero, numE, one, {lb.f32(0.0)},
                                     [&](Value e, ValueRange d) -> SmallVector<Value> {
              Value s = lb.forLoop(zero, numT, one, {lb.f32(0.0)},
                                   [&](Value t, ValueRange acc) -> SmallVector<Value> {
                                     return {lb.fma(lb.loadF32(r, {t}),
                                                    lb.loadF32(p, {t, e}), acc[0])};
                                   })[0];
              Value cn = div(invE, lb.addF(s, eps));
              Value diff = math::AbsFOp::create(
                  rewriter, loc,
                  arith::SubFOp::create(rewriter, loc, cn, lb.loadF32(c, {e})));
              lb.storeF32(cn, c, {e});
              return {lb.addF(d[0], diff)};
            })[0];
            Value mean = lb.mulF(delta, invE);
            return {arith::CmpFOp::create(rewriter, loc, arith::CmpFPredicate::OLE,
                                          mean, tol)};
          });
    });
    lb.forNest({numT, numE}, [&](ValueRange te) {
      Value k = lb.loadF32(p, {te[0], te[1]});
      Value v = lb.mulF(lb.mulF(lb.loadF32(r, {te[0]}), k), lb.loadF32(c, {te[1]}));
      lb.storeF32(v, p, {te[0], te[1]});
    });
    memref::DeallocOp::create(rewriter, loc, r);
    memref::DeallocOp::create(rewriter, loc, c);
  }
};
} // namespace

void egs::populateEGSRoutingToLoopsPatterns(
    RewritePatternSet &patterns, const LoopLoweringOptions &options) {
  patterns.add<LowerPermute, LowerRoute, LowerUnpermute, LowerSinkhorn>(patterns.getContext(),
                                                         options);
}
