//===- ExpertGemm.cpp - the tiled per-expert GEMM kernel ------------------===//
//
// Kernel structure (one block = BM rows of one expert x BN columns):
//  1. a per-row table in shared memory: the A row offset, the output row
//     offset (-1: no row) and the scale of each of the BM rows, decoded once;
//  2. the main loop over BK slices of the reduction: a STAGES-deep cp.async
//     pipeline (16-byte copies, zero-fill for every tail) feeding ldmatrix +
//     mma.sync m16n8k16 (f16/bf16), warpgroup MMA (sm_90a,
//     ExpertGemmWarpgroup.cpp) or FMAs (f32); the general fallback loads
//     elements instead;
//  3. the epilogue: accumulators go to an f32 tile in shared memory, then
//     each thread writes 4 consecutive columns of a row (bias, activation,
//     scale in registers; one vector store or 4 atomics).
//
//===----------------------------------------------------------------------===//
#include "Kernels/ExpertGemmEmitter.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace egs;

void ExpertGemmEmitter::emit(ValueRange args) {
  unsigned i = 0;
  a = DeviceTensor::get(kb, args[i++], fast);
  ind = DeviceTensor::get(kb, args[i++], false);
  w = DeviceTensor::get(kb, args[i++], fast);
  if (spec.ragged) {
    offsets = DeviceTensor::get(kb, args[i++], false);
    tileMap = DeviceTensor::get(kb, args[i++], false);
  }
  if (spec.hasBias)
    bias = DeviceTensor::get(kb, args[i++], fast);
  if (spec.hasScale)
    scale = DeviceTensor::get(kb, args[i++], false);
  out = DeviceTensor::get(kb, args[i++], fast);

  Type stagedType = fast ? dataType : kb.builder().getF32Type();
  aStage = kb.sharedView(layout.aOffset,
                         {c.stages, c.bm, c.bk + layout.pad}, stagedType);
  if (spec.kMajorB()) // a transposed w: [bn][bk] tiles shaped like A's
    bStage = kb.sharedView(layout.bOffset, {c.stages, c.bn, c.bk + layout.pad},
                           stagedType);
  else if (c.path == GemmPath::Warpgroup) // slabs of 64 columns: [bk][64] each
    bStage = kb.sharedView(layout.bOffset, {c.stages, c.bn / 64, c.bk, 64},
                           stagedType);
  else
    bStage = kb.sharedView(layout.bOffset,
                           {c.stages, c.bk, c.bn + layout.pad}, stagedType);
  cTile = kb.sharedView(layout.cOffset, {c.bm, c.bn + layout.cPad},
                        kb.builder().getF32Type());
  Type i64 = kb.builder().getI64Type();
  aRows = kb.sharedView(layout.rowsOffset, {c.bm}, i64);
  outRows = kb.sharedView(layout.rowsOffset + 8 * c.bm, {c.bm}, i64);
  scales = kb.sharedView(layout.rowsOffset + 16 * c.bm, {c.bm},
                         kb.builder().getF32Type());

  tid = kb.threadId();
  reduce = w.size(spec.wReduceDim());
  cols = w.size(spec.wColsDim());
  outCols = spec.gated() ? kb.divU(cols, kb.idx(2)) : cols;
  // Row tiles (bx) and column tiles (tileN) come from one linear block id,
  // in groups of kRowTileGroup row tiles that sweep all column tiles before
  // the next group starts: the group's A rows stay in L2 while the weights'
  // column tiles stream past (a plain x/z order re-reads all A per column).
  Value perExpertRows =
      spec.ragged ? Value()
                  : (spec.batched ? kb.mul(ind.size(0), ind.size(2)) : ind.size(1));
  Value rowTiles =
      spec.ragged
          ? kb.add(kb.ceilDiv(ind.size(0), kb.idx(c.bm)), w.size(0))
          : kb.mul(w.size(0), kb.ceilDiv(perExpertRows, kb.idx(c.bm)));
  int64_t tileCols = spec.gated() ? c.bn / 2 : c.bn;
  Value colTiles = kb.ceilDiv(outCols, kb.idx(tileCols));
  Value bid = kb.blockId(gpu::Dimension::x);
  Value perGroup = kb.mul(kb.idx(kRowTileGroup), colTiles);
  Value firstRow = kb.mul(kb.divU32(bid, perGroup), kb.idx(kRowTileGroup));
  Value groupRows = kb.minS(kb.idx(kRowTileGroup), kb.sub(rowTiles, firstRow));
  Value inGroup = kb.remU32(bid, perGroup);
  Value bx = kb.add(firstRow, kb.remU32(inGroup, groupRows));
  tileN = kb.divU32(inGroup, groupRows);

  if (spec.ragged) {
    // Tiles past the device-built count have no work.
    Value tiles = kb.toIndex(tileMap.load(kb, kb.idx(0)));
    kb.ifThen(kb.lt(bx, tiles), [&] {
      Value two = kb.idx(2);
      Value e = tileMap.loadIndex(kb, kb.add(kb.idx(1), kb.mul(bx, two)));
      Value t = tileMap.loadIndex(kb, kb.add(kb.idx(2), kb.mul(bx, two)));
      Value numRows = ind.size(0);
      Value lo = kb.clamp(offsets.loadIndex(kb, offsets.offset(kb, e)),
                          kb.idx(0), numRows);
      Value eNext = kb.add(e, kb.idx(1));
      Value hi = kb.clamp(offsets.loadIndex(kb, offsets.offset(kb, eNext)), lo,
                          numRows);
      emitTile(e, kb.add(lo, kb.mul(t, kb.idx(c.bm))), hi);
    });
    return;
  }
  Value perExpert = perExpertRows;
  Value mTiles = kb.ceilDiv(perExpert, kb.idx(c.bm));
  Value e = kb.divU32(bx, mTiles);
  Value start = kb.mul(kb.remU32(bx, mTiles), kb.idx(c.bm));
  emitTile(e, start, perExpert);
}

