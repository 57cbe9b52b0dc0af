//===- CUDAToolkit.cpp - GPU options and ptxas, checked before use --------===//
#include "egs/Conversion/EGSToGPU/EGSToGPU.h"
#include "egs/Conversion/Passes.h"
#include "egs/Target/CUDA/Chip.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <cstdlib>

namespace egs {
using namespace mlir;
#define GEN_PASS_DEF_CHECKCUDATOOLKIT
#define GEN_PASS_DEF_CHECKGPUTARGET
#include "egs/Conversion/Passes.h.inc"
} // namespace egs

using namespace mlir;

static constexpr const char *kToolkitVariables[] = {"CUDA_ROOT", "CUDA_HOME",
                                                    "CUDA_PATH"};

std::optional<std::string> egs::findCUDAToolkitWith(llvm::StringRef tool) {
  for (const char *var : kToolkitVariables) {
    const char *dir = std::getenv(var);
    if (!dir || !*dir)
      continue;
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, "bin", tool);
    if (llvm::sys::fs::can_execute(path))
      return std::string(dir);
  }
  llvm::ErrorOr<std::string> onPath = llvm::sys::findProgramByName(tool);
  if (!onPath)
    return std::nullopt;
  // <toolkit>/bin/<tool>
  return llvm::sys::path::parent_path(llvm::sys::path::parent_path(*onPath)).str();
}

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
      if (egs::findCUDAToolkitWith(tool))
        continue;
      InFlightDiagnostic diag = mlir::emitError(getOperation().getLoc())
                                << "cannot find the CUDA tool `" << tool
                                << "`, needed to build a " << format
                                << " GPU binary: searched";
      for (const char *var : kToolkitVariables) {
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
