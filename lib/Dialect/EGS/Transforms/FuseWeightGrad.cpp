//===- FuseWeightGrad.cpp - gathered outer-product sum -> weight_grad -----===//
//
// The weight gradient frontends emit for the backward of a gather +
// contraction (dW = x[ind]^T dy per expert) or of a contraction + scatter
// (dW = y^T dout[ind]) becomes egs.weight_grad in the expert-choice form:
//
//   dw[e,a,b] = sum over (bb,) k of L[(bb,) e,k,a] * R[(bb,) e,k,b]
//
// where L and/or R is a row gather (x[ind[e,k], :] or x[bb, ind[bb,e,k], :]),
// seen through at most one transpose (linalg.batch_matmul takes L as
// [E,A,K]) and at most one per-slot scale [B?,E,K] multiplied into one side.
// A following rounding of the f32 accumulator to the data type folds into
// dw's element type (epilogue family).
//
//===----------------------------------------------------------------------===//
#include "FusionForms.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"
#include "egs/Dialect/EGS/IR/ElementTypes.h"

using namespace mlir;
using namespace egs;
using namespace egs::fusion;

namespace {
/// The contraction's output loops dw[e, a, b] and its reduction loops.
struct GradLoops {
  int64_t e, a, b;
  SmallVector<int64_t> reductions;

  bool isReduction(int64_t d) const {
    return llvm::is_contained(reductions, d);
  }
  /// True when `dims` (loop dim per operand dim) read [(bb,) e, k, a|b].
  bool fits(ArrayRef<int64_t> dims) const {
    int64_t n = dims.size();
    if (n != 3 && n != 4)
      return false;
    if (n == 4 && (!isReduction(dims[0]) || dims[0] == dims[2]))
      return false;
    return dims[n - 3] == e && isReduction(dims[n - 2]) &&
           (dims[n - 1] == a || dims[n - 1] == b);
  }
};

/// One input of the contraction traced back to what weight_grad reads.
struct GradSide {
  Value data; ///< x of the gather, or the tensor read in slot order
  std::optional<GatherForm> gather;
  SmallVector<int64_t> dims; ///< loop dim of each dim of [B?,E,K,W]
  std::optional<BroadcastEpilogue> scale;
  SmallVector<int64_t> scaleDims;  ///< the loop dims the scale spans
  SmallVector<Operation *> peeled; ///< transpose / scale ops, outermost first
};
} // namespace

/// Peels `gen` off `side` when it is `v * s` with s spanning all but one dim
/// of v (a per-slot scale once checkSides has seen which dims), for v one of
/// its operands; `side` then continues at v.
static bool peelSlotScale(linalg::GenericOp gen, GradSide &side,
                          const MatchContext &ctx) {
  SmallVector<Value> candidates = llvm::to_vector(gen.getDpsInputs());
  candidates.push_back(gen.getDpsInitOperand(0)->get());
  for (Value v : candidates) {
    FailureOr<BroadcastEpilogue> mul =
        matchBroadcastBinary(gen, v, ElementwiseKind::Mul, ctx);
    if (failed(mul) || mul->vDims.size() + 1 != side.dims.size())
      continue;
    side.scale = *mul;
    for (int64_t d : mul->vDims)
      side.scaleDims.push_back(side.dims[d]);
    side.peeled.push_back(gen);
    side.data = v;
    return true;
  }
  return false;
}

/// Follows contraction input `v` (read at loop dims `dims`) through one
/// transpose and one slot scale (each only where it is v's only user) to a
/// row gather, or stops at a tensor read in slot order.
static GradSide traceSide(Value v, ArrayRef<int64_t> dims,
                          const GradLoops &loops, const MatchContext &ctx) {
  GradSide side{v, std::nullopt, SmallVector<int64_t>(dims), {}, {}, {}};
  bool transposed = false;
  while (Operation *def = side.data.getDefiningOp()) {
    if (!side.data.hasOneUse())
      break;
    // Looked through only where the operand is not in the layout already.
    if (!transposed && !loops.fits(side.dims) &&
        isa<linalg::TransposeOp, linalg::GenericOp>(def)) {
      FailureOr<TransposeForm> t = matchTranspose(def, ctx);
      if (succeeded(t)) {
        SmallVector<int64_t> inner(side.dims.size());
        for (auto [d, p] : llvm::enumerate(t->permutation))
          inner[p] = side.dims[d];
        side.dims = inner;
        side.data = t->input;
        side.peeled.push_back(def);
        transposed = true;
        continue;
      }
    }
    auto gen = dyn_cast<linalg::GenericOp>(def);
    if (!side.scale && gen && peelSlotScale(gen, side, ctx))
      continue;
    break;
  }
  if (!side.data.getDefiningOp())
    return side;
  FailureOr<GatherForm> g = matchGather(side.data, ctx);
  if (failed(g) || g->xRank() + 1 != static_cast<int64_t>(side.dims.size()) ||
      g->axis != g->xRank() - 2 || g->batchDims != g->axis)
    return side; // not a row gather of x [T,I] / [B,T,I]: read in slot order
  // Result dim d of a permuted gather is dim permutation[d] of the plain one.
  if (!g->permutation.empty()) {
    SmallVector<int64_t> plain(side.dims.size());
    for (auto [d, p] : llvm::enumerate(g->permutation))
      plain[p] = side.dims[d];
    side.dims = plain;
  }
  side.gather = *g;
  side.data = g->x;
  return side;
}

