//===- KernelConfig.h - tile, stage and warp strategy of egs kernels -*- C++ -*-===//
//
// The strategy of a generated kernel (which path, tile sizes, pipeline
// stages, warps) is chosen here from the shapes and element types, apart
// from the code that emits the kernel: the heuristics of
// egs-select-gpu-strategy, and the checks and warp/thread tiles that
// convert-egs-to-gpu completes a recorded strategy with. A `tile` attribute
// (#egs.tile) or the pass option overrides the heuristic; invalid overrides
// are diagnosed.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_KERNELCONFIG_H
#define EGS_LIB_CONVERSION_EGSTOGPU_KERNELCONFIG_H

#include "egs/Conversion/EGSToGPU/EGSToGPU.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Types.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace egs {

/// How the expert GEMM computes its tile.
enum class GemmPath {
  /// f16/bf16: 16-byte cp.async staging, ldmatrix, mma.sync m16n8k16.
  TensorCore,
  /// f16/bf16 on sm_90a: 16-byte cp.async staging into 128-byte swizzled
  /// tiles, warpgroup MMA (wgmma m64nNk16) reading both operands from shared
  /// memory; one warpgroup per 64 rows of the tile, bk = 64.
  Warpgroup,
  /// f32: 16-byte cp.async staging, FMA on CUDA cores.
  CudaCoreAsync,
  /// Any type, any strides or alignment: element loads, FMA on CUDA cores.
  CudaCoreGeneral,
};

struct GemmConfig {
  GemmPath path;
  int64_t bm, bn, bk, stages, warps;
  /// TensorCore: the warp tile (warpM x warpN, multiples of 16). Warpgroup:
  /// 16 x bn, the accumulator rows of one warp of a warpgroup.
  int64_t warpM = 0, warpN = 0;
  /// CUDA cores: the thread tile (threadM rows x threadN columns).
  int64_t threadM = 0, threadN = 0;
  /// Warpgroup, a reduction of at most `stages` slices known at compile
  /// time: every slice is staged at once (one buffer each, no refills), then
  /// all of them multiplied: no pipeline to keep fed across iterations.
  bool resident = false;

  int64_t numThreads() const { return warps * 32; }
  /// Warpgroup with one warpgroup more than the bm / 64 that compute: that
  /// last one only issues the staging copies (warp specialisation, see
  /// specializedWarpgroupLoop). Weight gradient only.
  bool warpSpecialized() const {
    return path == GemmPath::Warpgroup && warps == 4 * (bm / 64) + 4;
  }
  /// Threads that issue the staging copies: the producer warpgroup, else all.
  int64_t copyThreads() const { return warpSpecialized() ? 128 : numThreads(); }
  /// Elements of one staged copy: 16 bytes for the async paths, 1 otherwise.
  int64_t copyElems(mlir::Type dataType) const;
  /// "tc_128x64x32_s3_w8" ("wg_128x64x64_r2_w8" when resident), used in
  /// kernel names.
  std::string tag() const;
};

/// What the heuristic knows about one expert GEMM (ShapedType::kDynamic
/// where unknown at compile time).
struct GemmShape {
  int64_t rowsPerExpert; ///< B*K (expert-choice) or R/E (ragged)
  int64_t reduce;        ///< I (gather_matmul) or J (matmul_scatter)
  int64_t cols;          ///< J or I
  mlir::Type dataType;   ///< f32, f16 or bf16
  bool pairedHalves;     ///< swiglu: tiles hold matching columns of both halves
  bool kMajorB = false;  ///< w stored transposed: B staged [bn][bk] like A
};

/// Checks `config` (its path and sizes) for `shape` and completes its warp
/// or thread tile. With `maxSharedMemory`, also checks the shared memory it
/// needs; `fewerStages` drops pipeline stages until it fits instead of
/// failing. Fails with a diagnostic from `emitError`.
mlir::FailureOr<GemmConfig>
completeGemmConfig(const GemmShape &shape, GemmConfig config,
                   std::optional<int64_t> maxSharedMemory, bool fewerStages,
                   llvm::function_ref<mlir::InFlightDiagnostic()> emitError);

/// Picks the strategy for `path`, honouring `override` (from the op's `tile`
/// attribute or the pass option). Fails with a diagnostic from `emitError`
/// when the override cannot be used.
mlir::FailureOr<GemmConfig>
chooseGemmConfig(const GemmShape &shape, GemmPath path,
                 std::optional<TileOverride> override, int64_t maxSharedMemory,
                 llvm::function_ref<mlir::InFlightDiagnostic()> emitError);

/// A fast strategy and the sizes it is meant for, checked at run time when
/// the shapes are dynamic (0: no bound).
struct GemmVariant {
  GemmConfig config;
  int64_t minRows = 0;   ///< rows per expert, at least
  int64_t minReduce = 0; ///< reduction size, at least
  int64_t maxReduce = 0; ///< reduction size, at most
  int64_t minCols = 0;   ///< output columns, at least

