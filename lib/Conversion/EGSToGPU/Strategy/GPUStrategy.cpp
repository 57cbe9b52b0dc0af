//===- GPUStrategy.cpp - egs.gpu_strategy: choose, record, read -----------===//
#include "Strategy/GPUStrategy.h"

#include "mlir/IR/BuiltinTypes.h"

#include <array>

using namespace mlir;
using namespace egs;

MmaKind egs::mmaKindOf(GemmPath path) {
  switch (path) {
  case GemmPath::TensorCore:
    return MmaKind::sync;
  case GemmPath::Warpgroup:
    return MmaKind::warpgroup;
  case GemmPath::CudaCoreAsync:
    return MmaKind::fma;
  case GemmPath::CudaCoreGeneral:
    return MmaKind::general;
  }
  llvm_unreachable("unknown GemmPath");
}

GemmPath egs::gemmPathOf(MmaKind mma) {
  switch (mma) {
  case MmaKind::sync:
    return GemmPath::TensorCore;
  case MmaKind::warpgroup:
    return GemmPath::Warpgroup;
  case MmaKind::fma:
    return GemmPath::CudaCoreAsync;
  case MmaKind::general:
    return GemmPath::CudaCoreGeneral;
  }
  llvm_unreachable("unknown MmaKind");
}

TileConfigAttr egs::tileAttrOf(MLIRContext *ctx, const GemmConfig &c) {
  return TileConfigAttr::get(ctx, c.bm, c.bn, c.bk, c.stages, c.warps,
                             mmaKindOf(c.path), c.resident);
}

GemmConfig egs::configOf(TileConfigAttr tile) {
  GemmConfig c{gemmPathOf(tile.getMma()), tile.getBm(),     tile.getBn(),
               tile.getBk(),              tile.getStages(), tile.getWarps()};
  c.resident = tile.getResident();
  return c;
}

static int64_t staticDim(Value v, int64_t d) {
  return cast<ShapedType>(v.getType()).getDimSize(d);
}

static Type elementTypeOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

/// The static shape class both matmul ops choose their tiles by: rows per
/// expert (dynamic when ragged), reduction, columns, the element type of the
/// row operand `rows` (x or y).
template <typename OpT>
static GemmShape matmulShapeOf(OpT op, Value rows, bool pairedHalves) {
  Value ind = op.getInd();
  int64_t perExpert = ShapedType::kDynamic;
  if (!op.isRagged()) {
    int64_t b = staticDim(ind, 0), k = staticDim(ind, op.isBatched() ? 2 : 1);
    perExpert = !op.isBatched()                                  ? k
                : ShapedType::isDynamic(b) || ShapedType::isDynamic(k) ? ShapedType::kDynamic
                                                                     : b * k;
  }
  bool transposed = op.getWTransposed();
  return {perExpert, staticDim(op.getW(), transposed ? 2 : 1),
          staticDim(op.getW(), transposed ? 1 : 2), elementTypeOf(rows),
          pairedHalves, transposed};
}

GemmShape egs::gemmShapeOf(GatherMatmulOp op) {
  return matmulShapeOf(op, op.getX(), op.isGated());
}

GemmShape egs::gemmShapeOf(MatmulScatterOp op) {
  return matmulShapeOf(op, op.getY(), false);
}

WeightGradShape egs::weightGradShapeOf(WeightGradOp op) {
  // dw [E, I, J]: the result of the tensor form, `out` of the memref form.
  Value dw = op.getOut() ? Value(op.getOut()) : op->getResult(0);
  return {staticDim(dw, 1), staticDim(dw, 2), elementTypeOf(op.getLhs())};
}

