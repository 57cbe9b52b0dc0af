//===- Compiler.cpp - egsCompile: MLIR text to a loaded executable --------===//
//
// parse -> read the entry-point signatures -> mark them for the C interface
// -> the egs pipeline of the target -> LLVM optimization + code generation
// in an mlir::ExecutionEngine (or the object from the disk cache, keyed by the
// lowered IR so that a changed compiler never reuses stale code).
//
//===----------------------------------------------------------------------===//
#include "Executable.h"

#include "egs/InitAll.h"
#include "egs/Pipelines/Pipelines.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <cstdlib>
#include <dlfcn.h>
#include <unistd.h>
#include <cstring>
#include <mutex>

using namespace mlir;
using namespace egs::capi;

namespace {
/// Collects diagnostics as "loc: error: message" lines.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(MLIRContext &ctx)
      : handler(&ctx, [this](Diagnostic &d) {
          llvm::raw_string_ostream os(text);
          if (!text.empty())
            os << "\n";
          os << d.getLocation() << ": "
             << (d.getSeverity() == DiagnosticSeverity::Error ? "error: " : "note: ")
             << d;
          for (Diagnostic &note : d.getNotes())
            os << "\n" << note.getLocation() << ": note: " << note;
          return success();
        }) {}
  std::string take(StringRef fallback) {
    return text.empty() ? fallback.str() : std::move(text);
  }

private:
  std::string text;
  ScopedDiagnosticHandler handler;
};
} // namespace

static void initializeLLVMOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

static int fail(char **error, StringRef message) {
  if (error)
    *error = copyString(message);
  return 1;
}

/// The host's CPU name and features: part of the disk cache key, since the
/// object code uses every feature the host has.
static const std::string &hostDescription() {
  static const std::string desc = [] {
    std::string s = llvm::sys::getHostCPUName().str();
    std::vector<std::string> features;
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      if (f.second)
        features.push_back(f.first().str());
    llvm::sort(features);
    for (const std::string &f : features)
      s += "," + f;
    return s;
  }();
  return desc;
}

static std::string hashKey(StringRef loweredIR, StringRef target, int optLevel) {
  llvm::SHA256 sha;
  sha.update("egs-object-cache-v1\n");
  sha.update(target);
  sha.update("\nO" + std::to_string(optLevel) + "\n");
  sha.update(hostDescription());
  sha.update("\n");
  sha.update(loweredIR);
  return llvm::toHex(sha.final(), /*LowerCase=*/true);
}

/// Reads the public entry points and marks them for the C interface. Tensor
/// arguments are made read-only so that bufferization copies instead of
/// writing into the caller's buffers.
static bool prepareEntryPoints(ModuleOp module, Executable &exe,
                               std::string &error) {
  MLIRContext *ctx = module.getContext();
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isDeclaration() || !func.isPublic())
      continue;
    EntryPoint entry;
    if (!describeEntryPoint(func, entry, error))
      return false;
    func->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (isa<TensorType>(func.getArgument(i).getType()) &&
          !func.getArgAttr(i, bufferization::BufferizationDialect::kWritableAttrName))
        func.setArgAttr(i, bufferization::BufferizationDialect::kWritableAttrName,
                        BoolAttr::get(ctx, false));
    exe.entries.push_back(std::move(entry));
  }
  if (exe.entries.empty()) {
    error = "the module has no public func.func with a body to call";
    return false;
  }
  return true;
}

static bool runPipeline(ModuleOp module, StringRef target,
                        StringRef pipelineOptions, std::string &error) {
  MLIRContext *ctx = module.getContext();
  PassManager pm(ctx);
  std::string optionErrors;
  llvm::raw_string_ostream optionStream(optionErrors);
  if (target == "cpu") {
    egs::LowerToCPUOptions options;
    if (failed(options.parseFromString(pipelineOptions, optionStream))) {
      error = "bad pipeline options '" + pipelineOptions.str() + "' for target cpu: " +
              optionErrors;
      return false;
    }
    egs::buildLowerToCPUPipeline(pm, options);
  } else {
#ifdef EGS_HAVE_NVVM_PIPELINE
    egs::LowerToNVVMOptions options;
    if (failed(options.parseFromString(pipelineOptions, optionStream))) {
      error = "bad pipeline options '" + pipelineOptions.str() +
              "' for target cuda: " + optionErrors;
      return false;
    }
    egs::buildLowerToNVVMPipeline(pm, options);
#else
    error = "CUDA target not available in this build";
    return false;
#endif
  }
  DiagnosticCollector diags(*ctx);
  if (failed(pm.run(module))) {
    error = "lowering for target " + target.str() + " failed: " +
            diags.take("(no diagnostic)");
    return false;
  }
  return true;
}

