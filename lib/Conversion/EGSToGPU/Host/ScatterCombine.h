//===- ScatterCombine.h - combining per-slot rows into tokens ---*- C++ -*-===//
//
// The pieces of matmul_scatter that are not the GEMM: widening a 16-bit
// accumulation target to f32 and back (for the atomic form), and the
// deterministic combine that adds per-slot rows into their tokens in
// increasing slot order without floating-point atomics.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_SCATTERCOMBINE_H
#define EGS_LIB_CONVERSION_EGSTOGPU_SCATTERCOMBINE_H

#include "Host/HostLaunch.h"

namespace egs {

/// dst = src element by element, converting the element type (same shape);
/// only when `when` (if given) holds.
void launchConvertingCopy(HostLauncher &host, Value src, Value dst,
                          Value when = {});

/// The slots of a matmul_scatter: ind [B?,E,K], or rows [R] with
/// offsets [E+1] (slots outside [offsets[0], offsets[E]) route nowhere).
struct ScatterSlots {
  Value ind;
  Value offsets;
  bool batched;
};

/// dst = src (converting; [B?,T,I]) on at least every token row a slot
/// routes to: the whole tensor, or, with fewer slots than token rows, only
/// the routed rows (the others are neither read nor written). For widening
/// a 16-bit accumulation target to f32 and narrowing it back.
void launchRoutedRowsCopy(HostLauncher &host, const ScatterSlots &slots,
                          Value src, Value dst);

/// out[b, t, :] += sum of rows[s, :] over the slots s routed to token
/// (b, t), added in increasing s. `rows` is a contiguous [slots, cols] f32
/// buffer; tokens out of range are skipped. The inverse routing is built on
/// the device (count, scan, place, sort per token), without host syncs.
void launchOrderedCombine(HostLauncher &host, const ScatterSlots &slots,
                          Value rows, Value out);

} // namespace egs

#endif
