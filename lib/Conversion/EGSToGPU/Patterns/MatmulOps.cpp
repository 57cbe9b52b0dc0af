//===- MatmulOps.cpp - GPU lowering of gather_matmul / matmul_scatter -----===//
//
// Each op becomes a fast kernel (16-byte asynchronous copies, tensor cores
// for f16/bf16) and a general kernel (element loads, any layout), and the
// host code launches the one whose preconditions hold at run time: unit
// inner strides, rows and base pointers aligned to 16 bytes.
//
//===----------------------------------------------------------------------===//
#include "Host/ExpertGemmLaunch.h"
#include "Host/ScatterCombine.h"
#include "Strategy/GPUStrategy.h"
#include "Patterns/Patterns.h"

#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"

using namespace mlir;
using namespace egs;

namespace {
/// The sizes the variants are chosen by, on the host.
struct GemmSizes {
  Value rowsPerExpert, reduce, cols;
};
} // namespace

/// Launches `spec` with the first fast strategy whose size bounds hold where
/// `fastOk`, else with the general one.
static void launchStrategies(HostLauncher &host, ExpertGemmSpec spec,
                             const GemmStrategies &s,
                             const ExpertGemmOperands &ops, Value fastOk,
                             const GemmSizes &sizes) {
  KernelBuilder &kb = host.host();
  Value taken = kb.boolean(false);
  for (const GemmVariant &v : s.fast) {
    Value fits = kb.boolean(true);
    auto atLeast = [&](Value size, int64_t bound) {
      if (bound)
        fits = kb.andB(fits, kb.le(kb.idx(bound), size));
    };
    atLeast(sizes.rowsPerExpert, v.minRows);
    atLeast(sizes.reduce, v.minReduce);
    atLeast(sizes.cols, v.minCols);
    if (v.maxReduce)
      fits = kb.andB(fits, kb.le(sizes.reduce, kb.idx(v.maxReduce)));
    spec.config = v.config;
    Value use = kb.andB(fastOk, kb.andB(fits, kb.notB(taken)));
    launchExpertGemm(host, spec, ops, use);
    taken = kb.orB(taken, fits);
  }
  spec.config = s.general;
  launchExpertGemm(host, spec, ops, kb.notB(fastOk));
}

/// Rows per expert, reduction and columns of an op's GEMM at run time.
static GemmSizes gemmSizes(KernelBuilder &kb, const ExpertGemmSpec &spec,
                           Value ind, Value w) {
  bool ragged = spec.ragged, batched = spec.batched;
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  auto dim = [&](Value v, int64_t d) {
    return memref::DimOp::create(b, loc, v, d).getResult();
  };
  Value rows;
  if (ragged)
    rows = kb.ceilDiv(dim(ind, 0), kb.maxS(dim(w, 0), kb.idx(1)));
  else
    rows = batched ? kb.mul(dim(ind, 0), dim(ind, 2)) : dim(ind, 1);
  return {rows, dim(w, spec.wReduceDim()), dim(w, spec.wColsDim())};
}

