//===- WeightGradKernel.cpp - the weight-gradient kernel body -------------===//
//
// One block = a bm x bn tile (rows i0.., columns j0..) of dw[e]:
//  1. the expert's slot range [lo, hi) (ragged: from offsets on the device;
//     expert choice: the B*K slots (b, e, k));
//  2. a loop over bk-slot slices: each slot's lhs row (columns i0..) and rhs
//     row (columns j0..) are copied as K-rows tiles [bk][bm] and [bk][bn]
//     (16-byte cp.async, zero fill for tails, rows past hi and
//     out-of-range tokens), the slot's scale beside them; tensor cores read
//     both with ldmatrix.trans (the lhs fragment is the transposed A
//     operand: its registers come out in the order 0, 2, 1, 3), scaled in
//     registers; CUDA cores multiply the lhs element by the f32 scale first,
//     exactly as the CPU lowering does;
//  3. the accumulators go straight to dw (each block owns its tile).
// On sm_90a the tensor-core tiles are 128-byte swizzled slabs read by
// wgmma (lhs as the M-major A operand, rhs as the N-major B operand); the
// scale is applied to the landed lhs chunks in shared memory.
//
//===----------------------------------------------------------------------===//
#include "Kernels/MmaPipeline.h"
#include "Kernels/WeightGradKernel.h"

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace egs;

namespace {
/// One operand of the outer product.
struct Side {
  DeviceTensor data, ind;
  bool gathered = false;
  Value width; ///< I or J
  Value col0;  ///< first column of the block's tile
};

/// One 16-byte copy a thread issues per slice; invariant over the loop.
struct KRowsChunk {
  const Side *side;
  Value tile;                ///< the staging view
  SmallVector<Value, 3> dst; ///< in the tile, after the stage index
  Value row, col;            ///< row = slot within the slice; tile column
  Value limit;               ///< i32: valid elements of the chunk (0..vec)
  /// Linear slot orders (see chunkSource): at slice 0, the element offset
  /// of the chunk (slot order) or of its slot's index (gathered), and what
  /// one slice adds to it.
  Value base, step;
  /// i1: this thread has the chunk (null: every thread has one). Threads
  /// without one issue no copy (a zero-filling copy of theirs would write
  /// the same padding bytes as the others': a write-write race).
  Value active = {};
};

class WeightGradEmitter {
public:
  WeightGradEmitter(KernelBuilder &kb, const WeightGradSpec &spec,
                    Type dataType)
      : kb(kb), spec(spec), c(spec.config),
        layout(weightGradSharedLayout(spec.config)), dataType(dataType),
        fast(c.path != GemmPath::CudaCoreGeneral) {}

  void emit(ValueRange args);

private:
  void locateTile();
  /// Slot m of the expert as indices of the slot-shaped tensors.
  SmallVector<Value> slotIndices(Value m, Value &batch);
  /// Element offset of slot m's row of `side`; -1 past hi or for an
  /// out-of-range token (the row reads zeros).
  Value slotRow(const Side &side, Value m);
  Value slotScale(Value m);
  void stageScales(Value kt, Value stage);
  SliceCopier sliceCopier();
  void prepareLinearChunk(KRowsChunk &chunk);
  /// The source offset of `chunk` in slice kt and its valid elements `n`
  /// (null: all of them). `full`: the slice holds bk of the expert's slots
  /// and the tile lies inside dw (no bound check but the token's).
  Value chunkSource(const KRowsChunk &chunk, Value kt, Value &n, bool full);
  WarpgroupOperands warpgroupOperands();
  /// Scaled forms: rescales the thread's landed lhs chunks (else null).
  std::function<void(Value)> lhsRestage();
  SmallVector<Value> mainLoopWarpgroup(Value slices);
  void mainLoopSpecialized(Value slices);
  void rescaleLandedLhs(Value stage);
  FragmentSet loadFragments(Value stage, int64_t ks);
  Value lhsFragment(Value raw, Value stage, int64_t ks);
  SmallVector<Value> computeCudaCore(Value stage, ValueRange acc);
  SmallVector<Value> mainLoopGeneral(Value slices, SmallVector<Value> acc);
  void storeTensorCore(ValueRange acc);
  void storeCudaCore(ValueRange acc);
  Value warpRow();
  Value warpCol();

