//===- CombineKernels.h - kernels of the ordered combine ------*- C++ -*-===//
//
// Device code of the ordered combine (a counting sort of slots by token, then
// a sum in slot order), of the routed-row copy and of the converting copy;
// Host/ScatterCombine.cpp launches them.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_KERNELS_COMBINEKERNELS_H
#define EGS_LIB_CONVERSION_EGSTOGPU_KERNELS_COMBINEKERNELS_H

#include "Kernels/KernelBuilder.h"

namespace egs {

/// Kernel-side routing of slots to token keys (b * T + t, or t).
struct SlotKeys {
  DeviceTensor ind, offsets;
  bool batched = false, ragged = false;
  Value numTokens;

  Value numSlots(KernelBuilder &kb) const {
    Value n = kb.idx(1);
    for (Value s : ind.sizes)
      n = kb.mul(n, s);
    return n;
  }

  /// The key of slot `s`, or -1 when it routes nowhere.
  Value keyOf(KernelBuilder &kb, Value s) const {
    // Slot counts fit in 31 bits (the per-slot rows are in memory).
    SmallVector<Value> ivs = kb.delinearize(s, ind.sizes, /*narrow=*/true);
    Value token = ind.loadIndex(kb, ind.offset(kb, ivs));
    Value ok = kb.inRange(token, numTokens);
    if (ragged) {
      Value numRows = ind.size(0);
      Value numExperts = kb.sub(offsets.size(0), kb.idx(1));
      Value lo = kb.clamp(offsets.loadIndex(kb, offsets.offset(kb, kb.idx(0))),
                          kb.idx(0), numRows);
      Value hi = kb.clamp(
          offsets.loadIndex(kb, offsets.offset(kb, numExperts)), lo, numRows);
      ok = kb.andB(ok, kb.andB(kb.le(lo, s), kb.lt(s, hi)));
    }
    Value key = batched ? kb.add(kb.mul(ivs[0], numTokens), token) : token;
    return kb.select(ok, key, kb.idx(-1));
  }
};

/// a = (src, dst) of one shape: dst = src, converting through f32. `flat`:
/// both contiguous and 16-byte accessible, 4 elements per thread.
void emitConvertingCopy(KernelBuilder &k, ValueRange a, bool flat);
/// t = {src, dst}: dst[b, t, :] = src[b, t, :] (converting) for the tokens
/// some slot routes to; a thread per 8 columns of a slot's row.
void emitSlotRowCopy(KernelBuilder &k, const SlotKeys &keys,
                     ArrayRef<DeviceTensor> t);
/// t = {counts}: counts[key] += 1 for each routed slot (integer atomics).
void emitSlotCount(KernelBuilder &k, const SlotKeys &keys,
                   ArrayRef<DeviceTensor> t);
/// t = {starts, cursor, list}: each routed slot into its key's range of
/// `list` (arbitrary order within the key).
void emitSlotPlace(KernelBuilder &k, const SlotKeys &keys,
                   ArrayRef<DeviceTensor> t);
/// a = (starts, list): sorts each key's slots in place (selection sort: the
/// lists are short).
void emitKeySort(KernelBuilder &k, ValueRange a);
/// a = (starts, list, rows, out): out[key] += the key's rows in slot order,
/// a block per key (grid-stride), `numThreads` threads over the columns.
void emitOrderedSum(KernelBuilder &k, ValueRange a, bool batched,
                    int64_t numThreads);

} // namespace egs

#endif
