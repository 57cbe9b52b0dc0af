//===- RoutingKernels.cpp - kernels of route, permute, unpermute ----------===//
//
// route is the stable counting sort of the host lowering, on the device
// without host synchronisation: chunked (count, scan, place) up to 4096
// experts; beyond, one block per expert counts the pairs of lower experts and
// ranks its own with block-wide scans. unpermute is a weighted sum of up to k
// rows per token, 16 bytes per thread where aligned.
//
//===----------------------------------------------------------------------===//
#include "Kernels/RoutingKernels.h"

#include <optional>

using namespace mlir;
using namespace egs;

/// Expert id of pair p = t * k + j, clamped into [0, E) like the host does
/// after its (optional) check.
static Value expertOf(KernelBuilder &kb, const DeviceTensor &ids, Value p,
                      Value numExperts) {
  Value k = ids.size(1);
  Value e = ids.loadIndex(kb, ids.offset(kb, {kb.divU32(p, k), kb.remU32(p, k)}));
  return kb.clamp(e, kb.idx(0), kb.sub(numExperts, kb.idx(1)));
}

namespace {
/// Where a kept (token, choice) pair goes: rows[slot] = t and, with routing
/// weights, scale[slot] = weights[t, j].
struct SlotWriter {
  DeviceTensor rows;
  std::optional<DeviceTensor> weights, scale;

  /// args: ..., rows [R] at `at`, then weights [T,k], scale [R] if present.
  SlotWriter(KernelBuilder &kb, ValueRange args, unsigned at)
      : rows(DeviceTensor::get(kb, args[at], false)) {
    if (args.size() > at + 1) {
      weights = DeviceTensor::get(kb, args[at + 1], false);
      scale = DeviceTensor::get(kb, args[at + 2], false);
    }
  }
  void write(KernelBuilder &kb, Value slot, Value t, Value j) const {
    Value at = kb.toIndex(slot);
    rows.store(kb, kb.toI32(t), rows.offset(kb, at));
    if (weights)
      scale->storeF32(kb, weights->loadF32(kb, weights->offset(kb, {t, j})),
                      scale->offset(kb, at));
  }
};
} // namespace

/// args: topk_ids [T,k], row_id_map [k*T], expert_offsets [E+1], rows [R]
/// (, weights [T,k], scale [R]); one block per expert.
void egs::emitRouteByExpert(KernelBuilder &kb, ValueRange args) {
  OpBuilder &b = kb.builder();
  DeviceTensor ids = DeviceTensor::get(kb, args[0], false);
  DeviceTensor map = DeviceTensor::get(kb, args[1], false);
  DeviceTensor offsets = DeviceTensor::get(kb, args[2], false);
  SlotWriter slots(kb, args, 3);
  const DeviceTensor &rows = slots.rows;
  Value numExperts = kb.sub(offsets.size(0), kb.idx(1));
  Value numTokens = ids.size(0), numPairs = kb.mul(ids.size(0), ids.size(1));
  Value kept = rows.size(0);
  Value e = kb.blockId(gpu::Dimension::x);
  Value tid = kb.threadId();
  Value scratch = kb.sharedView(0, {kScanThreads / 32}, b.getI32Type());

  // Pairs sent to experts below e, and to e.
  SmallVector<Value> counts = kb.forLoop(
      tid, numPairs, kb.idx(kScanThreads), ValueRange{kb.i32(0), kb.i32(0)},
      [&](Value p, ValueRange c) -> SmallVector<Value> {
        Value id = expertOf(kb, ids, p, numExperts);
        auto one = [&](Value cond) { return kb.select(cond, kb.i32(1), kb.i32(0)); };
        return {kb.add(c[0], one(kb.lt(id, e))), kb.add(c[1], one(kb.eq(id, e)))};
      });
  Value before = kb.blockInclusiveScan(counts[0], scratch, kScanThreads).second;
  Value mine = kb.blockInclusiveScan(counts[1], scratch, kScanThreads).second;
  Value keep32 = kb.toI32(kept);
  kb.ifThen(kb.eq(tid, kb.idx(0)), [&] {
    offsets.store(kb, kb.minS(before, keep32), offsets.offset(kb, e));
    kb.ifThen(kb.eq(e, kb.sub(numExperts, kb.idx(1))), [&] {
      offsets.store(kb, kb.minS(kb.add(before, mine), keep32),
                    offsets.offset(kb, numExperts));
    });
  });
  // Rank e's pairs in (token, choice) order.
  kb.blockExclusiveScan(
      numPairs, scratch, kScanThreads,
      [&](Value p) {
        Value id = expertOf(kb, ids, p, numExperts);
        return kb.select(kb.eq(id, e), kb.i32(1), kb.i32(0));
      },
      [&](Value p, Value rank, Value isMine) {
        kb.ifThen(kb.ne(isMine, kb.i32(0)), [&] {
          Value slot = kb.add(before, rank);
          Value isKept = kb.lt(slot, keep32);
          Value k = ids.size(1);
          Value t = kb.divU32(p, k), j = kb.remU32(p, k);
          map.store(kb, kb.select(isKept, slot, kb.i32(-1)),
                    map.offset(kb, kb.add(kb.mul(j, numTokens), t)));
          kb.ifThen(isKept, [&] { slots.write(kb, slot, t, j); });
        });
      });
}