void ExpertGemmEmitter::emitTile(Value e, Value start, Value end) {
  buildRowTable(e, start, end);
  kb.barrier();
  SmallVector<Value> acc = c.path == GemmPath::Warpgroup ? mainLoopWarpgroup(e)
                           : fast                        ? mainLoopAsync(e)
                                                         : mainLoopGeneral(e);
  // Everyone is done with the staging buffers the output tile reuses.
  kb.barrier();
  storeAccumulators(acc);
  kb.barrier();
  writeOutputTile(e);
}

//===----------------------------------------------------------------------===//
// Rows
//===----------------------------------------------------------------------===//

RowInfo ExpertGemmEmitter::decodeRow(Value e, Value m, Value end) {
  Value valid = kb.lt(m, end);
  Value mm = kb.select(valid, m, kb.idx(0));
  SmallVector<Value> slot;
  Value batch;
  if (spec.ragged) {
    slot = {mm};
  } else if (spec.batched) {
    Value perBatch = ind.size(2);
    batch = kb.divU32(mm, perBatch);
    slot = {batch, e, kb.remU32(mm, perBatch)};
  } else {
    slot = {e, mm};
  }
  bool needToken = spec.rows == RowSource::GatheredTokens ||
                   spec.output == GemmOutput::AtomicAddTokens;
  Value token, tokenOk;
  // Rows of a token-indexed tensor t: [B,T,..] or [T,..].
  auto tokenRow = [&](const DeviceTensor &t) {
    Value off = kb.mul(token, t.stride(batch ? 1 : 0));
    return batch ? kb.add(off, kb.mul(batch, t.stride(0))) : off;
  };
  if (needToken) {
    token = kb.ifElse(valid, kb.builder().getIndexType(),
                      [&] { return SmallVector<Value>{
                                ind.loadIndex(kb, ind.offset(kb, slot))}; },
                      [&] { return SmallVector<Value>{kb.idx(-1)}; })[0];
    const DeviceTensor &tokens =
        spec.rows == RowSource::GatheredTokens ? a : out;
    // Out-of-range tokens read zeros and write nothing: never out of bounds.
    tokenOk = kb.andB(valid, kb.inRange(token, tokens.size(batch ? 1 : 0)));
  }
  RowInfo r;
  Value none = kb.idx(-1);
  if (spec.rows == RowSource::GatheredTokens)
    r.aOffset = kb.select(tokenOk, tokenRow(a), none);
  else
    r.aOffset = kb.select(valid, a.offset(kb, slot), none);
  if (spec.output == GemmOutput::StoreSlots)
    r.outOffset = kb.select(valid, out.offset(kb, slot), none);
  else
    r.outOffset = kb.select(tokenOk, tokenRow(out), none);
  r.scale = kb.f32(1.0);
  if (spec.hasScale)
    r.scale = kb.ifElse(valid, kb.builder().getF32Type(),
                        [&] { return SmallVector<Value>{
                                  scale.loadF32(kb, scale.offset(kb, slot))}; },
                        [&] { return SmallVector<Value>{kb.f32(0.0)}; })[0];
  return r;
}