/// Ragged gather_matmul: rows of y outside [offsets[0], offsets[E]) are
/// zero (as on the host), written by one warp per row.
static void zeroUncoveredRows(HostLauncher &host, Value offsets, Value y) {
  KernelBuilder &kb = host.host();
  SmallVector<Value> args{offsets, y};
  KernelKey name("zero_uncovered_rows");
  name.addElementTypes(args);
  constexpr int64_t rowsPerBlock = kBandwidthThreads / 32;
  auto kernel = host.kernels().getOrCreate(
      name, ValueRange(args).getTypes(), kBandwidthThreads,
      [&](KernelBuilder &k, ValueRange a) {
        DeviceTensor off = DeviceTensor::get(k, a[0], false);
        DeviceTensor out = DeviceTensor::get(k, a[1], false);
        Value numRows = out.size(0);
        Value numExperts = k.sub(off.size(0), k.idx(1));
        Value lo = k.clamp(off.loadIndex(k, off.offset(k, k.idx(0))), k.idx(0),
                           numRows);
        Value hi = k.clamp(off.loadIndex(k, off.offset(k, numExperts)), lo,
                           numRows);
        Value row = k.add(k.mul(k.blockId(gpu::Dimension::x), k.idx(rowsPerBlock)),
                          k.warpId());
        Value uncovered = k.andB(k.lt(row, numRows),
                                 k.orB(k.lt(row, lo), k.ge(row, hi)));
        k.ifThen(uncovered, [&] {
          k.forLoop(k.laneId(), out.size(1), k.idx(32), [&](Value col) {
            out.storeF32(k, k.f32(0.0), out.offset(k, {row, col}));
          });
        });
      });
  Value rows = memref::DimOp::create(kb.builder(), kb.getLoc(), y, 0);
  Value one = kb.idx(1);
  host.launch(kernel, {kb.ceilDiv(rows, kb.idx(rowsPerBlock)), one, one},
              kBandwidthThreads, 0, args);
}

