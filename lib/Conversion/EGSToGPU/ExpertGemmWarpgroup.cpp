//===- ExpertGemmWarpgroup.cpp - the GEMM main loop on warpgroup MMA ------===//
//
// sm_90a: the staged tiles (128-byte swizzled, filled by sliceCopier's
// cp.async copies) go to `wgmma.mma_async` through shared-memory matrix
// descriptors; one warpgroup per 64 rows of the tile, one wgmma group in
// flight. The layouts were checked on the H100 by prototype/wgmma.
//
//===----------------------------------------------------------------------===//
#include "ExpertGemmEmitter.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace egs;

// A k-step of 16 moves 32 bytes along A's 128-byte rows (and a K-major
// B's) and 16 rows (2048 bytes) down B's slabs.
static constexpr int64_t kAStepBytes = 32, kBStepBytes = 2048;

WarpgroupDescriptors ExpertGemmEmitter::warpgroupDescriptors() {
  // PTX ISA "Matrix Descriptor Format": start address >> 4 in bits 0-13,
  // leading byte offset >> 4 in 16-29, stride byte offset >> 4 in 32-45,
  // 128-byte swizzle (1) in bits 62-63. A (K-major, rows of 64 elements):
  // 8-row groups 1024 bytes apart. B (N-major, slabs of 64 columns x bk
  // rows): slabs bk * 128 bytes apart, 8-row groups 1024 bytes apart. A
  // transposed w's B is K-major like A (rows of 64 reduction elements).
  auto bits = [](int64_t lbo, int64_t sbo) {
    return ((lbo >> 4) << 16) | ((sbo >> 4) << 32) | (int64_t(1) << 62);
  };
  // (aStage's pointer is the A tile itself: offsets relative to it.)
  Value smem = kb.toI64(memref::ExtractAlignedPointerAsIndexOp::create(
      kb.builder(), kb.getLoc(), aStage));
  auto descriptor = [&](int64_t offset, int64_t layoutBits) {
    Value field = kb.divU(kb.add(smem, kb.i64(offset)), kb.i64(16));
    return kb.orB(field, kb.i64(layoutBits));
  };
  WarpgroupDescriptors d;
  Value a = descriptor(0, bits(16, 1024));
  d.b = descriptor(layout.bOffset - layout.aOffset,
                   spec.kMajorB() ? bits(16, 1024) : bits(c.bk * 128, 1024));
  // Each warpgroup computes its own 64 rows: its A descriptors start there.
  Value warpgroup = kb.divU(tid, kb.idx(128));
  d.a = kb.add(a, kb.toI64(kb.mul(warpgroup, kb.idx(64 * c.bk * 2 / 16))));
  d.aStage = kb.i64(c.bm * c.bk * 2 >> 4);
  d.bStage = kb.i64(c.bk * c.bn * 2 >> 4);
  return d;
}

