//===- CombineKernels.cpp - kernels of the ordered combine ----------------===//
//
// The ordered combine groups slots by destination token with a counting
// sort on the device: count per token (integer atomics, exact), exclusive
// scan, place (integer atomics, arbitrary order), then sort each token's
// short slot list. The sum over a token's list then runs in increasing slot
// order, so results are bit-reproducible.
//
//===----------------------------------------------------------------------===//
#include "Kernels/CombineKernels.h"
#include "Strategy/KernelConfig.h"

using namespace mlir;
using namespace egs;

void egs::emitConvertingCopy(KernelBuilder &k, ValueRange a, bool flat) {
  DeviceTensor s = DeviceTensor::get(k, a[0], flat);
  DeviceTensor d = DeviceTensor::get(k, a[1], flat);
  Value n = k.idx(1);
  for (Value size : s.sizes)
    n = k.mul(n, size);
  if (!flat) {
    k.gridStrideLoop(n, kBandwidthThreads, [&](Value i) {
      SmallVector<Value> ivs = k.delinearize(i, s.sizes);
      d.storeF32(k, s.loadF32(k, s.offset(k, ivs)), d.offset(k, ivs));
    });
    return;
  }
  k.gridStrideLoop(k.ceilDiv(n, k.idx(4)), kBandwidthThreads, [&](Value i) {
    Value first = k.mul(i, k.idx(4));
    k.ifThenElse(
        k.le(k.add(first, k.idx(4)), n),
        [&] {
          d.storeVectorF32(k,
                           s.loadVectorF32(k, first, 4,
                                           4 * elementBytes(s.elementType)),
                           first, 4 * elementBytes(d.elementType));
        },
        [&] {
          k.forLoop(first, n, k.idx(1),
                    [&](Value e) { d.storeF32(k, s.loadF32(k, e), e); });
        });
  });
}

void egs::emitSlotRowCopy(KernelBuilder &k, const SlotKeys &keys,
                          ArrayRef<DeviceTensor> t) {
  // A thread per kChunk columns of a slot's row: the slot's routing
  // is decoded once for all of them.
  constexpr int64_t kChunk = 8;
  Value width = t[1].size(t[1].rank() - 1);
  Value chunks = k.ceilDiv(width, k.idx(kChunk));
  k.gridStrideLoop(k.mul(keys.numSlots(k), chunks), kBandwidthThreads,
                   [&](Value i) {
    Value key = keys.keyOf(k, k.divU(i, chunks));
    k.ifThen(k.ge(key, k.idx(0)), [&] {
      Value c0 = k.mul(k.remU(i, chunks), k.idx(kChunk));
      SmallVector<Value> row{key};
      if (keys.batched)
        row = {k.divU(key, keys.numTokens), k.remU(key, keys.numTokens)};
      SmallVector<Value> at = row;
      at.push_back(c0);
      Value src = t[0].offset(k, at), dst = t[1].offset(k, at);
      Value srcStep = t[0].stride(t[0].rank() - 1);
      Value dstStep = t[1].stride(t[1].rank() - 1);
      auto srcAt = [&](int64_t j) { return k.add(src, k.mul(k.idx(j), srcStep)); };
      auto dstAt = [&](int64_t j) { return k.add(dst, k.mul(k.idx(j), dstStep)); };
      // A whole chunk: every load issued before the first store (no
      // branch between them), so their latencies overlap.
      Value full = k.le(k.add(c0, k.idx(kChunk)), width);
      k.ifThen(full, [&] {
        SmallVector<Value> v;
        for (int64_t j = 0; j < kChunk; ++j)
          v.push_back(t[0].loadF32(k, srcAt(j)));
        for (int64_t j = 0; j < kChunk; ++j)
          t[1].storeF32(k, v[j], dstAt(j));
      });
      k.ifThen(k.notB(full), [&] {
        for (int64_t j = 0; j < kChunk; ++j)
          k.ifThen(k.lt(k.add(c0, k.idx(j)), width), [&] {
            t[1].storeF32(k, t[0].loadF32(k, srcAt(j)), dstAt(j));
          });
      });
    });
  });
}