  KernelBuilder &kb;
  const WeightGradSpec &spec;
  const GemmConfig &c;
  WeightGradSharedLayout layout;
  Type dataType;
  bool fast;

  Side lhs, rhs;
  DeviceTensor offsets, scale, dw;
  Value tid, e, lo, hi, perBatch, numSlots;
  /// i1: the block's tile lies inside dw (every chunk has all its columns).
  Value interior;
  /// The copying threads' index among them and their count (all threads,
  /// or the producer warpgroup when warp-specialised).
  Value copyTid;
  int64_t copyThreads = 0;
  Value lhsStage, rhsStage, scaleStage;
  SmallVector<KRowsChunk> lhsChunks, rhsChunks;
};
} // namespace

void WeightGradEmitter::emit(ValueRange args) {
  unsigned i = 0;
  lhs.data = DeviceTensor::get(kb, args[i++], fast);
  if ((lhs.gathered = spec.lhsGathered))
    lhs.ind = DeviceTensor::get(kb, args[i++], false);
  rhs.data = DeviceTensor::get(kb, args[i++], fast);
  if ((rhs.gathered = spec.rhsGathered))
    rhs.ind = DeviceTensor::get(kb, args[i++], false);
  if (spec.ragged)
    offsets = DeviceTensor::get(kb, args[i++], false);
  if (spec.hasScale)
    scale = DeviceTensor::get(kb, args[i++], false);
  dw = DeviceTensor::get(kb, args[i++], fast);

  Type staged = fast ? dataType : kb.builder().getF32Type();
  bool swizzled = c.path == GemmPath::Warpgroup;
  auto kRowsTile = [&](int64_t offset, int64_t width) {
    if (swizzled) // slabs of 64 columns: [bk][64] each
      return kb.sharedView(offset, {c.stages, width / 64, c.bk, 64}, staged);
    return kb.sharedView(offset, {c.stages, c.bk, width + layout.pad}, staged);
  };
  lhsStage = kRowsTile(layout.lhsOffset, c.bm);
  rhsStage = kRowsTile(layout.rhsOffset, c.bn);
  scaleStage = kb.sharedView(layout.scaleOffset, {c.stages, c.bk},
                             kb.builder().getF32Type());
  tid = kb.threadId();
  copyTid = tid;
  copyThreads = c.copyThreads();
  locateTile();

  Value slices = kb.ceilDiv(kb.sub(hi, lo), kb.idx(c.bk));
  if (c.warpSpecialized()) {
    mainLoopSpecialized(slices);
    return;
  }
  if (swizzled) {
    storeTensorCore(mainLoopWarpgroup(slices));
    return;
  }
  if (c.path == GemmPath::TensorCore) {
    SmallVector<Value> acc =
        zeroAccumulators(kb, (c.warpM / 16) * (c.warpN / 8), 4);
    acc = pipelinedMmaLoop(
        kb, c, slices, sliceCopier(),
        [&](Value stage, int64_t ks) { return loadFragments(stage, ks); },
        [&](const FragmentSet &frags, ValueRange acc) {
          ArrayRef<Value> f(frags);
          int64_t mTiles = c.warpM / 16;
          return mmaSyncStep(kb, dataType, f.take_front(mTiles),
                             f.drop_front(mTiles), acc);
        },
        acc);
    storeTensorCore(acc);
    return;
  }
  SmallVector<Value> acc = zeroAccumulators(kb, c.threadM, c.threadN);
  if (fast)
    acc = pipelinedFmaLoop(kb, c, slices, sliceCopier(),
                           [&](Value stage, ValueRange acc) {
                             return computeCudaCore(stage, acc);
                           },
                           acc);
  else
    acc = mainLoopGeneral(slices, acc);
  storeCudaCore(acc);
}

