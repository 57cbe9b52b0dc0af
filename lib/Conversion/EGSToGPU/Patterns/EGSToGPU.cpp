//===- EGSToGPU.cpp - the convert-egs-to-gpu pass -------------------------===//
#include "egs/Conversion/EGSToGPU/EGSToGPU.h"
#include "Host/HostLaunch.h"
#include "egs/Conversion/Passes.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace egs {
using namespace mlir;
#define GEN_PASS_DEF_CONVERTEGSTOGPU
#include "egs/Conversion/Passes.h.inc"
} // namespace egs

using namespace mlir;
using namespace egs;

void egs::populateEGSToGPUPatterns(RewritePatternSet &patterns,
                                   const GPULoweringOptions &options) {
  populateEGSMatmulToGPUPatterns(patterns, options);
  populateEGSRoutingToGPUPatterns(patterns, options);
  populateEGSDataMovementToGPUPatterns(patterns, options);
}

namespace {
struct ConvertEGSToGPUPass
    : public egs::impl::ConvertEGSToGPUBase<ConvertEGSToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    GPULoweringOptions options;
    if (hostBuffers == "copy") {
      options.hostBuffers = HostBuffers::Copy;
    } else if (hostBuffers == "device") {
      options.hostBuffers = HostBuffers::Device;
    } else {
      module.emitError() << "convert-egs-to-gpu: host-buffers = '"
                         << hostBuffers << "' must be copy or device";
      return signalPassFailure();
    }
    options.hostSync = hostSync;
    options.checkShapes = checkIndices;
    options.vectorAtomics = vectorAtomics;
    bool any = false;
    module.walk([&](Operation *op) {
      any |= isa<EGSDialect>(op->getDialect());
    });
    if (!any)
      return;
    // Create the kernel container before the walk rewrites anything.
    (void)KernelModule::get(module);
    RewritePatternSet patterns(&getContext());
    populateEGSToGPUPatterns(patterns, options);
    walkAndApplyPatterns(module, std::move(patterns));
    // Ops in memref form are left only where the strategy was rejected,
    // which the pattern has reported already.
    WalkResult left = module.walk([](Operation *op) {
      if (!isa<EGSDialect>(op->getDialect()))
        return WalkResult::advance();
      if (llvm::any_of(op->getOperandTypes(), llvm::IsaPred<RankedTensorType>))
        op->emitError() << "could not lower to GPU kernels: egs ops must be "
                           "bufferized (memref form) first";
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
