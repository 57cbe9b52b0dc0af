//===- FuseRouting.cpp - token-choice routing into the ragged matmul ops --===//
//
// The grouped-GEMM way of writing a token-choice MoE layer copies tokens
// into expert order (egs.permute), runs grouped GEMMs (ragged ops with
// identity rows) and combines (egs.unpermute). Both copies fold away:
// - permute + grouped gather_matmul over x_sorted -> ragged gather_matmul
//   reading x in place through the routed rows of egs.route;
// - grouped matmul (matmul_scatter into zeros, or gather_matmul) +
//   unpermute -> ragged matmul_scatter into the tokens, scaled per row by
//   the routing probability of that (token, choice).
// Routing with dropped or padding rows (num_out_tokens other than T*k) is
// declined: egs.route has neither.
//
//===----------------------------------------------------------------------===//
#include "FusionForms.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace egs;
using namespace egs::fusion;

namespace {
/// The routing op (egs.permute or egs.route) behind a row_id_map /
/// expert_offsets pair, with the two values it produced.
struct Routing {
  Operation *op = nullptr;
  Value topkIds, rowIdMap, expertOffsets;
  int64_t numExperts = 0;
};
} // namespace

/// The routing op producing `expertOffsets`, if it keeps every row.
static FailureOr<Routing> matchRouting(Value expertOffsets,
                                       const MatchContext &ctx) {
  Routing r;
  if (auto permute = expertOffsets.getDefiningOp<PermuteOp>()) {
    auto ids = cast<ShapedType>(permute.getTopkIds().getType());
    std::optional<int64_t> kept = permute.getNumOutTokens();
    if (kept && (!ids.hasStaticShape() ||
                 *kept != ids.getDimSize(0) * ids.getDimSize(1)))
      return ctx.fail("egs.permute with num_out_tokens other than T*k "
                      "(dropped or padding rows; egs.route has neither)");
    if (permute.getResults()[2] != expertOffsets)
      return ctx.fail("expert_offsets is not the permute's");
    r = {permute, permute.getTopkIds(), permute.getResults()[1], expertOffsets,
         permute.getNumExpertsAttr().getInt()};
    return r;
  }
  if (auto route = expertOffsets.getDefiningOp<RouteOp>()) {
    if (route.getResults()[1] != expertOffsets)
      return ctx.fail("expert_offsets is not the route's");
    r = {route, route.getTopkIds(), route.getResults()[2], expertOffsets,
         route.getNumExpertsAttr().getInt()};
    return r;
  }
  return ctx.fail("expert_offsets does not come from egs.permute or egs.route");
}

/// The egs.route of the routing behind `r`: the routing op itself, an
/// egs.route of the same topk_ids earlier in its block, or a new one placed
/// right before the routing op (so that it dominates every user of it).
static RouteOp routeOf(OpBuilder &b, const Routing &r, Type rowsType) {
  if (auto route = dyn_cast<RouteOp>(r.op))
    return route;
  for (Operation *user : r.topkIds.getUsers()) {
    auto route = dyn_cast<RouteOp>(user);
    if (route && !route.hasBufferSemantics() &&
        route.getNumExpertsAttr().getInt() == r.numExperts &&
        route->getResultTypes() == TypeRange{rowsType,
                                             r.expertOffsets.getType(),
                                             r.rowIdMap.getType()} &&
        route->getBlock() == r.op->getBlock() && route->isBeforeInBlock(r.op))
      return route;
  }
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(r.op);
  return RouteOp::create(
      b, r.op->getLoc(),
      TypeRange{rowsType, r.expertOffsets.getType(), r.rowIdMap.getType()},
      r.topkIds, /*weights=*/Value(), ValueRange(), r.numExperts);
}

static RankedTensorType rowsTypeFor(Value sorted) {
  auto t = cast<RankedTensorType>(sorted.getType());
  return RankedTensorType::get({t.getDimSize(0)},
                               IntegerType::get(t.getContext(), 32));
}

