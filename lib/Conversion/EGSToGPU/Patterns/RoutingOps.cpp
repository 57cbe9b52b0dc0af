//===- RoutingOps.cpp - GPU lowering of route / permute / unpermute -------===//
//
// route is the stable counting sort of the host lowering, on the device
// without host synchronisation: chunked (count, scan, place) up to 4096
// experts; beyond, one block per expert counts the pairs of lower experts and
// ranks its own with block-wide scans. permute is route into a scratch `rows`
// plus a row copy; unpermute is a weighted sum of up to k rows per token, 16
// bytes per thread where aligned.
//
//===----------------------------------------------------------------------===//
#include "Host/DeviceScan.h"
#include "Host/HostLaunch.h"
#include "Strategy/KernelConfig.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/bit.h"

#include <cstring>

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

/// Adds the optional routing weights and slot scale to a routing key.
static KernelKey &addWeights(KernelKey &key, ValueRange weightsAndScale) {
  return key.addIf(!weightsAndScale.empty(), "w")
      .addElementTypes(weightsAndScale);
}

/// args: topk_ids [T,k], row_id_map [k*T], expert_offsets [E+1], rows [R]
/// (, weights [T,k], scale [R]); one block per expert.
static void emitRouteKernel(KernelBuilder &kb, ValueRange args) {
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

static void launchRouteByExpert(HostLauncher &host, Value ids, Value map,
                                Value offsets, Value rows,
                                ValueRange weightsAndScale) {
  SmallVector<Value> args{ids, map, offsets, rows};
  llvm::append_range(args, weightsAndScale);
  KernelKey key("route");
  addWeights(key.addElementType(ids.getType()), weightsAndScale);
  auto kernel = host.kernels().getOrCreate(key, ValueRange(args).getTypes(),
                                           kScanThreads, emitRouteKernel);
  KernelBuilder &kb = host.host();
  Value numExperts = kb.sub(
      memref::DimOp::create(kb.builder(), kb.getLoc(), offsets, 0), kb.idx(1));
  Value one = kb.idx(1);
  host.launch(kernel, {numExperts, one, one}, kScanThreads,
              kScanThreads / 32 * 4, args);
}

/// Pairs per chunk of the chunked route.
static constexpr int64_t kRouteChunk = 256;
/// Experts up to which the chunked route keeps per-expert counters in
/// shared memory (beyond, one block per expert sorts).
static constexpr int64_t kRouteSharedExperts = 4096;

/// The stable counting sort of the (token, choice) pairs by expert, in chunks
/// of kRouteChunk pairs: count each chunk's pairs per expert, scan the counts
/// expert-major (base[e*S + s] = the slot of chunk s's first pair of expert
/// e), then walk each chunk in order handing out slots. O(pairs) work spread
/// over all SMs; no host synchronisation. `weightsAndScale`: none, or the
/// routing weights [T,k] and the slot scale [R] they are written to.
static void launchRoute(HostLauncher &host, Value ids, Value map, Value offsets,
                        Value rows, int64_t numExperts,
                        ValueRange weightsAndScale = {}) {
  if (numExperts > kRouteSharedExperts)
    return launchRouteByExpert(host, ids, map, offsets, rows, weightsAndScale);
  KernelBuilder &kb = host.host();
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  auto dim = [&](Value v, int64_t d) {
    return memref::DimOp::create(b, loc, v, d).getResult();
  };
  Value pairs = kb.mul(dim(ids, 0), dim(ids, 1));
  Value chunks = kb.ceilDiv(pairs, kb.idx(kRouteChunk));
  Value cells = kb.mul(kb.idx(numExperts), chunks);
  auto i32Vec = MemRefType::get({ShapedType::kDynamic}, b.getI32Type());
  Value hist = host.kernelArg(host.scratch(i32Vec, ValueRange{kb.maxS(cells, kb.idx(1))}));
  Value base = host.kernelArg(host.scratch(i32Vec, ValueRange{kb.add(cells, kb.idx(1))}));
  // The expert count sizes the kernels' shared memory: it is in their names.
  KernelKey countKey("route_count");
  countKey.add("e" + Twine(numExperts)).addElementType(ids.getType());
  KernelKey placeKey("route_place");
  placeKey.add("e" + Twine(numExperts)).addElementType(ids.getType());
  addWeights(placeKey, weightsAndScale);
  Value one = kb.idx(1);
  int64_t countersBytes = llvm::alignTo(numExperts * 4, 16);

  // 1. hist[e*S + s] = pairs of chunk s routed to e (shared-memory atomics).
  SmallVector<Value> countArgs{ids, offsets, hist};
  auto count = host.kernels().getOrCreate(
      countKey, ValueRange(countArgs).getTypes(), 32,
      [&](KernelBuilder &k, ValueRange a) {
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
      });
  host.launch(count, {chunks, one, one}, 32, countersBytes, countArgs);

  // 2. Expert-major exclusive scan of the counts.
  launchExclusiveScan(host, hist, base, cells);

  // 3. Slots in (token, choice) order within each chunk; block 0 also writes
  //    expert_offsets.
  SmallVector<Value> placeArgs{ids, base, map, offsets, rows};
  llvm::append_range(placeArgs, weightsAndScale);
  auto place = host.kernels().getOrCreate(
      placeKey, ValueRange(placeArgs).getTypes(), 32,
      [&](KernelBuilder &k, ValueRange a) {
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
        Value chunkExperts = k.sharedView(countersBytes, {kRouteChunk}, i32);
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
      });
  host.launch(place, {kb.maxS(chunks, one), one, one}, 32,
              countersBytes + kRouteChunk * 4, placeArgs);
}

/// dst[r, :] = src[rows[r], :] (zero where rows[r] is out of range), one
/// warp per row; 16-byte chunks where `vecOk`.
static void launchRowGather(HostLauncher &host, Value src, Value rows, Value dst,
                            Value vecOk) {
  KernelBuilder &kb = host.host();
  Type elt = cast<MemRefType>(src.getType()).getElementType();
  int64_t vec = 16 / elementBytes(elt);
  constexpr int64_t rowsPerBlock = kBandwidthThreads / 32;
  SmallVector<Value> args{src, rows, dst};
  for (bool fast : {true, false}) {
    KernelKey name("row_gather");
    name.add(fast ? "v" : "s").addElementType(elt).addElementType(rows.getType());
    auto kernel = host.kernels().getOrCreate(
        name, ValueRange(args).getTypes(), kBandwidthThreads,
        [&](KernelBuilder &k, ValueRange a) {
          DeviceTensor s = DeviceTensor::get(k, a[0], fast);
          DeviceTensor r = DeviceTensor::get(k, a[1], false);
          DeviceTensor d = DeviceTensor::get(k, a[2], fast);
          Value row = k.add(k.mul(k.blockId(gpu::Dimension::x), k.idx(rowsPerBlock)),
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
        });
    Value n = memref::DimOp::create(kb.builder(), kb.getLoc(), dst, 0);
    Value one = kb.idx(1);
    host.launch(kernel, {kb.ceilDiv(n, kb.idx(rowsPerBlock)), one, one},
                kBandwidthThreads, 0, args,
                fast ? vecOk : kb.notB(vecOk));
  }
}

/// out[t, :] = sum_j probs[t, j] * xs[map[j*T + t], :]; block x = token t,
/// each thread `vec` consecutive columns. A static k is unrolled so that all
/// k loads are in flight at once.
static void emitUnpermuteKernel(KernelBuilder &kb, ValueRange args, bool fast,
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
    Value full = kb.le(kb.add(col, kb.idx(vec)), hidden);
    auto ifOp = scf::IfOp::create(b, kb.getLoc(), full, true);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    sumAndStore(true);
    b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
    sumAndStore(false);
  });
}

