//===- RoutingOps.cpp - GPU lowering of route / permute / unpermute -------===//
//
// The routing ops' patterns and launches: route (the chunked counting sort
// up to kRouteSharedExperts experts, one block per expert beyond), permute
// (route into a scratch `rows` plus a row gather), unpermute (a weighted sum
// of up to k rows per token) and sinkhorn. The route, row-gather and
// unpermute kernels are in Kernels/RoutingKernels.cpp.
//
//===----------------------------------------------------------------------===//
#include "Host/DeviceScan.h"
#include "Host/HostLaunch.h"
#include "Kernels/RoutingKernels.h"
#include "Strategy/KernelConfig.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/bit.h"

#include <cstring>

#include <optional>

using namespace mlir;
using namespace egs;

/// Adds the optional routing weights and slot scale to a routing key.
static KernelKey &addWeights(KernelKey &key, ValueRange weightsAndScale) {
  return key.addIf(!weightsAndScale.empty(), "w")
      .addElementTypes(weightsAndScale);
}

static void launchRouteByExpert(HostLauncher &host, Value ids, Value map,
                                Value offsets, Value rows,
                                ValueRange weightsAndScale) {
  SmallVector<Value> args{ids, map, offsets, rows};
  llvm::append_range(args, weightsAndScale);
  KernelKey key("route");
  addWeights(key.addElementType(ids.getType()), weightsAndScale);
  auto kernel = host.kernels().getOrCreate(key, ValueRange(args).getTypes(),
                                           kScanThreads, emitRouteByExpert);
  KernelBuilder &kb = host.host();
  Value numExperts = kb.sub(
      memref::DimOp::create(kb.builder(), kb.getLoc(), offsets, 0), kb.idx(1));
  Value one = kb.idx(1);
  host.launch(kernel, {numExperts, one, one}, kScanThreads,
              kScanThreads / 32 * 4, args);
}

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
  int64_t countersBytes = routeCountersBytes(numExperts);

  // 1. hist[e*S + s] = pairs of chunk s routed to e (shared-memory atomics).
  SmallVector<Value> countArgs{ids, offsets, hist};
  auto count = host.kernels().getOrCreate(
      countKey, ValueRange(countArgs).getTypes(), 32,
      [&](KernelBuilder &k, ValueRange a) {
        emitRouteCount(k, a, numExperts);
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
        emitRoutePlace(k, a, numExperts);
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
  SmallVector<Value> args{src, rows, dst};
  for (bool fast : {true, false}) {
    KernelKey name("row_gather");
    name.add(fast ? "v" : "s").addElementType(elt).addElementType(rows.getType());
    auto kernel = host.kernels().getOrCreate(
        name, ValueRange(args).getTypes(), kBandwidthThreads,
        [&](KernelBuilder &k, ValueRange a) { emitRowGather(k, a, fast); });
    Value n = memref::DimOp::create(kb.builder(), kb.getLoc(), dst, 0);
    Value one = kb.idx(1);
    host.launch(kernel, {kb.ceilDiv(n, kb.idx(kRowGatherRowsPerBlock)), one, one},
                kBandwidthThreads, 0, args,
                fast ? vecOk : kb.notB(vecOk));
  }
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