namespace {
/// The operands both matmul ops pass alike: the rows, indices, weights and
/// (ragged) expert offsets, as kernel arguments.
template <typename OpT>
ExpertGemmOperands rowOperands(HostLauncher &host, OpT op, Value rows) {
  ExpertGemmOperands ops;
  ops.a = host.device(rows);
  ops.ind = host.device(op.getInd());
  ops.w = host.device(op.getW());
  if (op.isRagged())
    ops.offsets = host.device(op.getExpertOffsets());
  return ops;
}

template <typename OpT>
ExpertGemmSpec specOf(OpT op) {
  ExpertGemmSpec spec;
  spec.ragged = op.isRagged();
  spec.batched = op.isBatched();
  spec.wTransposed = op.getWTransposed();
  return spec;
}

struct GatherMatmulToGPU
    : PreparedGPULoweringPattern<GatherMatmulOp, GemmStrategies> {
  using PreparedGPULoweringPattern::PreparedGPULoweringPattern;

  FailureOr<GemmStrategies> prepare(GatherMatmulOp op) const override {
    return recordedGemmStrategies(op, gemmShapeOf(op));
  }

  void lower(GatherMatmulOp op, const GemmStrategies &strategies,
             HostLauncher &host, PatternRewriter &) const override {
    Activation act = op.getActivation().value_or(Activation::none);
    KernelBuilder &kb = host.host();
    ExpertGemmOperands ops = rowOperands(host, op, op.getX());
    if (op.getBias())
      ops.bias = host.device(op.getBias());
    ops.out = host.device(op.getOut());

    ExpertGemmSpec spec = specOf(op);
    spec.rows = RowSource::GatheredTokens;
    spec.output = GemmOutput::StoreSlots;
    spec.activation = act;
    spec.interleaved = op.getInterleaved();
    spec.alpha = op.alphaValue();
    spec.limit = op.limitValue();
    spec.hasBias = static_cast<bool>(ops.bias);
    Value fastOk = kb.andB(host.vectorAccessible(ops.a, 16),
                           kb.andB(host.vectorAccessible(ops.w, 16),
                                   host.vectorAccessible(ops.out, 16)));
    if (ops.bias)
      fastOk = kb.andB(fastOk, host.vectorAccessible(ops.bias, 16));
    fastOk = kb.andB(fastOk, host.fitsInt32(ops.ind));
    launchStrategies(host, spec, strategies, ops, fastOk,
                     gemmSizes(kb, spec, ops.ind, ops.w));
    if (spec.ragged)
      zeroUncoveredRows(host, ops.offsets, ops.out);
  }
};

struct MatmulScatterToGPU
    : PreparedGPULoweringPattern<MatmulScatterOp, GemmStrategies> {
  using PreparedGPULoweringPattern::PreparedGPULoweringPattern;

  FailureOr<GemmStrategies> prepare(MatmulScatterOp op) const override {
    return recordedGemmStrategies(op, gemmShapeOf(op));
  }

  void lower(MatmulScatterOp op, const GemmStrategies &strategies,
             HostLauncher &host, PatternRewriter &) const override {
    auto initType = cast<MemRefType>(op.getInit().getType());
    KernelBuilder &kb = host.host();
    OpBuilder &b = kb.builder();
    Location loc = op.getLoc();
    ExpertGemmOperands ops = rowOperands(host, op, op.getY());
    if (op.getScale())
      ops.scale = host.device(op.getScale());
    Value init = host.device(op.getInit());

    ExpertGemmSpec spec = specOf(op);
    spec.rows = RowSource::Slots;
    spec.hasScale = static_cast<bool>(ops.scale);
    spec.vectorAtomics = options.vectorAtomics;
    GemmSizes sizes = gemmSizes(kb, spec, ops.ind, ops.w);
    Value fastOk = kb.andB(host.vectorAccessible(ops.a, 16),
                           host.vectorAccessible(ops.w, 16));
    fastOk = kb.andB(fastOk, host.fitsInt32(ops.ind));
    auto dims = [&](Value v) {
      SmallVector<Value> sizes;
      for (int64_t d = 0, n = cast<MemRefType>(v.getType()).getRank(); d < n; ++d)
        sizes.push_back(memref::DimOp::create(b, loc, v, d));
      return sizes;
    };
    auto f32Type = [&](int64_t rank) {
      return MemRefType::get(SmallVector<int64_t>(rank, ShapedType::kDynamic),
                             b.getF32Type());
    };

    if (op.getDeterministic()) {
      // Per-slot rows into scratch, then a fixed-order sum per token.
      SmallVector<Value> slotShape = dims(ops.ind);
      slotShape.push_back(
          memref::DimOp::create(b, loc, ops.w, spec.wColsDim()));
      Value rows = host.scratch(f32Type(slotShape.size()), slotShape);
      ops.out = host.kernelArg(rows);
      spec.output = GemmOutput::StoreSlots;
      launchStrategies(host, spec, strategies, ops,
                       kb.andB(fastOk, host.vectorAccessible(ops.out, 16)), sizes);
      SmallVector<ReassociationIndices> collapse(2);
      for (int64_t d = 0; d + 1 < static_cast<int64_t>(slotShape.size()); ++d)
        collapse[0].push_back(d);
      collapse[1].push_back(slotShape.size() - 1);
      Value flatRows = memref::CollapseShapeOp::create(b, loc, rows, collapse);
      launchOrderedCombine(host, {ops.ind, ops.offsets, spec.batched}, flatRows,
                           init);
    } else if (initType.getElementType().isF32()) {
      spec.output = GemmOutput::AtomicAddTokens;
      ops.out = init;
      launchStrategies(host, spec, strategies, ops,
                       kb.andB(fastOk, host.vectorAccessible(init, 16)), sizes);
    } else {
      // f32 atomics into a widened copy of init, narrowed back once. With
      // fewer slots than token rows only the routed rows are widened and
      // narrowed (the rest of the scratch is never touched).
      Value acc = host.scratch(f32Type(initType.getRank()), dims(init));
      Value accArg = host.kernelArg(acc);
      ScatterSlots routed{ops.ind, ops.offsets, spec.batched};
      launchRoutedRowsCopy(host, routed, init, accArg);
      spec.output = GemmOutput::AtomicAddTokens;
      ops.out = accArg;
      launchStrategies(host, spec, strategies, ops,
                       kb.andB(fastOk, host.vectorAccessible(accArg, 16)), sizes);
      launchRoutedRowsCopy(host, routed, accArg, init);
    }
  }
};
} // namespace

void egs::populateEGSMatmulToGPUPatterns(RewritePatternSet &patterns,
                                         const GPULoweringOptions &options) {
  patterns.add<GatherMatmulToGPU, MatmulScatterToGPU>(patterns.getContext(),
                                                      options);
  populateWeightGradToGPUPatterns(patterns, options);
}