/// libegs_cuda_runtime.so: $EGS_CUDA_RUNTIME_LIB, else beside this library
/// (the build tree's lib/ and the Python package both put it there).
static std::string cudaRuntimeLibrary() {
  if (const char *env = std::getenv("EGS_CUDA_RUNTIME_LIB"))
    return env;
  Dl_info info;
  if (!::dladdr(reinterpret_cast<void *>(&egsCompile), &info) || !info.dli_fname)
    return "";
  llvm::SmallString<256> path(llvm::sys::path::parent_path(info.dli_fname));
  llvm::sys::path::append(path, "libegs_cuda_runtime.so");
  return llvm::sys::fs::exists(path) ? std::string(path) : "";
}

static std::string packedName(StringRef function) {
  return "_mlir_ciface_" + function.str();
}

/// Code generation in a fresh ExecutionEngine; dumps the object to
/// `cachePath` when given.
static bool generateCode(ModuleOp module, const EgsCompileOptions &options,
                         const ExternalSymbols &symbols, StringRef cachePath,
                         Executable &exe, std::string &error) {
  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmBuilder) {
    error = "cannot describe the host: " + llvm::toString(tmBuilder.takeError());
    return false;
  }
  auto optLevel = static_cast<llvm::CodeGenOptLevel>(options.optLevel);
  tmBuilder->setCodeGenOptLevel(optLevel);
  auto tm = tmBuilder->createTargetMachine();
  if (!tm) {
    error = "cannot create the host target machine: " + llvm::toString(tm.takeError());
    return false;
  }
  auto transformer = makeOptimizingTransformer(options.optLevel, 0, tm->get());
  // No sharedLibPaths: the engine would load them RTLD_GLOBAL; their
  // functions come in by address instead (SharedLibraries.cpp).
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel = optLevel;
  engineOptions.enableObjectDump = !cachePath.empty();
  engineOptions.enableGDBNotificationListener = false;
  engineOptions.enablePerfNotificationListener = false;
  DiagnosticCollector diags(*module->getContext());
  auto engine = ExecutionEngine::create(module, engineOptions, std::move(*tm));
  if (!engine) {
    error = "LLVM translation or code generation failed: " +
            llvm::toString(engine.takeError()) + ": " + diags.take("");
    return false;
  }
  exe.engine = std::move(*engine);
  exe.engine->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
    return symbolMap(symbols, interner);
  });
  exe.engine->initialize();
  for (EntryPoint &entry : exe.entries) {
    auto fn = exe.engine->lookupPacked(packedName(entry.name));
    if (!fn) {
      error = "entry point @" + entry.name + " not found after lowering: " +
              llvm::toString(fn.takeError());
      return false;
    }
    entry.packed = *fn;
  }
  if (!cachePath.empty()) {
    // Write under a unique name and rename, so readers never see a partial file.
    std::string tmp = cachePath.str() + ".tmp" + std::to_string(::getpid());
    exe.engine->dumpToObjectFile(tmp);
    if (llvm::sys::fs::rename(tmp, cachePath))
      llvm::sys::fs::remove(tmp);
  }
  return true;
}

/// Opens the libraries privately (the first is the CUDA runtime for `cuda`)
/// and collects what they export.
static bool loadSharedLibraries(ArrayRef<std::string> libs, bool cuda,
                                ExternalSymbols &symbols, std::string &error) {
  for (const std::string &lib : libs) {
    void *handle = openLocalLibrary(lib, error);
    if (!handle || !addLibrarySymbols(lib, handle, symbols, error))
      return false;
    if (cuda && &lib == &libs.front())
      cudaRuntime.store(handle);
  }
  return true;
}

/// Loads the object of the lowered `module` from the disk cache when it is
/// there; otherwise sets `cachePath` to where the new object goes ("" for
/// none: no cache directory, or a CUDA program).
static bool loadFromDiskCache(ModuleOp module, const EgsCompileOptions &options,
                              ArrayRef<std::string> libs,
                              const ExternalSymbols &symbols, Executable &exe,
                              std::string &cachePath) {
  cachePath.clear();
  if (!options.cacheDir || !*options.cacheDir || exe.target != "cpu")
    return false;
  std::string ir;
  llvm::raw_string_ostream os(ir);
  module->print(os, OpPrintingFlags().enableDebugInfo(false));
  for (const std::string &l : libs)
    ir += "\n;lib " + l;
  std::string path = diskCachePath(options.cacheDir,
                                   hashKey(ir, exe.target, options.optLevel));
  if (llvm::sys::fs::exists(path)) {
    std::string loadError;
    if (loadCachedObject(path, symbols, exe, loadError)) {
      exe.fromDiskCache = true;
      statistics().diskCacheLoads++;
      return true;
    }
    // A corrupt or foreign entry: drop it and compile afresh.
    llvm::sys::fs::remove(path);
    exe.objectJit.reset();
  }
  if (!llvm::sys::fs::create_directories(options.cacheDir))
    cachePath = path;
  return false;
}

