//===- MmaPipeline.cpp - the multistage cp.async + mma.sync loop ----------===//
#include "Kernels/MmaPipeline.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace egs;

Value egs::nextStage(KernelBuilder &kb, int64_t stages, Value stage) {
  Value n = kb.add(stage, kb.idx(1));
  return kb.select(kb.eq(n, kb.idx(stages)), kb.idx(0), n);
}

void egs::asyncCopy(KernelBuilder &kb, Value dst, ValueRange at, Value src,
                    Value srcOff, int64_t vec, Value n, Value active) {
  OpBuilder &b = kb.builder();
  auto issue = [&] {
    auto tokenType = nvgpu::DeviceAsyncTokenType::get(kb.getContext());
    // A zero-length copy still names an address: keep it in bounds.
    Value safe = n ? kb.select(kb.lt(kb.i32(0), n), srcOff, kb.idx(0)) : srcOff;
    nvgpu::DeviceAsyncCopyOp::create(b, kb.getLoc(), tokenType, dst, at, src,
                                     ValueRange{safe}, b.getIndexAttr(vec),
                                     n ? kb.toIndex(n) : Value(),
                                     b.getUnitAttr());
  };
  if (active)
    kb.ifThen(active, issue);
  else
    issue();
}

Value egs::loadKRowsFragment(KernelBuilder &kb, Type dataType, Value tile,
                             Value stage, Value k0, Value col0) {
  // ldmatrix x4 lane addresses: rows lane % 16, column half lane / 16.
  Value lane = kb.laneId();
  Value row = kb.add(k0, kb.remU(lane, kb.idx(16)));
  Value col = kb.add(col0, kb.mul(kb.divU(lane, kb.idx(16)), kb.idx(8)));
  return nvgpu::LdMatrixOp::create(kb.builder(), kb.getLoc(),
                                   VectorType::get({4, 2}, dataType), tile,
                                   ValueRange{stage, row, col},
                                   /*transpose=*/true, 4);
}

Value egs::loadKMajorFragment(KernelBuilder &kb, Type dataType, Value tile,
                              Value stage, Value col0, Value k0) {
  // Lanes 8i..8i+7 address the rows of matrix i, in mma.sync's B register
  // order: (cols 0-7, k 0-7), (cols 0-7, k 8-15), (cols 8-15, k 0-7),
  // (cols 8-15, k 8-15). An 8x8 block of [col][k] read without .trans gives
  // each thread b(k = 2 * (lane % 4) + {0, 1}, col = lane / 4).
  Value lane = kb.laneId();
  Value col = kb.add(col0, kb.add(kb.remU(lane, kb.idx(8)),
                                  kb.mul(kb.divU(lane, kb.idx(16)), kb.idx(8))));
  Value k = kb.add(k0, kb.mul(kb.remU(kb.divU(lane, kb.idx(8)), kb.idx(2)),
                              kb.idx(8)));
  return nvgpu::LdMatrixOp::create(kb.builder(), kb.getLoc(),
                                   VectorType::get({4, 2}, dataType), tile,
                                   ValueRange{stage, col, k},
                                   /*transpose=*/false, 4);
}

SmallVector<Value> egs::mmaSyncStep(KernelBuilder &kb, Type dataType,
                                    ArrayRef<Value> aFrags,
                                    ArrayRef<Value> bFrags, ValueRange acc) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  MLIRContext *ctx = kb.getContext();
  int64_t mTiles = aFrags.size(), nTiles = 2 * bFrags.size();
  bool isBF16 = dataType.isBF16();
  auto mmaType = isBF16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  auto resultType = LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(4, b.getF32Type()));
  // Register r of a fragment as mma.sync takes it (bf16 pairs go as i32).
  auto reg = [&](Value frag, int64_t r) -> Value {
    Value pair = vector::ExtractOp::create(b, loc, frag, ArrayRef<int64_t>{r});
    if (!isBF16)
      return pair;
    return LLVM::BitcastOp::create(b, loc, b.getI32Type(), pair);
  };
  SmallVector<SmallVector<Value, 4>> aReg(mTiles), bReg(nTiles);
  for (int64_t mi = 0; mi < mTiles; ++mi)
    for (int64_t r = 0; r < 4; ++r)
      aReg[mi].push_back(reg(aFrags[mi], r));
  for (int64_t nj = 0; nj < nTiles / 2; ++nj) {
    Value f = bFrags[nj];
    bReg[2 * nj] = {reg(f, 0), reg(f, 1)};
    bReg[2 * nj + 1] = {reg(f, 2), reg(f, 3)};
  }
  SmallVector<Value> cur(acc.begin(), acc.end());
  for (int64_t mi = 0; mi < mTiles; ++mi)
    for (int64_t ni = 0; ni < nTiles; ++ni) {
      Value &accum = cur[mi * nTiles + ni];
      SmallVector<Value> cIn;
      for (int64_t r = 0; r < 4; ++r)
        cIn.push_back(kb.extract(accum, r));
      Value d = NVVM::MmaOp::create(
          b, loc, resultType, aReg[mi], bReg[ni], cIn, {16, 8, 16},
          std::nullopt, std::nullopt,
          std::array<NVVM::MMATypes, 2>{mmaType, mmaType},
          std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                         NVVM::MMALayout::col});
      SmallVector<Value> parts;
      for (int64_t r = 0; r < 4; ++r)
        parts.push_back(LLVM::ExtractValueOp::create(b, loc, d, r));
      accum = vector::FromElementsOp::create(b, loc, accum.getType(), parts);
    }
  return cur;
}

