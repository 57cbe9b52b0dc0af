//===- Fusion.h - the --egs-fuse rewrite patterns ---------------*- C++ -*-===//
//
// The pattern families of --egs-fuse, for compilers that want them in their
// own rewrite drivers. Each family is populated separately; a listener sees
// every fusion (the pass counts them and emits remarks through it).
//
//===----------------------------------------------------------------------===//
#ifndef EGS_DIALECT_EGS_TRANSFORMS_FUSION_H
#define EGS_DIALECT_EGS_TRANSFORMS_FUSION_H

#include "llvm/ADT/StringRef.h"

#include <functional>

namespace mlir {
class Operation;
class RewritePatternSet;
} // namespace mlir

namespace egs {

/// The pattern families of --egs-fuse (one pass option each).
enum class FusionFamily {
  GatherContraction,  ///< gather + contraction -> egs.gather_matmul
  ContractionScatter, ///< contraction + scatter-add -> egs.matmul_scatter
  Routing,            ///< permute/unpermute + grouped op -> ragged op
  GatherTranspose,    ///< gather + transpose (+ concat) -> egs.gather(_concat)
  Epilogue,           ///< bias add / row scale folded into a matmul op
  WeightGrad,         ///< gather + outer-product sum -> egs.weight_grad
};

/// Called once per fusion with the family, the op that now holds the fused
/// computation and a one-line description of what was fused.
using FusionListener =
    std::function<void(FusionFamily, mlir::Operation *, llvm::StringRef)>;

struct FusionOptions {
  bool gatherContraction = true;
  bool contractionScatter = true;
  bool routing = true;
  bool gatherTranspose = true;
  bool weightGrad = true;
  /// Fold bias adds and per-row scales into the fused ops (the gather and
  /// scatter families consult it).
  bool epilogue = true;
  FusionListener listener;
};

/// gather (torch-mlir / StableHLO linalg.generic, tensor.gather, egs.gather)
/// + contraction (matmul, batch_matmul, contract, generic) ->
/// egs.gather_matmul; with `epilogue`, also a following bias add, and a bias
/// add after an existing egs.gather_matmul.
void populateFuseGatherContractionPatterns(mlir::RewritePatternSet &patterns,
                                           const FusionOptions &options);

/// contraction (+ per-row scale) + egs.scatter_add / tensor.scatter ->
/// egs.matmul_scatter.
void populateFuseContractionScatterPatterns(mlir::RewritePatternSet &patterns,
                                            const FusionOptions &options);

/// egs.permute + grouped gather_matmul -> ragged gather_matmul reading tokens
/// in place; grouped matmul + egs.unpermute -> ragged matmul_scatter + scale.
void populateFuseRoutingPatterns(mlir::RewritePatternSet &patterns,
                                 const FusionOptions &options);

/// gather + transpose -> egs.gather {permutation}; gathers (+ transposes)
/// feeding one tensor.concat -> egs.gather_concat.
void populateFuseGatherTransposePatterns(mlir::RewritePatternSet &patterns,
                                         const FusionOptions &options);

/// per-expert outer-product sum over slots (einsum `(b)eki,(b)ekj->eij`)
/// with a row gather on either side (+ transpose, + per-slot scale) ->
/// expert-choice egs.weight_grad; with `epilogue`, also a following rounding.
void populateFuseWeightGradPatterns(mlir::RewritePatternSet &patterns,
                                    const FusionOptions &options);

/// Every family enabled in `options`.
void populateEGSFusionPatterns(mlir::RewritePatternSet &patterns,
                               const FusionOptions &options);

} // namespace egs

#endif // EGS_DIALECT_EGS_TRANSFORMS_FUSION_H
