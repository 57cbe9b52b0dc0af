//===- EGSToGPU.h - egs ops on memrefs to GPU kernels -----------*- C++ -*-===//
//
// convert-egs-to-gpu rewrites every egs op in memref form into host code
// that launches kernels it generates into a `gpu.module @egs_kernels`.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_CONVERSION_EGSTOGPU_EGSTOGPU_H
#define EGS_CONVERSION_EGSTOGPU_EGSTOGPU_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/LogicalResult.h"
#include <cstdint>
#include <optional>
#include <string>

namespace mlir {
class Operation;
class RewritePatternSet;
} // namespace mlir

namespace egs {

/// How kernels reach the memrefs that the host code hands to egs ops.
enum class HostBuffers {
  /// Operands live in host memory: every op copies them to device buffers,
  /// launches, copies the written ones back and waits. Any program runs
  /// unchanged (this is what `egs-runner --target=cuda` uses).
  Copy,
  /// Operands are device-accessible already (device or managed pointers,
  /// e.g. from PyTorch): kernels use them in place.
  Device,
};

/// A tile strategy: BM x BN output tiles, a BK reduction step, pipeline
/// stages and warps per block (see #egs.tile).
struct TileOverride {
  int64_t bm, bn, bk, stages, warps;
  /// f16/bf16 through warpgroup MMA (sm_90a) instead of mma.sync.
  bool warpgroup = false;
};

/// What egs-select-gpu-strategy chooses with.
struct GPUStrategyOptions {
  /// Tile strategy for ops without a `tile` attribute (else the heuristic).
  std::optional<TileOverride> tile;
  /// Shared memory one block may use (bytes); bounds the heuristic and
  /// rejects `tile` overrides that need more.
  int64_t maxSharedMemory = 227 * 1024;
  /// Run large f16/bf16 GEMMs through warpgroup MMA (wgmma: sm_90a only).
  bool warpgroupMma = false;
};

/// Records on every gather_matmul, matmul_scatter and weight_grad op under
/// `root` the kernel strategies convert-egs-to-gpu will build (the
/// `egs.gpu_strategy` attribute), from the heuristic or the op's `tile`.
/// Fails after a diagnostic at the first op whose strategy cannot be used.
llvm::LogicalResult selectGPUStrategies(mlir::Operation *root,
                                        const GPUStrategyOptions &options);

struct GPULoweringOptions {
  HostBuffers hostBuffers = HostBuffers::Copy;
  /// Wait for the kernels of each op before the host code goes on. Without
  /// it (device buffers only) the kernels stay queued on the current stream
  /// (egsSetCurrentStream), which the caller synchronises.
  bool hostSync = true;
  /// Compare the dynamic dims an op's layouts tie together on the host
  /// before launching (egsReportShapeError on a mismatch).
  bool checkShapes = true;
  /// Emit `red.global.add.v4.f32` (sm_90+, PTX ISA 8.1+) for the atomic
  /// epilogue of matmul_scatter instead of four scalar atomics.
  bool vectorAtomics = false;
};

/// gather_matmul, matmul_scatter -> tiled tensor-core / CUDA-core kernels.
void populateEGSMatmulToGPUPatterns(mlir::RewritePatternSet &patterns,
                                    const GPULoweringOptions &options);
/// permute, route, unpermute -> sorting and combine kernels.
void populateEGSRoutingToGPUPatterns(mlir::RewritePatternSet &patterns,
                                     const GPULoweringOptions &options);
/// gather, scatter_add, gather_concat -> bandwidth kernels.
void populateEGSDataMovementToGPUPatterns(mlir::RewritePatternSet &patterns,
                                          const GPULoweringOptions &options);
/// All of the above.
void populateEGSToGPUPatterns(mlir::RewritePatternSet &patterns,
                              const GPULoweringOptions &options);

} // namespace egs

#endif