  /// The bounds may hold (false only when a static size violates one).
  bool mayApply(const GemmShape &shape) const;
  /// The bounds hold for certain (every bounded size is static and fits).
  bool mustApply(const GemmShape &shape) const;
};

/// The fast strategies to choose from at run time, most specific first; the
/// last one applies to every size. One strategy when `override` is given or
/// the static shapes decide.
mlir::FailureOr<llvm::SmallVector<GemmVariant>>
chooseGemmVariants(const GemmShape &shape, GemmPath path,
                   std::optional<TileOverride> override,
                   int64_t maxSharedMemory, bool warpgroupMma,
                   llvm::function_ref<mlir::InFlightDiagnostic()> emitError);

/// Byte offsets into the GEMM kernel's dynamic shared memory. The staging
/// buffers of A and B and, after the main loop, the f32 output tile share one
/// region; the per-row table follows it.
struct GemmSharedLayout {
  int64_t elemBytes;   ///< bytes of one staged element (2, or 4 for f32)
  int64_t pad;         ///< elements of padding per staged row (16 bytes;
                       ///< none for the swizzled Warpgroup tiles)
  int64_t aOffset, bOffset;
  int64_t cOffset, cPad; ///< output tile [bm][bn + cPad] f32
  int64_t rowsOffset;    ///< aRow [bm] i64, outRow [bm] i64, scale [bm] f32
  int64_t totalBytes;
};
/// `kMajorB`: the B tile is staged [bn][bk] (a transposed w, fast paths)
/// instead of [bk][bn].
GemmSharedLayout gemmSharedLayout(const GemmConfig &config,
                                  bool kMajorB = false);

/// What the weight-gradient heuristic knows (ShapedType::kDynamic where
/// unknown): dw is [E, I, J], the reduction runs over the expert's slots.
struct WeightGradShape {
  int64_t rows;     ///< I (the tile's bm side)
  int64_t cols;     ///< J (the tile's bn side)
  mlir::Type dataType;
};

/// The weight-gradient strategy for `path` (TensorCore, CudaCoreAsync or
/// CudaCoreGeneral): one block per bm x bn tile of dw[e], bk slots per
/// reduction slice. Fails with a diagnostic from `emitError`.
/// `warpgroupMma`: the large tiles of the tensor-core path use wgmma.
/// `override` (the op's `tile`) replaces the heuristic's sizes on the fast
/// paths; it is checked like the heuristic's choice.
mlir::FailureOr<GemmConfig>
chooseWeightGradConfig(const WeightGradShape &shape, GemmPath path,
                       std::optional<TileOverride> override,
                       int64_t maxSharedMemory, bool warpgroupMma,
                       llvm::function_ref<mlir::InFlightDiagnostic()> emitError);

/// completeGemmConfig for the weight-gradient kernel.
mlir::FailureOr<GemmConfig> completeWeightGradConfig(
    GemmConfig config, std::optional<int64_t> maxSharedMemory, bool fewerStages,
    llvm::function_ref<mlir::InFlightDiagnostic()> emitError);

/// A weight-gradient strategy and the slots per expert (on average: R / E,
/// or B * K) it is meant for, at least.
struct WeightGradVariant {
  GemmConfig config;
  int64_t minSlotsPerExpert = 0;
};

/// The fast weight-gradient strategies to choose from at run time, most
/// slots per expert first; the last one applies to every size. One strategy
/// when `override` is given. Fails with a diagnostic from `emitError`.
mlir::FailureOr<llvm::SmallVector<WeightGradVariant>>
chooseWeightGradVariants(
    const WeightGradShape &shape, GemmPath path,
    std::optional<TileOverride> override, int64_t maxSharedMemory,
    bool warpgroupMma, llvm::function_ref<mlir::InFlightDiagnostic()> emitError);

/// Byte offsets into the weight-gradient kernel's dynamic shared memory:
/// both operands staged as K-rows tiles ([stages][bk][bm + pad] and
/// [stages][bk][bn + pad]; Warpgroup: 128-byte swizzled slabs of 64 columns
/// [stages][bm / 64][bk][64], 1024-byte aligned), the slots' scales
/// [stages][bk] f32 and, warp-specialised, the stages' mbarriers
/// [2][stages] i64 (full, then empty).
struct WeightGradSharedLayout {
  int64_t elemBytes, pad;
  int64_t lhsOffset, rhsOffset, scaleOffset, barrierOffset, totalBytes;
};
WeightGradSharedLayout weightGradSharedLayout(const GemmConfig &config);

/// Threads per block of the bandwidth-bound kernels.
constexpr int64_t kBandwidthThreads = 256;
/// Threads of the single-block scan kernels (tile map, routing).
constexpr int64_t kScanThreads = 256;

} // namespace egs

#endif