/// The block's expert, tile origin and slot range. Blocks of one expert go
/// in groups of kRowTileGroup I-tiles that sweep all J-tiles before the next
/// group starts, so the group's lhs columns stay in L2.
void WeightGradEmitter::locateTile() {
  constexpr int64_t kRowTileGroup = 8;
  Value tilesI = kb.ceilDiv(dw.size(1), kb.idx(c.bm));
  Value tilesJ = kb.ceilDiv(dw.size(2), kb.idx(c.bn));
  Value bid = kb.blockId(gpu::Dimension::x);
  Value perExpert = kb.mul(tilesI, tilesJ);
  e = kb.divU32(bid, perExpert);
  Value r = kb.remU32(bid, perExpert);
  Value perGroup = kb.mul(kb.idx(kRowTileGroup), tilesJ);
  Value first = kb.mul(kb.divU32(r, perGroup), kb.idx(kRowTileGroup));
  Value groupRows = kb.minS(kb.idx(kRowTileGroup), kb.sub(tilesI, first));
  Value inGroup = kb.remU32(r, perGroup);
  Value ti = kb.add(first, kb.remU32(inGroup, groupRows));
  Value tj = kb.divU32(inGroup, groupRows);
  lhs.width = dw.size(1);
  lhs.col0 = kb.mul(ti, kb.idx(c.bm));
  rhs.width = dw.size(2);
  rhs.col0 = kb.mul(tj, kb.idx(c.bn));
  interior = kb.andB(kb.le(kb.add(lhs.col0, kb.idx(c.bm)), lhs.width),
                     kb.le(kb.add(rhs.col0, kb.idx(c.bn)), rhs.width));

  // The slot-shaped tensor: an index, else lhs in slot order.
  const DeviceTensor &slots = lhs.gathered   ? lhs.ind
                              : rhs.gathered ? rhs.ind
                                             : lhs.data;
  if (spec.ragged) {
    Value numSlots = slots.size(0);
    lo = kb.clamp(offsets.loadIndex(kb, offsets.offset(kb, e)), kb.idx(0),
                  numSlots);
    Value next = offsets.offset(kb, kb.add(e, kb.idx(1)));
    hi = kb.clamp(offsets.loadIndex(kb, next), lo, numSlots);
    return;
  }
  perBatch = slots.size(spec.batched ? 2 : 1);
  lo = kb.idx(0);
  hi = spec.batched ? kb.mul(slots.size(0), perBatch) : perBatch;
}

//===----------------------------------------------------------------------===//
// Slots
//===----------------------------------------------------------------------===//

SmallVector<Value> WeightGradEmitter::slotIndices(Value m, Value &batch) {
  if (spec.ragged)
    return {m};
  if (!spec.batched)
    return {e, m};
  batch = kb.divU32(m, perBatch);
  return {batch, e, kb.remU32(m, perBatch)};
}

Value WeightGradEmitter::slotRow(const Side &side, Value m) {
  Type index = kb.builder().getIndexType();
  return kb.ifElse(
      kb.lt(m, hi), index,
      [&]() -> SmallVector<Value> {
        Value batch;
        SmallVector<Value> slot = slotIndices(m, batch);
        if (!side.gathered)
          return {side.data.offset(kb, slot)};
        Value token = side.ind.loadIndex(kb, side.ind.offset(kb, slot));
        int64_t tokenDim = batch ? 1 : 0;
        Value off = kb.mul(token, side.data.stride(tokenDim));
        if (batch)
          off = kb.add(off, kb.mul(batch, side.data.stride(0)));
        Value ok = kb.inRange(token, side.data.size(tokenDim));
        return {kb.select(ok, off, kb.idx(-1))};
      },
      [&]() -> SmallVector<Value> { return {kb.idx(-1)}; })[0];
}

Value WeightGradEmitter::slotScale(Value m) {
  return kb.ifElse(
      kb.lt(m, hi), kb.builder().getF32Type(),
      [&]() -> SmallVector<Value> {
        Value batch;
        SmallVector<Value> slot = slotIndices(m, batch);
        return {scale.loadF32(kb, scale.offset(kb, slot))};
      },
      [&]() -> SmallVector<Value> { return {kb.f32(0.0)}; })[0];
}

