//===- FusionForms.h - frontend forms recognised by --egs-fuse --*- C++ -*-===//
//
// The producer and consumer forms that the fusion patterns share: gathers as
// frontends write them, contractions, broadcast epilogues, zero tensors, and
// the reshapes that adapt a single weight matrix to the expert-indexed ops.
// Every matcher reports why it declined through notifyMatchFailure at the
// pattern's root op.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_DIALECT_EGS_TRANSFORMS_FUSIONFORMS_H
#define EGS_LIB_DIALECT_EGS_TRANSFORMS_FUSIONFORMS_H

#include "egs/Dialect/EGS/Transforms/Fusion.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

namespace egs::fusion {

/// Where a pattern reports a declined match: the pattern's root op.
struct MatchContext {
  mlir::PatternRewriter &rewriter;
  mlir::Operation *root;

  mlir::LogicalResult fail(const llvm::Twine &why) const {
    return rewriter.notifyMatchFailure(root, why);
  }
};

//===----------------------------------------------------------------------===//
// Gathers
//===----------------------------------------------------------------------===//

/// A value recognised as `egs.gather %x[%ind] {axis, batch_dims,
/// permutation}`, however the frontend wrote it:
///   g[b.., p.., q.., s..] = x[b.., p.., ind[b.., q..], s..]
/// `ind` is the index tensor as the producer reads it; buildGatherIndex
/// turns it into an egs index operand.
struct GatherForm {
  mlir::Operation *op = nullptr; ///< the producer (erased after fusion)
  mlir::Value x, ind;
  int64_t axis = 0, batchDims = 0;
  llvm::SmallVector<int64_t> permutation; ///< empty: the plain layout
  bool dropCoordDim = false;  ///< ind has a trailing size-1 coordinate dim
  bool fromIndexType = false; ///< ind has `index` elements (cast to i64)
  bool clamp = false;   ///< indices are clamped into [0, dim(x, axis) - 1]
  llvm::StringRef form; ///< the frontend form, for remarks

  bool isRowGather() const {
    return permutation.empty() &&
           ((xRank() == 2 && axis == 0 && batchDims == 0) ||
            (xRank() == 3 && axis == 1 && batchDims == 1));
  }
  int64_t xRank() const {
    return llvm::cast<mlir::ShapedType>(x.getType()).getRank();
  }
};

/// Recognises `v` as a gather whose only user is the pattern's root.
mlir::FailureOr<GatherForm> matchGather(mlir::Value v, const MatchContext &ctx);

/// The egs index operand (i32 or i64) of gather `g`: the coordinate dim
/// dropped, index elements cast to i64 and the clamp made explicit.
mlir::Value buildGatherIndex(mlir::OpBuilder &b, mlir::Location loc,
                             const GatherForm &g);

/// An index tensor as tensor.gather / tensor.scatter read it: checks the
/// trailing coordinate dim and the element type, filling `g.ind`,
/// `g.dropCoordDim` and `g.fromIndexType`.
mlir::LogicalResult matchCoordinateIndex(mlir::Value indices, GatherForm &g,
                                         const MatchContext &ctx);

//===----------------------------------------------------------------------===//
// Transposes
//===----------------------------------------------------------------------===//

/// result = transpose(input, permutation): result dim d is input dim
/// permutation[d] (the linalg.transpose convention, also egs.gather's).
struct TransposeForm {
  mlir::Operation *op;
  mlir::Value input;
  llvm::SmallVector<int64_t> permutation;
};

/// `op` as a linalg.transpose or a transposing linalg.generic (permuted
/// input map, identity output map, yielding the input).
mlir::FailureOr<TransposeForm> matchTranspose(mlir::Operation *op,
                                              const MatchContext &ctx);

/// The permutation of a value laid out by `inner` (empty: identity) and
/// then transposed by `outer`.
llvm::SmallVector<int64_t> composePermutations(llvm::ArrayRef<int64_t> inner,
                                               llvm::ArrayRef<int64_t> outer);

//===----------------------------------------------------------------------===//
// Contractions and epilogues
//===----------------------------------------------------------------------===//

/// A linalg contraction accumulating in f32 into zeros:
///   out[p.., n] = sum_r lhs[p.., r] * rhs[(p_e,) r, n]
/// where rhs is one matrix [R,N] or a stack of matrices [E,R,N] indexed by
/// the lhs/out dim at position `expertDim`. lhs and rhs share one element
/// type (f32, f16, bf16); narrower types are extended to f32 in the body.
struct ContractionForm {
  mlir::linalg::LinalgOp op;
  mlir::Value lhs, rhs;
  int64_t expertDim = -1; ///< -1 when rhs is a single matrix

