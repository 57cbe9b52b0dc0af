//===- ExpertGemmKernel.h - the tiled per-expert GEMM kernel ----*- C++ -*-===//
//
// gather_matmul and matmul_scatter are one kernel: a block computes a
// BM x BN tile of `rows(e) @ w[e]` for one expert e, where the rows of the
// expert are enumerated from the expert-choice index (row m of expert e is
// (b, k) = (m / K, m % K)) or from expert_offsets (ragged: a device-built
// tile -> (expert, tile) map). They differ only in where A's rows come from
// (gathered token rows of x, or the expert's own slots of y) and where the
// finished rows go (stored to the slots, or atomically added to the tokens).
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_KERNELS_EXPERTGEMMKERNEL_H
#define EGS_LIB_CONVERSION_EGSTOGPU_KERNELS_EXPERTGEMMKERNEL_H

#include "Kernels/KernelBuilder.h"
#include "Strategy/KernelConfig.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

namespace egs {

/// Where row m of expert e reads its A row.
enum class RowSource {
  GatheredTokens, ///< x[b, ind[slot]] (gather_matmul)
  Slots,          ///< a[slot] (matmul_scatter's y)
};

/// Where the finished output row goes.
enum class GemmOutput {
  StoreSlots,      ///< out[slot] = f(acc)
  AtomicAddTokens, ///< out[b, ind[slot]] += acc (f32 atomics)
};

struct ExpertGemmSpec {
  GemmConfig config;
  bool ragged = false;
  bool batched = false;
  RowSource rows = RowSource::GatheredTokens;
  GemmOutput output = GemmOutput::StoreSlots;
  Activation activation = Activation::none;
  /// Gated activations: gate/up in adjacent columns (2j, 2j + 1) instead of
  /// the two halves of w.
  bool interleaved = false;
  /// clamped_swiglu's parameters.
  float alpha = 1.702f, limit = 7.0f;
  bool hasBias = false;
  bool hasScale = false;
  /// AtomicAddTokens: one 16-byte vector atomic per 4 columns (sm_90+).
  bool vectorAtomics = false;
  /// w is stored [E, cols, reduce] (`w_transposed`), read in place.
  bool wTransposed = false;

  /// swiglu, clamped_swiglu: the output has half the columns of w.
  bool gated() const {
    return activation == Activation::swiglu ||
           activation == Activation::clamped_swiglu;
  }
  /// Gated, halves layout: a tile holds matching columns of both halves of
  /// w (interleaved: a tile of bn consecutive columns holds bn / 2 pairs).
  bool paired() const { return gated() && !interleaved; }
  /// The B tile is staged K-major, [bn][bk] like A: a transposed w on the
  /// fast paths (the general kernel stages element by element, [bk][bn]).
  bool kMajorB() const {
    return wTransposed && config.path != GemmPath::CudaCoreGeneral;
  }
  /// The dimensions of w that are the reduction and the columns.
  int64_t wReduceDim() const { return wTransposed ? 2 : 1; }
  int64_t wColsDim() const { return wTransposed ? 1 : 2; }
};

/// The kernel body: `args` as Host/ExpertGemmLaunch.h passes them (a, ind,
/// w, then offsets and the ragged tile map, bias, scale, out as the spec
/// has them).
void emitExpertGemmKernel(KernelBuilder &kb, const ExpertGemmSpec &spec,
                          Type dataType, ValueRange args);

} // namespace egs

#endif
