//===- ExpertGemmLaunch.cpp - host side of the per-expert GEMM -------------===//
#include "Host/ExpertGemmLaunch.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace egs;

//===----------------------------------------------------------------------===//
// Ragged tile map and host side
//===----------------------------------------------------------------------===//

/// One block turns expert_offsets into tileMap = [count, (e, t)...]: tile i
/// is tile t (rows t*BM.. of the expert) of expert e. Experts are scanned in
/// chunks of the block size with a running total.
static void emitTileMapKernel(KernelBuilder &kb, ValueRange args, int64_t bm) {
  OpBuilder &b = kb.builder();
  DeviceTensor offsets = DeviceTensor::get(kb, args[0], false);
  DeviceTensor map = DeviceTensor::get(kb, args[1], false);
  Value numRows = args[2];
  Value numExperts = kb.sub(offsets.size(0), kb.idx(1));
  Value scratch = kb.sharedView(0, {kScanThreads / 32}, b.getI32Type());
  auto tilesOf = [&](Value e) {
    Value lo = kb.clamp(offsets.loadIndex(kb, offsets.offset(kb, e)),
                        kb.idx(0), numRows);
    Value hiAt = offsets.offset(kb, kb.add(e, kb.idx(1)));
    Value hi = kb.clamp(offsets.loadIndex(kb, hiAt), lo, numRows);
    return kb.toI32(kb.ceilDiv(kb.sub(hi, lo), kb.idx(bm)));
  };
  Value total = kb.blockExclusiveScan(
      numExperts, scratch, kScanThreads, tilesOf,
      [&](Value e, Value first, Value count) {
        kb.forLoop(kb.idx(0), kb.toIndex(count), kb.idx(1), [&](Value t) {
          Value at = kb.add(kb.idx(1),
                            kb.mul(kb.add(kb.toIndex(first), t), kb.idx(2)));
          map.store(kb, kb.toI32(e), at);
          map.store(kb, kb.toI32(t), kb.add(at, kb.idx(1)));
        });
      });
  kb.ifThen(kb.eq(kb.threadId(), kb.idx(0)),
            [&] { map.store(kb, total, kb.idx(0)); });
}

/// The GEMM kernel's identity: its spec (routing, rows, output, the
/// strategy's tile, epilogue) and argument element types.
static KernelKey gemmKernelKey(const ExpertGemmSpec &spec, ValueRange args) {
  KernelKey key("gemm");
  key.add(spec.ragged ? "ragged" : spec.batched ? "ec_batched" : "ec")
      .add(spec.rows == RowSource::GatheredTokens ? "gather" : "slots")
      .add(spec.output == GemmOutput::StoreSlots ? "store" : "atomic")
      .add(spec.config.tag())
      .addIf(spec.activation != Activation::none,
             stringifyActivation(spec.activation))
      .addIf(spec.gated() && spec.interleaved, "il");
  // The parameters are constants of the kernel: their bits are in its name.
  if (spec.activation == Activation::clamped_swiglu)
    key.add(llvm::formatv("a{0:x8}", llvm::bit_cast<uint32_t>(spec.alpha)).str())
        .add(llvm::formatv("l{0:x8}", llvm::bit_cast<uint32_t>(spec.limit)).str());
  key.addIf(spec.vectorAtomics && spec.output == GemmOutput::AtomicAddTokens,
            "red4")
      .addIf(spec.wTransposed, "wt")
      .addElementTypes(args);
  return key;
}

void egs::launchExpertGemm(HostLauncher &host, const ExpertGemmSpec &spec,
                           const ExpertGemmOperands &ops, Value cond) {
  KernelBuilder &kb = host.host();
  OpBuilder &b = kb.builder();
  const GemmConfig &c = spec.config;
  Type dataType = cast<MemRefType>(ops.a.getType()).getElementType();
  auto dim = [&](Value v, int64_t d) {
    return memref::DimOp::create(b, kb.getLoc(), v, d).getResult();
  };
  SmallVector<Value> args{ops.a, ops.ind, ops.w};
  Value numExperts = dim(ops.w, 0);
  Value gridX;
  if (spec.ragged) {
    Value numRows = dim(ops.ind, 0);
    Value maxTiles = kb.add(kb.ceilDiv(numRows, kb.idx(c.bm)), numExperts);
    auto mapType = MemRefType::get({ShapedType::kDynamic}, b.getI32Type());
    Value map = host.kernelArg(host.scratch(
        mapType, ValueRange{kb.add(kb.idx(1), kb.mul(maxTiles, kb.idx(2)))}));
    SmallVector<Value> mapArgs{ops.offsets, map, numRows};
    KernelKey mapName("ragged_tile_map");
    mapName.add("bm" + Twine(c.bm)).addElementType(ops.offsets.getType());
    auto mapKernel = host.kernels().getOrCreate(
        mapName, ValueRange(mapArgs).getTypes(), kScanThreads,
        [&](KernelBuilder &k, ValueRange a) { emitTileMapKernel(k, a, c.bm); });
    Value one = kb.idx(1);
    host.launch(mapKernel, {one, one, one}, kScanThreads, kScanThreads / 32 * 4,
                mapArgs, cond);
    args.append({ops.offsets, map});
    gridX = maxTiles;
  } else {
    Value perExpert = spec.batched ? kb.mul(dim(ops.ind, 0), dim(ops.ind, 2))
                                   : dim(ops.ind, 1);
    gridX = kb.mul(numExperts, kb.ceilDiv(perExpert, kb.idx(c.bm)));
  }
  if (spec.hasBias)
    args.push_back(ops.bias);
  if (spec.hasScale)
    args.push_back(ops.scale);
  args.push_back(ops.out);
  Value cols = dim(ops.w, spec.wColsDim());
  Value outCols = spec.gated() ? kb.divU(cols, kb.idx(2)) : cols;
  int64_t tileCols = spec.gated() ? c.bn / 2 : c.bn;
  Value gridZ = kb.ceilDiv(outCols, kb.idx(tileCols));
  gridX = kb.mul(gridX, gridZ);
  TypeRange types = ValueRange(args).getTypes();
  auto kernel = host.kernels().getOrCreate(
      gemmKernelKey(spec, args), types, c.numThreads(),
      [&](KernelBuilder &k, ValueRange a) {
        emitExpertGemmKernel(k, spec, dataType, a);
      });
  host.launch(kernel, {gridX, kb.idx(1), kb.idx(1)}, c.numThreads(),
              gemmSharedLayout(c, spec.kMajorB()).totalBytes, args, cond);
}
