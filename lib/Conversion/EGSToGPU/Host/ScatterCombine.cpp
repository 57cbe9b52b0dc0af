//===- ScatterCombine.cpp - combining per-slot rows into tokens -----------===//
//
// Launches of the ordered combine (a counting sort of slots by token on the
// device, then a sum over each token's slots in increasing slot order: bit
// reproducible; kernels in Kernels/CombineKernels.cpp) and of the
// converting and routed-row copies.
//
//===----------------------------------------------------------------------===//
#include "Host/ScatterCombine.h"
#include "Host/DeviceScan.h"
#include "Kernels/CombineKernels.h"
#include "Strategy/KernelConfig.h"

using namespace mlir;
using namespace egs;

//===----------------------------------------------------------------------===//
// Converting copy
//===----------------------------------------------------------------------===//

void egs::launchConvertingCopy(HostLauncher &host, Value src, Value dst,
                               Value when) {
  KernelBuilder &kb = host.host();
  auto srcType = cast<MemRefType>(src.getType());
  auto dstType = cast<MemRefType>(dst.getType());
  std::string types = typeTag(srcType.getElementType()) + "_" +
                      typeTag(dstType.getElementType());
  SmallVector<Value> args{src, dst};
  Value total = kb.idx(1);
  for (int64_t d = 0; d < srcType.getRank(); ++d)
    total = kb.mul(total, memref::DimOp::create(kb.builder(), kb.getLoc(), src, d));
  Value one = kb.idx(1);
  // Contiguous and aligned: 4 elements per thread, one vector access each.
  Value flat = kb.andB(kb.andB(host.isContiguous(src), host.isContiguous(dst)),
                       kb.andB(host.vectorAccessible(src, 16),
                               host.vectorAccessible(dst, 16)));
  Value run = when ? when : kb.boolean(true);
  auto flatKernel = host.kernels().getOrCreate(
      KernelKey("convert_flat").add("r" + Twine(srcType.getRank())).add(types),
      ValueRange(args).getTypes(), kBandwidthThreads,
      [](KernelBuilder &k, ValueRange a) { emitConvertingCopy(k, a, true); });
  host.launch(flatKernel,
              {host.blocksFor(kb.ceilDiv(total, kb.idx(4)), kBandwidthThreads), one, one},
              kBandwidthThreads, 0, args, kb.andB(run, flat));
  auto kernel = host.kernels().getOrCreate(
      KernelKey("convert").add("r" + Twine(srcType.getRank())).add(types),
      ValueRange(args).getTypes(), kBandwidthThreads,
      [](KernelBuilder &k, ValueRange a) { emitConvertingCopy(k, a, false); });
  host.launch(kernel, {host.blocksFor(total, kBandwidthThreads), one, one},
              kBandwidthThreads, 0, args,
              kb.andB(run, kb.notB(flat)));
}

//===----------------------------------------------------------------------===//
// Ordered combine
//===----------------------------------------------------------------------===//

/// Kernel arguments: routing (ind [, offsets]), then `extra`, then T.
static gpu::GPUFuncOp
routingKernel(HostLauncher &host, const ScatterSlots &slots, StringRef what,
              ValueRange extra, int64_t numThreads,
              function_ref<void(KernelBuilder &, const SlotKeys &,
                                ArrayRef<DeviceTensor>)> body) {
  SmallVector<Value> args{slots.ind};
  if (slots.offsets)
    args.push_back(slots.offsets);
  args.append(extra.begin(), extra.end());
  args.push_back(Value()); // T, filled by the caller's launch
  KernelKey key("combine");
  key.add(what)
      .addIf(slots.offsets != nullptr, "ragged")
      .addIf(!slots.offsets && slots.batched, "batched")
      .addElementType(slots.ind.getType());
  SmallVector<Type> types;
  for (Value v : ValueRange(args).drop_back())
    types.push_back(v.getType());
  types.push_back(host.host().builder().getIndexType());
  return host.kernels().getOrCreate(
      key, types, numThreads, [&](KernelBuilder &kb, ValueRange a) {
        SlotKeys keys;
        unsigned i = 0;
        keys.ind = DeviceTensor::get(kb, a[i++], false);
        if (slots.offsets) {
          keys.offsets = DeviceTensor::get(kb, a[i++], false);
          keys.ragged = true;
        }
        keys.batched = slots.batched;
        SmallVector<DeviceTensor> tensors;
        for (size_t j = 0; j < extra.size(); ++j)
          tensors.push_back(DeviceTensor::get(kb, a[i++], false));
        keys.numTokens = a[i];
        body(kb, keys, tensors);
      });
}

static Value dimOf(KernelBuilder &kb, Value memref, int64_t d) {
  return memref::DimOp::create(kb.builder(), kb.getLoc(), memref, d);
}

/// Elements of `memref` (all its dims, or all but the last `drop`).
static Value elementCount(KernelBuilder &kb, Value memref, int64_t drop = 0) {
  Value n = kb.idx(1);
  for (int64_t d = 0, r = cast<MemRefType>(memref.getType()).getRank(); d + drop < r; ++d)
    n = kb.mul(n, dimOf(kb, memref, d));
  return n;
}