void egs::emitRouteCount(KernelBuilder &k, ValueRange a, int64_t numExperts) {
  DeviceTensor id = DeviceTensor::get(k, a[0], false);
  DeviceTensor off = DeviceTensor::get(k, a[1], false);
  DeviceTensor h = DeviceTensor::get(k, a[2], false);
  Value experts = k.sub(off.size(0), k.idx(1));
  Value n = k.mul(id.size(0), id.size(1));
  Value s = k.blockId(gpu::Dimension::x);
  Value numChunks = k.ceilDiv(n, k.idx(kRouteChunk));
  Value counters = k.sharedView(0, {numExperts}, k.builder().getI32Type());
  Value lane = k.threadId();
  k.forLoop(lane, experts, k.idx(32), [&](Value e) {
    memref::StoreOp::create(k.builder(), k.getLoc(), k.i32(0), counters, e);
  });
  k.barrier();
  Value first = k.mul(s, k.idx(kRouteChunk));
  Value last = k.minS(n, k.add(first, k.idx(kRouteChunk)));
  k.forLoop(k.add(first, lane), last, k.idx(32), [&](Value p) {
    Value e = expertOf(k, id, p, experts);
    memref::AtomicRMWOp::create(k.builder(), k.getLoc(),
                                arith::AtomicRMWKind::addi, k.i32(1),
                                counters, ValueRange{e});
  });
  k.barrier();
  k.forLoop(lane, experts, k.idx(32), [&](Value e) {
    Value c = memref::LoadOp::create(k.builder(), k.getLoc(), counters, e);
    h.store(k, c, k.add(k.mul(e, numChunks), s));
  });
}