extern "C" EgsCompileOptions egsCompileOptionsDefault(void) {
  EgsCompileOptions o;
  o.target = "cpu";
  o.pipelineOptions = "";
  o.optLevel = 3;
  o.cacheDir = nullptr;
  o.sharedLibs = nullptr;
  o.numSharedLibs = 0;
  return o;
}

extern "C" EgsCompiler egsCompilerCreate(void) {
  initializeLLVMOnce();
  auto *compiler = new EgsCompilerImpl();
  DialectRegistry registry;
  egs::registerAllDialects(registry);
  compiler->context.appendDialectRegistry(registry);
  compiler->context.loadAllAvailableDialects();
  // Compilation is serialized per compiler; no need for MLIR's thread pool
  // (and the host may be running its own).
  compiler->context.disableMultithreading();
  return compiler;
}

extern "C" void egsCompilerDestroy(EgsCompiler compiler) { delete compiler; }

extern "C" int egsTargetAvailable(const char *target, char **why) {
  StringRef t = target ? target : "cpu";
  if (t == "cpu")
    return 1;
  if (t == "cuda") {
#ifdef EGS_HAVE_NVVM_PIPELINE
    return 1;
#else
    if (why)
      *why = copyString("CUDA target not available in this build (egs was "
                        "built without egs::buildLowerToNVVMPipeline)");
    return 0;
#endif
  }
  if (why)
    *why = copyString("unknown target '" + t.str() + "' (expected cpu or cuda)");
  return 0;
}

extern "C" int egsCompile(EgsCompiler compiler, const char *source,
                          size_t length, const EgsCompileOptions *optionsIn,
                          EgsExecutable *result, char **error) {
  if (result)
    *result = nullptr;
  if (!compiler || !source || !result)
    return fail(error, "egsCompile: null compiler, source or result");
  EgsCompileOptions options = optionsIn ? *optionsIn : egsCompileOptionsDefault();
  StringRef target = options.target ? options.target : "cpu";
  if (options.optLevel < 0 || options.optLevel > 3)
    return fail(error, "optLevel must be in [0, 3], got " +
                           std::to_string(options.optLevel));
  char *why = nullptr;
  if (!egsTargetAvailable(target.str().c_str(), &why)) {
    std::string message = why ? why : "target not available";
    egsFreeString(why);
    return fail(error, message);
  }
  std::vector<std::string> sharedLibs;
  for (int i = 0; i < options.numSharedLibs; ++i)
    sharedLibs.push_back(options.sharedLibs[i]);
  if (target == "cuda") {
    std::string runtime = cudaRuntimeLibrary();
    if (runtime.empty())
      return fail(error, "the egs CUDA runtime (libegs_cuda_runtime.so) was not "
                         "found next to libEGSCAPI; set EGS_CUDA_RUNTIME_LIB");
    sharedLibs.insert(sharedLibs.begin(), runtime);
  }

  std::lock_guard<std::mutex> lock(compiler->mutex);
  MLIRContext &ctx = compiler->context;
  auto exe = std::make_unique<EgsExecutableImpl>();
  exe->target = target.str();
  std::string message;
  OwningOpRef<ModuleOp> module;
  {
    DiagnosticCollector diags(ctx);
    module = parseSourceString<ModuleOp>(StringRef(source, length), &ctx,
                                         "egs-source");
    if (!module)
      return fail(error, "cannot parse the MLIR source: " +
                             diags.take("(no diagnostic)"));
  }
  if (!prepareEntryPoints(*module, *exe, message) ||
      !runPipeline(*module, target, options.pipelineOptions ? options.pipelineOptions : "",
                   message))
    return fail(error, message);
  ExternalSymbols symbols;
  if (!loadSharedLibraries(sharedLibs, target == "cuda", symbols, message) ||
      !checkExternals(*module, symbols, message))
    return fail(error, message);

  std::string cachePath;
  if (loadFromDiskCache(*module, options, sharedLibs, symbols, *exe, cachePath)) {
    *result = exe.release();
    return 0;
  }
  if (!generateCode(*module, options, symbols, cachePath, *exe, message))
    return fail(error, message);
  statistics().compilations++;
  *result = exe.release();
  return 0;
}

extern "C" const char *egsHostCPUName(void) {
  static const std::string name = llvm::sys::getHostCPUName().str();
  return name.c_str();
}
