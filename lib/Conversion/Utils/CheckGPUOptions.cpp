//===- CheckGPUOptions.cpp - GPU options and ptxas, checked before use ----===//
#include "egs/Conversion/Passes.h"
#include "egs/Target/CUDA/Chip.h"
#include "egs/Target/CUDA/Toolkit.h"

#include "mlir/IR/BuiltinOps.h"

#include <cstdlib>

namespace egs {
using namespace mlir;
#define GEN_PASS_DEF_CHECKCUDATOOLKIT
#define GEN_PASS_DEF_CHECKGPUTARGET
#include "egs/Conversion/Passes.h.inc"
} // namespace egs

using namespace mlir;

namespace {
struct CheckCUDAToolkitPass
    : public egs::impl::CheckCUDAToolkitBase<CheckCUDAToolkitPass> {
  using Base::Base;

  void runOnOperation() override {
    if (format == "isa")
      return;
    SmallVector<StringRef> tools{"ptxas"};
    if (format == "fatbin")
      tools.push_back("fatbinary");
    for (StringRef tool : tools) {
      if (egs::cuda::findToolkitWith(tool))
        continue;
      InFlightDiagnostic diag = mlir::emitError(getOperation().getLoc())
                                << "cannot find the CUDA tool `" << tool
                                << "`, needed to build a " << format
                                << " GPU binary: searched";
      for (const char *var : egs::cuda::kToolkitVariables) {
        const char *dir = std::getenv(var);
        diag << " $" << var << "/bin ("
             << (dir && *dir ? dir : "unset") << "),";
      }
      diag << " and $PATH. Set CUDA_HOME (or CUDA_ROOT, CUDA_PATH) to the CUDA "
              "toolkit, e.g. CUDA_HOME=/usr/local/cuda, or put its bin/ on "
              "PATH; format=isa (PTX only) needs no toolkit";
      return signalPassFailure();
    }
  }
};
} // namespace

namespace {
struct CheckGPUTargetPass
    : public egs::impl::CheckGPUTargetBase<CheckGPUTargetPass> {
  using Base::Base;

  void runOnOperation() override {
    if (llvm::Error e = egs::cuda::checkOptions(chip, features, format, optLevel)) {
      mlir::emitError(getOperation().getLoc())
          << "egs-lower-to-nvvm: " << llvm::toString(std::move(e));
      signalPassFailure();
    }
  }
};
} // namespace
