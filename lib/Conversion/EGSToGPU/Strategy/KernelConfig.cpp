//===- KernelConfig.cpp - tile, stage and warp strategy of egs kernels ----===//
//
// Defaults come from measurements on the H100 (prototype/gpu/README.md and
// scripts/gpu-check/RESULTS.md): 128x64x32 tiles, 3 stages, 8 warps of 32x32
// by default; 256x64x32 for many rows per expert and a short reduction (the
// expert-choice seed shapes); 128x256x32 for large GEMMs (N >= 1024, K >= 512).
//
//===----------------------------------------------------------------------===//
#include "Strategy/KernelConfig.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace egs;

int64_t GemmConfig::copyElems(Type dataType) const {
  if (path == GemmPath::CudaCoreGeneral)
    return 1;
  return 16 / (dataType.getIntOrFloatBitWidth() / 8);
}

std::string GemmConfig::tag() const {
  const char *p = path == GemmPath::TensorCore      ? "tc"
                  : path == GemmPath::Warpgroup     ? "wg"
                  : path == GemmPath::CudaCoreAsync ? "simt"
                                                    : "gen";
  return std::string(p) + "_" + std::to_string(bm) + "x" + std::to_string(bn) +
         "x" + std::to_string(bk) + (resident ? "_r" : "_s") +
         std::to_string(stages) + "_w" + std::to_string(warps);
}

static int64_t alignTo16(int64_t v) { return llvm::alignTo(v, 16); }

GemmSharedLayout egs::gemmSharedLayout(const GemmConfig &c, bool kMajorB) {
  GemmSharedLayout l;
  bool swizzled = c.path == GemmPath::Warpgroup;
  l.elemBytes = c.path == GemmPath::TensorCore || swizzled ? 2 : 4;
  // Padding keeps ldmatrix free of bank conflicts; wgmma's 128-byte
  // swizzle does that itself and needs tiles on 1024-byte boundaries.
  l.pad = swizzled ? 0 : 16 / l.elemBytes;
  l.aOffset = 0;
  int64_t aBytes = c.stages * c.bm * (c.bk + l.pad) * l.elemBytes;
  l.bOffset = swizzled ? llvm::alignTo(aBytes, 1024) : alignTo16(aBytes);
  int64_t bRow = kMajorB ? c.bk + l.pad : c.bn + l.pad;
  int64_t bRows = kMajorB ? c.bn : c.bk;
  int64_t staging = l.bOffset + c.stages * bRows * bRow * l.elemBytes;
  l.cOffset = 0;
  l.cPad = 8;
  int64_t cBytes = c.bm * (c.bn + l.cPad) * 4;
  l.rowsOffset = alignTo16(std::max(staging, cBytes));
  l.totalBytes = alignTo16(l.rowsOffset + c.bm * (8 + 8 + 4));
  return l;
}

/// Splits `warps` over the bm x bn tile into warp tiles that are multiples of
/// 16 in both directions, preferring square ones (fewer ldmatrix per mma).
static bool pickWarpTile(GemmConfig &c) {
  int64_t best = -1;
  for (int64_t wn = 16; wn <= c.bn; wn += 16) {
    if (c.bn % wn)
      continue;
    int64_t warpsN = c.bn / wn;
    if (c.warps % warpsN)
      continue;
    int64_t warpsM = c.warps / warpsN;
    if (c.bm % warpsM || (c.bm / warpsM) % 16)
      continue;
    int64_t wm = c.bm / warpsM;
    // Squarer warp tiles reuse fragments better; cap the accumulators.
    if (wm * wn / 32 > 128)
      continue;
    int64_t score = std::min(wm, wn) * 1000 - std::abs(wm - wn);
    if (score > best) {
      best = score;
      c.warpM = wm;
      c.warpN = wn;
    }
  }
  return best >= 0;
}

/// CUDA cores: each thread owns threadM x 4 outputs.
static bool pickThreadTile(GemmConfig &c) {
  c.threadN = 4;
  int64_t threadsN = c.bn / c.threadN;
  if (c.bn % c.threadN || c.numThreads() % threadsN)
    return false;
  int64_t threadsM = c.numThreads() / threadsN;
  if (c.bm % threadsM)
    return false;
  c.threadM = c.bm / threadsM;
  return c.threadM >= 1 && c.threadM <= 16;
}