void ExpertGemmEmitter::buildRowTable(Value e, Value start, Value end) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  for (int64_t q = 0; q * c.numThreads() < c.bm; ++q) {
    Value row = kb.add(tid, kb.idx(q * c.numThreads()));
    kb.ifThen(kb.lt(row, kb.idx(c.bm)), [&] {
      RowInfo r = decodeRow(e, kb.add(start, row), end);
      memref::StoreOp::create(b, loc, kb.toI64(r.aOffset), aRows, row);
      memref::StoreOp::create(b, loc, kb.toI64(r.outOffset), outRows, row);
      memref::StoreOp::create(b, loc, r.scale, scales, row);
    });
  }
}

std::pair<Value, Value> ExpertGemmEmitter::sourceColumn(Value q) {
  if (!spec.paired())
    return {kb.add(kb.mul(tileN, kb.idx(c.bn)), q), cols};
  // The first half of the tile holds gate columns, the second half the
  // matching up columns, so one thread sees both halves of its outputs.
  int64_t half = c.bn / 2;
  Value base = kb.mul(tileN, kb.idx(half));
  Value isUp = kb.ge(q, kb.idx(half));
  Value gateCol = kb.add(base, q);
  Value upCol = kb.add(outCols, kb.add(base, kb.sub(q, kb.idx(half))));
  return {kb.select(isUp, upCol, gateCol), kb.select(isUp, cols, outCols)};
}

//===----------------------------------------------------------------------===//
// Main loop: asynchronous copies, tensor cores or CUDA cores
//===----------------------------------------------------------------------===//

namespace {
/// One 16-byte copy a thread issues per stage; everything here is invariant
/// over the main loop, so the loop adds only the slice offset.
struct CopyChunk {
  SmallVector<Value, 3> dst; ///< in the staging tile, after the stage index
  Value src;   ///< A: row offset + column (-1: no row); B: w offset at k = 0
  Value limit; ///< i32: valid elements of a full slice (0..vec)
  Value first; ///< i32: reduction index of the chunk within the slice
  /// i1: this thread has the chunk (null: every thread has one). Threads
  /// without one issue no copy: a zero-filling copy of theirs would write the
  /// same padding bytes as the others' (a benign but real write-write race).
  Value active;
};
} // namespace

