//===- FuseGatherTranspose.cpp - gather + transpose (+ concat) ------------===//
//
// The fusions of MIGraphX's gather-transpose pass: a gather whose result is
// only transposed is written in the transposed layout directly
// (egs.gather {permutation}); gathers, each optionally transposed, that feed
// one tensor.concat are written into the concatenation directly
// (egs.gather_concat).
//
//===----------------------------------------------------------------------===//
#include "FusionForms.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace egs;
using namespace egs::fusion;

namespace {
struct FuseGatherIntoTranspose : RewritePattern {
  FuseGatherIntoTranspose(MLIRContext *ctx, const FusionOptions &options)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx),
        options(options) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (!isa<linalg::TransposeOp, linalg::GenericOp>(op))
      return failure();
    MatchContext ctx{rewriter, op};
    FailureOr<TransposeForm> t = matchTranspose(op, ctx);
    if (failed(t))
      return failure();
    FailureOr<GatherForm> g = matchGather(t->input, ctx);
    if (failed(g))
      return failure();
    SmallVector<int64_t> perm =
        composePermutations(g->permutation, t->permutation);
    rewriter.setInsertionPoint(op);
    Location loc = op->getLoc();
    Value ind = buildGatherIndex(rewriter, loc, *g);
    auto fused = GatherOp::create(
        rewriter, loc, op->getResult(0).getType(), g->x, ind, /*out=*/Value(),
        rewriter.getI64IntegerAttr(g->axis),
        rewriter.getI64IntegerAttr(g->batchDims),
        isIdentityPermutation(perm) ? nullptr
                                    : rewriter.getDenseI64ArrayAttr(perm));
    StringRef transposeName = op->getName().getStringRef();
    rewriter.replaceOp(op, fused.getResult());
    rewriter.eraseOp(g->op);
    reportFusion(options, FusionFamily::GatherTranspose, fused,
                 "fused gather (" + g->form + ") + " + transposeName +
                     " into egs.gather with permutation");
    return success();
  }

  FusionOptions options;
};

struct FuseGathersIntoConcat : OpRewritePattern<tensor::ConcatOp> {
  FuseGathersIntoConcat(MLIRContext *ctx, const FusionOptions &options)
      : OpRewritePattern(ctx), options(options) {}

  LogicalResult matchAndRewrite(tensor::ConcatOp op,
                                PatternRewriter &rewriter) const override {
    MatchContext ctx{rewriter, op};
    struct Piece {
      GatherForm gather;
      SmallVector<int64_t> permutation;
      Operation *transpose = nullptr;
    };
    SmallVector<Piece> pieces;
    for (Value input : op.getInputs()) {
      Piece piece;
      Value gathered = input;
      Operation *def = input.getDefiningOp();
      if (isa_and_present<linalg::TransposeOp, linalg::GenericOp>(def)) {
        FailureOr<TransposeForm> t = matchTranspose(def, ctx);
        if (succeeded(t)) {
          if (!input.hasOneUse())
            return ctx.fail("a transposed piece has other users");
          piece.transpose = def;
          piece.permutation = t->permutation;
          gathered = t->input;
        }
      }
      FailureOr<GatherForm> g = matchGather(gathered, ctx);
      if (failed(g))
        return failure();
      if (g->batchDims != 0)
        return ctx.fail("egs.gather_concat has no batch dims");
      if (!pieces.empty() && g->axis != pieces.front().gather.axis)
        return ctx.fail("the pieces gather along different axes");
      SmallVector<int64_t> transposed =
          piece.transpose
              ? piece.permutation
              : llvm::to_vector(llvm::seq<int64_t>(
                    0, cast<ShapedType>(input.getType()).getRank()));
      piece.permutation = composePermutations(g->permutation, transposed);
      piece.gather = *g;
      pieces.push_back(piece);
    }

    rewriter.setInsertionPoint(op);
    Location loc = op.getLoc();
    SmallVector<Value> sources, indices;
    SmallVector<Attribute> perms;
    bool permuted = false;
    for (Piece &p : pieces) {
      sources.push_back(p.gather.x);
      indices.push_back(buildGatherIndex(rewriter, loc, p.gather));
      perms.push_back(rewriter.getDenseI64ArrayAttr(p.permutation));
      permuted |= !isIdentityPermutation(p.permutation);
    }
    auto fused = GatherConcatOp::create(
        rewriter, loc, op.getType(), sources, indices, /*out=*/Value(),
        rewriter.getI64IntegerAttr(pieces.front().gather.axis),
        rewriter.getI64IntegerAttr(op.getDim()),
        permuted ? rewriter.getArrayAttr(perms) : nullptr);
    rewriter.replaceOp(op, fused.getResult());
    for (Piece &p : pieces) {
      if (p.transpose)
        rewriter.eraseOp(p.transpose);
      rewriter.eraseOp(p.gather.op);
    }
    reportFusion(options, FusionFamily::GatherTranspose, fused,
                 "fused " + Twine(pieces.size()) +
                     " gathers (+ transposes) + tensor.concat into "
                     "egs.gather_concat");
    return success();
  }

  FusionOptions options;
};
} // namespace

void egs::populateFuseGatherTransposePatterns(RewritePatternSet &patterns,
                                              const FusionOptions &options) {
  if (!options.gatherTranspose)
    return;
  patterns.add<FuseGatherIntoTranspose, FuseGathersIntoConcat>(
      patterns.getContext(), options);
}