namespace {
/// permute + grouped gather_matmul over x_sorted -> gather_matmul reading x.
struct ReadPermutedTokensInPlace : OpRewritePattern<GatherMatmulOp> {
  ReadPermutedTokensInPlace(MLIRContext *ctx, const FusionOptions &options)
      : OpRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(GatherMatmulOp op,
                                PatternRewriter &rewriter) const override {
    MatchContext ctx{rewriter, op};
    if (op.hasBufferSemantics() || !op.isRagged())
      return ctx.fail("not a ragged gather_matmul on tensors");
    auto permute = op.getX().getDefiningOp<PermuteOp>();
    if (!permute || permute.getResults()[0] != op.getX())
      return ctx.fail("x is not the x_sorted of an egs.permute");
    if (!op.getX().hasOneUse())
      return ctx.fail("x_sorted has other users (the permuted copy stays)");
    if (!isIdentityRows(op.getInd()))
      return ctx.fail("rows are not the identity (not a grouped GEMM)");
    FailureOr<Routing> routing = matchRouting(op.getExpertOffsets(), ctx);
    if (failed(routing))
      return failure();
    if (routing->op != permute)
      return ctx.fail("expert_offsets come from another routing op");

    // permute's row_id_map and expert_offsets are the route's, so its other
    // users move over to the route.
    RouteOp route = routeOf(rewriter, *routing, rowsTypeFor(op.getX()));
    rewriter.setInsertionPoint(op);
    auto fused = GatherMatmulOp::create(
        rewriter, op.getLoc(), op.getY().getType(), permute.getX(),
        route.getResults()[0], op.getW(), route.getResults()[1], op.getBias(),
        /*out=*/Value(), op.getActivationAttr(), op.getTileAttr(),
        op.getWTransposedAttr(), op.getAlphaAttr(), op.getLimitAttr(),
        op.getInterleavedAttr());
    rewriter.replaceOp(op, fused.getY());
    rewriter.replaceAllUsesWith(permute.getResults()[1], route.getResults()[2]);
    rewriter.replaceAllUsesWith(permute.getResults()[2], route.getResults()[1]);
    rewriter.eraseOp(permute);
    reportFusion(options, FusionFamily::Routing, fused,
                 "fused egs.permute + grouped egs.gather_matmul into a ragged "
                 "egs.gather_matmul reading tokens in place");
    return success();
  }

  FusionOptions options;
};

/// grouped matmul (rows in expert order) + unpermute -> matmul_scatter into
/// the tokens with per-row scale.
struct CombineIntoTokens : OpRewritePattern<UnpermuteOp> {
  CombineIntoTokens(MLIRContext *ctx, const FusionOptions &options)
      : OpRewritePattern(ctx), options(options) {}

  /// The grouped op's lhs rows, weights and offsets: matmul_scatter into
  /// zeros with identity rows and no scale, or gather_matmul with identity
  /// rows, no bias and no activation.
  static FailureOr<std::tuple<Value, Value, Value>>
  matchGroupedMatmul(Operation *producer, const MatchContext &ctx) {
    if (auto ms = dyn_cast_if_present<MatmulScatterOp>(producer)) {
      if (ms.hasBufferSemantics() || !ms.isRagged() || ms.getScale() ||
          ms.getWTransposed() || !isIdentityRows(ms.getInd()) ||
          !isZeroTensor(ms.getInit()))
        return ctx.fail("the matmul_scatter is not a grouped GEMM (ragged, "
                        "identity rows, zero init, no scale, w untransposed)");
      return std::make_tuple(ms.getY(), ms.getW(), ms.getExpertOffsets());
    }
    if (auto gm = dyn_cast_if_present<GatherMatmulOp>(producer)) {
      if (gm.hasBufferSemantics() || !gm.isRagged() || gm.getBias() ||
          gm.getActivation() || gm.getWTransposed() ||
          !isIdentityRows(gm.getInd()))
        return ctx.fail("the gather_matmul is not a plain grouped GEMM "
                        "(ragged, identity rows, no bias, no activation, w "
                        "untransposed)");
      return std::make_tuple(gm.getX(), gm.getW(), gm.getExpertOffsets());
    }
    return ctx.fail("x_sorted is not produced by a grouped egs matmul op");
  }