  mlir::Value result() const { return op->getResult(0); }
  llvm::StringRef name() const { return op->getName().getStringRef(); }
};

mlir::FailureOr<ContractionForm> matchContraction(mlir::Operation *op,
                                                  const MatchContext &ctx);

/// True for a body yield(addf(acc, mulf(ext?(a), ext?(b)))), operands in
/// either order, with a, b the inputs and acc the init.
bool isMultiplyAccumulate(mlir::Block &body);

/// How a contraction over rows [B?, q.., r] (`lead` = 1 with the batch dim
/// B) maps onto the expert-indexed ops: expert-choice when q = [E, K] and the
/// weight stack is indexed by E; otherwise, with one weight matrix, the
/// single-expert form, whose `rowDims` dims q are flattened into the rows R
/// of one expert (E = 1).
struct ExpertLayout {
  int64_t lead = 0;
  int64_t rowDims = 0;
  bool expertChoice = false;

  llvm::StringRef name() const {
    return expertChoice ? "expert-choice" : "single expert";
  }
  /// `v` [B?, q.., rest..] as the single expert's [B?, 1, R, rest..].
  mlir::Value asSingleExpert(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value v) const;
};

mlir::FailureOr<ExpertLayout>
classifyLayout(const ContractionForm &c, int64_t lead, const MatchContext &ctx);

enum class ElementwiseKind { Add, Mul };

/// `v + operand` or `v * operand` as an elementwise linalg.generic whose
/// other operand is broadcast: it spans the dims `vDims` of v (in order),
/// plus size-1 dims `unitDims` of its own that the map pins to 0.
struct BroadcastEpilogue {
  mlir::linalg::GenericOp op;
  mlir::Value operand;
  llvm::SmallVector<int64_t> vDims;
  llvm::SmallVector<int64_t> unitDims;
};

/// Matches the only user of `v` as a broadcast epilogue of `kind`.
mlir::FailureOr<BroadcastEpilogue>
matchBroadcastEpilogue(mlir::Value v, ElementwiseKind kind,
                       const MatchContext &ctx);

/// Matches `gen` as `v + operand` or `v * operand` with the other operand
/// broadcast, whatever else uses `v`.
mlir::FailureOr<BroadcastEpilogue>
matchBroadcastBinary(mlir::linalg::GenericOp gen, mlir::Value v,
                     ElementwiseKind kind, const MatchContext &ctx);

/// True when every loop of `op` is parallel.
/// The loop dim of each result of `map`, when every result is a plain dim.
mlir::FailureOr<llvm::SmallVector<int64_t>> resultDims(mlir::AffineMap map);

inline bool allParallel(mlir::linalg::LinalgOp op) {
  return op.getNumReductionLoops() == 0 &&
         op.getNumLoops() == op.getNumParallelLoops();
}

/// The only user of `v` as an elementwise linalg.generic that rounds it
/// (arith.truncf) to `to`.
mlir::FailureOr<mlir::linalg::GenericOp>
matchTruncation(mlir::Value v, mlir::Type to, const MatchContext &ctx);

/// True for a tensor of positive zeros (linalg.fill, fill-like generic or
/// splat constant).
bool isZeroTensor(mlir::Value v);

/// True for the index tensor [0, 1, ..., n-1] (constant or a generic
/// yielding its linalg.index).
bool isIdentityRows(mlir::Value v);

//===----------------------------------------------------------------------===//
// Building blocks of the rewrites
//===----------------------------------------------------------------------===//

/// tensor.expand_shape inserting a size-1 dim at `pos`.
mlir::Value insertUnitDim(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                          int64_t pos);

/// tensor.collapse_shape merging dims [first, first + count) into one; `v`
/// itself when count is 1.
mlir::Value collapseDims(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                         int64_t first, int64_t count);

/// tensor.expand_shape splitting dim `dim` into `sizes`; `v` itself when
/// there is one size.
mlir::Value expandDim(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                      int64_t dim, llvm::ArrayRef<mlir::OpFoldResult> sizes);

/// tensor.collapse_shape removing the size-1 dims `dims` (sorted); `v`
/// itself when `dims` is empty.
mlir::Value dropUnitDims(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                         llvm::ArrayRef<int64_t> dims);

/// A zero-filled tensor of the given sizes and element type.
mlir::Value zeros(mlir::OpBuilder &b, mlir::Location loc,
                  llvm::ArrayRef<mlir::OpFoldResult> sizes,
                  mlir::Type elementType);

/// Reports one fusion to the listener of `options` (if any).
void reportFusion(const FusionOptions &options, FusionFamily family,
                  mlir::Operation *fused, const llvm::Twine &what);

} // namespace egs::fusion

#endif // EGS_LIB_DIALECT_EGS_TRANSFORMS_FUSIONFORMS_H
