//===- ExpertGemmWarpgroup.cpp - the GEMM main loop on warpgroup MMA ------===//
//
// sm_90a: the staged tiles (128-byte swizzled, filled by sliceCopier's
// cp.async copies) go to `wgmma.mma_async` through shared-memory matrix
// descriptors; one warpgroup per 64 rows of the tile, one wgmma group in
// flight. The layouts were checked on the H100 by prototype/wgmma.
//
//===----------------------------------------------------------------------===//
#include "Kernels/ExpertGemmEmitter.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace egs;

// A k-step of 16 moves 32 bytes along A's 128-byte rows (and a K-major B's)
// and 16 rows (2048 bytes) down an N-major B's slabs.
static constexpr int64_t kAStepBytes = 32, kBStepBytes = 2048;

WarpgroupDescriptors ExpertGemmEmitter::warpgroupDescriptors() {
  // A (K-major, rows of 64 elements): 8-row groups 1024 bytes apart. B
  // (N-major, slabs of 64 columns x bk rows): slabs bk * 128 bytes apart,
  // 8-row groups 1024 bytes apart; a transposed w's B is K-major like A
  // (rows of 64 reduction elements). (aStage's pointer is the A tile itself:
  // offsets relative to it.)
  Value smem = kb.toI64(memref::ExtractAlignedPointerAsIndexOp::create(
      kb.builder(), kb.getLoc(), aStage));
  WarpgroupDescriptors d;
  Value a = swizzledDescriptor(kb, smem, kb.i64(0), 16);
  d.b = swizzledDescriptor(kb, smem, kb.i64(layout.bOffset - layout.aOffset),
                           spec.kMajorB() ? 16 : c.bk * 128);
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
  // B N-major (row: imm-trans-b = 1), or K-major like A for a transposed w.
  auto layoutB = spec.kMajorB() ? NVVM::MMALayout::col : NVVM::MMALayout::row;
  int64_t bStepBytes = spec.kMajorB() ? kAStepBytes : kBStepBytes;
  if (!c.resident) {
    Value slices = kb.ceilDiv(reduce, kb.idx(c.bk));
    return pipelinedWarpgroupLoop(kb, c, dataType, slices, issue, [&] {
      WarpgroupDescriptors d = warpgroupDescriptors();
      return std::make_pair(
          WarpgroupOperand{d.a, d.aStage, kAStepBytes, NVVM::MMALayout::row},
          WarpgroupOperand{d.b, d.bStage, bStepBytes, layoutB});
    });
  }
  // The whole reduction (at most `stages` slices, chooseGemmVariants) is
  // staged at once, slice s in buffer s; then every wgmma in one group.
  int64_t numAcc = c.bn / 2; // m64nNk16: 64 * N / 128 f32 per thread
  auto accType = LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(numAcc, b.getF32Type()));
  auto wgType = dataType.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
  auto shape = NVVM::MMAShapeAttr::get(ctx, 64, c.bn, 16);
  Value group;
  for (int64_t s = 0; s < c.stages; ++s)
    group = issue(kb.idx(s), kb.idx(s));
  WarpgroupDescriptors desc = warpgroupDescriptors();
  nvgpu::DeviceAsyncWaitOp::create(b, loc, group, b.getI32IntegerAttr(0));
  NVVM::FenceProxyOp::create(
      b, loc, NVVM::ProxyKindAttr::get(ctx, NVVM::ProxyKind::async_shared),
      NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
  kb.barrier();
  NVVM::WgmmaFenceAlignedOp::create(b, loc);
  Value acc = LLVM::ZeroOp::create(b, loc, accType);
  for (int64_t s = 0; s < c.stages; ++s) {
    Value stage64 = kb.i64(s);
    Value da = kb.add(desc.a, kb.mul(stage64, desc.aStage));
    Value db = kb.add(desc.b, kb.mul(stage64, desc.bStage));
    for (int64_t ks = 0; ks < c.bk / 16; ++ks)
      acc = NVVM::WgmmaMmaAsyncOp::create(
          b, loc, accType, acc, kb.add(da, kb.i64(ks * kAStepBytes >> 4)),
          kb.add(db, kb.i64(ks * bStepBytes >> 4)), shape, wgType, wgType,
          NVVM::WGMMATypes::f32, NVVM::WGMMAScaleOut::one,
          NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one,
          NVVM::MMALayout::row, layoutB, nullptr);
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
  return warpgroupAccumulators(kb, acc, c.bn);
}
