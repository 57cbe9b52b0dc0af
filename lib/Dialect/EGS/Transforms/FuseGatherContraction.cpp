//===- FuseGatherContraction.cpp - gather + contraction -> gather_matmul --===//
//
// A contraction whose lhs is a row gather of x becomes egs.gather_matmul:
// - expert-choice form when the weight is a stack [E,I,J] indexed by the
//   E dim of the index ([E,K], or [B,E,K] with x [B,T,I]);
// - a single weight matrix [I,J] with index [R] (or [B,R]) becomes the
//   expert-choice form with one expert: reshapes add and drop the unit E.
// With the epilogue family on, a following bias add is folded in, and a bias
// add after an existing gather_matmul is folded into it.
//
//===----------------------------------------------------------------------===//
#include "FusionForms.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace egs;
using namespace egs::fusion;

/// The [E,J] bias of a gather_matmul from a broadcast add over its y (rank
/// `yRank`). The add fits when it spans (e, j) with e the expert dim at
/// `expertDim`, or j alone (one row for every expert).
static bool biasFits(const BroadcastEpilogue &add, int64_t yRank,
                     int64_t expertDim) {
  int64_t j = yRank - 1;
  if (add.vDims.size() == 1)
    return add.vDims[0] == j;
  return expertDim >= 0 && add.vDims.size() == 2 &&
         add.vDims[0] == expertDim && add.vDims[1] == j;
}

/// Materialises the bias for weights `w` [E,I,J] (`singleExpert`: E = 1
/// added by reshaping w).
static Value buildBias(OpBuilder &b, Location loc, const BroadcastEpilogue &add,
                       Value w, bool singleExpert) {
  Value bias = dropUnitDims(b, loc, add.operand, add.unitDims);
  if (add.vDims.size() == 2)
    return bias;
  if (singleExpert)
    return insertUnitDim(b, loc, bias, 0);
  // One row shared by every expert: broadcast it to [E,J].
  OpFoldResult numExperts = tensor::getMixedSize(b, loc, w, 0);
  OpFoldResult cols = tensor::getMixedSize(b, loc, bias, 0);
  Value init = tensor::EmptyOp::create(b, loc, {numExperts, cols},
                                       getElementTypeOrSelf(bias));
  return linalg::BroadcastOp::create(b, loc, bias, init, ArrayRef<int64_t>{0})
      ->getResult(0);
}

static Value castTo(OpBuilder &b, Location loc, Value v, Type type) {
  if (v.getType() == type)
    return v;
  return tensor::CastOp::create(b, loc, type, v);
}

static RankedTensorType withUnitDim(Type t, int64_t pos) {
  auto type = cast<RankedTensorType>(t);
  SmallVector<int64_t> shape(type.getShape());
  shape.insert(shape.begin() + pos, 1);
  return type.clone(shape);
}