SliceCopier ExpertGemmEmitter::sliceCopier(Value e) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  int64_t vec = c.copyElems(dataType), nt = c.numThreads();
  Value wBase = kb.mul(e, w.stride(0));
  bool swizzled = c.path == GemmPath::Warpgroup;
  // A transposed w is staged like A: rows are output columns, 16-byte
  // copies run along the reduction.
  bool bKMajor = spec.kMajorB();
  // Warpgroup tiles have 128-byte rows whose 16-byte chunks are permuted by
  // the row index mod 8 (wgmma's 128-byte swizzle): chunk q of row r sits at
  // chunk q ^ (r % 8).
  auto swizzle = [&](Value row, Value col) {
    Value chunk = kb.divU(col, kb.idx(vec));
    Value phase = kb.remU(row, kb.idx(8));
    return kb.mul(arith::XOrIOp::create(b, loc, chunk, phase), kb.idx(vec));
  };
  auto chunksOf = [&](int64_t rows, int64_t width, bool isA) {
    bool kMajor = isA || bKMajor;
    SmallVector<CopyChunk> chunks;
    int64_t total = rows * width / vec;
    for (int64_t q = 0; q * nt < total; ++q) {
      Value ch = kb.add(tid, kb.idx(q * nt));
      Value ok = (q + 1) * nt <= total ? kb.boolean(true)
                                       : kb.lt(ch, kb.idx(total));
      Value row = kb.divU(ch, kb.idx(width / vec));
      Value col = kb.mul(kb.remU(ch, kb.idx(width / vec)), kb.idx(vec));
      CopyChunk chunk;
      if ((q + 1) * nt > total)
        chunk.active = ok;
      // (Swizzled tiles split evenly over the threads: `ok` always holds.)
      Value tileRow = kb.select(ok, row, kb.idx(0));
      Value tileCol = kb.select(ok, col, kb.idx(width));
      if (!swizzled)
        chunk.dst = {tileRow, tileCol};
      else if (kMajor)
        chunk.dst = {row, swizzle(row, col)};
      else // row = k, col = n: slab n / 64, row k, swizzled column in it
        chunk.dst = {kb.divU(col, kb.idx(64)), row,
                     swizzle(row, kb.remU(col, kb.idx(64)))};
      if (isA) {
        Value off = kb.toIndex(memref::LoadOp::create(b, loc, aRows, tileRow));
        Value has = kb.andB(ok, kb.ge(off, kb.idx(0)));
        chunk.src = kb.add(off, tileCol);
        chunk.limit = kb.select(has, kb.i32(vec), kb.i32(0));
        chunk.first = kb.toI32(tileCol);
      } else if (bKMajor) { // row = tile column, col = k: w[e][src][k]
        auto [src, bound] = sourceColumn(tileRow);
        Value has = kb.andB(ok, kb.lt(src, bound));
        chunk.src = kb.add(wBase, kb.add(kb.mul(src, w.stride(1)), tileCol));
        chunk.limit = kb.select(has, kb.i32(vec), kb.i32(0));
        chunk.first = kb.toI32(tileCol);
      } else {
        auto [src, bound] = sourceColumn(col);
        chunk.src = kb.add(wBase, kb.add(kb.mul(tileRow, w.stride(1)), src));
        Value n = kb.clamp(kb.sub(bound, src), kb.idx(0), kb.idx(vec));
        chunk.limit = kb.toI32(kb.select(ok, n, kb.idx(0)));
        chunk.first = kb.toI32(tileRow);
      }
      chunks.push_back(chunk);
    }
    return chunks;
  };
  SmallVector<CopyChunk> aChunks = chunksOf(c.bm, c.bk, true);
  SmallVector<CopyChunk> bChunks =
      bKMajor ? chunksOf(c.bn, c.bk, false) : chunksOf(c.bk, c.bn, false);
  // Per thread: every w chunk it copies has all its columns (no column
  // check in full slices).
  Value bComplete = kb.boolean(true);
  if (!bKMajor)
    for (const CopyChunk &ch : bChunks) {
      Value whole = kb.eq(ch.limit, kb.i32(vec));
      if (ch.active)
        whole = kb.orB(whole, kb.notB(ch.active));
      bComplete = kb.andB(bComplete, whole);
    }
  int64_t vec2 = vec;
  // Issues one chunk's copy.
  auto copy = [this, vec2](const DeviceTensor &src, Value srcOff, Value dst,
                           Value stage, const CopyChunk &ch, Value n) {
    SmallVector<Value, 4> at{stage};
    at.append(ch.dst.begin(), ch.dst.end());
    asyncCopy(kb, dst, at, src.flat, srcOff, vec2, n, ch.active);
  };
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(kb.getContext());
  return [this, aChunks, bChunks, bKMajor, bComplete, copy,
          tokenType](Value kt, Value stage) {
    OpBuilder &b = kb.builder();
    Value k0 = kb.mul(kt, kb.idx(c.bk));
    // Elements of the reduction left from k0 (negative past the end), in
    // 32 bits: the per-copy counts are cheap, only offsets need 64.
    Value left = kb.toI32(kb.maxS(kb.sub(reduce, k0), kb.idx(-1)));
    Value kOffset = kb.mul(k0, w.stride(1));
    // K-major chunks cut the reduction's tail inside a copy; in a full
    // slice (bk elements of the reduction left) only their row decides.
    auto issueAll = [&](bool full) {
      auto kMajorCount = [&](const CopyChunk &ch) {
        if (full)
          return ch.limit;
        return kb.minS(ch.limit, kb.maxS(kb.sub(left, ch.first), kb.i32(0)));
      };
      for (const CopyChunk &ch : aChunks)
        copy(a, kb.add(ch.src, k0), aStage, stage, ch, kMajorCount(ch));
      for (const CopyChunk &ch : bChunks) {
        if (bKMajor) {
          copy(w, kb.add(ch.src, k0), bStage, stage, ch, kMajorCount(ch));
          continue;
        }
        Value n = full ? Value()
                       : kb.select(kb.lt(ch.first, left), ch.limit, kb.i32(0));
        copy(w, kb.add(ch.src, kOffset), bStage, stage, ch, n);
      }
    };
    kb.ifThenElse(kb.andB(bComplete, kb.ge(left, kb.i32(c.bk))),
                  [&] { issueAll(true); }, [&] { issueAll(false); });
    return nvgpu::DeviceAsyncCreateGroupOp::create(b, kb.getLoc(), tokenType,
                                                   ValueRange{})
        .getAsyncToken();
  };
}

