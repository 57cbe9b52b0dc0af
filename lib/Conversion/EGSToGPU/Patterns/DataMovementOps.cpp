//===- DataMovementOps.cpp - GPU lowering of gather / scatter_add / concat ===//
//
// One thread per element of the gathered value (grid-stride loop); the
// innermost dimension maps to consecutive threads, so reads and writes along
// a row are coalesced. Out-of-range indices read zero and write nothing.
//
//===----------------------------------------------------------------------===//
#include "Host/HostLaunch.h"
#include "Strategy/KernelConfig.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

using namespace mlir;
using namespace egs;

namespace {
/// take(x, ind, axis) with `batchDims` shared leading dims, on the device.
struct TakeIndexing {
  int64_t axis, batchDims, indRank;

  int64_t indexDims() const { return indRank - batchDims; }

  SmallVector<Value> gatheredSizes(const DeviceTensor &x,
                                   const DeviceTensor &ind) const {
    SmallVector<Value> sizes(x.sizes.begin(), x.sizes.begin() + axis);
    sizes.append(ind.sizes.begin() + batchDims, ind.sizes.end());
    sizes.append(x.sizes.begin() + axis + 1, x.sizes.end());
    return sizes;
  }

  /// The index of x that gathered index `g` reads; `ok` is false when the
  /// routed index is out of range (the returned index is then clamped).
  SmallVector<Value> sourceIndex(KernelBuilder &kb, const DeviceTensor &x,
                                 const DeviceTensor &ind, ArrayRef<Value> g,
                                 Value &ok) const {
    SmallVector<Value> indIvs(g.begin(), g.begin() + batchDims);
    indIvs.append(g.begin() + axis, g.begin() + axis + indexDims());
    Value v = ind.loadIndex(kb, ind.offset(kb, indIvs));
    ok = kb.inRange(v, x.size(axis));
    SmallVector<Value> xIvs(g.begin(), g.begin() + axis);
    xIvs.push_back(kb.select(ok, v, kb.idx(0)));
    xIvs.append(g.begin() + axis + indexDims(), g.end());
    return xIvs;
  }
};
} // namespace

static std::string permTag(ArrayRef<int64_t> perm) {
  std::string s;
  for (int64_t p : perm)
    s += std::to_string(p);
  return s;
}

/// out[..., dim + offset, ...] = transpose(take(x, ind), perm). args: x,
/// ind, out, offset (index).
static void launchGather(HostLauncher &host, Value x, Value ind, Value out,
                         Value offset, int64_t axis, int64_t batchDims,
                         ArrayRef<int64_t> perm, int64_t concatDim) {
  KernelBuilder &kb = host.host();
  auto xType = cast<MemRefType>(x.getType());
  auto indType = cast<MemRefType>(ind.getType());
  TakeIndexing take{axis, batchDims, indType.getRank()};
  KernelKey name("gather");
  name.add("r" + Twine(xType.getRank()))
      .add("i" + Twine(indType.getRank()))
      .add("a" + Twine(axis))
      .add("b" + Twine(batchDims))
      .add("p" + permTag(perm))
      .add("d" + Twine(concatDim))
      .addElementType(xType)
      .addElementType(indType);
  SmallVector<Value> args{x, ind, out, offset};
  SmallVector<int64_t> permCopy(perm);
  auto kernel = host.kernels().getOrCreate(
      name, ValueRange(args).getTypes(), kBandwidthThreads,
      [&](KernelBuilder &k, ValueRange a) {
        DeviceTensor xs = DeviceTensor::get(k, a[0], false);
        DeviceTensor is = DeviceTensor::get(k, a[1], false);
        DeviceTensor os = DeviceTensor::get(k, a[2], false);
        SmallVector<Value> sizes = permuteGathered<Value>(take.gatheredSizes(xs, is), ArrayRef<int64_t>(permCopy));
        Value total = k.idx(1);
        for (Value s : sizes)
          total = k.mul(total, s);
        k.gridStrideLoop(total, kBandwidthThreads, [&](Value i) {
          SmallVector<Value> r = k.delinearize(i, sizes);
          SmallVector<Value> g(r);
          for (auto [d, p] : llvm::enumerate(permCopy))
            g[p] = r[d];
          Value ok;
          SmallVector<Value> src = take.sourceIndex(k, xs, is, g, ok);
          Value v = k.ifElse(ok, xs.elementType, [&] {
            return SmallVector<Value>{xs.load(k, xs.offset(k, src))};
          }, [&] { return SmallVector<Value>{k.zero(xs.elementType)}; })[0];
          r[concatDim] = k.add(r[concatDim], a[3]);
          os.store(k, v, os.offset(k, r));
        });
      });
  Value total = kb.idx(1);
  SmallVector<Value> g;
  for (int64_t d = 0; d < axis; ++d)
    g.push_back(memref::DimOp::create(kb.builder(), kb.getLoc(), x, d));
  for (int64_t d = batchDims; d < indType.getRank(); ++d)
    g.push_back(memref::DimOp::create(kb.builder(), kb.getLoc(), ind, d));
  for (int64_t d = axis + 1; d < xType.getRank(); ++d)
    g.push_back(memref::DimOp::create(kb.builder(), kb.getLoc(), x, d));
  for (Value s : g)
    total = kb.mul(total, s);
  Value one = kb.idx(1);
  host.launch(kernel, {host.blocksFor(total, kBandwidthThreads), one, one},
              kBandwidthThreads, 0, args);
}