//===----------------------------------------------------------------------===//
// sinkhorn
//===----------------------------------------------------------------------===//

namespace {
/// The kernels of one egs.sinkhorn: p (the f32 output) holds K while r [T],
/// c [E], cNew [E] and diff [E] (f32 scratch) and the i32 flag `done` are
/// iterated; every sum runs in a fixed order (a lane-strided loop, then a
/// butterfly or a fixed shared-memory order), so results are reproducible.
enum class SinkhornKernel { Init, Rows, Cols, Delta, Scale };
constexpr int64_t kSinkhornThreads = 256;
constexpr int64_t kSinkhornRowsPerBlock = kSinkhornThreads / 32;

struct SinkhornEmitter {
  KernelBuilder &kb;
  DeviceTensor logits, p, r, c, cNew, diff, done;
  Value numT, numE;

  SinkhornEmitter(KernelBuilder &kb, ValueRange a)
      : kb(kb), logits(DeviceTensor::get(kb, a[0], false)),
        p(DeviceTensor::get(kb, a[1], false)), r(DeviceTensor::get(kb, a[2], false)),
        c(DeviceTensor::get(kb, a[3], false)), cNew(DeviceTensor::get(kb, a[4], false)),
        diff(DeviceTensor::get(kb, a[5], false)),
        done(DeviceTensor::get(kb, a[6], false)), numT(logits.size(0)),
        numE(logits.size(1)) {}

