//===- RoutingKernels.h - kernels of route, permute, unpermute -*- C++ -*-===//
//
// Device code of route (the stable counting sort of (token, choice) pairs by
// expert: chunked count / scan / place up to kRouteSharedExperts experts, one
// block per expert beyond), of permute's row gather and of unpermute's
// weighted sum; Patterns/RoutingOps.cpp launches them.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_KERNELS_ROUTINGKERNELS_H
#define EGS_LIB_CONVERSION_EGSTOGPU_KERNELS_ROUTINGKERNELS_H

#include "Kernels/KernelBuilder.h"
#include "Strategy/KernelConfig.h"

namespace egs {

/// Pairs per chunk of the chunked route.
static constexpr int64_t kRouteChunk = 256;
/// Experts up to which the chunked route keeps per-expert counters in
/// shared memory (beyond, one block per expert sorts).
static constexpr int64_t kRouteSharedExperts = 4096;

/// Shared bytes of the chunked route's per-expert counters.
inline int64_t routeCountersBytes(int64_t numExperts) {
  return (numExperts * 4 + 15) / 16 * 16;
}
/// Rows per block of the row gather (a warp per row).
constexpr int64_t kRowGatherRowsPerBlock = kBandwidthThreads / 32;

/// args: topk_ids [T,k], row_id_map [k*T], expert_offsets [E+1], rows [R]
/// (, weights [T,k], scale [R]); one block per expert (kScanThreads).
void emitRouteByExpert(KernelBuilder &kb, ValueRange args);
/// args: topk_ids, expert_offsets, hist: hist[e*S + s] = pairs of chunk s
/// routed to e (shared-memory atomics; a warp per chunk).
void emitRouteCount(KernelBuilder &k, ValueRange a, int64_t numExperts);
/// args: topk_ids, base (the expert-major scan of hist), row_id_map,
/// expert_offsets, rows (, weights, scale): slots in (token, choice) order
/// within each chunk; block 0 also writes expert_offsets.
void emitRoutePlace(KernelBuilder &k, ValueRange a, int64_t numExperts);
/// args: src, rows, dst: dst[r, :] = src[rows[r], :] (zero where rows[r] is
/// out of range), a warp per row; 16-byte chunks in the `fast` kernel.
void emitRowGather(KernelBuilder &k, ValueRange a, bool fast);
/// out[t, :] = sum_j probs[t, j] * xs[map[j*T + t], :]; block x = token t,
/// each thread `vec` consecutive columns. A static k is unrolled so that all
/// k loads are in flight at once.
void emitUnpermuteKernel(KernelBuilder &kb, ValueRange args, bool fast,
                         int64_t staticK);

} // namespace egs

#endif