namespace {
struct GatherToGPU : GPULoweringPattern<GatherOp> {
  using GPULoweringPattern::GPULoweringPattern;

  void lower(GatherOp op, HostLauncher &host,
             PatternRewriter &rewriter) const override {
    ArrayRef<int64_t> perm;
    if (auto p = op.getPermutation())
      perm = *p;
    launchGather(host, host.device(op.getX()), host.device(op.getInd()),
                 host.device(op.getOut()), host.host().idx(0),
                 op.getAxisAttr().getInt(), op.getBatchDimsAttr().getInt(), perm, 0);
  }
};

struct GatherConcatToGPU : GPULoweringPattern<GatherConcatOp> {
  using GPULoweringPattern::GPULoweringPattern;

  void lower(GatherConcatOp op, HostLauncher &host,
             PatternRewriter &rewriter) const override {
    KernelBuilder &kb = host.host();
    int64_t dim = op.getDimAttr().getInt(), axis = op.getAxisAttr().getInt();
    Value offset = kb.idx(0);
    for (auto [s, x] : llvm::enumerate(op.getSources())) {
      ArrayRef<int64_t> perm;
      if (ArrayAttr perms = op.getPermutationsAttr())
        perm = cast<DenseI64ArrayAttr>(perms[s]).asArrayRef();
      Value ind = op.getIndices()[s];
      launchGather(host, host.device(x), host.device(ind), host.device(op.getOut()),
                   offset, axis, 0, perm, dim);
      // The piece's extent along `dim`: gathered dim perm[dim] (or dim).
      int64_t g = perm.empty() ? dim : perm[dim];
      int64_t indRank = cast<MemRefType>(ind.getType()).getRank();
      Value extent;
      if (g < axis)
        extent = memref::DimOp::create(rewriter, op.getLoc(), x, g);
      else if (g < axis + indRank)
        extent = memref::DimOp::create(rewriter, op.getLoc(), ind, g - axis);
      else
        extent = memref::DimOp::create(rewriter, op.getLoc(), x, g - indRank + 1);
      offset = kb.add(offset, extent);
    }
  }
};

struct ScatterAddToGPU : GPULoweringPattern<ScatterAddOp> {
  using GPULoweringPattern::GPULoweringPattern;

  void lower(ScatterAddOp op, HostLauncher &host,
             PatternRewriter &rewriter) const override {
    KernelBuilder &kb = host.host();
    SmallVector<Value> args{host.device(op.getSrc()), host.device(op.getInd()),
                            host.device(op.getInit())};
    auto srcType = cast<MemRefType>(op.getSrc().getType());
    auto indType = cast<MemRefType>(op.getInd().getType());
    TakeIndexing take{op.getAxisAttr().getInt(), op.getBatchDimsAttr().getInt(),
                      indType.getRank()};
    Type elt = srcType.getElementType();
    KernelKey name("scatter_add");
    name.add("r" + Twine(srcType.getRank()))
        .add("i" + Twine(indType.getRank()))
        .add("a" + Twine(take.axis))
        .add("b" + Twine(take.batchDims))
        .addElementType(elt)
        .addElementType(indType);
    auto kernel = host.kernels().getOrCreate(
        name, ValueRange(args).getTypes(), kBandwidthThreads,
        [&](KernelBuilder &k, ValueRange a) {
          DeviceTensor src = DeviceTensor::get(k, a[0], false);
          DeviceTensor ind = DeviceTensor::get(k, a[1], false);
          DeviceTensor out = DeviceTensor::get(k, a[2], false);
          Value total = k.idx(1);
          for (Value s : src.sizes)
            total = k.mul(total, s);
          auto kind = isa<FloatType>(elt) ? arith::AtomicRMWKind::addf
                                          : arith::AtomicRMWKind::addi;
          k.gridStrideLoop(total, kBandwidthThreads, [&](Value i) {
            SmallVector<Value> g = k.delinearize(i, src.sizes);
            Value ok;
            SmallVector<Value> dst = take.sourceIndex(k, out, ind, g, ok);
            k.ifThen(ok, [&] {
              memref::AtomicRMWOp::create(k.builder(), k.getLoc(), kind,
                                          src.load(k, src.offset(k, g)), out.flat,
                                          ValueRange{out.offset(k, dst)});
            });
          });
        });
    Value total = kb.idx(1);
    for (int64_t d = 0; d < srcType.getRank(); ++d)
      total = kb.mul(total, memref::DimOp::create(rewriter, op.getLoc(), args[0], d));
    Value one = kb.idx(1);
    host.launch(kernel, {host.blocksFor(total, kBandwidthThreads), one, one},
                kBandwidthThreads, 0, args);
  }
};
} // namespace

void egs::populateEGSDataMovementToGPUPatterns(
    RewritePatternSet &patterns, const GPULoweringOptions &options) {
  patterns.add<GatherToGPU, GatherConcatToGPU, ScatterAddToGPU>(
      patterns.getContext(), options);
}