  Value f32Of(Value n) {
    OpBuilder &b = kb.builder();
    return arith::SIToFPOp::create(b, kb.getLoc(), b.getF32Type(), kb.toI64(n));
  }
  Value div(Value x, Value y) {
    return arith::DivFOp::create(kb.builder(), kb.getLoc(), x, y);
  }
  /// The f32 `v` combined over the 32 lanes of a warp (xor butterfly: every
  /// lane gets the same value, in the same order).
  Value warpAll(Value v, bool max) {
    OpBuilder &b = kb.builder();
    Location loc = kb.getLoc();
    for (int64_t w = 16; w >= 1; w /= 2) {
      Value o = gpu::ShuffleOp::create(b, loc, v, kb.i32(w), kb.i32(32),
                                       gpu::ShuffleMode::XOR)
                    .getShuffleResult();
      v = max ? arith::MaximumFOp::create(b, loc, v, o).getResult()
              : kb.addF(v, o);
    }
    return v;
  }
  /// Sum (or max) over e = lane, lane + 32, ... of term(e), warp-combined.
  Value rowReduce(Value init, bool max, function_ref<Value(Value)> term) {
    Value acc = kb.forLoop(kb.laneId(), numE, kb.idx(32), {init},
                           [&](Value e, ValueRange cur) -> SmallVector<Value> {
                             Value v = term(e);
                             return {max ? arith::MaximumFOp::create(
                                               kb.builder(), kb.getLoc(), cur[0], v)
                                               .getResult()
                                         : kb.addF(cur[0], v)};
                           })[0];
    return warpAll(acc, max);
  }
  Value notDone() {
    return kb.eq(done.loadIndex(kb, kb.idx(0)), kb.idx(0));
  }
  Value warpRow() {
    return kb.add(kb.mul(kb.blockId(gpu::Dimension::x), kb.idx(kSinkhornRowsPerBlock)),
                  kb.warpId());
  }

  void emit(SinkhornKernel which) {
    switch (which) {
    case SinkhornKernel::Init:
      return emitInit();
    case SinkhornKernel::Rows:
      return kb.ifThen(notDone(), [&] { emitRows(); });
    case SinkhornKernel::Cols:
      return kb.ifThen(notDone(), [&] { emitCols(); });
    case SinkhornKernel::Delta:
      return kb.ifThen(notDone(), [&] { emitDelta(); });
    case SinkhornKernel::Scale:
      return emitScale();
    }
  }

  /// K = exp(logits - row max) into p (a warp per row); c = 1, done = 0.
  void emitInit() {
    Value t = warpRow();
    kb.ifThen(kb.lt(t, numT), [&] {
      Value m = rowReduce(kb.f32(-std::numeric_limits<float>::infinity()), true,
                          [&](Value e) { return logits.loadF32(kb, logits.offset(kb, {t, e})); });
      kb.forLoop(kb.laneId(), numE, kb.idx(32), [&](Value e) {
        Value z = arith::SubFOp::create(kb.builder(), kb.getLoc(),
                                        logits.loadF32(kb, logits.offset(kb, {t, e})), m);
        p.storeF32(kb, math::ExpOp::create(kb.builder(), kb.getLoc(), z),
                   p.offset(kb, {t, e}));
      });
    });
    kb.ifThen(kb.eq(kb.blockId(gpu::Dimension::x), kb.idx(0)), [&] {
      kb.forLoop(kb.threadId(), numE, kb.idx(kSinkhornThreads), [&](Value e) {
        c.storeF32(kb, kb.f32(1.0), c.offset(kb, e));
      });
      kb.ifThen(kb.eq(kb.threadId(), kb.idx(0)), [&] {
        done.store(kb, kb.i32(0), done.offset(kb, kb.idx(0)));
      });
    });
  }