SmallVector<Value> egs::zeroAccumulators(KernelBuilder &kb, int64_t n,
                                         int64_t width) {
  OpBuilder &b = kb.builder();
  auto accType = VectorType::get({width}, b.getF32Type());
  Value zero = arith::ConstantOp::create(b, kb.getLoc(), accType,
                                         DenseElementsAttr::get(accType, 0.0f));
  return SmallVector<Value>(n, zero);
}

/// Issues the first STAGES-1 slices (slices past the end are zero-fill) and
/// appends the loop's bookkeeping to `init`: the stages of slice kt and of
/// slice kt+STAGES-1 (no modulo) and the last copy group.
static void startPipeline(KernelBuilder &kb, const GemmConfig &c,
                          const SliceCopier &issue, SmallVector<Value> &init) {
  Value group;
  for (int64_t s = 0; s + 1 < c.stages; ++s)
    group = issue(kb.idx(s), kb.idx(s));
  init.push_back(kb.idx(0));
  init.push_back(kb.idx(c.stages - 1));
  init.push_back(group);
}

static void waitAndSync(KernelBuilder &kb, const GemmConfig &c, Value token) {
  OpBuilder &b = kb.builder();
  nvgpu::DeviceAsyncWaitOp::create(b, kb.getLoc(), token,
                                   b.getI32IntegerAttr(c.stages - 2));
  kb.barrier();
}

static void drain(KernelBuilder &kb, Value token) {
  OpBuilder &b = kb.builder();
  nvgpu::DeviceAsyncWaitOp::create(b, kb.getLoc(), token,
                                   b.getI32IntegerAttr(0));
}

SmallVector<Value> egs::pipelinedMmaLoop(KernelBuilder &kb, const GemmConfig &c,
                                         Value slices, const SliceCopier &issue,
                                         const FragmentLoader &load,
                                         const MmaStep &mma,
                                         SmallVector<Value> init) {
  size_t numAcc = init.size();
  startPipeline(kb, c, issue, init);
  waitAndSync(kb, c, init.back());
  FragmentSet first = load(kb.idx(0), 0);
  init.append(first.begin(), first.end());
  int64_t kSteps = c.bk / 16;
  SmallVector<Value> res = kb.forLoop(
      kb.idx(0), slices, kb.idx(1), init,
      [&](Value kt, ValueRange iter) -> SmallVector<Value> {
        SmallVector<Value> acc(iter.take_front(numAcc));
        Value stage = iter[numAcc], fillStage = iter[numAcc + 1];
        Value token = iter[numAcc + 2];
        FragmentSet frags(iter.drop_front(numAcc + 3));
        for (int64_t ks = 0; ks < kSteps; ++ks) {
          bool last = ks + 1 == kSteps;
          if (last)
            waitAndSync(kb, c, token);
          FragmentSet nextFrags = last ? load(nextStage(kb, c.stages, stage), 0)
                                       : load(stage, ks + 1);
          if (ks == 0)
            token = issue(kb.add(kt, kb.idx(c.stages - 1)), fillStage);
          acc = mma(frags, acc);
          frags = nextFrags;
        }
        acc.push_back(nextStage(kb, c.stages, stage));
        acc.push_back(nextStage(kb, c.stages, fillStage));
        acc.push_back(token);
        acc.append(frags.begin(), frags.end());
        return acc;
      });
  drain(kb, res[numAcc + 2]);
  res.resize(numAcc);
  return res;
}

