//===- DeviceScan.cpp - grid-wide prefix sums on the device ---------------===//
#include "Host/DeviceScan.h"
#include "Strategy/KernelConfig.h"

using namespace mlir;
using namespace egs;

void egs::launchExclusiveScan(HostLauncher &host, Value counts, Value starts,
                              Value n) {
  KernelBuilder &kb = host.host();
  OpBuilder &b = kb.builder();
  constexpr int64_t nt = kScanThreads;
  Value blocks = kb.ceilDiv(n, kb.idx(nt));
  Value partials = host.kernelArg(host.scratch(
      MemRefType::get({ShapedType::kDynamic}, b.getI32Type()),
      ValueRange{kb.maxS(blocks, kb.idx(1))}));
  Value one = kb.idx(1);
  int64_t smem = nt / 32 * 4;
  // The counts of this thread's element (0 past the end).
  auto element = [&](KernelBuilder &k, const DeviceTensor &c, Value size) {
    Value i = k.add(k.mul(k.blockId(gpu::Dimension::x), k.idx(nt)), k.threadId());
    Value inside = k.lt(i, size);
    Value v = k.ifElse(inside, k.builder().getI32Type(),
                       [&] { return SmallVector<Value>{c.load(k, i)}; },
                       [&] { return SmallVector<Value>{k.i32(0)}; })[0];
    return std::make_tuple(i, inside, v);
  };
  SmallVector<Value> sumArgs{counts, partials, n};
  auto sums = host.kernels().getOrCreate(
      KernelKey("scan_block_sums"), ValueRange(sumArgs).getTypes(), nt,
      [&](KernelBuilder &k, ValueRange a) {
        DeviceTensor c = DeviceTensor::get(k, a[0], false);
        DeviceTensor p = DeviceTensor::get(k, a[1], false);
        Value scratch = k.sharedView(0, {nt / 32}, k.builder().getI32Type());
        auto [i, inside, v] = element(k, c, a[2]);
        (void)i;
        (void)inside;
        Value total = k.blockInclusiveScan(v, scratch, nt).second;
        k.ifThen(k.eq(k.threadId(), k.idx(0)), [&] {
          p.store(k, total, k.blockId(gpu::Dimension::x));
        });
      });
  host.launch(sums, {blocks, one, one}, nt, smem, sumArgs);
  SmallVector<Value> partialArgs{partials, starts, n};
  auto scanPartials = host.kernels().getOrCreate(
      KernelKey("scan_partials"), ValueRange(partialArgs).getTypes(), nt,
      [&](KernelBuilder &k, ValueRange a) {
        DeviceTensor p = DeviceTensor::get(k, a[0], false);
        DeviceTensor st = DeviceTensor::get(k, a[1], false);
        Value scratch = k.sharedView(0, {nt / 32}, k.builder().getI32Type());
        Value count = k.ceilDiv(a[2], k.idx(nt));
        Value total = k.blockExclusiveScan(
            count, scratch, nt, [&](Value i) { return p.load(k, i); },
            [&](Value i, Value exclusive, Value) { p.store(k, exclusive, i); });
        k.ifThen(k.eq(k.threadId(), k.idx(0)), [&] { st.store(k, total, a[2]); });
      });
  host.launch(scanPartials, {one, one, one}, nt, smem, partialArgs);
  SmallVector<Value> blockArgs{counts, partials, starts, n};
  auto scanBlocks = host.kernels().getOrCreate(
      KernelKey("scan_blocks"), ValueRange(blockArgs).getTypes(), nt,
      [&](KernelBuilder &k, ValueRange a) {
        DeviceTensor c = DeviceTensor::get(k, a[0], false);
        DeviceTensor p = DeviceTensor::get(k, a[1], false);
        DeviceTensor st = DeviceTensor::get(k, a[2], false);
        Value scratch = k.sharedView(0, {nt / 32}, k.builder().getI32Type());
        auto [i, inside, v] = element(k, c, a[3]);
        Value inclusive = k.blockInclusiveScan(v, scratch, nt).first;
        k.ifThen(inside, [&] {
          Value base = p.load(k, k.blockId(gpu::Dimension::x));
          st.store(k, k.sub(k.add(base, inclusive), v), i);
        });
      });
  host.launch(scanBlocks, {blocks, one, one}, nt, smem, blockArgs);
}