void egs::emitRoutePlace(KernelBuilder &k, ValueRange a, int64_t numExperts) {
  OpBuilder &kbld = k.builder();
  Location kl = k.getLoc();
  DeviceTensor id = DeviceTensor::get(k, a[0], false);
  DeviceTensor bs = DeviceTensor::get(k, a[1], false);
  DeviceTensor mp = DeviceTensor::get(k, a[2], false);
  DeviceTensor off = DeviceTensor::get(k, a[3], false);
  SlotWriter slots(k, a, 4);
  const DeviceTensor &rw = slots.rows;
  Type i32 = kbld.getI32Type();
  Value experts = k.sub(off.size(0), k.idx(1));
  Value tokens = id.size(0), topK = id.size(1);
  Value n = k.mul(tokens, topK);
  Value kept = k.toI32(rw.size(0));
  Value s = k.blockId(gpu::Dimension::x);
  Value numChunks = k.ceilDiv(n, k.idx(kRouteChunk));
  Value next = k.sharedView(0, {numExperts}, i32);
  Value chunkExperts = k.sharedView(routeCountersBytes(numExperts), {kRouteChunk}, i32);
  Value lane = k.threadId();
  k.forLoop(lane, experts, k.idx(32), [&](Value e) {
    Value at = k.add(k.mul(e, numChunks), s);
    memref::StoreOp::create(kbld, kl, bs.load(k, at), next, e);
  });
  Value first = k.mul(s, k.idx(kRouteChunk));
  Value count = k.minS(k.idx(kRouteChunk), k.sub(n, first));
  k.forLoop(lane, count, k.idx(32), [&](Value j) {
    Value e = expertOf(k, id, k.add(first, j), experts);
    memref::StoreOp::create(kbld, kl, k.toI32(e), chunkExperts, j);
  });
  k.barrier();
  k.ifThen(k.eq(lane, k.idx(0)), [&] {
    k.forLoop(k.idx(0), count, k.idx(1), [&](Value j) {
      Value e = k.toIndex(memref::LoadOp::create(kbld, kl, chunkExperts, j));
      Value slot = memref::LoadOp::create(kbld, kl, next, e);
      memref::StoreOp::create(kbld, kl, k.add(slot, k.i32(1)), next, e);
      Value p = k.add(first, j);
      Value t = k.divU32(p, topK), choice = k.remU32(p, topK);
      Value isKept = k.lt(slot, kept);
      mp.store(k, k.select(isKept, slot, k.i32(-1)),
               mp.offset(k, k.add(k.mul(choice, tokens), t)));
      k.ifThen(isKept, [&] { slots.write(k, slot, t, choice); });
    });
  });
  k.ifThen(k.eq(s, k.idx(0)), [&] {
    k.forLoop(lane, k.add(experts, k.idx(1)), k.idx(32), [&](Value e) {
      Value at = k.select(k.lt(e, experts), k.mul(e, numChunks),
                          k.mul(experts, numChunks));
      off.store(k, k.minS(bs.load(k, at), kept), off.offset(k, e));
    });
  });
}

void egs::emitRowGather(KernelBuilder &k, ValueRange a, bool fast) {
  DeviceTensor s = DeviceTensor::get(k, a[0], fast);
  DeviceTensor r = DeviceTensor::get(k, a[1], false);
  DeviceTensor d = DeviceTensor::get(k, a[2], fast);
  int64_t vec = 16 / elementBytes(s.elementType);
  Value row = k.add(k.mul(k.blockId(gpu::Dimension::x), k.idx(kRowGatherRowsPerBlock)),
                    k.warpId());
  k.ifThen(k.lt(row, d.size(0)), [&] {
    Value from = r.loadIndex(k, r.offset(k, row));
    Value width = d.size(1);
    Value ok = k.inRange(from, s.size(0));
    // Rows nobody was routed to (past T*k) are zero.
    k.ifThen(k.notB(ok), [&] {
      Value dstRow = d.offset(k, row);
      k.forLoop(k.laneId(), width, k.idx(32), [&](Value col) {
        d.store(k, k.zero(d.elementType),
                k.add(dstRow, k.mul(col, d.stride(1))));
      });
    });
    k.ifThen(ok, [&] {
      Value srcRow = s.offset(k, from), dstRow = d.offset(k, row);
      int64_t step = fast ? vec : 1;
      Value full = fast ? k.mul(k.divU(width, k.idx(vec)), k.idx(vec)) : width;
      k.forLoop(k.mul(k.laneId(), k.idx(step)), full, k.idx(32 * step),
                [&](Value col) {
                  if (!fast) {
                    Value v = s.load(k, k.add(srcRow, k.mul(col, s.stride(1))));
                    d.store(k, v, k.add(dstRow, k.mul(col, d.stride(1))));
                    return;
                  }
                  auto vt = VectorType::get({vec}, s.elementType);
                  auto ld = vector::LoadOp::create(
                      k.builder(), k.getLoc(), vt, s.flat,
                      ValueRange{k.add(srcRow, col)}, false, llvm::MaybeAlign(16));
                  vector::StoreOp::create(k.builder(), k.getLoc(), ld, d.flat,
                                          ValueRange{k.add(dstRow, col)}, false,
                                          llvm::MaybeAlign(16));
                });
      if (fast)
        k.forLoop(k.add(full, k.laneId()), width, k.idx(32), [&](Value col) {
          d.store(k, s.load(k, k.add(srcRow, col)), k.add(dstRow, col));
        });
    });
  });
}