/// The op's own `tile` (else `fallback`) as the heuristics take an
/// override; fails on a family that cannot override the fast kernel.
static FailureOr<std::optional<TileOverride>>
overrideOf(Operation *op, TileConfigAttr tile, Type dataType,
           std::optional<TileOverride> fallback) {
  if (!tile)
    return fallback;
  switch (tile.getMma()) {
  case MmaKind::general:
    op->emitOpError() << "tile mma = general cannot be chosen: the general "
                         "kernel is the fallback for operands the fast one "
                         "cannot read; a tile sets the fast kernel";
    return failure();
  case MmaKind::fma:
    if (!dataType.isF32()) {
      op->emitOpError() << "tile mma = fma needs f32 operands (f16/bf16 use "
                           "sync or warpgroup)";
      return failure();
    }
    break;
  default:
    break;
  }
  if (tile.getResident()) {
    op->emitOpError() << "tile resident = true is chosen by "
                         "egs-select-gpu-strategy, not set by a tile override";
    return failure();
  }
  return std::optional<TileOverride>(
      TileOverride{tile.getBm(), tile.getBn(), tile.getBk(), tile.getStages(),
                   tile.getWarps(), tile.getMma() == MmaKind::warpgroup});
}

/// The recorded strategy: `fast` (tile and its bounds: min_rows,
/// min_reduce, max_reduce, min_cols, min_slots) and `general`. The last
/// variant serves every size: the heuristic's fallback, or a variant whose
/// bounds the static shapes satisfy (they need no check), so it is recorded
/// without bounds.
static GPUStrategyAttr
strategyAttr(MLIRContext *ctx,
             ArrayRef<std::pair<GemmConfig, std::array<int64_t, 5>>> fast,
             const GemmConfig &general) {
  SmallVector<GemmVariantAttr> variants;
  for (auto [i, v] : llvm::enumerate(fast)) {
    std::array<int64_t, 5> b = i + 1 < fast.size() ? v.second
                                                   : std::array<int64_t, 5>{};
    variants.push_back(GemmVariantAttr::get(ctx, tileAttrOf(ctx, v.first),
                                            b[0], b[1], b[2], b[3], b[4]));
  }
  return GPUStrategyAttr::get(ctx, variants, tileAttrOf(ctx, general));
}

static FailureOr<GPUStrategyAttr>
chooseMatmulStrategy(Operation *op, TileConfigAttr tile, const GemmShape &shape,
                     const GPUStrategyOptions &options) {
  FailureOr<std::optional<TileOverride>> override =
      overrideOf(op, tile, shape.dataType, options.tile);
  if (failed(override))
    return failure();
  GemmPath fastPath = shape.dataType.isF32() ? GemmPath::CudaCoreAsync
                                             : GemmPath::TensorCore;
  auto emitError = [&] { return op->emitOpError(); };
  FailureOr<SmallVector<GemmVariant>> fast =
      chooseGemmVariants(shape, fastPath, *override, options.maxSharedMemory,
                         options.warpgroupMma, emitError);
  FailureOr<GemmConfig> general =
      chooseGemmConfig(shape, GemmPath::CudaCoreGeneral, std::nullopt,
                       options.maxSharedMemory, emitError);
  if (failed(fast) || failed(general))
    return failure();
  SmallVector<std::pair<GemmConfig, std::array<int64_t, 5>>> variants;
  for (const GemmVariant &v : *fast)
    variants.push_back(
        {v.config, {v.minRows, v.minReduce, v.maxReduce, v.minCols, 0}});
  return strategyAttr(op->getContext(), variants, *general);
}

