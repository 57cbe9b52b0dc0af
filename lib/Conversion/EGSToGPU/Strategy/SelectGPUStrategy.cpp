//===- SelectGPUStrategy.cpp - the egs-select-gpu-strategy pass -----------===//
//
// The one place that parses the `tile` option and runs the tile heuristics:
// every gather_matmul, matmul_scatter and weight_grad op gets its decision as
// an `egs.gpu_strategy` attribute, which convert-egs-to-gpu reads.
//
//===----------------------------------------------------------------------===//
#include "Strategy/GPUStrategy.h"
#include "egs/Conversion/Passes.h"

namespace egs {
using namespace mlir;
#define GEN_PASS_DEF_SELECTGPUSTRATEGY
#include "egs/Conversion/Passes.h.inc"
} // namespace egs

using namespace mlir;
using namespace egs;

LogicalResult egs::selectGPUStrategies(Operation *root,
                                       const GPUStrategyOptions &options) {
  WalkResult result = root->walk([&](Operation *op) {
    if (!isa<GatherMatmulOp, MatmulScatterOp, WeightGradOp>(op) ||
        op->hasAttr(EGSDialect::kGPUStrategyAttrName))
      return WalkResult::advance();
    FailureOr<GPUStrategyAttr> strategy = chooseGPUStrategy(op, options);
    if (failed(strategy))
      return WalkResult::interrupt();
    op->setAttr(EGSDialect::kGPUStrategyAttrName, *strategy);
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

namespace {
struct SelectGPUStrategyPass
    : public egs::impl::SelectGPUStrategyBase<SelectGPUStrategyPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    GPUStrategyOptions options;
    options.warpgroupMma = warpgroupMma;
    if (maxSharedMemory <= 0) {
      module.emitError() << "egs-select-gpu-strategy: max-shared-memory = "
                         << static_cast<int64_t>(maxSharedMemory)
                         << " must be positive";
      return signalPassFailure();
    }
    options.maxSharedMemory = maxSharedMemory;
    if (!tile.empty()) {
      FailureOr<TileOverride> parsed = parseTileOption(module);
      if (failed(parsed))
        return signalPassFailure();
      options.tile = *parsed;
    }
    if (failed(selectGPUStrategies(module, options)))
      signalPassFailure();
  }

  /// bm,bn,bk,stages,warps[,warpgroup], checked as #egs.tile checks its
  /// parameters.
  FailureOr<TileOverride> parseTileOption(ModuleOp module) {
    auto emitError = [&] {
      return module.emitError() << "egs-select-gpu-strategy: option tile: ";
    };
    if (tile.size() != 5 && tile.size() != 6) {
      emitError() << "needs 5 values (bm,bn,bk,stages,warps) and optionally a "
                     "6th (1: warpgroup MMA), got "
                  << tile.size();
      return failure();
    }
    if (tile.size() == 6 && tile[5] != 0 && tile[5] != 1) {
      emitError() << "the 6th value must be 0 (mma.sync) or 1 (warpgroup "
                     "MMA), got "
                  << tile[5];
      return failure();
    }
    bool warpgroup = tile.size() == 6 && tile[5] == 1;
    if (!TileConfigAttr::getChecked(
            emitError, &getContext(), tile[0], tile[1], tile[2], tile[3],
            tile[4], warpgroup ? MmaKind::warpgroup : MmaKind::sync, false))
      return failure();
    return TileOverride{tile[0], tile[1], tile[2], tile[3], tile[4], warpgroup};
  }
};
} // namespace
