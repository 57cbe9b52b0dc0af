//===- FuseGatherContraction.cpp - gather + contraction -> gather_matmul --===//
//
// A contraction whose lhs is a row gather of x becomes egs.gather_matmul:
// - expert-choice form when the weight is a stack [E,I,J] indexed by the
//   E dim of the index ([E,K], or [B,E,K] with x [B,T,I]);
// - a single weight matrix [I,J] becomes the expert-choice form with one
//   expert: the index dims are flattened into its rows and reshapes add and
//   drop the unit E.
// With the epilogue family on, a following bias add and rounding to the data
// type are folded in, and a bias add after an existing gather_matmul whose y
// is f32 is folded into it.
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
  return expertDim >= 0 && add.vDims.size() == 2 && add.vDims[0] == expertDim &&
         add.vDims[1] == j;
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

/// A ragged op writes slots outside [offsets[0], offsets[E]) as zero, with no
/// bias; folding a bias is exact only when no such slot exists. That is
/// provable when the offsets come from egs.route or a row-keeping
/// egs.permute, whose offsets span exactly their R sorted rows, and the op
/// has those R rows.
static bool coversEveryRow(GatherMatmulOp op) {
  if (!op.isRagged())
    return true;
  Value offsets = op.getExpertOffsets();
  int64_t rows = cast<ShapedType>(op.getInd().getType()).getDimSize(0);
  if (auto route = offsets.getDefiningOp<RouteOp>()) {
    int64_t routed =
        cast<ShapedType>(route.getResults()[0].getType()).getDimSize(0);
    return op.getInd() == route.getResults()[0] ||
           (!ShapedType::isDynamic(rows) && rows == routed);
  }
  if (auto permute = offsets.getDefiningOp<PermuteOp>()) {
    auto ids = cast<ShapedType>(permute.getTopkIds().getType());
    int64_t sorted = permute.getNumSortedRows();
    if (!ids.hasStaticShape() || ShapedType::isDynamic(sorted) ||
        sorted > ids.getDimSize(0) * ids.getDimSize(1))
      return false;
    return rows == sorted;
  }
  return false;
}

namespace {
/// What follows the contraction and folds into gather_matmul, in order.
struct EpilogueChain {
  std::optional<BroadcastEpilogue> bias;
  linalg::GenericOp rounding;
};
} // namespace

/// Epilogues run in f32 on the accumulator: a broadcast bias add, then a
/// rounding to x's data type (egs rounds y once, after the bias).
static EpilogueChain matchEpilogueChain(const ContractionForm &c,
                                        const ExpertLayout &layout,
                                        Type dataType,
                                        const MatchContext &ctx) {
  EpilogueChain chain;
  int64_t yRank = cast<ShapedType>(c.lhs.getType()).getRank();
  Value tail = c.result();
  FailureOr<BroadcastEpilogue> add =
      matchBroadcastEpilogue(tail, ElementwiseKind::Add, ctx);
  if (succeeded(add) &&
      biasFits(*add, yRank, layout.expertChoice ? layout.lead : -1)) {
    chain.bias = *add;
    tail = add->op->getResult(0);
  }
  FailureOr<linalg::GenericOp> round = matchTruncation(tail, dataType, ctx);
  if (!dataType.isF32() && succeeded(round))
    chain.rounding = *round;
  return chain;
}

namespace {
struct FuseGatherIntoContraction : OpInterfaceRewritePattern<linalg::LinalgOp> {
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
    FailureOr<ExpertLayout> layout =
        classifyLayout(*c, g->xRank() == 3 ? 1 : 0, ctx);
    if (failed(layout))
      return failure();

    EpilogueChain epilogue;
    if (options.epilogue)
      epilogue =
          matchEpilogueChain(*c, *layout, getElementTypeOrSelf(g->x), ctx);
    SmallVector<Operation *> chain{op};
    if (epilogue.bias)
      chain.push_back(epilogue.bias->op);
    if (epilogue.rounding)
      chain.push_back(epilogue.rounding);