  /// r[t] = (1/T) / (sum_e K[t,e] c[e] + 1e-8), a warp per row.
  void emitRows() {
    Value t = warpRow();
    kb.ifThen(kb.lt(t, numT), [&] {
      Value s = rowReduce(kb.f32(0.0), false, [&](Value e) {
        return kb.mulF(p.loadF32(kb, p.offset(kb, {t, e})), c.loadF32(kb, c.offset(kb, e)));
      });
      kb.ifThen(kb.eq(kb.laneId(), kb.idx(0)), [&] {
        r.storeF32(kb, div(div(kb.f32(1.0), f32Of(numT)), kb.addF(s, kb.f32(1e-8))),
                   r.offset(kb, t));
      });
    });
  }

  /// cNew[e] = (1/E) / (sum_t r[t] K[t,e] + 1e-8) and diff[e] = |cNew - c|:
  /// 32 columns per block, 8 row groups each summing every 8th row, then the
  /// groups in order.
  void emitCols() {
    OpBuilder &b = kb.builder();
    Location loc = kb.getLoc();
    Value part = kb.sharedView(0, {kSinkhornRowsPerBlock, 32}, b.getF32Type());
    Value g = kb.warpId(), j = kb.laneId();
    Value e = kb.add(kb.mul(kb.blockId(gpu::Dimension::x), kb.idx(32)), j);
    Value inE = kb.lt(e, numE);
    Value s = kb.ifElse(inE, {b.getF32Type()}, [&]() -> SmallVector<Value> {
      return kb.forLoop(g, numT, kb.idx(kSinkhornRowsPerBlock), {kb.f32(0.0)},
                        [&](Value t, ValueRange cur) -> SmallVector<Value> {
                          Value v = kb.mulF(r.loadF32(kb, r.offset(kb, t)),
                                            p.loadF32(kb, p.offset(kb, {t, e})));
                          return {kb.addF(cur[0], v)};
                        });
    }, [&]() -> SmallVector<Value> { return {kb.f32(0.0)}; })[0];
    memref::StoreOp::create(b, loc, s, part, ValueRange{g, j});
    kb.barrier();
    kb.ifThen(kb.andB(kb.eq(g, kb.idx(0)), inE), [&] {
      Value total = kb.f32(0.0);
      for (int64_t q = 0; q < kSinkhornRowsPerBlock; ++q)
        total = kb.addF(total, memref::LoadOp::create(b, loc, part,
                                                      ValueRange{kb.idx(q), j}));
      Value cn = div(div(kb.f32(1.0), f32Of(numE)), kb.addF(total, kb.f32(1e-8)));
      Value d = math::AbsFOp::create(
          b, loc, arith::SubFOp::create(b, loc, cn, c.loadF32(kb, c.offset(kb, e))));
      cNew.storeF32(kb, cn, cNew.offset(kb, e));
      diff.storeF32(kb, d, diff.offset(kb, e));
    });
  }

  /// c = cNew; done = (sum_e diff[e]) / E <= tolerance (one block).
  void emitDelta() {
    OpBuilder &b = kb.builder();
    Location loc = kb.getLoc();
    Value part = kb.sharedView(0, {kSinkhornThreads}, b.getF32Type());
    Value tid = kb.threadId();
    Value s = kb.forLoop(tid, numE, kb.idx(kSinkhornThreads), {kb.f32(0.0)},
                         [&](Value e, ValueRange cur) -> SmallVector<Value> {
                           c.storeF32(kb, cNew.loadF32(kb, cNew.offset(kb, e)),
                                      c.offset(kb, e));
                           return {kb.addF(cur[0], diff.loadF32(kb, diff.offset(kb, e)))};
                         })[0];
    memref::StoreOp::create(b, loc, s, part, ValueRange{tid});
    kb.barrier();
    kb.ifThen(kb.eq(tid, kb.idx(0)), [&] {
      Value total = kb.forLoop(kb.idx(0), kb.idx(kSinkhornThreads), kb.idx(1),
                               {kb.f32(0.0)},
                               [&](Value q, ValueRange cur) -> SmallVector<Value> {
                                 return {kb.addF(cur[0], memref::LoadOp::create(
                                                             b, loc, part, ValueRange{q}))};
                               })[0];
      Value mean = kb.mulF(total, div(kb.f32(1.0), f32Of(numE)));
      Value stop = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE, mean,
                                         tol);
      kb.ifThen(stop, [&] { done.store(kb, kb.i32(1), done.offset(kb, kb.idx(0))); });
    });
  }

