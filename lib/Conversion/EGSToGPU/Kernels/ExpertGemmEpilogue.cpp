//===- ExpertGemmEpilogue.cpp - the per-expert GEMM's epilogue ------------===//
//
// Accumulators go to an f32 tile in shared memory; then each thread writes 4
// consecutive columns of a row: bias, activation and scale in registers, one
// vector store (or 16-byte atomic) where the row is aligned and complete.
//
//===----------------------------------------------------------------------===//
#include "Kernels/ExpertGemmEmitter.h"
#include "egs/Conversion/Utils/Activation.h"


using namespace mlir;
using namespace egs;

//===----------------------------------------------------------------------===//
// Epilogue
//===----------------------------------------------------------------------===//

void ExpertGemmEmitter::storeAccumulators(ValueRange acc) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  if (c.path != GemmPath::TensorCore && c.path != GemmPath::Warpgroup) {
    Value threadsN = kb.idx(c.bn / c.threadN);
    Value ty = kb.divU(tid, threadsN), tx = kb.remU(tid, threadsN);
    Value col = kb.mul(tx, kb.idx(c.threadN));
    for (int64_t tm = 0; tm < c.threadM; ++tm) {
      Value row = kb.add(kb.mul(ty, kb.idx(c.threadM)), kb.idx(tm));
      vector::StoreOp::create(b, loc, acc[tm], cTile, ValueRange{row, col},
                              false, llvm::MaybeAlign(16));
    }
    return;
  }
  // mma.sync accumulator layout: c0,c1 at (lane / 4, 2 * (lane % 4) + {0,1}),
  // c2,c3 eight rows below. (wgmma's is the same per warp, with warp w of
  // the block owning rows 16w..16w+15: a 16 x bn warp tile.)
  int64_t nTiles = c.warpN / 8;
  Value lane = kb.laneId(), warp = kb.warpId();
  Value warpsN = kb.idx(c.bn / c.warpN);
  Value warpRow = kb.mul(kb.divU(warp, warpsN), kb.idx(c.warpM));
  Value warpCol = kb.mul(kb.remU(warp, warpsN), kb.idx(c.warpN));
  Value laneRow = kb.add(warpRow, kb.divU(lane, kb.idx(4)));
  Value laneCol = kb.add(warpCol, kb.mul(kb.remU(lane, kb.idx(4)), kb.idx(2)));
  auto v2 = VectorType::get({2}, b.getF32Type());
  for (int64_t mi = 0; mi < c.warpM / 16; ++mi)
    for (int64_t ni = 0; ni < nTiles; ++ni) {
      Value accum = acc[mi * nTiles + ni];
      Value col = kb.add(laneCol, kb.idx(ni * 8));
      for (int64_t h = 0; h < 2; ++h) {
        Value row = kb.add(laneRow, kb.idx(mi * 16 + h * 8));
        Value pair = vector::FromElementsOp::create(
            b, loc, v2,
            ValueRange{kb.extract(accum, 2 * h), kb.extract(accum, 2 * h + 1)});
        vector::StoreOp::create(b, loc, pair, cTile, ValueRange{row, col},
                                false, llvm::MaybeAlign(8));
      }
    }
}

Value ExpertGemmEmitter::loadBias(Value e, Value col, Value vecOk) {
  OpBuilder &b = kb.builder();
  auto v4 = VectorType::get({4}, b.getF32Type());
  Value rowOff = kb.mul(e, bias.stride(0));
  auto scalars = [&] {
    SmallVector<Value> vals;
    for (int64_t i = 0; i < 4; ++i) {
      Value ci = kb.add(col, kb.idx(i));
      vals.push_back(kb.ifElse(
          kb.lt(ci, cols), b.getF32Type(),
          [&] { return SmallVector<Value>{bias.loadF32(
                    kb, kb.add(rowOff, kb.mul(ci, bias.stride(1))))}; },
          [&] { return SmallVector<Value>{kb.f32(0.0)}; })[0]);
    }
    return SmallVector<Value>{
        vector::FromElementsOp::create(b, kb.getLoc(), v4, vals)};
  };
  if (!fast)
    return scalars()[0];
  int64_t align = 4 * elementBytes(bias.elementType);
  return kb.ifElse(vecOk, v4, [&] {
    return SmallVector<Value>{bias.loadVectorF32(kb, kb.add(rowOff, col), 4, align)};
  }, scalars)[0];
}