/// The scales of slice kt's slots into scaleStage[stage] (plain stores: the
/// barrier that publishes the slice's copies publishes them too).
void WeightGradEmitter::stageScales(Value kt, Value stage) {
  if (!spec.hasScale)
    return;
  int64_t nt = copyThreads;
  Value first = kb.add(lo, kb.mul(kt, kb.idx(c.bk)));
  for (int64_t q = 0; q * nt < c.bk; ++q) {
    Value t = kb.add(copyTid, kb.idx(q * nt));
    kb.ifThen(kb.lt(t, kb.idx(c.bk)), [&] {
      memref::StoreOp::create(kb.builder(), kb.getLoc(),
                              slotScale(kb.add(first, t)), scaleStage,
                              ValueRange{stage, t});
    });
  }
}

//===----------------------------------------------------------------------===//
// Staging
//===----------------------------------------------------------------------===//

SliceCopier WeightGradEmitter::sliceCopier() {
  OpBuilder &b = kb.builder();
  int64_t vec = c.copyElems(dataType), nt = copyThreads;
  bool swizzled = c.path == GemmPath::Warpgroup;
  auto chunksOf = [&](const Side &side, Value tile, int64_t width) {
    SmallVector<KRowsChunk> chunks;
    int64_t total = c.bk * width / vec;
    for (int64_t q = 0; q * nt < total; ++q) {
      Value ch = kb.add(copyTid, kb.idx(q * nt));
      Value ok = (q + 1) * nt <= total ? kb.boolean(true)
                                       : kb.lt(ch, kb.idx(total));
      Value row = kb.divU(ch, kb.idx(width / vec));
      Value col = kb.mul(kb.remU(ch, kb.idx(width / vec)), kb.idx(vec));
      KRowsChunk chunk{&side, tile, {}, kb.select(ok, row, kb.idx(0)),
                       kb.select(ok, col, kb.idx(width)), Value()};
      if ((q + 1) * nt > total)
        chunk.active = ok;
      if (swizzled) {
        // wgmma's 128-byte swizzle: 16-byte chunk q of K-row r of a slab
        // sits at chunk q ^ (r % 8). (The tiles split evenly: `ok` holds.)
        Value inSlab = kb.divU(kb.remU(col, kb.idx(64)), kb.idx(vec));
        Value phase = kb.remU(row, kb.idx(8));
        Value swz = arith::XOrIOp::create(b, kb.getLoc(), inSlab, phase);
        chunk.dst = {kb.divU(col, kb.idx(64)), row, kb.mul(swz, kb.idx(vec))};
      } else {
        chunk.dst = {chunk.row, chunk.col};
      }
      Value n = kb.clamp(kb.sub(side.width, kb.add(side.col0, col)),
                         kb.idx(0), kb.idx(vec));
      chunk.limit = kb.toI32(kb.select(ok, n, kb.idx(0)));
      chunks.push_back(chunk);
    }
    return chunks;
  };
  lhsChunks = chunksOf(lhs, lhsStage, c.bm);
  rhsChunks = chunksOf(rhs, rhsStage, c.bn);
  numSlots = kb.sub(hi, lo);
  for (KRowsChunk &ch : lhsChunks)
    prepareLinearChunk(ch);
  for (KRowsChunk &ch : rhsChunks)
    prepareLinearChunk(ch);
  SmallVector<KRowsChunk> chunks(lhsChunks);
  chunks.append(rhsChunks.begin(), rhsChunks.end());
  return [this, chunks, vec](Value kt, Value stage) {
    // The sources first (a gathered side's index loads), then the copies,
    // slot order first: the loads' latency passes under those copies.
    auto issueAll = [&](bool full) {
      SmallVector<std::pair<Value, Value>> sources;
      for (const KRowsChunk &ch : chunks) {
        Value n, src = chunkSource(ch, kt, n, full);
        sources.push_back({src, n});
      }
      for (bool gathered : {false, true})
        for (auto [ch, source] : llvm::zip(chunks, sources)) {
          if (ch.side->gathered != gathered)
            continue;
          SmallVector<Value, 4> at{stage};
          at.append(ch.dst.begin(), ch.dst.end());
          asyncCopy(kb, ch.tile, at, ch.side->data.flat, source.first, vec,
                    source.second, ch.active);
        }
    };
    // Every slice of an interior tile but the expert's last is full: its
    // copies skip the slot and column checks (the copy loop is issue-bound
    // otherwise). Batched slots are decoded one by one either way.
    if (spec.batched) {
      issueAll(false);
    } else {
      Value end = kb.mul(kb.add(kt, kb.idx(1)), kb.idx(c.bk));
      kb.ifThenElse(
          kb.andB(interior, kb.le(end, numSlots)), [&] { issueAll(true); },
          [&] { issueAll(false); });
    }
    stageScales(kt, stage);
    auto tokenType = nvgpu::DeviceAsyncTokenType::get(kb.getContext());
    return nvgpu::DeviceAsyncCreateGroupOp::create(kb.builder(), kb.getLoc(),
                                                   tokenType, ValueRange{})
        .getAsyncToken();
  };
}

