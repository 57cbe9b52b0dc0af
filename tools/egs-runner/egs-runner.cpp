//===- egs-runner.cpp - JIT runner for egs and upstream MLIR --------------===//
//
// mlir-runner's core options (-e, --entry-point-result, --shared-libs, -O3)
// plus --target=cpu|cuda. The input may hold egs, linalg, tensor, memref and
// the other upstream dialects; the runner applies the matching egs pipeline
// itself unless the input is already in the LLVM dialect, and makes the MLIR
// runner utilities (printMemrefF32, ...) available without extra flags.
//
//===----------------------------------------------------------------------===//
#include "egs/Version.h"
#include "egs/ExecutionEngine/HostRuntime.h"
#include "egs/InitAll.h"
#include "egs/Pipelines/Pipelines.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/JitRunner.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ExecutionEngine/Orc/Core.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"

using namespace mlir;

static llvm::cl::OptionCategory runnerCategory("egs-runner options");
static llvm::cl::opt<std::string>
    clTarget("target", llvm::cl::desc("Where egs ops run: cpu or cuda"),
             llvm::cl::init("cpu"), llvm::cl::cat(runnerCategory));
static llvm::cl::opt<bool> clCheckIndices(
    "check-indices",
    llvm::cl::desc("Check routed indices and expert_offsets at run time "
                   "(default on; reports the op and the offending value)"),
    llvm::cl::init(true), llvm::cl::cat(runnerCategory));
static llvm::cl::opt<std::string> clGpuChip(
    "gpu-chip", llvm::cl::desc("--target=cuda: GPU architecture (sm_90a)"),
    llvm::cl::init("sm_90a"), llvm::cl::cat(runnerCategory));
static llvm::cl::opt<std::string> clGpuFormat(
    "gpu-format",
    llvm::cl::desc("--target=cuda: GPU binary format, fatbin or bin (cubin; "
                   "needs only ptxas)"),
    llvm::cl::init("fatbin"), llvm::cl::cat(runnerCategory));
static llvm::cl::opt<bool> clNoRunnerUtils(
    "no-runner-utils",
    llvm::cl::desc("Do not load the MLIR runner utility libraries"),
    llvm::cl::init(false), llvm::cl::cat(runnerCategory));

