//===- FuseContractionScatter.cpp - contraction + scatter-add -> matmul_scatter
//
// out = scatter_add(c [* scale], ind, init) with c = y @ w[e] becomes
// egs.matmul_scatter(y, ind, w, init [, scale]). The scatter consumers:
// - egs.scatter_add (any init: matmul_scatter adds into it the same way);
// - tensor.scatter ... unique into zeros: with unique indices, overwriting
//   zeros is adding into them. Into anything else it is not an accumulation
//   and is declined.
// The layouts mirror the gather side: init [T,I] with ind [E,K] (or [R],
// one expert) along axis 0, or init [B,T,I] with ind [B,E,K] ([B,R]) along
// axis 1 with batch_dims 1.
//
//===----------------------------------------------------------------------===//
#include "FusionForms.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace egs;
using namespace egs::fusion;

namespace {
/// A scatter-add consumer described as the gather it inverts (x = init).
struct ScatterForm {
  Value src;
  GatherForm indexing;
};
} // namespace

static FailureOr<ScatterForm> matchScatter(ScatterAddOp op,
                                           const MatchContext &ctx) {
  if (op.hasBufferSemantics())
    return ctx.fail("egs.scatter_add in memref form");
  ScatterForm s{op.getSrc(), {}};
  s.indexing.op = op;
  s.indexing.x = op.getInit();
  s.indexing.ind = op.getInd();
  s.indexing.axis = op.getAxisAttr().getInt();
  s.indexing.batchDims = op.getBatchDimsAttr().getInt();
  s.indexing.form = "egs.scatter_add";
  return s;
}

static FailureOr<ScatterForm> matchScatter(tensor::ScatterOp op,
                                           const MatchContext &ctx) {
  ArrayRef<int64_t> dims = op.getScatterDims();
  if (dims.size() != 1 || dims[0] != 0)
    return ctx.fail("tensor.scatter along dims other than [0]");
  if (!op.getUnique() || !isZeroTensor(op.getDest()))
    return ctx.fail("tensor.scatter overwrites; only unique indices into "
                    "zeros are an accumulation");
  ScatterForm s{op.getSource(), {}};
  s.indexing.op = op;
  s.indexing.x = op.getDest();
  if (failed(matchCoordinateIndex(op.getIndices(), s.indexing, ctx)))
    return failure();
  int64_t nq = cast<ShapedType>(op.getIndices().getType()).getRank() - 1;
  if (op.getSource().getType().getRank() != nq + s.indexing.xRank() - 1)
    return ctx.fail("tensor.scatter source keeps the scattered dim as a "
                    "size-1 dim (only the rank-reduced form is recognised)");
  s.indexing.form = "tensor.scatter";
  return s;
}

/// The contraction feeding `src`, and the per-row scale multiplied in
/// between when there is one (and the epilogue family is on).
static FailureOr<std::pair<ContractionForm, std::optional<BroadcastEpilogue>>>
matchScaledContraction(Value src, bool epilogue, const MatchContext &ctx) {
  if (!src.hasOneUse())
    return ctx.fail("the scattered value has other users");
  auto scaleOp = src.getDefiningOp<linalg::GenericOp>();
  if (epilogue && scaleOp) {
    for (Value candidate : scaleOp->getOperands()) {
      auto c = matchContraction(candidate.getDefiningOp(), ctx);
      if (failed(c))
        continue;
      auto mul = matchBroadcastEpilogue(candidate, ElementwiseKind::Mul, ctx);
      if (succeeded(mul) && mul->op == scaleOp)
        return std::make_pair(*c, std::optional<BroadcastEpilogue>(*mul));
    }
  }
  FailureOr<ContractionForm> c = matchContraction(src.getDefiningOp(), ctx);
  if (failed(c))
    return failure();
  return std::make_pair(*c, std::optional<BroadcastEpilogue>());
}

static LogicalResult fuseIntoScatter(Operation *scatter, const ScatterForm &s,
                                     const FusionOptions &options,
                                     const MatchContext &ctx) {
  const GatherForm &idx = s.indexing;
  if (!idx.isRowGather())
    return ctx.fail("the scatter is not a row scatter into init [T,I] (axis 0) "
                    "or [B,T,I] (axis 1, batch_dims 1)");
  auto matched = matchScaledContraction(s.src, options.epilogue, ctx);
  if (failed(matched))
    return failure();
  auto &[c, scale] = *matched;
  FailureOr<ExpertLayout> layout =
      classifyLayout(c, idx.xRank() == 3 ? 1 : 0, ctx);
  if (failed(layout))
    return failure();
  int64_t cRank = cast<ShapedType>(c.lhs.getType()).getRank();
  if (scale && !llvm::equal(scale->vDims, llvm::seq<int64_t>(0, cRank - 1)))
    return ctx.fail("the scale between contraction and scatter is not one "
                    "value per row");

  StringRef contractionName = c.name();
  PatternRewriter &rewriter = ctx.rewriter;
  rewriter.setInsertionPoint(scatter);
  Location loc = scatter->getLoc();
  Value ind = buildGatherIndex(rewriter, loc, idx);
  Value y = c.lhs, w = c.rhs;
  Value scaleValue =
      scale ? dropUnitDims(rewriter, loc, scale->operand, scale->unitDims)
            : Value();
  if (!layout->expertChoice) {
    y = layout->asSingleExpert(rewriter, loc, y);
    ind = layout->asSingleExpert(rewriter, loc, ind);
    w = insertUnitDim(rewriter, loc, w, 0);
    if (scaleValue)
      scaleValue = layout->asSingleExpert(rewriter, loc, scaleValue);
  }
  auto fused = MatmulScatterOp::create(
      rewriter, loc, idx.x.getType(), y, ind, w,
      /*expert_offsets=*/Value(), idx.x, scaleValue, /*deterministic=*/false,
      /*tile=*/nullptr);
  Value out = fused.getOut();
  if (out.getType() != scatter->getResult(0).getType())
    out = tensor::CastOp::create(rewriter, loc, scatter->getResult(0).getType(),
                                 out);
  rewriter.replaceOp(scatter, out);
  if (scale)
    rewriter.eraseOp(scale->op);
  rewriter.eraseOp(c.op);

  reportFusion(options, FusionFamily::ContractionScatter, fused,
               "fused " + contractionName + " + " + idx.form +
                   " into egs.matmul_scatter (" + layout->name() + ")");
  if (scale)
    reportFusion(options, FusionFamily::Epilogue, fused,
                 "folded per-row scale into egs.matmul_scatter");
  return success();
}

namespace {
template <typename ScatterOpTy>
struct FuseContractionIntoScatter : OpRewritePattern<ScatterOpTy> {
  FuseContractionIntoScatter(MLIRContext *ctx, const FusionOptions &options)
      : OpRewritePattern<ScatterOpTy>(ctx), options(options) {}

  LogicalResult matchAndRewrite(ScatterOpTy op,
                                PatternRewriter &rewriter) const override {
    MatchContext ctx{rewriter, op};
    FailureOr<ScatterForm> s = matchScatter(op, ctx);
    if (failed(s))
      return failure();
    return fuseIntoScatter(op, *s, options, ctx);
  }

  FusionOptions options;
};
} // namespace

void egs::populateFuseContractionScatterPatterns(RewritePatternSet &patterns,
                                                 const FusionOptions &options) {
  if (!options.contractionScatter)
    return;
  patterns.add<FuseContractionIntoScatter<ScatterAddOp>,
               FuseContractionIntoScatter<tensor::ScatterOp>>(
      patterns.getContext(), options);
}