/// Ragged and unbatched expert-choice slots are linear: slot lo + r has its
/// row (slot order) or its index (gathered) at a fixed stride per slot, so
/// a chunk's offsets are computed once and advance by one multiply-add per
/// slice (the copy loop is issue-bound otherwise). Batched slots (b, k)
/// decode each slot instead.
void WeightGradEmitter::prepareLinearChunk(KRowsChunk &ch) {
  if (spec.batched)
    return;
  const Side &side = *ch.side;
  const DeviceTensor &t = side.gathered ? side.ind : side.data;
  int64_t slotDim = spec.ragged ? 0 : 1;
  Value batch;
  Value first = kb.add(lo, ch.row);
  // (An offset only: nothing is read at slots past hi.)
  ch.base = t.offset(kb, slotIndices(first, batch));
  if (!side.gathered)
    ch.base = kb.add(ch.base, kb.add(side.col0, ch.col));
  ch.step = kb.mul(t.stride(slotDim), kb.idx(c.bk));
}

Value WeightGradEmitter::chunkSource(const KRowsChunk &ch, Value kt, Value &n,
                                     bool full) {
  const Side &side = *ch.side;
  Value colOffset = kb.add(side.col0, ch.col);
  if (!ch.base) {
    Value first = kb.add(lo, kb.mul(kt, kb.idx(c.bk)));
    Value rowOff = slotRow(side, kb.add(first, ch.row));
    n = kb.select(kb.ge(rowOff, kb.idx(0)), ch.limit, kb.i32(0));
    return kb.add(rowOff, colOffset);
  }
  Value at = kb.add(ch.base, kb.mul(kt, ch.step));
  if (full && !side.gathered) {
    n = Value();
    return at;
  }
  Value token;
  if (full) {
    token = side.ind.loadIndex(kb, at);
  } else {
    Value valid = kb.lt(kb.add(kb.mul(kt, kb.idx(c.bk)), ch.row), numSlots);
    if (!side.gathered) {
      n = kb.select(valid, ch.limit, kb.i32(0));
      return at;
    }
    token = kb.ifElse(
        valid, kb.builder().getIndexType(),
        [&]() -> SmallVector<Value> { return {side.ind.loadIndex(kb, at)}; },
        [&]() -> SmallVector<Value> { return {kb.idx(-1)}; })[0];
  }
  // Out-of-range tokens read zeros.
  Value ok = kb.inRange(token, side.data.size(0));
  n = kb.select(ok, full ? kb.i32(c.copyElems(dataType)) : ch.limit, kb.i32(0));
  return kb.add(kb.mul(token, side.data.stride(0)), colOffset);
}

/// sm_90a: wgmma reads both K-rows tiles from shared memory, lhs as the
/// M-major (transposed) A operand: slabs of 64 rows of I, one per
/// warpgroup, bk * 128 bytes apart; rhs as the N-major B operand.
WarpgroupOperands WeightGradEmitter::warpgroupOperands() {
  constexpr int64_t kStepBytes = 16 * 128; // 16 K-rows of 128 bytes
  return [this] {
    Value smem = kb.toI64(memref::ExtractAlignedPointerAsIndexOp::create(
        kb.builder(), kb.getLoc(), lhsStage));
    int64_t slab = c.bk * 128;
    Value warpgroup = kb.toI64(kb.divU(tid, kb.idx(128)));
    WarpgroupOperand a{kb.add(swizzledDescriptor(kb, smem, kb.i64(0), slab),
                              kb.mul(warpgroup, kb.i64(slab >> 4))),
                       kb.i64(c.bm * c.bk * 2 >> 4), kStepBytes,
                       NVVM::MMALayout::col};
    Value rhsAt = kb.i64(layout.rhsOffset - layout.lhsOffset);
    WarpgroupOperand b{swizzledDescriptor(kb, smem, rhsAt, slab),
                       kb.i64(c.bn * c.bk * 2 >> 4), kStepBytes,
                       NVVM::MMALayout::row};
    return std::make_pair(a, b);
  };
}