/// True once the module holds nothing but the LLVM dialect (already lowered),
/// GPU binaries and the launches of their kernels included.
static bool isLoweredToLLVM(Operation *module) {
  WalkResult r = module->walk([](Operation *op) {
    if (isa<ModuleOp>(op) || isa<LLVM::LLVMDialect>(op->getDialect()) ||
        isa<gpu::BinaryOp, gpu::LaunchFuncOp>(op))
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  return !r.wasInterrupted();
}

static LogicalResult lowerForTarget(Operation *module, JitRunnerOptions &) {
  if (isLoweredToLLVM(module))
    return success();
  if (clTarget == "cuda") {
    // Programs keep their tensors in host memory: every egs op copies its
    // operands to the device and back (host-buffers=copy), so the same
    // program runs on both targets. libegs_cuda_runtime is loaded by main().
    PassManager pm(module->getContext());
    egs::LowerToNVVMOptions options;
    options.checkIndices = clCheckIndices;
    options.hostBuffers = "copy";
    options.chip = clGpuChip;
    options.format = clGpuFormat;
    egs::buildLowerToNVVMPipeline(pm, options);
    return pm.run(module);
  }
  if (clTarget != "cpu")
    return module->emitError() << "egs-runner: unknown --target='" << clTarget
                               << "' (expected cpu or cuda)";
  PassManager pm(module->getContext());
  egs::LowerToCPUOptions options;
  options.checkIndices = clCheckIndices;
  egs::buildLowerToCPUPipeline(pm, options);
  return pm.run(module);
}

static llvm::orc::SymbolMap hostRuntimeSymbols(llvm::orc::MangleAndInterner interner) {
  llvm::orc::SymbolMap map;
  map[interner("egsReportIndexError")] = {
      llvm::orc::ExecutorAddr::fromPtr(&egsReportIndexError),
      llvm::JITSymbolFlags::Exported};
  map[interner("egsReportShapeError")] = {
      llvm::orc::ExecutorAddr::fromPtr(&egsReportShapeError),
      llvm::JITSymbolFlags::Exported};
  return map;
}

/// The MLIR runner utility libraries: next to the runner (../lib) when it is
/// shipped as a bundle, else the MLIR that egs was built against.
static std::vector<std::string> defaultSharedLibs(const char *argv0) {
  std::vector<std::string> libs;
  std::string exe = llvm::sys::fs::getMainExecutable(argv0, (void *)&defaultSharedLibs);
  llvm::SmallString<256> bundled(llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(bundled, "lib");
  for (const char *name : {"libmlir_runner_utils.so", "libmlir_c_runner_utils.so"}) {
    llvm::SmallString<256> p(bundled);
    llvm::sys::path::append(p, name);
    if (!llvm::sys::fs::exists(p)) {
      p = EGS_MLIR_LIB_DIR;
      llvm::sys::path::append(p, name);
    }
    if (llvm::sys::fs::exists(p))
      libs.push_back(std::string(p));
  }
  return libs;
}

/// libegs_cuda_runtime (the mgpu* ABI of --target=cuda): next to the runner
/// (../lib) when it is shipped as a bundle, else the build's library dir.
static std::optional<std::string> cudaRuntimeLib(const char *argv0) {
  std::string exe = llvm::sys::fs::getMainExecutable(argv0, (void *)&cudaRuntimeLib);
  for (llvm::SmallString<256> dir :
       {llvm::SmallString<256>(llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe))),
        llvm::SmallString<256>()}) {
    llvm::SmallString<256> p;
    if (dir.empty()) {
      p = EGS_LIB_DIR;
    } else {
      p = dir;
      llvm::sys::path::append(p, "lib");
    }
    llvm::sys::path::append(p, "libegs_cuda_runtime.so");
    if (llvm::sys::fs::exists(p))
      return std::string(p);
  }
  return std::nullopt;
}

/// Loads each library the user named with --shared-libs (a comma-separated
/// list, "--shared-libs=a,b" or "--shared-libs a,b"), so that a path that does
/// not exist or is no shared library is an error naming it rather than being
/// skipped silently by the JIT. Returns false after printing the error.
static bool checkSharedLibs(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef a(argv[i]);
    llvm::StringRef list;
    if (a.consume_front("--shared-libs") || a.consume_front("-shared-libs")) {
      if (a.consume_front("="))
        list = a;
      else if (a.empty() && i + 1 < argc)
        list = argv[++i];
      else
        continue;
    } else {
      continue;
    }
    llvm::SmallVector<llvm::StringRef> libs;
    list.split(libs, ',', -1, /*KeepEmpty=*/false);
    for (llvm::StringRef lib : libs) {
      std::string error;
      if (!llvm::sys::fs::exists(lib)) {
        llvm::errs() << "egs-runner: error: --shared-libs: '" << lib
                     << "' does not exist\n";
        return false;
      }
      if (llvm::sys::DynamicLibrary::getPermanentLibrary(lib.str().c_str(),
                                                         &error)
              .isValid())
        continue;
      llvm::errs() << "egs-runner: error: --shared-libs: cannot load '" << lib
                   << "': " << error << "\n";
      return false;
    }
  }
  return true;
}

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  llvm::cl::AddExtraVersionPrinter([](llvm::raw_ostream &os) {
    os << "egs version " << EGS_VERSION_STRING << "\n";
  });
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::InitializeNativeTargetAsmParser();

  if (!checkSharedLibs(argc, argv))
    return 1;

  // Users' own --shared-libs come first; the runner utilities are appended
  // unless already named.
  std::vector<std::string> storage;
  std::vector<char *> args(argv, argv + argc);
  bool noUtils = false, cuda = false;
  std::string given;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef a(argv[i]);
    if (a == "--no-runner-utils" || a == "-no-runner-utils")
      noUtils = true;
    if (a.contains("shared-libs"))
      given += a.str();
    if (a == "--target=cuda" || a == "-target=cuda" ||
        ((a == "--target" || a == "-target") && i + 1 < argc &&
         llvm::StringRef(argv[i + 1]) == "cuda"))
      cuda = true;
  }
  if (cuda && given.find("libegs_cuda_runtime") == std::string::npos) {
    if (std::optional<std::string> lib = cudaRuntimeLib(argv[0]))
      storage.push_back("--shared-libs=" + *lib);
    else
      llvm::errs() << "egs-runner: warning: libegs_cuda_runtime.so not found "
                      "next to the runner; pass it with --shared-libs\n";
  }
  if (!noUtils)
    for (const std::string &lib : defaultSharedLibs(argv[0]))
      if (given.find(llvm::sys::path::filename(lib).str()) == std::string::npos)
        storage.push_back("--shared-libs=" + lib);
  for (std::string &s : storage)
    args.push_back(s.data());
  args.push_back(nullptr);

  DialectRegistry registry;
  egs::registerAllDialects(registry);
  JitRunnerConfig config;
  config.mlirTransformer = lowerForTarget;
  config.runtimesymbolMap = hostRuntimeSymbols;
  return JitRunnerMain(static_cast<int>(args.size()) - 1, args.data(), registry,
                       config);
}