SmallVector<Value> egs::pipelinedFmaLoop(KernelBuilder &kb, const GemmConfig &c,
                                         Value slices, const SliceCopier &issue,
                                         const SliceCompute &compute,
                                         SmallVector<Value> init) {
  size_t numAcc = init.size();
  startPipeline(kb, c, issue, init);
  SmallVector<Value> res = kb.forLoop(
      kb.idx(0), slices, kb.idx(1), init,
      [&](Value kt, ValueRange iter) -> SmallVector<Value> {
        // After this barrier every warp is done with slice kt-1, whose stage
        // the copies of slice kt+STAGES-1 overwrite.
        waitAndSync(kb, c, iter.back());
        Value stage = iter[numAcc], fillStage = iter[numAcc + 1];
        Value nextGroup = issue(kb.add(kt, kb.idx(c.stages - 1)), fillStage);
        SmallVector<Value> acc = compute(stage, iter.take_front(numAcc));
        acc.push_back(nextStage(kb, c.stages, stage));
        acc.push_back(nextStage(kb, c.stages, fillStage));
        acc.push_back(nextGroup);
        return acc;
      });
  drain(kb, res.back());
  res.resize(numAcc);
  return res;
}

//===----------------------------------------------------------------------===//
// Warpgroup MMA
//===----------------------------------------------------------------------===//

Value egs::swizzledDescriptor(KernelBuilder &kb, Value base, Value byteOffset,
                              int64_t lbo) {
  // Start address >> 4 in bits 0-13, leading byte offset >> 4 in 16-29,
  // stride byte offset >> 4 in 32-45, 128-byte swizzle (1) in bits 62-63.
  int64_t bits = ((lbo >> 4) << 16) | ((int64_t(1024) >> 4) << 32) |
                 (int64_t(1) << 62);
  Value field = kb.divU(kb.add(base, byteOffset), kb.i64(16));
  return kb.orB(field, kb.i64(bits));
}