std::function<void(Value)> WeightGradEmitter::lhsRestage() {
  if (!spec.hasScale)
    return nullptr;
  return [this](Value stage) { rescaleLandedLhs(stage); };
}

SmallVector<Value> WeightGradEmitter::mainLoopWarpgroup(Value slices) {
  return pipelinedWarpgroupLoop(kb, c, dataType, slices, sliceCopier(),
                                warpgroupOperands(), lhsRestage(),
                                /*copiesAfterMma=*/true);
}

/// Warp-specialised: the last warpgroup stages the slices (and rescales its
/// own landed lhs chunks), the others multiply and store the tile.
void WeightGradEmitter::mainLoopSpecialized(Value slices) {
  Value barriers = kb.sharedView(layout.barrierOffset, {2 * c.stages},
                                 kb.builder().getI64Type());
  specializedWarpgroupLoop(
      kb, c, dataType, slices, barriers,
      [this] {
        copyTid = kb.sub(tid, kb.idx(c.numThreads() - copyThreads));
        return sliceCopier();
      },
      warpgroupOperands(), lhsRestage(),
      [this](SmallVector<Value> acc) { storeTensorCore(acc); });
}

/// wgmma cannot scale its operands: each thread multiplies the lhs chunks
/// it copied itself (landed for it after its cp.async wait) by their slots'
/// scales, staged beside them.
void WeightGradEmitter::rescaleLandedLhs(Value stage) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  int64_t vec = c.copyElems(dataType);
  auto vt = VectorType::get({vec}, dataType);
  for (const KRowsChunk &ch : lhsChunks) {
    SmallVector<Value, 4> at{stage};
    at.append(ch.dst.begin(), ch.dst.end());
    auto ld = vector::LoadOp::create(b, loc, vt, ch.tile, at);
    ld.setAlignment(16);
    Value s = memref::LoadOp::create(b, loc, scaleStage,
                                     ValueRange{stage, ch.row});
    Value scaled = kb.fromF32(kb.mulF(kb.toF32(ld), kb.splat(s, vec)), dataType);
    auto st = vector::StoreOp::create(b, loc, scaled, ch.tile, at);
    st.setAlignment(16);
  }
}

/// Element-wise staging for any layout, alignment and element type (f32
/// tiles), one slice at a time.
SmallVector<Value> WeightGradEmitter::mainLoopGeneral(Value slices,
                                                      SmallVector<Value> acc) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  int64_t nt = c.numThreads();
  auto stageSide = [&](const Side &side, Value tile, int64_t width,
                       Value first) {
    for (int64_t q = 0; q * nt < c.bk * width; ++q) {
      Value el = kb.add(tid, kb.idx(q * nt));
      kb.ifThen(kb.lt(el, kb.idx(c.bk * width)), [&] {
        Value row = kb.divU(el, kb.idx(width));
        Value col = kb.remU(el, kb.idx(width));
        Value rowOff = slotRow(side, kb.add(first, row));
        Value at = kb.add(side.col0, col);
        Value ok = kb.andB(kb.ge(rowOff, kb.idx(0)), kb.lt(at, side.width));
        const DeviceTensor &t = side.data;
        Value v = kb.ifElse(ok, b.getF32Type(), [&]() -> SmallVector<Value> {
          Value off = kb.add(rowOff, kb.mul(at, t.stride(t.rank() - 1)));
          return {t.loadF32(kb, off)};
        }, [&]() -> SmallVector<Value> { return {kb.f32(0.0)}; })[0];
        memref::StoreOp::create(b, loc, v, tile, ValueRange{kb.idx(0), row, col});
      });
    }
  };
  return kb.forLoop(kb.idx(0), slices, kb.idx(1), acc,
                    [&](Value kt, ValueRange acc) -> SmallVector<Value> {
                      Value first = kb.add(lo, kb.mul(kt, kb.idx(c.bk)));
                      kb.barrier();
                      stageSide(lhs, lhsStage, c.bm, first);
                      stageSide(rhs, rhsStage, c.bn, first);
                      stageScales(kt, kb.idx(0));
                      kb.barrier();
                      return computeCudaCore(kb.idx(0), acc);
                    });
}