/// The launch arguments of a routingKernel: routing, `extra`, then T.
static SmallVector<Value> routingArgs(const ScatterSlots &slots,
                                      ValueRange extra, Value numTokens) {
  SmallVector<Value> args{slots.ind};
  if (slots.offsets)
    args.push_back(slots.offsets);
  args.append(extra.begin(), extra.end());
  args.push_back(numTokens);
  return args;
}

/// dst[b, t, :] = src[b, t, :] (converting) for the tokens some slot routes
/// to, when `when` holds. A token routed to twice is copied twice, the same
/// values.
static void launchSlotRowCopy(HostLauncher &host, const ScatterSlots &slots,
                              Value src, Value dst, Value when) {
  KernelBuilder &kb = host.host();
  auto dstType = cast<MemRefType>(dst.getType());
  Value numTokens = dimOf(kb, dst, slots.batched ? 1 : 0);
  Value cols = dimOf(kb, dst, dstType.getRank() - 1);
  Value numSlots = elementCount(kb, slots.ind);
  std::string what =
      "rowcopy_" +
      typeTag(cast<MemRefType>(src.getType()).getElementType()) + "_" +
      typeTag(dstType.getElementType());
  Value srcArg = host.kernelArg(src), dstArg = host.kernelArg(dst);
  auto kernel = routingKernel(
      host, slots, what, ValueRange{srcArg, dstArg}, kBandwidthThreads, emitSlotRowCopy);
  Value one = kb.idx(1);
  Value chunks = kb.ceilDiv(cols, kb.idx(8));
  host.launch(kernel,
              {host.blocksFor(kb.mul(numSlots, chunks), kBandwidthThreads), one, one},
              kBandwidthThreads, 0,
              routingArgs(slots, ValueRange{srcArg, dstArg}, numTokens), when);
}

void egs::launchRoutedRowsCopy(HostLauncher &host, const ScatterSlots &slots,
                               Value src, Value dst) {
  KernelBuilder &kb = host.host();
  Value bySlot = kb.lt(elementCount(kb, slots.ind), elementCount(kb, dst, 1));
  launchConvertingCopy(host, src, dst, kb.notB(bySlot));
  launchSlotRowCopy(host, slots, src, dst, bySlot);
}

void egs::launchOrderedCombine(HostLauncher &host, const ScatterSlots &slots,
                               Value rows, Value out) {
  KernelBuilder &kb = host.host();
  OpBuilder &b = kb.builder();
  Value numTokens = dimOf(kb, out, slots.batched ? 1 : 0);
  Value numKeys = elementCount(kb, out, 1);
  Value numSlots = elementCount(kb, slots.ind);
  auto i32Vec = MemRefType::get({ShapedType::kDynamic}, b.getI32Type());
  Value counts = host.scratch(i32Vec, ValueRange{numKeys});
  Value cursor = host.scratch(i32Vec, ValueRange{numKeys});
  Value starts = host.scratch(i32Vec, ValueRange{kb.add(numKeys, kb.idx(1))});
  Value list = host.scratch(i32Vec, ValueRange{numSlots});
  host.fill(counts, kb.i32(0));
  host.fill(cursor, kb.i32(0));
  Value one = kb.idx(1);
  auto arg = [&](Value v) { return host.kernelArg(v); };
  auto argsWith = [&](ValueRange extra) {
    return routingArgs(slots, extra, numTokens);
  };
  Value slotBlocks = host.blocksFor(numSlots, kBandwidthThreads);

  // 1. Count the slots of each key.
  auto count = routingKernel(
      host, slots, "count", ValueRange{arg(counts)}, kBandwidthThreads, emitSlotCount);
  host.launch(count, {slotBlocks, one, one}, kBandwidthThreads, 0,
              argsWith(ValueRange{arg(counts)}));

  // 2. starts = exclusive prefix sums of the counts.
  launchExclusiveScan(host, arg(counts), arg(starts), numKeys);

  // 3. Place each slot in its key's range (arbitrary order within the key).
  auto place = routingKernel(
      host, slots, "place", ValueRange{arg(starts), arg(cursor), arg(list)},
      kBandwidthThreads, emitSlotPlace);
  host.launch(place, {slotBlocks, one, one}, kBandwidthThreads, 0,
              argsWith(ValueRange{arg(starts), arg(cursor), arg(list)}));

  // 4. Sort each key's slots (lists are short: selection sort in place).
  SmallVector<Value> sortArgs{arg(starts), arg(list)};
  auto sort = host.kernels().getOrCreate(
      KernelKey("combine_sort"), ValueRange(sortArgs).getTypes(), kBandwidthThreads, emitKeySort);
  host.launch(sort, {host.blocksFor(numKeys, kBandwidthThreads), one, one},
              kBandwidthThreads, 0, sortArgs);

  // 5. Sum each token's rows in slot order, on top of its current value.
  SmallVector<Value> sumArgs{arg(starts), arg(list), arg(rows), out};
  constexpr int64_t sumThreads = 128;
  KernelKey sumName("combine_sum");
  sumName.addIf(slots.batched, "batched").addElementType(out.getType());
  auto sum = host.kernels().getOrCreate(
      sumName, ValueRange(sumArgs).getTypes(), sumThreads,
      [&](KernelBuilder &k, ValueRange a) {
        emitOrderedSum(k, a, slots.batched, sumThreads);
      });
  host.launch(sum, {kb.minS(numKeys, kb.idx(int64_t(1) << 20)), one, one},
              sumThreads, 0, sumArgs);
}
