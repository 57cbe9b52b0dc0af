//===- EGSDialect.cpp - the egs dialect -----------------------------------===//
#include "egs/Dialect/EGS/IR/EGSDialect.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace egs;

#include "egs/Dialect/EGS/IR/EGSEnums.cpp.inc"

/// #egs.tile's `mma`: a keyword (`warpgroup`) or, as earlier releases wrote
/// it, a string (`"warpgroup"`).
static FailureOr<MmaKind> parseMmaKind(AsmParser &parser) {
  std::string name;
  SMLoc loc = parser.getCurrentLocation();
  if (failed(parser.parseOptionalKeywordOrString(&name)))
    return parser.emitError(loc, "expected an mma kind (sync, warpgroup, fma "
                                 "or general)");
  std::optional<MmaKind> kind = symbolizeMmaKind(name);
  if (!kind)
    return parser.emitError(loc, "tile parameter 'mma' = \"")
           << name << "\" must be sync, warpgroup, fma or general";
  return *kind;
}
#include "egs/Dialect/EGS/IR/EGSOpsDialect.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "egs/Dialect/EGS/IR/EGSAttrs.cpp.inc"

void EGSDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "egs/Dialect/EGS/IR/EGSOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "egs/Dialect/EGS/IR/EGSAttrs.cpp.inc"
      >();
}

LogicalResult
TileConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError, int64_t bm,
                       int64_t bn, int64_t bk, int64_t stages, int64_t warps,
                       MmaKind mma, bool resident) {
  auto checkPow2 = [&](StringRef name, int64_t v, int64_t lo,
                       int64_t hi) -> LogicalResult {
    if (v < lo || v > hi || !llvm::isPowerOf2_64(v))
      return emitError() << "tile parameter '" << name << "' = " << v
                         << " must be a power of two in [" << lo << ", " << hi
                         << "]";
    return success();
  };
  if (failed(checkPow2("bm", bm, 16, 256)) || failed(checkPow2("bn", bn, 8, 256)) ||
      failed(checkPow2("bk", bk, 16, 128)))
    return failure();
  // Warpgroup tiles count warps by warpgroups: 4 per 64 rows, plus 4 for a
  // producer warpgroup (warp-specialised).
  if (mma == MmaKind::warpgroup) {
    if (warps < 4 || warps > 20 || warps % 4)
      return emitError() << "tile parameter 'warps' = " << warps
                         << " must be a multiple of 4 in [4, 20] for mma = "
                            "warpgroup";
  } else if (failed(checkPow2("warps", warps, 1, 16))) {
    return failure();
  }
  if (stages < 1 || stages > 8)
    return emitError() << "tile parameter 'stages' = " << stages
                       << " must be in [1, 8]";
  if (resident && mma != MmaKind::warpgroup)
    return emitError() << "tile parameter 'resident' needs mma = warpgroup";
  return success();
}

LogicalResult
GemmVariantAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        TileConfigAttr tile, int64_t minRows, int64_t minReduce,
                        int64_t maxReduce, int64_t minCols, int64_t minSlots) {
  if (!tile)
    return emitError() << "variant needs a tile";
  for (auto [name, v] : {std::pair<StringRef, int64_t>{"min_rows", minRows},
                         {"min_reduce", minReduce},
                         {"max_reduce", maxReduce},
                         {"min_cols", minCols},
                         {"min_slots", minSlots}})
    if (v < 0)
      return emitError() << "variant bound '" << name << "' = " << v
                         << " must be at least 0 (0: no bound)";
  if (maxReduce && maxReduce < minReduce)
    return emitError() << "variant bounds: max_reduce = " << maxReduce
                       << " is below min_reduce = " << minReduce;
  if (tile.getMma() == MmaKind::general)
    return emitError() << "a fast variant cannot use mma = general";
  return success();
}

LogicalResult
GPUStrategyAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        ArrayRef<GemmVariantAttr> fast, TileConfigAttr general) {
  if (fast.empty())
    return emitError() << "gpu_strategy needs at least one fast variant";
  if (!fast.back().isUnbounded())
    return emitError() << "the last fast variant of a gpu_strategy must have "
                          "no bounds (it serves every size)";
  if (!general || general.getMma() != MmaKind::general)
    return emitError() << "the general tile of a gpu_strategy must have "
                          "mma = general";
  return success();
}

/// The element type the kernels of `op` stage, and whether the op's variants
/// are bounded by slots per expert (weight_grad) rather than sizes.
static std::optional<std::pair<Type, bool>> strategyTarget(Operation *op) {
  auto elementType = [](Value v) {
    return cast<ShapedType>(v.getType()).getElementType();
  };
  if (auto g = dyn_cast<GatherMatmulOp>(op))
    return std::make_pair(elementType(g.getX()), false);
  if (auto s = dyn_cast<MatmulScatterOp>(op))
    return std::make_pair(elementType(s.getY()), false);
  if (auto w = dyn_cast<WeightGradOp>(op))
    return std::make_pair(elementType(w.getLhs()), true);
  return std::nullopt;
}

LogicalResult EGSDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attr) {
  if (attr.getName() != kGPUStrategyAttrName)
    return op->emitError() << "unknown egs attribute '"
                           << attr.getName().getValue()
                           << "' (egs defines '" << kGPUStrategyAttrName << "')";
  auto strategy = dyn_cast<GPUStrategyAttr>(attr.getValue());
  if (!strategy)
    return op->emitError() << "'" << kGPUStrategyAttrName
                           << "' must be a #egs.gpu_strategy";
  std::optional<std::pair<Type, bool>> target = strategyTarget(op);
  if (!target)
    return op->emitError() << "'" << kGPUStrategyAttrName
                           << "' belongs on egs.gather_matmul, "
                              "egs.matmul_scatter or egs.weight_grad";
  auto [dataType, bySlots] = *target;
  for (auto [i, v] : llvm::enumerate(strategy.getFast())) {
    MmaKind mma = v.getTile().getMma();
    bool f32 = dataType.isF32();
    if (f32 != (mma == MmaKind::fma))
      return op->emitError()
             << "'" << kGPUStrategyAttrName << "' variant " << i
             << ": mma = " << stringifyMmaKind(mma) << " does not fit "
             << dataType << " operands ("
             << (f32 ? "f32 needs mma = fma" : "f16/bf16 need mma = sync or warpgroup")
             << ")";
    bool sizeBounds = v.getMinRows() || v.getMinReduce() || v.getMaxReduce() ||
                      v.getMinCols();
    if (bySlots ? sizeBounds : v.getMinSlots() != 0)
      return op->emitError()
             << "'" << kGPUStrategyAttrName << "' variant " << i << ": "
             << op->getName() << " variants are bounded by "
             << (bySlots ? "min_slots only" : "min_rows, min_reduce, max_reduce "
                                              "and min_cols only");
  }
  return success();
}