//===----------------------------------------------------------------------===//
// Compute
//===----------------------------------------------------------------------===//

Value WeightGradEmitter::warpRow() {
  Value warpsN = kb.idx(c.bn / c.warpN);
  return kb.mul(kb.divU(kb.warpId(), warpsN), kb.idx(c.warpM));
}

Value WeightGradEmitter::warpCol() {
  Value warpsN = kb.idx(c.bn / c.warpN);
  return kb.mul(kb.remU(kb.warpId(), warpsN), kb.idx(c.warpN));
}

FragmentSet WeightGradEmitter::loadFragments(Value stage, int64_t ks) {
  FragmentSet frags;
  Value k0 = kb.idx(ks * 16);
  Value row0 = warpRow(), col0 = warpCol();
  for (int64_t mi = 0; mi < c.warpM / 16; ++mi) {
    Value raw = loadKRowsFragment(kb, dataType, lhsStage, stage, k0,
                                  kb.add(row0, kb.idx(mi * 16)));
    frags.push_back(lhsFragment(raw, stage, ks));
  }
  for (int64_t nj = 0; nj < c.warpN / 16; ++nj)
    frags.push_back(loadKRowsFragment(kb, dataType, rhsStage, stage, k0,
                                      kb.add(col0, kb.idx(nj * 16))));
  return frags;
}

/// ldmatrix.trans of a K-rows tile gives (k 0-7 | k 8-15) x (rows 0-7 |
/// rows 8-15) in the order 00, 10, 01, 11; mma.sync's A operand wants rows
/// first: 00, 01, 10, 11. Registers 0-1 hold slots 2*(lane%4)+{0,1} of the
/// k-step, 2-3 those 8 later: each pair is scaled by its slots' scales.
Value WeightGradEmitter::lhsFragment(Value raw, Value stage, int64_t ks) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  Value frag = vector::ShuffleOp::create(b, loc, raw, raw,
                                         ArrayRef<int64_t>{0, 2, 1, 3});
  if (!spec.hasScale)
    return frag;
  auto pairType = VectorType::get({2}, b.getF32Type());
  Value k = kb.add(kb.idx(ks * 16), kb.mul(kb.remU(kb.laneId(), kb.idx(4)),
                                           kb.idx(2)));
  Value scales[2];
  for (int64_t h = 0; h < 2; ++h) {
    auto ld = vector::LoadOp::create(b, loc, pairType, scaleStage,
                                     ValueRange{stage, kb.add(k, kb.idx(8 * h))});
    ld.setAlignment(8);
    scales[h] = ld;
  }
  for (int64_t r = 0; r < 4; ++r) {
    Value pair = vector::ExtractOp::create(b, loc, frag, ArrayRef<int64_t>{r});
    Value scaled = kb.fromF32(kb.mulF(kb.toF32(pair), scales[r / 2]), dataType);
    frag = vector::InsertOp::create(b, loc, scaled, frag, ArrayRef<int64_t>{r});
  }
  return frag;
}

SmallVector<Value> WeightGradEmitter::computeCudaCore(Value stage,
                                                      ValueRange acc) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  Value threadsN = kb.idx(c.bn / c.threadN);
  Value row = kb.mul(kb.divU(tid, threadsN), kb.idx(c.threadM));
  Value col = kb.mul(kb.remU(tid, threadsN), kb.idx(c.threadN));
  auto vm = VectorType::get({c.threadM}, b.getF32Type());
  auto vn = VectorType::get({c.threadN}, b.getF32Type());
  int64_t alignM = c.threadM % 4 == 0 ? 16 : 4;
  SmallVector<Value> cur(acc.begin(), acc.end());
  for (int64_t k = 0; k < c.bk; ++k) {
    Value kk = kb.idx(k);
    auto a = vector::LoadOp::create(b, loc, vm, lhsStage,
                                    ValueRange{stage, kk, row});
    a.setAlignment(alignM);
    Value av = a;
    if (spec.hasScale) {
      Value s = memref::LoadOp::create(b, loc, scaleStage, ValueRange{stage, kk});
      av = kb.mulF(av, kb.splat(s, c.threadM));
    }
    auto bv = vector::LoadOp::create(b, loc, vn, rhsStage,
                                     ValueRange{stage, kk, col});
    bv.setAlignment(16);
    for (int64_t tm = 0; tm < c.threadM; ++tm)
      cur[tm] = kb.fma(kb.splat(kb.extract(av, tm), c.threadN), bv, cur[tm]);
  }
  return cur;
}

