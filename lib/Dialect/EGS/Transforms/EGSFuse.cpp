//===- EGSFuse.cpp - the --egs-fuse pass ----------------------------------===//
#include "egs/Dialect/EGS/IR/EGSDialect.h"
#include "egs/Dialect/EGS/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace egs {
#define GEN_PASS_DEF_EGSFUSE
#include "egs/Dialect/EGS/Transforms/Passes.h.inc"
} // namespace egs

using namespace mlir;
using namespace egs;

void egs::populateEGSFusionPatterns(RewritePatternSet &patterns,
                                    const FusionOptions &options) {
  populateFuseGatherContractionPatterns(patterns, options);
  populateFuseContractionScatterPatterns(patterns, options);
  populateFuseRoutingPatterns(patterns, options);
  populateFuseGatherTransposePatterns(patterns, options);
  populateFuseWeightGradPatterns(patterns, options);
}

namespace {
struct EGSFusePass : egs::impl::EGSFuseBase<EGSFusePass> {
  using Base::Base;

  Statistic &counterFor(FusionFamily family) {
    switch (family) {
    case FusionFamily::GatherContraction:
      return numGatherContraction;
    case FusionFamily::ContractionScatter:
      return numContractionScatter;
    case FusionFamily::Routing:
      return numRouting;
    case FusionFamily::GatherTranspose:
      return numGatherTranspose;
    case FusionFamily::Epilogue:
      return numEpilogue;
    case FusionFamily::WeightGrad:
      return numWeightGrad;
    }
    llvm_unreachable("unknown fusion family");
  }

  void runOnOperation() override {
    FusionOptions options;
    options.gatherContraction = gatherContraction;
    options.contractionScatter = contractionScatter;
    options.routing = routing;
    options.gatherTranspose = gatherTranspose;
    options.epilogue = epilogue;
    options.weightGrad = weightGrad;
    options.listener = [this](FusionFamily family, Operation *fused,
                              StringRef what) {
      ++counterFor(family);
      if (remarks)
        fused->emitRemark() << what;
    };
    RewritePatternSet patterns(&getContext());
    populateEGSFusionPatterns(patterns, options);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns)))) {
      getOperation()->emitError("egs-fuse: the fusion patterns did not "
                                "converge");
      signalPassFailure();
    }
  }
};
} // namespace
