//===- EGSFuse.cpp - the --egs-fuse pass ----------------------------------===//
#include "egs/Dialect/EGS/IR/EGSDialect.h"
#include "egs/Dialect/EGS/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/STLExtras.h"

#include <array>

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

  /// The families in summary order, by their option (and statistic) names.
  static constexpr std::pair<FusionFamily, const char *> kFamilies[] = {
      {FusionFamily::GatherContraction, "gather-contraction"},
      {FusionFamily::ContractionScatter, "contraction-scatter"},
      {FusionFamily::Routing, "routing"},
      {FusionFamily::GatherTranspose, "gather-transpose"},
      {FusionFamily::Epilogue, "epilogue"},
      {FusionFamily::WeightGrad, "weight-grad"}};

  void runOnOperation() override {
    // Counted here too: llvm::Statistic counts nothing in an LLVM built
    // without statistics.
    std::array<int64_t, std::size(kFamilies)> counts{};
    FusionOptions options;
    options.gatherContraction = gatherContraction;
    options.contractionScatter = contractionScatter;
    options.routing = routing;
    options.gatherTranspose = gatherTranspose;
    options.epilogue = epilogue;
    options.weightGrad = weightGrad;
    options.listener = [this, &counts](FusionFamily family, Operation *fused,
                              StringRef what) {
      ++counterFor(family);
      ++counts[llvm::find_if(kFamilies, [&](auto f) { return f.first == family; }) -
               std::begin(kFamilies)];
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
    if (summary) {
      InFlightDiagnostic diag = getOperation()->emitRemark("egs-fuse: ");
      for (auto [i, family] : llvm::enumerate(kFamilies))
        diag << (i ? ", " : "") << counts[i] << " " << family.second;
    }
  }
};
} // namespace