//===----------------------------------------------------------------------===//
// Output
//===----------------------------------------------------------------------===//

/// m16n8 accumulator tiles: registers (0, 1) are row lane/4, columns
/// 2*(lane%4)+{0,1}; (2, 3) the row 8 below. dw rows are 16-byte aligned
/// (checked on the host), so a pair is one store.
void WeightGradEmitter::storeTensorCore(ValueRange acc) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  Value lane = kb.laneId();
  Value rowBase = kb.add(kb.add(lhs.col0, warpRow()), kb.divU(lane, kb.idx(4)));
  Value colBase = kb.add(kb.add(rhs.col0, warpCol()),
                         kb.mul(kb.remU(lane, kb.idx(4)), kb.idx(2)));
  int64_t nTiles = c.warpN / 8;
  int64_t align = 2 * elementBytes(dw.elementType);
  auto storeAll = [&](bool checked) {
    for (int64_t mi = 0; mi < c.warpM / 16; ++mi)
      for (int64_t ni = 0; ni < nTiles; ++ni)
        for (int64_t h = 0; h < 2; ++h) {
          Value row = kb.add(rowBase, kb.idx(mi * 16 + h * 8));
          Value col = kb.add(colBase, kb.idx(ni * 8));
          Value v = acc[mi * nTiles + ni];
          auto store = [&] {
            Value pair = vector::FromElementsOp::create(
                b, loc, VectorType::get({2}, b.getF32Type()),
                ValueRange{kb.extract(v, 2 * h), kb.extract(v, 2 * h + 1)});
            dw.storeVectorF32(kb, pair, dw.offset(kb, {e, row, col}), align);
          };
          if (checked)
            kb.ifThen(kb.andB(kb.lt(row, lhs.width), kb.lt(col, rhs.width)),
                      store);
          else
            store();
        }
  };
  // Tiles inside dw store without a bound check per pair.
  kb.ifThenElse(interior, [&] { storeAll(false); }, [&] { storeAll(true); });
}

void WeightGradEmitter::storeCudaCore(ValueRange acc) {
  Value threadsN = kb.idx(c.bn / c.threadN);
  Value row0 = kb.add(lhs.col0, kb.mul(kb.divU(tid, threadsN), kb.idx(c.threadM)));
  Value col = kb.add(rhs.col0, kb.mul(kb.remU(tid, threadsN), kb.idx(c.threadN)));
  for (int64_t tm = 0; tm < c.threadM; ++tm) {
    Value row = kb.add(row0, kb.idx(tm));
    kb.ifThen(kb.lt(row, lhs.width), [&] {
      if (fast) { // f32 rows of 16 bytes: J is a multiple of 4
        kb.ifThen(kb.lt(col, rhs.width), [&] {
          dw.storeVectorF32(kb, acc[tm], dw.offset(kb, {e, row, col}), 16);
        });
        return;
      }
      for (int64_t q = 0; q < c.threadN; ++q) {
        Value j = kb.add(col, kb.idx(q));
        kb.ifThen(kb.lt(j, rhs.width), [&] {
          Value off = kb.add(dw.offset(kb, {e, row}), kb.mul(j, dw.stride(2)));
          dw.storeF32(kb, kb.extract(acc[tm], q), off);
        });
      }
    });
  }
}

void egs::emitWeightGradKernel(KernelBuilder &kb, const WeightGradSpec &spec,
                               Type dataType, ValueRange args) {
  WeightGradEmitter(kb, spec, dataType).emit(args);
}
