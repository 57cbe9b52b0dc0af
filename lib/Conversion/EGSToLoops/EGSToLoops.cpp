//===- EGSToLoops.cpp - the convert-egs-to-loops pass ---------------------===//
#include "egs/Conversion/EGSToLoops/EGSToLoops.h"
#include "egs/Conversion/Passes.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"
#include "llvm/TargetParser/Host.h"

namespace egs {
using namespace mlir;
#define GEN_PASS_DEF_CONVERTEGSTOLOOPS
#include "egs/Conversion/Passes.h.inc"
} // namespace egs

using namespace mlir;
using namespace egs;

void egs::populateEGSToLoopsPatterns(RewritePatternSet &patterns,
                                           const LoopLoweringOptions &options) {
  populateEGSMatmulToLoopsPatterns(patterns, options);
  populateEGSRoutingToLoopsPatterns(patterns, options);
  populateEGSDataMovementToLoopsPatterns(patterns, options);
}

/// f32 lanes of the widest vector registers of the host (the JIT compiles
/// for the host CPU).
static int64_t hostVectorWidth() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  return features.lookup("avx512f") ? 16 : 8;
}

namespace {
struct ConvertEGSToLoopsPass
    : public egs::impl::ConvertEGSToLoopsBase<ConvertEGSToLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorWidth < 0 || vectorWidth > 64 ||
        (vectorWidth > 0 && !llvm::isPowerOf2_64(vectorWidth))) {
      getOperation().emitError()
          << "convert-egs-to-loops: vector-width = "
          << static_cast<int64_t>(vectorWidth)
          << " must be 0 (host) or a power of two in [1, 64]";
      return signalPassFailure();
    }
    LoopLoweringOptions options{checkIndices,
                                vectorWidth ? vectorWidth : hostVectorWidth()};
    RewritePatternSet patterns(&getContext());
    populateEGSToLoopsPatterns(patterns, options);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
    // Whatever is left is in tensor form: say which op needs bufferizing.
    WalkResult left = getOperation().walk([](Operation *op) {
      if (!isa<EGSDialect>(op->getDialect()))
        return WalkResult::advance();
      op->emitError() << "could not lower to loops: egs ops must be "
                         "bufferized (memref form) first";
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