static FailureOr<GPUStrategyAttr>
chooseWeightGradStrategy(WeightGradOp op, const GPUStrategyOptions &options) {
  WeightGradShape shape = weightGradShapeOf(op);
  // (The pass option's tile is for the matmul ops: weight_grad takes its
  // own `tile` only.)
  FailureOr<std::optional<TileOverride>> override =
      overrideOf(op, op.getTileAttr(), shape.dataType, std::nullopt);
  if (failed(override))
    return failure();
  GemmPath fastPath = shape.dataType.isF32() ? GemmPath::CudaCoreAsync
                                             : GemmPath::TensorCore;
  auto emitError = [&] { return op->emitOpError(); };
  FailureOr<SmallVector<WeightGradVariant>> fast = chooseWeightGradVariants(
      shape, fastPath, *override, options.maxSharedMemory,
      options.warpgroupMma, emitError);
  FailureOr<GemmConfig> general = chooseWeightGradConfig(
      shape, GemmPath::CudaCoreGeneral, std::nullopt, options.maxSharedMemory,
      false, emitError);
  if (failed(fast) || failed(general))
    return failure();
  SmallVector<std::pair<GemmConfig, std::array<int64_t, 5>>> variants;
  for (const WeightGradVariant &v : *fast)
    variants.push_back({v.config, {0, 0, 0, 0, v.minSlotsPerExpert}});
  return strategyAttr(op->getContext(), variants, *general);
}

FailureOr<GPUStrategyAttr>
egs::chooseGPUStrategy(Operation *op, const GPUStrategyOptions &options) {
  if (auto g = dyn_cast<GatherMatmulOp>(op))
    return chooseMatmulStrategy(op, g.getTileAttr(), gemmShapeOf(g), options);
  if (auto s = dyn_cast<MatmulScatterOp>(op))
    return chooseMatmulStrategy(op, s.getTileAttr(), gemmShapeOf(s), options);
  if (auto w = dyn_cast<WeightGradOp>(op))
    return chooseWeightGradStrategy(w, options);
  return op->emitOpError() << "has no GPU kernel strategy to choose";
}

static FailureOr<GPUStrategyAttr> recorded(Operation *op) {
  auto s = op->getAttrOfType<GPUStrategyAttr>(EGSDialect::kGPUStrategyAttrName);
  if (s)
    return s;
  return op->emitOpError() << "has no '" << EGSDialect::kGPUStrategyAttrName
                           << "' attribute: run egs-select-gpu-strategy "
                              "before convert-egs-to-gpu";
}

FailureOr<GemmStrategies> egs::recordedGemmStrategies(Operation *op,
                                                      const GemmShape &shape) {
  FailureOr<GPUStrategyAttr> s = recorded(op);
  if (failed(s))
    return failure();
  auto emitError = [&] { return op->emitOpError(); };
  GemmStrategies out;
  for (GemmVariantAttr v : s->getFast()) {
    FailureOr<GemmConfig> c = completeGemmConfig(
        shape, configOf(v.getTile()), std::nullopt, false, emitError);
    if (failed(c))
      return failure();
    GemmVariant variant{*c};
    variant.minRows = v.getMinRows();
    variant.minReduce = v.getMinReduce();
    variant.maxReduce = v.getMaxReduce();
    variant.minCols = v.getMinCols();
    out.fast.push_back(variant);
  }
  FailureOr<GemmConfig> general = completeGemmConfig(
      shape, configOf(s->getGeneral()), std::nullopt, false, emitError);
  if (failed(general))
    return failure();
  out.general = *general;
  return out;
}

FailureOr<WeightGradStrategies>
egs::recordedWeightGradStrategies(WeightGradOp op) {
  FailureOr<GPUStrategyAttr> s = recorded(op);
  if (failed(s))
    return failure();
  auto emitError = [&] { return op->emitOpError(); };
  WeightGradStrategies out;
  for (GemmVariantAttr v : s->getFast()) {
    FailureOr<GemmConfig> c = completeWeightGradConfig(
        configOf(v.getTile()), std::nullopt, false, emitError);
    if (failed(c))
      return failure();
    out.fast.push_back({*c, v.getMinSlots()});
  }
  FailureOr<GemmConfig> general = completeWeightGradConfig(
      configOf(s->getGeneral()), std::nullopt, false, emitError);
  if (failed(general))
    return failure();
  out.general = *general;
  return out;
}