SmallVector<Value> ExpertGemmEmitter::mainLoopAsync(Value e) {
  SliceCopier issue = sliceCopier(e);
  Value slices = kb.ceilDiv(reduce, kb.idx(c.bk));
  if (c.path == GemmPath::TensorCore) {
    SmallVector<Value> acc =
        zeroAccumulators(kb, (c.warpM / 16) * (c.warpN / 8), 4);
    return pipelinedMmaLoop(
        kb, c, slices, issue,
        [&](Value stage, int64_t ks) { return loadFragments(stage, ks); },
        [&](const FragmentSet &frags, ValueRange acc) {
          return mmaStep(frags, acc);
        },
        acc);
  }
  return pipelinedFmaLoop(
      kb, c, slices, issue,
      [&](Value stage, ValueRange acc) { return computeCudaCore(stage, acc); },
      zeroAccumulators(kb, c.threadM, c.threadN));
}

FragmentSet ExpertGemmEmitter::loadFragments(Value stage, int64_t ks) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  Value lane = kb.laneId(), warp = kb.warpId();
  Value warpsN = kb.idx(c.bn / c.warpN);
  Value warpRow = kb.mul(kb.divU(warp, warpsN), kb.idx(c.warpM));
  Value warpCol = kb.mul(kb.remU(warp, warpsN), kb.idx(c.warpN));
  // ldmatrix x4 lane addresses: rows lane % 16, column half lane / 16.
  Value laneRow = kb.remU(lane, kb.idx(16));
  Value laneCol = kb.mul(kb.divU(lane, kb.idx(16)), kb.idx(8));
  auto fragType = VectorType::get({4, 2}, dataType);
  FragmentSet frags;
  // A: one x4 (16x16) per 16 rows of the warp tile.
  for (int64_t mi = 0; mi < c.warpM / 16; ++mi) {
    Value row = kb.add(warpRow, kb.add(laneRow, kb.idx(mi * 16)));
    Value col = kb.add(laneCol, kb.idx(ks * 16));
    frags.push_back(nvgpu::LdMatrixOp::create(b, loc, fragType, aStage,
                                              ValueRange{stage, row, col},
                                              /*transpose=*/false, 4));
  }
  // B: one x4 per 16 columns (two n8 tiles), transposed unless w is.
  for (int64_t nj = 0; nj < c.warpN / 16; ++nj) {
    Value col0 = kb.add(warpCol, kb.idx(nj * 16));
    frags.push_back(
        spec.kMajorB()
            ? loadKMajorFragment(kb, dataType, bStage, stage, col0,
                                 kb.idx(ks * 16))
            : loadKRowsFragment(kb, dataType, bStage, stage, kb.idx(ks * 16),
                                col0));
  }
  return frags;
}

SmallVector<Value> ExpertGemmEmitter::mmaStep(const FragmentSet &frags,
                                              ValueRange acc) {
  int64_t mTiles = c.warpM / 16;
  return mmaSyncStep(kb, dataType, ArrayRef<Value>(frags).take_front(mTiles),
                     ArrayRef<Value>(frags).drop_front(mTiles), acc);
}

