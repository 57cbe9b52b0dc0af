//===- GPUStrategy.h - egs.gpu_strategy: choose, record, read ---*- C++ -*-===//
//
// The strategy of an op's GEMM kernels lives in the IR: egs-select-gpu-strategy
// chooses it (KernelConfig's heuristics, the op's `tile`, the pass option) and
// records it as `egs.gpu_strategy`; convert-egs-to-gpu reads it back here and
// only completes each tile's warp or thread split. The conversions between
// the attribute and GemmConfig are in this one place.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_STRATEGY_GPUSTRATEGY_H
#define EGS_LIB_CONVERSION_EGSTOGPU_STRATEGY_GPUSTRATEGY_H

#include "Strategy/KernelConfig.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

namespace egs {

/// The instruction family of a kernel path, and back.
MmaKind mmaKindOf(GemmPath path);
GemmPath gemmPathOf(MmaKind mma);

/// `config`'s path and sizes as an attribute (the warp or thread split is
/// derived, not recorded).
TileConfigAttr tileAttrOf(mlir::MLIRContext *ctx, const GemmConfig &config);
/// The path and sizes of `tile`, to be completed by completeGemmConfig or
/// completeWeightGradConfig.
GemmConfig configOf(TileConfigAttr tile);

/// What the heuristics know about an op's GEMM (tensor or memref form).
GemmShape gemmShapeOf(GatherMatmulOp op);
GemmShape gemmShapeOf(MatmulScatterOp op);
WeightGradShape weightGradShapeOf(WeightGradOp op);

/// The strategy egs-select-gpu-strategy records on `op` (gather_matmul,
/// matmul_scatter or weight_grad). Fails after a diagnostic at `op`.
mlir::FailureOr<GPUStrategyAttr>
chooseGPUStrategy(mlir::Operation *op, const GPUStrategyOptions &options);

/// What the host code of a matmul op launches: the fast variants, most
/// specific first, and the general kernel.
struct GemmStrategies {
  llvm::SmallVector<GemmVariant> fast;
  GemmConfig general;
};
/// The same for weight_grad.
struct WeightGradStrategies {
  llvm::SmallVector<WeightGradVariant> fast;
  GemmConfig general;
};

/// The strategy recorded on `op`, completed; fails after a diagnostic at
/// `op` when there is none or a tile cannot be built.
mlir::FailureOr<GemmStrategies> recordedGemmStrategies(mlir::Operation *op,
                                                       const GemmShape &shape);
mlir::FailureOr<WeightGradStrategies>
recordedWeightGradStrategies(WeightGradOp op);

} // namespace egs

#endif