bool GemmVariant::mayApply(const GemmShape &s) const {
  auto below = [](int64_t v, int64_t bound) {
    return bound && !ShapedType::isDynamic(v) && v < bound;
  };
  auto above = [](int64_t v, int64_t bound) {
    return bound && !ShapedType::isDynamic(v) && v > bound;
  };
  return !below(s.rowsPerExpert, minRows) && !below(s.reduce, minReduce) &&
         !above(s.reduce, maxReduce) && !below(s.cols, minCols);
}

bool GemmVariant::mustApply(const GemmShape &s) const {
  auto known = [](int64_t v, int64_t bound) {
    return !bound || !ShapedType::isDynamic(v);
  };
  return mayApply(s) && known(s.rowsPerExpert, minRows) &&
         known(s.reduce, minReduce) && known(s.reduce, maxReduce) &&
         known(s.cols, minCols);
}

/// The tile fits `maxSharedMemory` with at least `minStages` stages (its
/// f32 output tile, which the staging buffers share, may alone be too big).
static bool fitsSharedMemory(GemmConfig c, bool kMajorB, int64_t minStages,
                             int64_t maxSharedMemory) {
  c.stages = std::min(c.stages, minStages);
  return gemmSharedLayout(c, kMajorB).totalBytes <= maxSharedMemory;
}

static GemmConfig heuristic(const GemmShape &s, GemmPath path,
                            int64_t maxSharedMemory) {
  auto known = [](int64_t v) { return !ShapedType::isDynamic(v); };
  if (path == GemmPath::TensorCore) {
    GemmConfig large{path, 128, 256, 32, 3, 8};
    if (known(s.cols) && known(s.reduce) && s.cols >= 1024 && s.reduce >= 512 &&
        fitsSharedMemory(large, s.kMajorB, 2, maxSharedMemory))
      return large;
    GemmConfig c{path, 128, 64, 32, 3, 8};
    if (known(s.rowsPerExpert) && s.rowsPerExpert <= 64)
      c = {path, 64, 64, 32, 3, 4};
    if (known(s.cols) && s.cols <= 32 && !s.pairedHalves)
      c.bn = 32;
    return c;
  }
  if (path == GemmPath::CudaCoreAsync)
    return {path, 64, 64, 16, 3, 4};
  return {path, 64, 64, 16, 1, 4};
}

FailureOr<GemmConfig>
egs::completeGemmConfig(const GemmShape &shape, GemmConfig c,
                        std::optional<int64_t> maxSharedMemory, bool fewerStages,
                        function_ref<InFlightDiagnostic()> emitError) {
  GemmPath path = c.path;
  auto fail = [&](const Twine &why) -> FailureOr<GemmConfig> {
    emitError() << "tile configuration " << c.tag() << " cannot be used: "
                << why;
    return failure();
  };
  if (c.bm <= 0 || c.bn <= 0 || c.bk <= 0 || c.warps <= 0 || c.warps > 32)
    return fail("sizes must be positive and warps at most 32");
  // (A resident tile has one buffer per slice, however few: it is checked
  // as the pipelined tile it is built from.)
  int64_t stages = c.stages;
  if (c.resident)
    c.stages = std::max<int64_t>(c.stages, 3);
  if (path != GemmPath::CudaCoreGeneral && c.stages < 2)
    return fail("the asynchronous copy pipeline needs at least 2 stages");
  int64_t vec = c.copyElems(shape.dataType);
  if (c.bk % vec || c.bn % vec)
    return fail("bk and bn must be multiples of the " + Twine(vec) +
                "-element copy");
  if (shape.pairedHalves && c.bn % (2 * std::max<int64_t>(vec, 4)))
    return fail("swiglu needs bn to be a multiple of " +
                Twine(2 * std::max<int64_t>(vec, 4)));
  if (c.bn % 4)
    return fail("bn must be a multiple of 4");
  if (path == GemmPath::Warpgroup) {
    // One warpgroup (4 warps) per 64 rows, each the full bn wide; tiles of
    // 128-byte rows (bk = 64 elements of A, 64 columns per B slab); every
    // thread issues whole 16-byte copies (no partial last round).
    if (c.bk != 64 || c.bm % 64 || c.bn % 64 || c.bn > 256)
      return fail("warpgroup MMA needs bk = 64, bm a multiple of 64 and bn a "
                  "multiple of 64 up to 256");
    if (c.warps != 4 * (c.bm / 64))
      return fail("warpgroup MMA needs 4 warps per 64 rows (" +
                  Twine(4 * (c.bm / 64)) + " warps)");
    if (c.stages < 3)
      return fail("warpgroup MMA needs at least 3 stages");
    if ((c.bm * c.bk / vec) % c.numThreads() || (c.bk * c.bn / vec) % c.numThreads())
      return fail("the staged tiles must split evenly over the threads");
    c.warpM = 16;
    c.warpN = c.bn;
  } else if (path == GemmPath::TensorCore) {
    if (c.bm % 16 || c.bn % 16 || c.bk % 16)
      return fail("bm, bn and bk must be multiples of 16 for mma.sync m16n8k16");
    if (!pickWarpTile(c))
      return fail("no split of " + Twine(c.warps) +
                  " warps into warp tiles that are multiples of 16");
  } else if (!pickThreadTile(c)) {
    return fail("no split into per-thread tiles of at most 16x4");
  }
  if (path == GemmPath::CudaCoreAsync && c.bk % 4)
    return fail("bk must be a multiple of 4");
  c.stages = stages;
  if (!maxSharedMemory)
    return c;
  // (The general kernel stages B [bk][bn] whatever w's layout.)
  bool kMajorB = shape.kMajorB && path != GemmPath::CudaCoreGeneral;
  int64_t smem = gemmSharedLayout(c, kMajorB).totalBytes;
  if (smem > *maxSharedMemory) {
    if (fewerStages && !c.resident) {
      // Fewer stages first, then give up with the honest message.
      while (c.stages > 2 &&
             gemmSharedLayout(c, kMajorB).totalBytes > *maxSharedMemory)
        --c.stages;
      if (gemmSharedLayout(c, kMajorB).totalBytes <= *maxSharedMemory)
        return c;
    }
    return fail("needs " + Twine(smem) + " bytes of shared memory, more than " +
                Twine(*maxSharedMemory));
  }
  return c;
}