void ExpertGemmEmitter::writeChunk(Value row, Value outRow, Value col, Value v,
                                   Value vecOk) {
  bool atomic = spec.output == GemmOutput::AtomicAddTokens;
  Value colStride = out.stride(out.rank() - 1);
  auto scalars = [&] {
    for (int64_t i = 0; i < 4; ++i) {
      Value ci = kb.add(col, kb.idx(i));
      kb.ifThen(kb.lt(ci, outCols), [&] {
        Value off = kb.add(outRow, kb.mul(ci, colStride));
        if (atomic)
          out.atomicAddF32(kb, kb.extract(v, i), off);
        else
          out.storeF32(kb, kb.extract(v, i), off);
      });
    }
  };
  if (!fast)
    return scalars();
  auto vectorPath = [&] {
    Value off = kb.add(outRow, col);
    if (!atomic)
      return out.storeVectorF32(kb, v, off, 4 * elementBytes(out.elementType));
    if (spec.vectorAtomics && out.elementType.isF32())
      return out.atomicAddF32x4(kb, v, off);
    for (int64_t i = 0; i < 4; ++i)
      out.atomicAddF32(kb, kb.extract(v, i), kb.add(off, kb.idx(i)));
  };
  kb.ifThenElse(vecOk, vectorPath, scalars);
}

void ExpertGemmEmitter::writeOutputTile(Value e) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  int64_t tileCols = spec.gated() ? c.bn / 2 : c.bn;
  int64_t perRow = tileCols / 4, total = c.bm * perRow, nt = c.numThreads();
  auto v4 = VectorType::get({4}, b.getF32Type());
  for (int64_t q = 0; q * nt < total; ++q) {
    Value ch = kb.add(tid, kb.idx(q * nt));
    Value inTile = (q + 1) * nt <= total ? kb.boolean(true)
                                         : kb.lt(ch, kb.idx(total));
    kb.ifThen(inTile, [&] {
      Value row = kb.divU(ch, kb.idx(perRow));
      Value c0 = kb.mul(kb.remU(ch, kb.idx(perRow)), kb.idx(4));
      Value outRow = kb.toIndex(memref::LoadOp::create(b, loc, outRows, row));
      kb.ifThen(kb.ge(outRow, kb.idx(0)), [&] {
        Value col = kb.add(kb.mul(tileN, kb.idx(tileCols)), c0);
        Value vecOk = kb.le(kb.add(col, kb.idx(4)), outCols);
        auto tileLoad = [&](Value tileCol) -> Value {
          return vector::LoadOp::create(b, loc, v4, cTile,
                                        ValueRange{row, tileCol}, false,
                                        llvm::MaybeAlign(16));
        };
        Value v, up;
        if (spec.gated() && spec.interleaved) {
          // Columns 2j (gate) and 2j + 1 (up) of h: 8 values for 4 outputs,
          // bias added before they are split.
          Value c2 = kb.mul(c0, kb.idx(2)), col2 = kb.mul(col, kb.idx(2));
          Value lo = tileLoad(c2), hi = tileLoad(kb.add(c2, kb.idx(4)));
          if (spec.hasBias) {
            lo = kb.addF(lo, loadBias(e, col2, vecOk));
            hi = kb.addF(hi, loadBias(e, kb.add(col2, kb.idx(4)), vecOk));
          }
          v = vector::ShuffleOp::create(b, loc, lo, hi, {0, 2, 4, 6});
          up = vector::ShuffleOp::create(b, loc, lo, hi, {1, 3, 5, 7});
        } else {
          v = tileLoad(c0);
          if (spec.paired())
            up = tileLoad(kb.add(c0, kb.idx(c.bn / 2)));
          if (spec.hasBias) {
            v = kb.addF(v, loadBias(e, col, vecOk));
            if (up)
              up = kb.addF(up, loadBias(e, kb.add(col, outCols), vecOk));
          }
        }
        v = spec.gated()
                ? buildGatedActivation(b, loc, v, up, spec.activation,
                                       spec.alpha, spec.limit)
                : buildActivation(b, loc, v, spec.activation);
        if (spec.hasScale) {
          Value s = memref::LoadOp::create(b, loc, scales, row);
          v = kb.mulF(v, kb.splat(s, 4));
        }
        writeChunk(row, outRow, col, v, vecOk);
      });
    });
  }
}
