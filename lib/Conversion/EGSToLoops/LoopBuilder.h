//===- LoopBuilder.h - shared pieces of the egs host lowering ---*- C++ -*-===//
//
// Every egs op lowers on the host to loops over memrefs. The pieces all of
// them need live here once: index arithmetic, f32 accumulation of 16-bit
// data, bounds checks of routed indices, and the vectorized
// row-times-expert-matrix loop shared by gather_matmul and matmul_scatter.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_CONVERSION_EGSTOLOOPS_LOOPBUILDER_H
#define EGS_LIB_CONVERSION_EGSTOLOOPS_LOOPBUILDER_H

#include "egs/Conversion/EGSToLoops/EGSToLoops.h"
#include "egs/Conversion/Utils/LoweringBuilder.h"
#include "egs/Conversion/Utils/ShapeChecks.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

namespace egs {
using namespace mlir;

/// The lowering builder plus the memref loads/stores, loop nests, index
/// checks and matmul loop of the host lowering of one op.
class LoopBuilder : public LoweringBuilder {
public:
  LoopBuilder(OpBuilder &b, Location loc, Operation *op,
              const LoopLoweringOptions &options)
      : LoweringBuilder(b, loc), op(op), options(options) {}

  const LoopLoweringOptions &getOptions() const { return options; }

  Value dim(Value memref, int64_t d);

  /// Loads an index element (i32/i64) as `index`.
  Value loadIndex(Value memref, ValueRange ivs);
  /// Loads a data element widened to f32.
  Value loadF32(Value memref, ValueRange ivs);
  /// Stores an f32 value narrowed to the memref's element type.
  void storeF32(Value v, Value memref, ValueRange ivs);
  /// Loads `like`'s shape (f32 scalar or vector<N x f32>) starting at `ivs`,
  /// widening the memref's element type to f32.
  Value loadLikeF32(Value like, Value memref, ValueRange ivs);
  /// Stores an f32 scalar or vector at `ivs`, narrowing to the element type.
  void storeLikeF32(Value v, Value memref, ValueRange ivs);

  using LoweringBuilder::forLoop;
  /// scf.for over [lb, ub) with `step`; the body gets the induction variable.
  void forLoop(Value lb, Value ub, int64_t step,
               function_ref<void(Value)> body);
  void forLoop(Value ub, function_ref<void(Value)> body) {
    forLoop(idx(0), ub, 1, body);
  }
  /// A loop nest over every dim of `sizes`.
  void forNest(ArrayRef<Value> sizes, function_ref<void(ValueRange)> body);

  /// When index checking is on: fails with a message naming the op, `what`
  /// and the offending value unless 0 <= value < bound.
  void checkInRange(Value value, Value bound, StringRef what);
  /// When index checking is on: fails unless lo <= value <= hi.
  void checkBetween(Value value, Value lo, Value hi, StringRef what);

  /// acc[c] = sum_{r < reduce} loadA(r) * w[e, r, c] for c < cols, handed to
  /// `epilogue(c, acc)` as f32 vectors of the configured width, then scalars
  /// for the tail. w is [E, reduce, cols], or [E, cols, reduce] when
  /// `wTransposed`. Vectors are used only when `vectorsOk` and w's rows are
  /// contiguous along cols.
  void rowTimesExpertMatrix(Value w, bool wTransposed, Value e, Value reduce,
                            Value cols, bool vectorsOk,
                            function_ref<Value(Value r)> loadA,
                            function_ref<void(Value c, Value acc)> epilogue);

  /// Fills rows [lo, hi) of a 2-D memref with zeros.
  void zeroRows(Value memref, Value lo, Value hi);

private:
  void reportIndexError(Value value, Value lo, Value hi, StringRef what);
  Operation *op;
  const LoopLoweringOptions &options;
};

/// Base of the host lowering patterns: matches the memref form only, hands
/// the op and a LoopBuilder to `lower`, then erases the op.
template <typename OpTy>
struct LoopLoweringPattern : public OpRewritePattern<OpTy> {
  LoopLoweringPattern(MLIRContext *ctx, const LoopLoweringOptions &options)
      : OpRewritePattern<OpTy>(ctx), options(options) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const final {
    if (!op.hasBufferSemantics())
      return rewriter.notifyMatchFailure(op, "bufferize the tensor form first");
    if (options.checkIndices)
      emitShapeChecks(rewriter, op.getLoc(), op);
    LoopBuilder lb(rewriter, op.getLoc(), op, options);
    lower(op, lb, rewriter);
    rewriter.eraseOp(op);
    return success();
  }

  virtual void lower(OpTy op, LoopBuilder &lb,
                     PatternRewriter &rewriter) const = 0;

  LoopLoweringOptions options;
};

/// True if the innermost dimension of `memref` is known contiguous.
bool hasUnitInnerStride(Value memref);

} // namespace egs

#endif // EGS_LIB_CONVERSION_EGSTOLOOPS_LOOPBUILDER_H