  /// p = r * K * c.
  void emitScale() {
    kb.gridStrideLoop(kb.mul(numT, numE), kSinkhornThreads, [&](Value i) {
      Value t = kb.divU(i, numE), e = kb.remU(i, numE);
      Value at = p.offset(kb, {t, e});
      Value v = kb.mulF(kb.mulF(r.loadF32(kb, r.offset(kb, t)), p.loadF32(kb, at)),
                        c.loadF32(kb, c.offset(kb, e)));
      p.storeF32(kb, v, at);
    });
  }

  Value tol;
};

struct SinkhornToGPU : GPULoweringPattern<SinkhornOp> {
  using GPULoweringPattern::GPULoweringPattern;

  void lower(SinkhornOp op, HostLauncher &host,
             PatternRewriter &rewriter) const override {
    KernelBuilder &kb = host.host();
    Location loc = op.getLoc();
    Value logits = host.device(op.getLogits()), p = host.device(op.getOut());
    Value numT = memref::DimOp::create(rewriter, loc, logits, 0);
    Value numE = memref::DimOp::create(rewriter, loc, logits, 1);
    auto f32Vec = MemRefType::get({ShapedType::kDynamic}, rewriter.getF32Type());
    auto flagType = MemRefType::get({1}, rewriter.getI32Type());
    SmallVector<Value> args{logits, p};
    args.push_back(host.kernelArg(host.scratch(f32Vec, ValueRange{numT})));
    for (int i = 0; i < 3; ++i)
      args.push_back(host.kernelArg(host.scratch(f32Vec, ValueRange{numE})));
    args.push_back(host.kernelArg(host.scratch(flagType, ValueRange{})));
    float tolerance = op.getTolerance().convertToFloat();
    auto launch = [&](SinkhornKernel which, StringRef name, Value blocks,
                      int64_t sharedBytes) {
      KernelKey symbol("sinkhorn");
      symbol.add(name).addElementTypes(ArrayRef<Value>(args).take_front(2));
      // The tolerance is a constant of the kernel: its bits in the name.
      if (which == SinkhornKernel::Delta)
        symbol.add("tol" + llvm::utohexstr(llvm::bit_cast<uint32_t>(tolerance)));
      auto kernel = host.kernels().getOrCreate(
          symbol, ValueRange(args).getTypes(), kSinkhornThreads,
          [&](KernelBuilder &k, ValueRange a) {
            SinkhornEmitter em(k, a);
            em.tol = arith::ConstantOp::create(k.builder(), k.getLoc(),
                                               k.builder().getF32FloatAttr(tolerance));
            em.emit(which);
          });
      host.launch(kernel, {blocks, kb.idx(1), kb.idx(1)}, kSinkhornThreads,
                  sharedBytes, args);
    };
    Value rowBlocks = kb.ceilDiv(numT, kb.idx(kSinkhornRowsPerBlock));
    launch(SinkhornKernel::Init, "init", kb.maxS(rowBlocks, kb.idx(1)), 0);
    kb.forLoop(kb.idx(0), kb.idx(op.getIterations()), kb.idx(1), [&](Value) {
      launch(SinkhornKernel::Rows, "rows", rowBlocks, 0);
      launch(SinkhornKernel::Cols, "cols", kb.ceilDiv(numE, kb.idx(32)),
             kSinkhornRowsPerBlock * 32 * 4);
      launch(SinkhornKernel::Delta, "delta", kb.idx(1), kSinkhornThreads * 4);
    });
    launch(SinkhornKernel::Scale, "scale",
           host.blocksFor(kb.mul(numT, numE), kSinkhornThreads), 0);
  }
};