FailureOr<GemmConfig>
egs::chooseGemmConfig(const GemmShape &shape, GemmPath path,
                      std::optional<TileOverride> override,
                      int64_t maxSharedMemory,
                      function_ref<InFlightDiagnostic()> emitError) {
  GemmConfig c = heuristic(shape, path, maxSharedMemory);
  if (override && override->warpgroup && path == GemmPath::TensorCore)
    c.path = GemmPath::Warpgroup;
  if (override && path != GemmPath::CudaCoreGeneral) {
    c.bm = override->bm;
    c.bn = override->bn;
    c.bk = override->bk;
    c.stages = override->stages;
    c.warps = override->warps;
  }
  return completeGemmConfig(shape, c, maxSharedMemory,
                            /*fewerStages=*/!override, emitError);
}

FailureOr<SmallVector<GemmVariant>>
egs::chooseGemmVariants(const GemmShape &shape, GemmPath path,
                        std::optional<TileOverride> override,
                        int64_t maxSharedMemory, bool warpgroupMma,
                        function_ref<InFlightDiagnostic()> emitError) {
  if (override && override->warpgroup) {
    if (path != GemmPath::TensorCore) {
      emitError() << "tile mma = warpgroup needs f16 or bf16 operands";
      return failure();
    }
    if (!warpgroupMma) {
      emitError() << "tile mma = warpgroup needs warpgroup MMA (wgmma): "
                     "lower with chip=sm_90a (egs-select-gpu-strategy: "
                     "warpgroup-mma=true)";
      return failure();
    }
  }
  SmallVector<GemmVariant> candidates;
  if (path == GemmPath::TensorCore && !override) {
    // Large GEMMs (token-choice rows): wider tiles reuse each operand more
    // (128x256 measured best on the H100 for all four Mixtral and Qwen3
    // rows, Qwen3 down with its 768-long reduction included); on sm_90a
    // through warpgroup MMA (4 stages: best of 128x256 s3/s4, 128x128
    // s3/s4, 256x128 s3, 64x256 s4 on the same four rows).
    GemmVariant big{warpgroupMma
                        ? GemmConfig{GemmPath::Warpgroup, 128, 256, 64, 4, 8}
                        : GemmConfig{path, 128, 256, 32, 3, 8}};
    big.minReduce = 512;
    big.minCols = 1024;
    candidates.push_back(big);
    // Many rows per expert, short reduction (the expert-choice seed shapes):
    // more rows per block amortise the prologue and the epilogue (H100, seed
    // shape: warpgroup 128x64x64 11.0 us, mma.sync 256x64x32 13.1 us). A
    // reduction of at most two 64-wide slices known at compile time (the
    // seed's I = 128) is staged whole: both slices load at once and half
    // the shared memory of 4 pipeline stages leaves room for more blocks.
    int64_t slices = ShapedType::isDynamic(shape.reduce)
                         ? 0
                         : llvm::divideCeil(shape.reduce, int64_t(64));
    bool resident = warpgroupMma && slices > 0 && slices <= 2;
    GemmVariant tall{warpgroupMma
                         ? GemmConfig{GemmPath::Warpgroup, 128, 64, 64, 4, 8}
                         : GemmConfig{path, 256, 64, 32, 3, 8}};
    if (resident) {
      tall.config.resident = true;
      tall.config.stages = slices;
    }
    tall.minRows = 256;
    tall.maxReduce = resident ? slices * 64 : 512;
    candidates.push_back(tall);
  }
  FailureOr<GemmConfig> fallback =
      chooseGemmConfig(shape, path, override, maxSharedMemory, emitError);
  if (failed(fallback))
    return failure();
  SmallVector<GemmVariant> variants;
  for (GemmVariant &v : candidates) {
    // (Chips with less shared memory than Hopper's skip the tiles that do not
    // fit them.)
    const GemmConfig &c = v.config;
    if (!v.mayApply(shape) ||
        !fitsSharedMemory(c, shape.kMajorB, c.stages, maxSharedMemory))
      continue;
    // The built-in candidates are valid by construction; this completes the
    // warp or thread tile of each.
    FailureOr<GemmConfig> full = completeGemmConfig(
        shape, v.config, maxSharedMemory, /*fewerStages=*/false, emitError);
    if (failed(full))
      return failure();
    v.config = *full;
    variants.push_back(v);
    if (v.mustApply(shape))
      return variants;
  }
  variants.push_back(GemmVariant{*fallback});
  return variants;
}