namespace {
struct FuseGatherIntoContraction
    : OpInterfaceRewritePattern<linalg::LinalgOp> {
  FuseGatherIntoContraction(MLIRContext *ctx, const FusionOptions &options)
      : OpInterfaceRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(linalg::LinalgOp op,
                                PatternRewriter &rewriter) const override {
    MatchContext ctx{rewriter, op};
    FailureOr<ContractionForm> c = matchContraction(op, ctx);
    if (failed(c))
      return failure();
    FailureOr<GatherForm> g = matchGather(c->lhs, ctx);
    if (failed(g))
      return failure();
    if (!g->isRowGather())
      return ctx.fail("the gather is not a row gather of x [T,I] (axis 0) or "
                      "x [B,T,I] (axis 1, batch_dims 1) in the plain layout");
    int64_t lead = g->xRank() == 3 ? 1 : 0; // where E (or R) sits in ind/y
    int64_t yRank = cast<ShapedType>(c->lhs.getType()).getRank();
    bool expertChoice = c->expertDim == lead && yRank == lead + 3;
    bool singleExpert = c->expertDim < 0 && yRank == lead + 2;
    if (!expertChoice && !singleExpert)
      return ctx.fail("the weight is indexed neither by the E dim of a [B?,E,K] "
                      "index nor by nothing (single expert with a [B?,R] "
                      "index)");

    std::optional<BroadcastEpilogue> bias;
    if (options.epilogue) {
      FailureOr<BroadcastEpilogue> add =
          matchBroadcastEpilogue(c->result(), ElementwiseKind::Add, ctx);
      if (succeeded(add) && biasFits(*add, yRank, expertChoice ? lead : -1))
        bias = *add;
    }

    StringRef contractionName = c->name();
    Operation *last = bias ? bias->op.getOperation() : op.getOperation();
    rewriter.setInsertionPoint(last);
    Location loc = op.getLoc();
    Value ind = buildGatherIndex(rewriter, loc, *g);
    Value w = c->rhs;
    Type yType = c->result().getType();
    if (singleExpert) {
      ind = insertUnitDim(rewriter, loc, ind, lead);
      w = insertUnitDim(rewriter, loc, w, 0);
      yType = withUnitDim(yType, lead);
    }
    Value biasValue = bias ? buildBias(rewriter, loc, *bias, w, singleExpert)
                           : Value();
    auto fused = GatherMatmulOp::create(rewriter, loc, yType, g->x, ind, w,
                                        /*expert_offsets=*/Value(), biasValue,
                                        /*out=*/Value(), nullptr, nullptr);
    Value y = fused.getY();
    if (singleExpert)
      y = dropUnitDims(rewriter, loc, y, {lead});
    rewriter.replaceOp(last, castTo(rewriter, loc, y, last->getResult(0).getType()));
    if (bias)
      rewriter.eraseOp(op);
    rewriter.eraseOp(g->op);

    reportFusion(options, FusionFamily::GatherContraction, fused,
                 "fused gather (" + g->form + ") + " + contractionName +
                     " into egs.gather_matmul (" +
                     (expertChoice ? "expert-choice" : "single expert") + ")");
    if (bias)
      reportFusion(options, FusionFamily::Epilogue, fused,
                   "folded bias add into egs.gather_matmul");
    return success();
  }

  FusionOptions options;
};

/// gather_matmul (no bias, no activation) + broadcast bias add.
struct FoldBiasIntoGatherMatmul : OpRewritePattern<GatherMatmulOp> {
  FoldBiasIntoGatherMatmul(MLIRContext *ctx, const FusionOptions &options)
      : OpRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(GatherMatmulOp op,
                                PatternRewriter &rewriter) const override {
    MatchContext ctx{rewriter, op};
    if (op.hasBufferSemantics() || op.getBias() || op.getActivation())
      return ctx.fail("gather_matmul in memref form, or with a bias or an "
                      "activation already");
    Value y = op.getY();
    int64_t yRank = cast<ShapedType>(y.getType()).getRank();
    int64_t expertDim = op.isRagged() ? -1 : (op.isBatched() ? 1 : 0);
    FailureOr<BroadcastEpilogue> add =
        matchBroadcastEpilogue(y, ElementwiseKind::Add, ctx);
    if (failed(add))
      return failure();
    if (!biasFits(*add, yRank, expertDim))
      return ctx.fail("the add is not a bias over (e, j) or j");
    rewriter.setInsertionPoint(add->op);
    Location loc = op.getLoc();
    Value bias = buildBias(rewriter, loc, *add, op.getW(), /*singleExpert=*/false);
    auto fused = GatherMatmulOp::create(
        rewriter, loc, y.getType(), op.getX(), op.getInd(), op.getW(),
        op.getExpertOffsets(), bias, /*out=*/Value(), nullptr, op.getTileAttr());
    rewriter.replaceOp(add->op, castTo(rewriter, loc, fused.getY(),
                                       add->op->getResult(0).getType()));
    rewriter.eraseOp(op);
    reportFusion(options, FusionFamily::Epilogue, fused,
                 "folded bias add into egs.gather_matmul");
    return success();
  }

  FusionOptions options;
};
} // namespace

void egs::populateFuseGatherContractionPatterns(RewritePatternSet &patterns,
                                                const FusionOptions &options) {
  if (options.gatherContraction)
    patterns.add<FuseGatherIntoContraction>(patterns.getContext(), options);
  if (options.epilogue)
    patterns.add<FoldBiasIntoGatherMatmul>(patterns.getContext(), options);
}