SmallVector<Value> ExpertGemmEmitter::mainLoopWarpgroup(Value e) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  MLIRContext *ctx = kb.getContext();
  SliceCopier issue = sliceCopier(e);
  WarpgroupDescriptors desc; // built once the first copies are issued
  int64_t numAcc = c.bn / 2; // m64nNk16: 64 * N / 128 f32 per thread
  auto accType = LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(numAcc, b.getF32Type()));
  auto wgType = dataType.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
  auto shape = NVVM::MMAShapeAttr::get(ctx, 64, c.bn, 16);
  // B N-major (row: imm-trans-b = 1), or K-major like A for a transposed w.
  auto layoutB = spec.kMajorB() ? NVVM::MMALayout::col : NVVM::MMALayout::row;
  int64_t bStepBytes = spec.kMajorB() ? kAStepBytes : kBStepBytes;
  // The copies of this thread have landed; the proxy fence makes them
  // visible to wgmma, the barrier everyone's.
  auto landed = [&](Value group, int64_t pending) {
    nvgpu::DeviceAsyncWaitOp::create(b, loc, group, b.getI32IntegerAttr(pending));
    NVVM::FenceProxyOp::create(
        b, loc, NVVM::ProxyKindAttr::get(ctx, NVVM::ProxyKind::async_shared),
        NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
    kb.barrier();
  };
  // The descriptors of the A and B tiles in `stage`.
  auto stageDescriptors = [&](Value stage) -> std::pair<Value, Value> {
    Value stage64 = kb.toI64(stage);
    return {kb.add(desc.a, kb.mul(stage64, desc.aStage)),
            kb.add(desc.b, kb.mul(stage64, desc.bStage))};
  };
  // The wgmmas of one staged slice (bk / 16 k-steps), not waited for.
  auto multiply = [&](Value acc, std::pair<Value, Value> tiles) {
    for (int64_t ks = 0; ks < c.bk / 16; ++ks) {
      Value da = kb.add(tiles.first, kb.i64(ks * kAStepBytes >> 4));
      Value db = kb.add(tiles.second, kb.i64(ks * bStepBytes >> 4));
      acc = NVVM::WgmmaMmaAsyncOp::create(
          b, loc, accType, acc, da, db, shape, wgType, wgType,
          NVVM::WGMMATypes::f32, NVVM::WGMMAScaleOut::one,
          NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one,
          NVVM::MMALayout::row, layoutB, nullptr);
    }
    return acc;
  };

  // The accumulators and the last cp.async group issued.
  Value accumulators, lastGroup;
  if (c.resident) {
    // The whole reduction (at most `stages` slices, chooseGemmVariants) is
    // staged at once, slice s in buffer s; then every wgmma in one group.
    Value group;
    for (int64_t s = 0; s < c.stages; ++s)
      group = issue(kb.idx(s), kb.idx(s));
    desc = warpgroupDescriptors();
    landed(group, 0);
    SmallVector<std::pair<Value, Value>> tiles;
    for (int64_t s = 0; s < c.stages; ++s)
      tiles.push_back(stageDescriptors(kb.idx(s)));
    NVVM::WgmmaFenceAlignedOp::create(b, loc);
    Value acc = LLVM::ZeroOp::create(b, loc, accType);
    for (auto &t : tiles)
      acc = multiply(acc, t);
    NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
    accumulators = acc;
    lastGroup = group;
  } else {
    // Slice kt lives in stage kt % STAGES. Copies run STAGES-2 slices ahead:
    // the wgmma of slice kt-1 may still read its stage while slice kt's run,
    // so the stage refilled at iteration kt is that of slice kt-2.
    Value group;
    for (int64_t s = 0; s + 2 < c.stages; ++s)
      group = issue(kb.idx(s), kb.idx(s));
    desc = warpgroupDescriptors();
    SmallVector<Value> init{LLVM::ZeroOp::create(b, loc, accType), kb.idx(0),
                            kb.idx(c.stages - 2), group};
    Value slices = kb.ceilDiv(reduce, kb.idx(c.bk));
    SmallVector<Value> res = kb.forLoop(
        kb.idx(0), slices, kb.idx(1), init,
        [&](Value kt, ValueRange iter) -> SmallVector<Value> {
          Value stage = iter[1], fillStage = iter[2];
          // After the barrier every warpgroup has also finished slice kt-2
          // (wait below), whose stage is refilled now.
          landed(iter[3], c.stages - 3);
          Value token = issue(kb.add(kt, kb.idx(c.stages - 2)), fillStage);
          auto tiles = stageDescriptors(stage);
          NVVM::WgmmaFenceAlignedOp::create(b, loc);
          Value acc = multiply(iter[0], tiles);
          NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
          NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 1);
          return {acc, nextStage(stage), nextStage(fillStage), token};
        });
    accumulators = res[0];
    lastGroup = res[3];
  }
  // Nothing may still read or fill the staging buffers the output tile
  // reuses: the last wgmma group and the zero-fill copies past the end.
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
  nvgpu::DeviceAsyncWaitOp::create(b, loc, lastGroup, b.getI32IntegerAttr(0));
  // Accumulator i: n8 tile i / 4, register i % 4 of the mma.sync layout.
  auto v4 = VectorType::get({4}, b.getF32Type());
  SmallVector<Value> acc;
  for (int64_t t = 0; t < numAcc / 4; ++t) {
    SmallVector<Value> parts;
    for (int64_t r = 0; r < 4; ++r)
      parts.push_back(LLVM::ExtractValueOp::create(b, loc, accumulators, 4 * t + r));
    acc.push_back(vector::FromElementsOp::create(b, loc, v4, parts));
  }
  return acc;
}