//===----------------------------------------------------------------------===//
// Weight gradient
//===----------------------------------------------------------------------===//

WeightGradSharedLayout egs::weightGradSharedLayout(const GemmConfig &c) {
  WeightGradSharedLayout l;
  bool swizzled = c.path == GemmPath::Warpgroup;
  l.elemBytes = c.path == GemmPath::TensorCore || swizzled ? 2 : 4;
  // 16 bytes of padding per K-row keep ldmatrix.trans free of bank conflicts;
  // wgmma's swizzle does that itself and needs 1024-byte aligned tiles.
  l.pad = swizzled ? 0 : 16 / l.elemBytes;
  int64_t align = swizzled ? 1024 : 16;
  l.lhsOffset = 0;
  l.rhsOffset =
      llvm::alignTo(c.stages * c.bk * (c.bm + l.pad) * l.elemBytes, align);
  l.scaleOffset =
      alignTo16(l.rhsOffset + c.stages * c.bk * (c.bn + l.pad) * l.elemBytes);
  l.barrierOffset = alignTo16(l.scaleOffset + c.stages * c.bk * 4);
  int64_t barrierBytes = c.warpSpecialized() ? 2 * c.stages * 8 : 0;
  l.totalBytes = alignTo16(l.barrierOffset + barrierBytes);
  return l;
}

/// Tensor cores: 128x256 tiles (8 warps of 64x64; on sm_90a two warpgroups
/// of wgmma m64n256k16 with bk = 64) where both sides of dw are large (the
/// Mixtral and Qwen3 shapes: E * (I/128) * (J/256) blocks is already several
/// waves, so the reduction is never split), 128x128 by default (wgmma
/// m64n128k16 on sm_90a), 64x64 mma.sync with 4 warps for narrow outputs.
/// CUDA cores (f32): 64x64.
static GemmConfig weightGradHeuristic(const WeightGradShape &s, GemmPath path,
                                      bool warpgroupMma) {
  auto atLeast = [](int64_t v, int64_t bound) {
    return !ShapedType::isDynamic(v) && v >= bound;
  };
  auto atMost = [](int64_t v, int64_t bound) {
    return !ShapedType::isDynamic(v) && v <= bound;
  };
  if (path == GemmPath::TensorCore) {
    if (atMost(s.rows, 64) || atMost(s.cols, 64))
      return {path, 64, 64, 32, 4, 4};
    bool large = atLeast(s.rows, 512) && atLeast(s.cols, 1024);
    if (warpgroupMma)
      return {GemmPath::Warpgroup, 128, large ? 256 : 128, 64, 4, 8};
    return {path, 128, large ? 256 : 128, 32, 4, 8};
  }
  if (path == GemmPath::CudaCoreAsync)
    return {path, 64, 64, 16, 3, 4};
  return {path, 64, 64, 16, 1, 4};
}