void egs::emitSlotCount(KernelBuilder &k, const SlotKeys &keys,
                        ArrayRef<DeviceTensor> t) {
  k.gridStrideLoop(keys.numSlots(k), kBandwidthThreads, [&](Value s) {
    Value key = keys.keyOf(k, s);
    k.ifThen(k.ge(key, k.idx(0)), [&] {
      memref::AtomicRMWOp::create(k.builder(), k.getLoc(),
                                  arith::AtomicRMWKind::addi, k.i32(1),
                                  t[0].flat, ValueRange{key});
    });
  });
}

void egs::emitSlotPlace(KernelBuilder &k, const SlotKeys &keys,
                        ArrayRef<DeviceTensor> t) {
  k.gridStrideLoop(keys.numSlots(k), kBandwidthThreads, [&](Value s) {
    Value key = keys.keyOf(k, s);
    k.ifThen(k.ge(key, k.idx(0)), [&] {
      Value rank = memref::AtomicRMWOp::create(
          k.builder(), k.getLoc(), arith::AtomicRMWKind::addi, k.i32(1),
          t[1].flat, ValueRange{key});
      Value at = k.add(t[0].loadIndex(k, key), k.toIndex(rank));
      t[2].store(k, k.toI32(s), at);
    });
  });
}

void egs::emitKeySort(KernelBuilder &k, ValueRange a) {
  DeviceTensor st = DeviceTensor::get(k, a[0], false);
  DeviceTensor l = DeviceTensor::get(k, a[1], false);
  Value keysN = k.sub(st.size(0), k.idx(1));
  k.gridStrideLoop(keysN, kBandwidthThreads, [&](Value key) {
    Value lo = st.loadIndex(k, key);
    Value hi = st.loadIndex(k, k.add(key, k.idx(1)));
    k.forLoop(lo, hi, k.idx(1), [&](Value i) {
      Value vi = l.load(k, i);
      SmallVector<Value> best = k.forLoop(
          k.add(i, k.idx(1)), hi, k.idx(1), ValueRange{vi, i},
          [&](Value j, ValueRange cur) -> SmallVector<Value> {
            Value vj = l.load(k, j);
            Value smaller = k.lt(vj, cur[0]);
            return {k.select(smaller, vj, cur[0]),
                    k.select(smaller, j, cur[1])};
          });
      l.store(k, vi, best[1]);
      l.store(k, best[0], i);
    });
  });
}

void egs::emitOrderedSum(KernelBuilder &k, ValueRange a, bool batched,
                         int64_t numThreads) {
  DeviceTensor st = DeviceTensor::get(k, a[0], false);
  DeviceTensor l = DeviceTensor::get(k, a[1], false);
  DeviceTensor r = DeviceTensor::get(k, a[2], false);
  DeviceTensor o = DeviceTensor::get(k, a[3], false);
  Value keysN = k.sub(st.size(0), k.idx(1));
  Value tokens = o.size(batched ? 1 : 0);
  Value colsN = r.size(1);
  Value step = gpu::GridDimOp::create(k.builder(), k.getLoc(), gpu::Dimension::x);
  k.forLoop(k.blockId(gpu::Dimension::x), keysN, step, [&](Value key) {
    Value lo = st.loadIndex(k, key);
    Value hi = st.loadIndex(k, k.add(key, k.idx(1)));
    k.ifThen(k.lt(lo, hi), [&] {
      Value row = batched
                      ? o.offset(k, {k.divU(key, tokens), k.remU(key, tokens)})
                      : o.offset(k, {key});
      Value colStride = o.stride(o.rank() - 1);
      k.forLoop(k.threadId(), colsN, k.idx(numThreads), [&](Value col) {
        Value at = k.add(row, k.mul(col, colStride));
        Value acc = k.forLoop(lo, hi, k.idx(1), ValueRange{o.loadF32(k, at)},
                              [&](Value p, ValueRange cur) -> SmallVector<Value> {
                                Value s = l.loadIndex(k, p);
                                Value v = r.loadF32(k, r.offset(k, {s, col}));
                                return {k.addF(cur[0], v)};
                              })[0];
        o.storeF32(k, acc, at);
      });
    });
  });
}