/// Orders this thread's shared-memory writes (landed copies, restaged
/// chunks) before the async proxy's reads (wgmma).
static void fenceForAsyncProxy(KernelBuilder &kb) {
  MLIRContext *ctx = kb.getContext();
  NVVM::FenceProxyOp::create(
      kb.builder(), kb.getLoc(),
      NVVM::ProxyKindAttr::get(ctx, NVVM::ProxyKind::async_shared),
      NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
}

/// Waits for this thread's copies of a slice (all but `pending` groups),
/// then makes everyone's visible to the tensor cores.
static void publishSlice(KernelBuilder &kb, Value group, int64_t pending) {
  OpBuilder &b = kb.builder();
  if (group)
    nvgpu::DeviceAsyncWaitOp::create(b, kb.getLoc(), group,
                                     b.getI32IntegerAttr(pending));
  fenceForAsyncProxy(kb);
  kb.barrier();
}

/// The m64nNk16 accumulator struct of one warpgroup (64 * N / 128 f32 per
/// thread).
static Type warpgroupAccumulatorType(KernelBuilder &kb, const GemmConfig &c) {
  return LLVM::LLVMStructType::getLiteral(
      kb.getContext(),
      SmallVector<Type>(c.bn / 2, kb.builder().getF32Type()));
}

/// The wgmmas of one staged slice (bk / 16 k-steps) into `acc`, committed as
/// one group; returns the new accumulators (in flight until a wait).
static Value issueWarpgroupSlice(KernelBuilder &kb, const GemmConfig &c,
                                 Type dataType, const WarpgroupOperand &a,
                                 const WarpgroupOperand &b, Value stage,
                                 Value acc) {
  OpBuilder &ob = kb.builder();
  Location loc = kb.getLoc();
  auto wgType =
      dataType.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
  auto shape = NVVM::MMAShapeAttr::get(kb.getContext(), 64, c.bn, 16);
  Value stage64 = kb.toI64(stage);
  Value da = kb.add(a.desc, kb.mul(stage64, a.stageStep));
  Value db = kb.add(b.desc, kb.mul(stage64, b.stageStep));
  NVVM::WgmmaFenceAlignedOp::create(ob, loc);
  for (int64_t ks = 0; ks < c.bk / 16; ++ks)
    acc = NVVM::WgmmaMmaAsyncOp::create(
        ob, loc, acc.getType(), acc, kb.add(da, kb.i64(ks * a.kStepBytes >> 4)),
        kb.add(db, kb.i64(ks * b.kStepBytes >> 4)), shape, wgType, wgType,
        NVVM::WGMMATypes::f32, NVVM::WGMMAScaleOut::one,
        NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one, a.layout, b.layout,
        nullptr);
  NVVM::WgmmaGroupSyncAlignedOp::create(ob, loc);
  return acc;
}

SmallVector<Value> egs::pipelinedWarpgroupLoop(
    KernelBuilder &kb, const GemmConfig &c, Type dataType, Value slices,
    const SliceCopier &issue, const WarpgroupOperands &operands,
    const std::function<void(Value)> &restage, bool copiesAfterMma) {
  OpBuilder &ob = kb.builder();
  Location loc = kb.getLoc();
  Type accType = warpgroupAccumulatorType(kb, c);
  Value group;
  for (int64_t s = 0; s + 2 < c.stages; ++s)
    group = issue(kb.idx(s), kb.idx(s));
  auto [a, b] = operands();
  SmallVector<Value> init{LLVM::ZeroOp::create(ob, loc, accType), kb.idx(0),
                          kb.idx(c.stages - 2), group};
  SmallVector<Value> res = kb.forLoop(
      kb.idx(0), slices, kb.idx(1), init,
      [&](Value kt, ValueRange iter) -> SmallVector<Value> {
        Value stage = iter[1], fillStage = iter[2];
        // After the barrier every warpgroup has also finished slice kt-2
        // (wait below), whose stage is refilled now.
        publishSlice(kb, iter[3], c.stages - 3);
        if (restage) {
          restage(stage);
          publishSlice(kb, Value(), 0);
        }
        Value next = kb.add(kt, kb.idx(c.stages - 2)), token;
        if (!copiesAfterMma)
          token = issue(next, fillStage);
        Value acc = issueWarpgroupSlice(kb, c, dataType, a, b, stage, iter[0]);
        if (copiesAfterMma)
          token = issue(next, fillStage);
        NVVM::WgmmaWaitGroupSyncOp::create(ob, loc, 1);
        return {acc, nextStage(kb, c.stages, stage),
                nextStage(kb, c.stages, fillStage), token};
      });
  NVVM::WgmmaWaitGroupSyncOp::create(ob, loc, 0);
  nvgpu::DeviceAsyncWaitOp::create(ob, loc, res[3], ob.getI32IntegerAttr(0));
  return warpgroupAccumulators(kb, res[0], c.bn);
}

//===----------------------------------------------------------------------===//
// Warp-specialised warpgroup MMA
//===----------------------------------------------------------------------===//

void egs::specializedWarpgroupLoop(
    KernelBuilder &kb, const GemmConfig &c, Type dataType, Value slices,
    Value barriers, const std::function<SliceCopier()> &makeCopier,
    const WarpgroupOperands &operands,
    const std::function<void(Value stage)> &restage,
    const std::function<void(SmallVector<Value>)> &epilogue) {
  OpBuilder &ob = kb.builder();
  Location loc = kb.getLoc();
  MLIRContext *ctx = kb.getContext();
  int64_t producerThreads = c.copyThreads(); // the last warpgroup
  // Registers after the split (128 * 152 + 256 * 176 <= 64 Ki): the
  // producer keeps its copies' per-chunk state, the consumers the
  // accumulators.
  constexpr uint32_t kProducerRegisters = 152, kConsumerRegisters = 176;
  int64_t consumerThreads = c.numThreads() - producerThreads;
  // Slice kt - lag is published after slice kt is issued: with lag =
  // STAGES - 2 the producer never waits for a stage whose release needs a
  // slice it has not published yet.
  int64_t lag = c.stages - 2;
  Value base = kb.toI64(
      memref::ExtractAlignedPointerAsIndexOp::create(ob, loc, barriers));
  auto ptrType = LLVM::LLVMPointerType::get(ctx, /*addressSpace=*/3);
  // full[s] (kind 0): the producer threads' copies of the stage landed;
  // empty[s] (kind 1): the consumer warps' wgmmas reading it retired.
  auto barrier = [&](int64_t kind, Value stage) -> Value {
    Value index = kb.toI64(kb.add(stage, kb.idx(kind * c.stages)));
    return LLVM::IntToPtrOp::create(ob, loc, ptrType,
                                    kb.add(base, kb.mul(index, kb.i64(8))));
  };
  auto stageOf = [&](Value kt) { return kb.remU32(kt, kb.idx(c.stages)); };
  // Parity of the phase that completes with use `use` of a stage.
  auto parity = [&](Value use) {
    return kb.toI32(kb.remU32(use, kb.idx(2)));
  };
  auto waitFor = [&](Value bar, Value phaseParity) {
    NVVM::MBarrierTryWaitParityOp::create(ob, loc, bar, phaseParity,
                                          kb.i32(10000000));
  };
  auto arrive = [&](Value bar) {
    NVVM::MBarrierArriveOp::create(ob, loc, Type(), bar, Value());
  };

  Value tid = kb.threadId();
  kb.ifThen(kb.eq(tid, kb.idx(0)), [&] {
    for (int64_t s = 0; s < c.stages; ++s) {
      NVVM::MBarrierInitOp::create(ob, loc, barrier(0, kb.idx(s)),
                                   kb.i32(producerThreads), Value());
      NVVM::MBarrierInitOp::create(ob, loc, barrier(1, kb.idx(s)),
                                   kb.i32(consumerThreads / 32), Value());
    }
  });
  kb.barrier();
  Value producer = kb.ge(tid, kb.idx(consumerThreads));

  kb.ifThen(producer, [&] {
    NVVM::SetMaxRegisterOp::create(ob, loc, kProducerRegisters,
                                   NVVM::SetMaxRegisterAction::decrease);
    SliceCopier issue = makeCopier();
    // This thread's copies of slice j have landed (waited for): rescale
    // them if asked (after the scales every producer thread staged are
    // visible), hand them to the async proxy, arrive.
    auto publish = [&](Value j) {
      Value stage = stageOf(j);
      if (restage) {
        NVVM::BarrierOp::create(ob, loc, TypeRange{}, kb.i32(1),
                                kb.i32(producerThreads), nullptr, Value());
        restage(stage);
      }
      fenceForAsyncProxy(kb);
      arrive(barrier(0, stage));
    };
    kb.forLoop(kb.idx(0), slices, kb.idx(1), [&](Value kt) {
      Value stage = stageOf(kt);
      kb.ifThen(kb.ge(kt, kb.idx(c.stages)), [&] {
        Value use = kb.divU32(kt, kb.idx(c.stages));
        waitFor(barrier(1, stage), parity(kb.sub(use, kb.idx(1))));
      });
      issue(kt, stage);
      kb.ifThen(kb.ge(kt, kb.idx(lag)), [&] {
        NVVM::CpAsyncWaitGroupOp::create(ob, loc, uint32_t(lag));
        publish(kb.sub(kt, kb.idx(lag)));
      });
    });
    NVVM::CpAsyncWaitGroupOp::create(ob, loc, uint32_t(0));
    Value tail = kb.maxS(kb.sub(slices, kb.idx(lag)), kb.idx(0));
    kb.forLoop(tail, slices, kb.idx(1), [&](Value j) { publish(j); });
  });

  kb.ifThen(kb.notB(producer), [&] {
    NVVM::SetMaxRegisterOp::create(ob, loc, kConsumerRegisters,
                                   NVVM::SetMaxRegisterAction::increase);
    auto [a, b] = operands();
    Value zero = LLVM::ZeroOp::create(ob, loc, warpgroupAccumulatorType(kb, c));
    Value lane0 = kb.eq(kb.laneId(), kb.idx(0));
    SmallVector<Value> res = kb.forLoop(
        kb.idx(0), slices, kb.idx(1), ValueRange{zero},
        [&](Value kt, ValueRange iter) -> SmallVector<Value> {
          Value stage = stageOf(kt);
          waitFor(barrier(0, stage),
                  parity(kb.divU32(kt, kb.idx(c.stages))));
          Value acc = issueWarpgroupSlice(kb, c, dataType, a, b, stage, iter[0]);
          // Slice kt - 1's wgmmas have retired: its stage may be refilled.
          NVVM::WgmmaWaitGroupSyncOp::create(ob, loc, 1);
          kb.ifThen(kb.andB(lane0, kb.gt(kt, kb.idx(0))), [&] {
            arrive(barrier(1, stageOf(kb.sub(kt, kb.idx(1)))));
          });
          return {acc};
        });
    NVVM::WgmmaWaitGroupSyncOp::create(ob, loc, 0);
    epilogue(warpgroupAccumulators(kb, res[0], c.bn));
  });
}

SmallVector<Value> egs::warpgroupAccumulators(KernelBuilder &kb, Value acc,
                                              int64_t n) {
  OpBuilder &b = kb.builder();
  // Accumulator i: n8 tile i / 4, register i % 4 of the mma.sync layout.
  auto v4 = VectorType::get({4}, b.getF32Type());
  SmallVector<Value> tiles;
  for (int64_t t = 0; t < n / 8; ++t) {
    SmallVector<Value> parts;
    for (int64_t r = 0; r < 4; ++r)
      parts.push_back(LLVM::ExtractValueOp::create(b, kb.getLoc(), acc, 4 * t + r));
    tiles.push_back(vector::FromElementsOp::create(b, kb.getLoc(), v4, parts));
  }
  return tiles;
}