FailureOr<GemmConfig> egs::completeWeightGradConfig(
    GemmConfig c, std::optional<int64_t> maxSharedMemory, bool fewerStages,
    function_ref<InFlightDiagnostic()> emitError) {
  auto fail = [&](const Twine &why) -> FailureOr<GemmConfig> {
    emitError() << "weight-gradient tile configuration " << c.tag()
                << " cannot be used: " << why;
    return failure();
  };
  if (c.path != GemmPath::CudaCoreGeneral) {
    if (c.bm <= 0 || c.bn <= 0 || c.bk <= 0 || c.warps <= 0 || c.warps > 32)
      return fail("sizes must be positive and warps at most 32");
    if (c.path == GemmPath::Warpgroup &&
        (c.bk != 64 || c.bm % 64 || c.bn % 64 || c.bn > 256))
      return fail("warpgroup MMA needs bk = 64, bm a multiple of 64 and bn a "
                  "multiple of 64 up to 256");
    if (c.path == GemmPath::TensorCore && (c.bm % 16 || c.bn % 16 || c.bk % 16))
      return fail("bm, bn and bk must be multiples of 16 for mma.sync");
    if (c.path == GemmPath::CudaCoreAsync && (c.bm % 4 || c.bn % 4 || c.bk % 4))
      return fail("bm, bn and bk must be multiples of 4 for 16-byte copies");
  }
  if (c.resident)
    return fail("the weight-gradient kernel has no resident form");
  int64_t minStages = c.path == GemmPath::Warpgroup ? 3 : 2;
  if (c.path != GemmPath::CudaCoreGeneral && c.stages < minStages)
    return fail("the pipeline needs at least " + Twine(minStages) + " stages");
  bool completed;
  if (c.path == GemmPath::Warpgroup) {
    // One warpgroup per 64 rows of I, each the full bn wide; 128-byte K-rows
    // slabs of 64 columns; every copying thread issues whole 16-byte copies
    // (all threads, or the one producer warpgroup when warp-specialised).
    c.warpM = 16;
    c.warpN = c.bn;
    completed = c.bk == 64 && c.bm % 64 == 0 && c.bn % 64 == 0 &&
                c.bn <= 256 &&
                (c.warps == 4 * (c.bm / 64) || c.warpSpecialized()) &&
                c.stages >= 3 && (c.bk * c.bm / 8) % c.copyThreads() == 0 &&
                (c.bk * c.bn / 8) % c.copyThreads() == 0;
  } else {
    completed = c.path == GemmPath::TensorCore ? pickWarpTile(c)
                                               : pickThreadTile(c);
  }
  if (!completed)
    return fail("no split of the tile over the warps");
  if (!maxSharedMemory)
    return c;
  while (fewerStages && c.stages > minStages &&
         weightGradSharedLayout(c).totalBytes > *maxSharedMemory)
    --c.stages;
  int64_t smem = weightGradSharedLayout(c).totalBytes;
  if (smem > *maxSharedMemory)
    return fail("needs " + Twine(smem) + " bytes of shared memory, more than " +
                Twine(*maxSharedMemory));
  return c;
}

FailureOr<GemmConfig> egs::chooseWeightGradConfig(
    const WeightGradShape &shape, GemmPath path,
    std::optional<TileOverride> override, int64_t maxSharedMemory,
    bool warpgroupMma, function_ref<InFlightDiagnostic()> emitError) {
  GemmConfig c = weightGradHeuristic(shape, path, warpgroupMma);
  if (override && path != GemmPath::CudaCoreGeneral) {
    if (path == GemmPath::TensorCore)
      c.path = override->warpgroup ? GemmPath::Warpgroup : GemmPath::TensorCore;
    c.bm = override->bm;
    c.bn = override->bn;
    c.bk = override->bk;
    c.stages = override->stages;
    c.warps = override->warps;
    if (override->warpgroup && !warpgroupMma) {
      emitError() << "weight-gradient tile configuration " << c.tag()
                  << " cannot be used: warpgroup MMA needs sm_90a";
      return failure();
    }
  }
  return completeWeightGradConfig(c, maxSharedMemory,
                                  /*fewerStages=*/!override, emitError);
}

FailureOr<SmallVector<WeightGradVariant>> egs::chooseWeightGradVariants(
    const WeightGradShape &shape, GemmPath path,
    std::optional<TileOverride> override, int64_t maxSharedMemory,
    bool warpgroupMma, function_ref<InFlightDiagnostic()> emitError) {
  FailureOr<GemmConfig> main = chooseWeightGradConfig(
      shape, path, override, maxSharedMemory, warpgroupMma, emitError);
  if (failed(main))
    return failure();
  SmallVector<WeightGradVariant> variants;
  variants.push_back({*main, 0});
  return variants;
}