  LogicalResult matchAndRewrite(UnpermuteOp op,
                                PatternRewriter &rewriter) const override {
    MatchContext ctx{rewriter, op};
    if (op.hasBufferSemantics())
      return ctx.fail("egs.unpermute in memref form");
    Value sorted = op.getXSorted();
    if (!sorted.hasOneUse())
      return ctx.fail("x_sorted has other users");
    auto grouped = matchGroupedMatmul(sorted.getDefiningOp(), ctx);
    if (failed(grouped))
      return failure();
    auto [y, w, offsets] = *grouped;
    FailureOr<Routing> routing = matchRouting(offsets, ctx);
    if (failed(routing))
      return failure();
    if (routing->rowIdMap != op.getRowIdMap())
      return ctx.fail("row_id_map and expert_offsets come from different "
                      "routing ops");
    Type outElt = getElementTypeOrSelf(op.getResult());
    if (!getElementTypeOrSelf(sorted).isF32() || !outElt.isF32() ||
        !getElementTypeOrSelf(op.getProbs()).isF32())
      return ctx.fail("the combine is not in f32 (a rounded intermediate "
                      "would differ from the fused f32 accumulation)");

    rewriter.setInsertionPoint(op);
    Location loc = op.getLoc();
    Value rows =
        routeOf(rewriter, *routing, rowsTypeFor(sorted)).getResults()[0];
    // scale[row_id_map[j*T+t]] = probs[t,j]: probs transposed to [k,T],
    // flattened, scattered into the slots (each slot is hit exactly once).
    Value probs = op.getProbs();
    SmallVector<OpFoldResult> ps = tensor::getMixedSizes(rewriter, loc, probs);
    Value probsT =
        linalg::TransposeOp::create(
            rewriter, loc, probs,
            tensor::EmptyOp::create(rewriter, loc, {ps[1], ps[0]}, outElt),
            ArrayRef<int64_t>{1, 0})
            ->getResult(0);
    Value flat = tensor::CollapseShapeOp::create(
        rewriter, loc, probsT, ArrayRef<ReassociationIndices>{{0, 1}});
    // Sizes come from operands that stay: the grouped op and the unpermute
    // are erased below.
    Value slotZeros = zeros(
        rewriter, loc, {tensor::getMixedSize(rewriter, loc, y, 0)}, outElt);
    Value scale = ScatterAddOp::create(rewriter, loc, slotZeros.getType(), flat,
                                       op.getRowIdMap(), slotZeros,
                                       rewriter.getI64IntegerAttr(0), nullptr)
                      .getResult();
    Value init =
        zeros(rewriter, loc, {ps[0], tensor::getMixedSize(rewriter, loc, w, 2)},
              outElt);
    auto fused = MatmulScatterOp::create(
        rewriter, loc, init.getType(), y, rows, w, offsets, init, scale,
        /*deterministic=*/false, /*tile=*/nullptr);
    Value out = fused.getOut();
    if (out.getType() != op.getResult().getType())
      out =
          tensor::CastOp::create(rewriter, loc, op.getResult().getType(), out);
    Operation *producer = sorted.getDefiningOp();
    StringRef producerName = producer->getName().getStringRef();
    rewriter.replaceOp(op, out);
    rewriter.eraseOp(producer);
    reportFusion(options, FusionFamily::Routing, fused,
                 "fused grouped " + producerName +
                     " + egs.unpermute into a ragged egs.matmul_scatter with "
                     "scale");
    return success();
  }

  FusionOptions options;
};
} // namespace

void egs::populateFuseRoutingPatterns(RewritePatternSet &patterns,
                                      const FusionOptions &options) {
  if (!options.routing)
    return;
  patterns.add<ReadPermutedTokensInPlace, CombineIntoTokens>(
      patterns.getContext(), options);
}