    StringRef contractionName = c->name();
    Operation *last = chain.back();
    rewriter.setInsertionPoint(last);
    Location loc = op.getLoc();
    Value ind = buildGatherIndex(rewriter, loc, *g);
    Value w = c->rhs;
    Type yType = last->getResult(0).getType();
    bool single = !layout->expertChoice;
    // The rows' sizes, to give the single expert's R its dims back.
    SmallVector<OpFoldResult> rowSizes;
    if (single) {
      rowSizes =
          llvm::to_vector(ArrayRef(tensor::getMixedSizes(rewriter, loc, ind))
                              .slice(layout->lead, layout->rowDims));
      ind = layout->asSingleExpert(rewriter, loc, ind);
      w = insertUnitDim(rewriter, loc, w, 0);
      auto indType = cast<ShapedType>(ind.getType());
      SmallVector<int64_t> shape(indType.getShape());
      shape.push_back(cast<ShapedType>(w.getType()).getDimSize(2));
      yType = cast<RankedTensorType>(yType).clone(shape);
    }
    Value biasValue = epilogue.bias
                          ? buildBias(rewriter, loc, *epilogue.bias, w, single)
                          : Value();
    auto fused = GatherMatmulOp::create(rewriter, loc, yType, g->x, ind, w,
                                        /*expert_offsets=*/Value(), biasValue,
                                        /*out=*/Value(), nullptr, nullptr,
                                        nullptr, nullptr, nullptr, nullptr);
    Value y = fused.getY();
    if (single)
      y = expandDim(rewriter, loc,
                    dropUnitDims(rewriter, loc, y, {layout->lead}),
                    layout->lead, rowSizes);
    rewriter.replaceOp(last,
                       castTo(rewriter, loc, y, last->getResult(0).getType()));
    for (Operation *dead : llvm::reverse(ArrayRef(chain).drop_back()))
      rewriter.eraseOp(dead);
    rewriter.eraseOp(g->op);

    reportFusion(options, FusionFamily::GatherContraction, fused,
                 "fused gather (" + g->form + ") + " + contractionName +
                     " into egs.gather_matmul (" + layout->name() + ")");
    if (epilogue.bias)
      reportFusion(options, FusionFamily::Epilogue, fused,
                   "folded bias add into egs.gather_matmul");
    if (epilogue.rounding)
      reportFusion(options, FusionFamily::Epilogue, fused,
                   "folded rounding to the data type into egs.gather_matmul");
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
    if (op.hasBufferSemantics() || op.getBias() || op.getActivation() ||
        op.getWTransposed())
      return ctx.fail("gather_matmul in memref form, with a bias or an "
                      "activation already, or with a transposed w");
    Value y = op.getY();
    if (!getElementTypeOrSelf(y).isF32())
      return ctx.fail("y is rounded to its data type before the add; the "
                      "fused bias would be added before the rounding");
    int64_t yRank = cast<ShapedType>(y.getType()).getRank();
    int64_t expertDim = op.isRagged() ? -1 : (op.isBatched() ? 1 : 0);
    FailureOr<BroadcastEpilogue> add =
        matchBroadcastEpilogue(y, ElementwiseKind::Add, ctx);
    if (failed(add))
      return failure();
    if (!biasFits(*add, yRank, expertDim))
      return ctx.fail("the add is not a bias over (e, j) or j");
    if (!coversEveryRow(op))
      return ctx.fail("ragged rows outside [offsets[0], offsets[E]) may exist; "
                      "they are zero without the bias, so the add cannot fold");
    rewriter.setInsertionPoint(add->op);
    Location loc = op.getLoc();
    Value bias =
        buildBias(rewriter, loc, *add, op.getW(), /*singleExpert=*/false);
    auto fused = GatherMatmulOp::create(
        rewriter, loc, y.getType(), op.getX(), op.getInd(), op.getW(),
        op.getExpertOffsets(), bias, /*out=*/Value(), nullptr,
        op.getTileAttr(), op.getWTransposedAttr(), nullptr, nullptr, nullptr);
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