SmallVector<Value> ExpertGemmEmitter::computeCudaCore(Value stage,
                                                      ValueRange acc) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  Value threadsN = kb.idx(c.bn / c.threadN);
  Value ty = kb.divU(tid, threadsN), tx = kb.remU(tid, threadsN);
  Value col = kb.mul(tx, kb.idx(c.threadN));
  auto v4 = VectorType::get({4}, b.getF32Type());
  auto vn = VectorType::get({c.threadN}, b.getF32Type());
  SmallVector<Value> cur(acc.begin(), acc.end());
  for (int64_t kq = 0; kq < c.bk / 4; ++kq) {
    SmallVector<Value> av;
    for (int64_t tm = 0; tm < c.threadM; ++tm) {
      Value row = kb.add(kb.mul(ty, kb.idx(c.threadM)), kb.idx(tm));
      av.push_back(vector::LoadOp::create(b, loc, v4, aStage,
                                          ValueRange{stage, row, kb.idx(kq * 4)},
                                          false, llvm::MaybeAlign(16)));
    }
    // A transposed w's tile holds 4 k of a column per vector: regroup them
    // into the 4 columns of each k.
    SmallVector<Value> bq;
    for (int64_t tn = 0; spec.kMajorB() && tn < c.threadN; ++tn)
      bq.push_back(vector::LoadOp::create(
          b, loc, v4, bStage,
          ValueRange{stage, kb.add(col, kb.idx(tn)), kb.idx(kq * 4)}, false,
          llvm::MaybeAlign(16)));
    for (int64_t kk = 0; kk < 4; ++kk) {
      Value bv;
      if (spec.kMajorB()) {
        SmallVector<Value> parts;
        for (Value v : bq)
          parts.push_back(kb.extract(v, kk));
        bv = vector::FromElementsOp::create(b, loc, vn, parts);
      } else {
        bv = vector::LoadOp::create(b, loc, vn, bStage,
                                    ValueRange{stage, kb.idx(kq * 4 + kk), col},
                                    false, llvm::MaybeAlign(16));
      }
      for (int64_t tm = 0; tm < c.threadM; ++tm)
        cur[tm] = kb.fma(kb.splat(kb.extract(av[tm], kk), c.threadN), bv, cur[tm]);
    }
  }
  return cur;
}

SmallVector<Value> ExpertGemmEmitter::mainLoopGeneral(Value e) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  int64_t nt = c.numThreads();
  Value zero = kb.f32(0.0);
  auto vn = VectorType::get({c.threadN}, b.getF32Type());
  Value zeroAcc = arith::ConstantOp::create(b, loc, vn,
                                            DenseElementsAttr::get(vn, 0.0f));
  SmallVector<Value> init(c.threadM, zeroAcc);
  Value wBase = kb.mul(e, w.stride(0));
  // Element-wise staging: any strides, any alignment, any element type.
  auto stageTile = [&](Value k0, int64_t rows, int64_t width, Value tile,
                       function_ref<Value(Value, Value, Value)> load) {
    for (int64_t q = 0; q * nt < rows * width; ++q) {
      Value el = kb.add(tid, kb.idx(q * nt));
      kb.ifThen(kb.lt(el, kb.idx(rows * width)), [&] {
        Value row = kb.divU(el, kb.idx(width));
        Value col = kb.remU(el, kb.idx(width));
        memref::StoreOp::create(b, loc, load(k0, row, col), tile,
                                ValueRange{kb.idx(0), row, col});
      });
    }
  };
  auto loadA = [&](Value k0, Value row, Value col) {
    Value base = kb.toIndex(memref::LoadOp::create(b, loc, aRows, row));
    Value i = kb.add(k0, col);
    Value ok = kb.andB(kb.ge(base, kb.idx(0)), kb.lt(i, reduce));
    return kb.ifElse(ok, b.getF32Type(), [&] {
      Value off = kb.add(base, kb.mul(i, a.stride(a.rank() - 1)));
      return SmallVector<Value>{a.loadF32(kb, off)};
    }, [&] { return SmallVector<Value>{zero}; })[0];
  };
  auto loadB = [&](Value k0, Value row, Value col) {
    auto [src, bound] = sourceColumn(col);
    Value i = kb.add(k0, row);
    Value ok = kb.andB(kb.lt(i, reduce), kb.lt(src, bound));
    return kb.ifElse(ok, b.getF32Type(), [&] {
      Value off = kb.add(wBase, kb.add(kb.mul(i, w.stride(spec.wReduceDim())),
                                       kb.mul(src, w.stride(spec.wColsDim()))));
      return SmallVector<Value>{w.loadF32(kb, off)};
    }, [&] { return SmallVector<Value>{zero}; })[0];
  };
  Value slices = kb.ceilDiv(reduce, kb.idx(c.bk));
  return kb.forLoop(kb.idx(0), slices, kb.idx(1), init,
                    [&](Value kt, ValueRange acc) -> SmallVector<Value> {
                      Value k0 = kb.mul(kt, kb.idx(c.bk));
                      kb.barrier();
                      stageTile(k0, c.bm, c.bk, aStage, loadA);
                      stageTile(k0, c.bk, c.bn, bStage, loadB);
                      kb.barrier();
                      return computeCudaCore(kb.idx(0), acc);
                    });
}

void egs::emitExpertGemmKernel(KernelBuilder &kb, const ExpertGemmSpec &spec,
                               Type dataType, ValueRange args) {
  ExpertGemmEmitter(kb, spec, dataType).emit(args);
}