/// The loop roles of `op` as a weight-gradient contraction, checking
/// everything but its operands' producers.
static FailureOr<GradLoops> matchGradContraction(linalg::LinalgOp op,
                                                 const MatchContext &ctx) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op->getNumResults() != 1)
    return ctx.fail("not a two-operand linalg contraction on tensors");
  if (!isMultiplyAccumulate(*op.getBlock()))
    return ctx.fail("the body is not a multiply-accumulate");
  Type dataType = getElementTypeOrSelf(op.getDpsInputOperand(0)->get());
  if (getElementTypeOrSelf(op.getDpsInputOperand(1)->get()) != dataType ||
      !isComputeElementType(dataType))
    return ctx.fail("operands must share one element type among f32, f16 "
                    "and bf16");
  if (!getElementTypeOrSelf(op->getResult(0)).isF32())
    return ctx.fail("the contraction accumulates in a type other than f32 "
                    "(egs accumulates in f32 and rounds once)");
  if (!isZeroTensor(op.getDpsInitOperand(0)->get()))
    return ctx.fail("the contraction accumulates into a non-zero init");
  FailureOr<SmallVector<int64_t>> out =
      resultDims(op.getMatchingIndexingMap(op.getDpsInitOperand(0)));
  if (failed(out) || out->size() != 3)
    return ctx.fail("the result is not dw [E,A,B] indexed by loop dims");
  GradLoops loops{(*out)[0], (*out)[1], (*out)[2], {}};
  for (auto [i, it] : llvm::enumerate(op.getIteratorTypesArray()))
    if (it == utils::IteratorType::reduction)
      loops.reductions.push_back(i);
  int64_t numRed = loops.reductions.size();
  if ((numRed != 1 && numRed != 2) || op.getNumLoops() != numRed + 3)
    return ctx.fail("the loops are not (e, a, b) parallel and k (or bb, k) "
                    "reduced");
  return loops;
}

/// Checks that both sides read [(bb,) e, k, *] in one slot order with lhs
/// ending in a and rhs in b, and that the scale spans exactly those slots.
static LogicalResult checkSides(const GradSide &lhs, const GradSide &rhs,
                                const GradLoops &loops,
                                const MatchContext &ctx) {
  if (!loops.fits(lhs.dims) || !loops.fits(rhs.dims) ||
      lhs.dims.back() != loops.a || rhs.dims.back() != loops.b ||
      !llvm::equal(ArrayRef(lhs.dims).drop_back(),
                   ArrayRef(rhs.dims).drop_back()) ||
      lhs.dims.size() != loops.reductions.size() + 2)
    return ctx.fail("the maps are not [(b,) e, k, i] x [(b,) e, k, j] -> "
                    "[e, i, j] with k (and b) reduced");
  if (!lhs.gather && !rhs.gather)
    return ctx.fail("neither operand is a row gather used only by the "
                    "contraction");
  if (lhs.scale && rhs.scale)
    return ctx.fail("both operands are scaled (weight_grad has one scale)");
  const GradSide &scaled = lhs.scale ? lhs : rhs;
  if (scaled.scale) {
    if (!llvm::equal(scaled.scaleDims, ArrayRef(lhs.dims).drop_back()))
      return ctx.fail("the scale does not span the slots [B?,E,K] in order");
    if (!getElementTypeOrSelf(scaled.scale->operand).isF32())
      return ctx.fail("the scale multiplies in a narrow type (the product is "
                      "rounded before the contraction; egs does not round "
                      "it)");
  }
  if (lhs.gather && rhs.gather) {
    int64_t tokenDim = lhs.gather->axis;
    auto lt = cast<ShapedType>(lhs.data.getType());
    auto rt = cast<ShapedType>(rhs.data.getType());
    if (!lt.isDynamicDim(tokenDim) && !rt.isDynamicDim(tokenDim) &&
        lt.getDimSize(tokenDim) != rt.getDimSize(tokenDim))
      return ctx.fail("the two gathered tensors have different token counts "
                      "(weight_grad shares T between its sides)");
  }
  return success();
}