struct RouteToGPU : GPULoweringPattern<RouteOp> {
  using GPULoweringPattern::GPULoweringPattern;

  void lower(RouteOp op, HostLauncher &host,
             PatternRewriter &rewriter) const override {
    SmallVector<Value> weightsAndScale;
    if (op.getWeights())
      weightsAndScale = {host.device(op.getWeights()), host.device(op.getOuts()[3])};
    launchRoute(host, host.device(op.getTopkIds()), host.device(op.getOuts()[2]),
                host.device(op.getOuts()[1]), host.device(op.getOuts()[0]),
                op.getNumExpertsAttr().getInt(), weightsAndScale);
  }
};

struct PermuteToGPU : GPULoweringPattern<PermuteOp> {
  using GPULoweringPattern::GPULoweringPattern;

  void lower(PermuteOp op, HostLauncher &host,
             PatternRewriter &rewriter) const override {
    KernelBuilder &kb = host.host();
    Value sorted = host.device(op.getOuts()[0]);
    Value numRows = memref::DimOp::create(rewriter, op.getLoc(), sorted, 0);
    Value rows = host.scratch(
        MemRefType::get({ShapedType::kDynamic}, rewriter.getI32Type()),
        ValueRange{numRows});
    host.fill(rows, kb.i32(-1));
    Value rowsArg = host.kernelArg(rows);
    launchRoute(host, host.device(op.getTopkIds()), host.device(op.getOuts()[1]),
                host.device(op.getOuts()[2]), rowsArg, op.getNumExpertsAttr().getInt());
    Value x = host.device(op.getX());
    Value vecOk = kb.andB(host.vectorAccessible(x, 16),
                          host.vectorAccessible(sorted, 16));
    launchRowGather(host, x, rowsArg, sorted, vecOk);
  }
};

struct UnpermuteToGPU : GPULoweringPattern<UnpermuteOp> {
  using GPULoweringPattern::GPULoweringPattern;

  void lower(UnpermuteOp op, HostLauncher &host,
             PatternRewriter &rewriter) const override {
    KernelBuilder &kb = host.host();
    SmallVector<Value> args{host.device(op.getXSorted()),
                            host.device(op.getRowIdMap()),
                            host.device(op.getProbs()), host.device(op.getOut())};
    int64_t k = cast<MemRefType>(op.getProbs().getType()).getDimSize(1);
    int64_t staticK = !ShapedType::isDynamic(k) && k <= 8 ? k : 0;
    Type elt = cast<MemRefType>(op.getXSorted().getType()).getElementType();
    Value vecOk = kb.andB(host.vectorAccessible(args[0], 16),
                          host.vectorAccessible(args[3], 16));
    Value numTokens = memref::DimOp::create(rewriter, op.getLoc(), args[2], 0);
    Value hidden = memref::DimOp::create(rewriter, op.getLoc(), args[3], 1);
    for (bool fast : {true, false}) {
      int64_t vec = fast ? 16 / elementBytes(elt) : 1;
      KernelKey name("unpermute");
      name.add(fast ? "v" : "s")
          .addIf(staticK != 0, "k" + Twine(staticK))
          .addElementTypes(args);
      auto kernel = host.kernels().getOrCreate(
          name, ValueRange(args).getTypes(), kBandwidthThreads,
          [&](KernelBuilder &kk, ValueRange a) {
            emitUnpermuteKernel(kk, a, fast, staticK);
          });
      Value colBlocks = kb.ceilDiv(hidden, kb.idx(kBandwidthThreads * vec));
      host.launch(kernel, {numTokens, colBlocks, kb.idx(1)}, kBandwidthThreads, 0,
                  args, fast ? vecOk : kb.notB(vecOk));
    }
  }
};
} // namespace

void egs::populateEGSRoutingToGPUPatterns(RewritePatternSet &patterns,
                                          const GPULoweringOptions &options) {
  patterns.add<RouteToGPU, PermuteToGPU, UnpermuteToGPU, SinkhornToGPU>(patterns.getContext(),
                                                         options);
}