/// out[t, :] = sum_j probs[t, j] * xs[map[j*T + t], :]; block x = token t,
/// each thread `vec` consecutive columns. A static k is unrolled so that all
/// k loads are in flight at once.
void egs::emitUnpermuteKernel(KernelBuilder &kb, ValueRange args, bool fast,
                                int64_t staticK) {
  OpBuilder &b = kb.builder();
  DeviceTensor xs = DeviceTensor::get(kb, args[0], fast);
  DeviceTensor map = DeviceTensor::get(kb, args[1], false);
  DeviceTensor probs = DeviceTensor::get(kb, args[2], false);
  DeviceTensor out = DeviceTensor::get(kb, args[3], fast);
  int64_t vec = fast ? 16 / elementBytes(xs.elementType) : 1;
  Value numTokens = probs.size(0), topK = probs.size(1);
  Value hidden = out.size(1), numRows = xs.size(0);
  Value t = kb.blockId(gpu::Dimension::x);
  Value col = kb.mul(kb.add(kb.mul(kb.blockId(gpu::Dimension::y),
                                   kb.idx(kBandwidthThreads)),
                            kb.threadId()),
                     kb.idx(vec));
  auto vt = VectorType::get({vec}, b.getF32Type());
  Value zero = arith::ConstantOp::create(b, kb.getLoc(), vt,
                                         DenseElementsAttr::get(vt, 0.0f));
  // The term of choice j: its weight (0 if dropped) and its row (0 then).
  auto choice = [&](Value j) -> std::pair<Value, Value> {
    Value r = map.loadIndex(kb, map.offset(kb, kb.add(kb.mul(j, numTokens), t)));
    Value ok = kb.inRange(r, numRows);
    Value p = probs.loadF32(kb, probs.offset(kb, {t, j}));
    return {kb.select(ok, p, kb.f32(0.0)), kb.select(ok, r, kb.idx(0))};
  };
  auto rowValue = [&](Value r, Value c, bool full) -> Value {
    if (fast && full)
      return xs.loadVectorF32(kb, kb.add(xs.offset(kb, r), c), vec, 16);
    SmallVector<Value> vals;
    for (int64_t i = 0; i < vec; ++i) {
      Value ci = kb.add(c, kb.idx(i));
      vals.push_back(kb.ifElse(kb.lt(ci, hidden), b.getF32Type(), [&] {
        return SmallVector<Value>{xs.loadF32(kb, xs.offset(kb, {r, ci}))};
      }, [&] { return SmallVector<Value>{kb.f32(0.0)}; })[0]);
    }
    return vector::FromElementsOp::create(b, kb.getLoc(), vt, vals);
  };
  auto sumAndStore = [&](bool full) {
    Value acc = zero;
    if (staticK > 0) {
      SmallVector<std::pair<Value, Value>> terms;
      for (int64_t j = 0; j < staticK; ++j)
        terms.push_back(choice(kb.idx(j)));
      SmallVector<Value> rowsV;
      for (auto &[p, r] : terms)
        rowsV.push_back(rowValue(r, col, full));
      for (auto [term, v] : llvm::zip(terms, rowsV))
        acc = kb.fma(kb.splat(term.first, vec), v, acc);
    } else {
      acc = kb.forLoop(kb.idx(0), topK, kb.idx(1), ValueRange{zero},
                       [&](Value j, ValueRange cur) -> SmallVector<Value> {
                         auto [p, r] = choice(j);
                         return {kb.fma(kb.splat(p, vec), rowValue(r, col, full), cur[0])};
                       })[0];
    }
    if (fast && full) {
      out.storeVectorF32(kb, acc, kb.add(out.offset(kb, t), col), 16);
      return;
    }
    for (int64_t i = 0; i < vec; ++i) {
      Value ci = kb.add(col, kb.idx(i));
      kb.ifThen(kb.lt(ci, hidden), [&] {
        out.storeF32(kb, kb.extract(acc, i), out.offset(kb, {t, ci}));
      });
    }
  };
  kb.ifThen(kb.lt(col, hidden), [&] {
    if (!fast)
      return sumAndStore(false);
    kb.ifThenElse(kb.le(kb.add(col, kb.idx(vec)), hidden),
                  [&] { sumAndStore(true); }, [&] { sumAndStore(false); });
  });
}