static std::string describe(const GradSide &lhs, const GradSide &rhs,
                            StringRef contractionName) {
  const GatherForm &g = lhs.gather ? *lhs.gather : *rhs.gather;
  StringRef gathered = lhs.gather && rhs.gather ? "lhs and rhs"
                       : lhs.gather             ? "lhs"
                                                : "rhs";
  return ("fused gather (" + g.form + ") + " + contractionName +
          " into egs.weight_grad (expert-choice" +
          (lhs.dims.size() == 4 ? ", batched" : "") + ", " + gathered +
          " gathered" + (lhs.scale || rhs.scale ? ", scale" : "") + ")")
      .str();
}

namespace {
struct FuseGatherIntoWeightGrad : OpInterfaceRewritePattern<linalg::LinalgOp> {
  FuseGatherIntoWeightGrad(MLIRContext *ctx, const FusionOptions &options)
      : OpInterfaceRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(linalg::LinalgOp op,
                                PatternRewriter &rewriter) const override {
    MatchContext ctx{rewriter, op};
    FailureOr<GradLoops> loops = matchGradContraction(op, ctx);
    if (failed(loops))
      return failure();
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    FailureOr<SmallVector<int64_t>> d0 = resultDims(maps[0]),
                                    d1 = resultDims(maps[1]);
    if (failed(d0) || failed(d1) || d0->empty() || d1->empty())
      return ctx.fail("indexing maps are not projections of the loops");
    GradSide in0 = traceSide(op.getDpsInputOperand(0)->get(), *d0, *loops, ctx);
    GradSide in1 = traceSide(op.getDpsInputOperand(1)->get(), *d1, *loops, ctx);
    // lhs is the side carrying dw's second dim (einsum operands in any order).
    bool swapped = in1.dims.back() == loops->a;
    const GradSide &lhs = swapped ? in1 : in0, &rhs = swapped ? in0 : in1;
    if (failed(checkSides(lhs, rhs, *loops, ctx)))
      return failure();

    Type dataType = getElementTypeOrSelf(op.getDpsInputOperand(0)->get());
    linalg::GenericOp rounding;
    if (options.epilogue && !dataType.isF32()) {
      FailureOr<linalg::GenericOp> round =
          matchTruncation(op->getResult(0), dataType, ctx);
      if (succeeded(round))
        rounding = *round;
    }
    Operation *last = rounding ? rounding.getOperation() : op.getOperation();
    std::string what = describe(lhs, rhs, op->getName().getStringRef());

    rewriter.setInsertionPoint(last);
    Location loc = op.getLoc();
    auto index = [&](const GradSide &s) {
      return s.gather ? buildGatherIndex(rewriter, loc, *s.gather) : Value();
    };
    Value lhsInd = index(lhs), rhsInd = index(rhs);
    const GradSide &scaled = lhs.scale ? lhs : rhs;
    Value scale = scaled.scale
                      ? dropUnitDims(rewriter, loc, scaled.scale->operand,
                                     scaled.scale->unitDims)
                      : Value();
    auto fused = WeightGradOp::create(
        rewriter, loc, last->getResult(0).getType(), lhs.data, lhsInd, rhs.data,
        rhsInd, /*expert_offsets=*/Value(), scale, /*out=*/Value(), /*tile=*/TileConfigAttr());
    rewriter.replaceOp(last, fused.getDw());
    if (rounding)
      rewriter.eraseOp(op);
    for (const GradSide *s : {&lhs, &rhs}) {
      for (Operation *dead : s->peeled)
        rewriter.eraseOp(dead);
      if (s->gather)
        rewriter.eraseOp(s->gather->op);
    }
    reportFusion(options, FusionFamily::WeightGrad, fused, what);
    if (rounding)
      reportFusion(options, FusionFamily::Epilogue, fused,
                   "folded rounding to the data type into egs.weight_grad");
    return success();
  }

  FusionOptions options;
};
} // namespace

void egs::populateFuseWeightGradPatterns(RewritePatternSet &patterns,
                                         const FusionOptions &options) {
  if (options.weightGrad)
    patterns.add<FuseGatherIntoWeightGrad>(patterns.getContext(), options);
}
