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
#include "egs/Target/CUDA/Chip.h"
#include "egs/Version.h"
#ifdef EGS_HAVE_NVVM_PIPELINE
#include "egs/Conversion/EGSToGPU/EGSToGPU.h"
#include "egs/Target/CUDA/Toolkit.h"
#endif

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/Module.h"
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

/// Gives the module's global constructors and destructors (a CUDA program's
/// module load and unload) external names egs_ctor_<i> / egs_dtor_<i>, in
/// the order they run, so that an object loaded from the disk cache, whose
/// initializers no JIT platform runs, can run them itself
/// (runCachedInitializers). They stay in llvm.global_ctors/dtors for the
/// fresh engine, which runs them as before.
static void exposeInitializers(llvm::Module &module) {
  for (auto [array, prefix] : {std::pair{"llvm.global_ctors", "egs_ctor_"},
                               std::pair{"llvm.global_dtors", "egs_dtor_"}}) {
    auto *gv = module.getGlobalVariable(array);
    auto *init = gv ? dyn_cast_or_null<llvm::ConstantArray>(gv->getInitializer())
                    : nullptr;
    if (!init)
      continue;
    std::vector<std::pair<uint64_t, llvm::Function *>> entries;
    for (llvm::Value *op : init->operands()) {
      auto *entry = dyn_cast<llvm::ConstantStruct>(op);
      if (!entry || entry->getNumOperands() < 2)
        continue;
      auto *priority = dyn_cast<llvm::ConstantInt>(entry->getOperand(0));
      auto *fn = dyn_cast<llvm::Function>(entry->getOperand(1)->stripPointerCasts());
      if (priority && fn && !fn->isDeclaration())
        entries.push_back({priority->getZExtValue(), fn});
    }
    // Constructors run by increasing priority, destructors by decreasing.
    std::stable_sort(entries.begin(), entries.end(), [&](auto &a, auto &b) {
      return StringRef(prefix) == "egs_ctor_" ? a.first < b.first
                                              : a.first > b.first;
    });
    for (size_t i = 0; i < entries.size(); ++i) {
      llvm::Function *fn = entries[i].second;
      fn->setName(prefix + std::to_string(i));
      fn->setLinkage(llvm::GlobalValue::ExternalLinkage);
      fn->setVisibility(llvm::GlobalValue::DefaultVisibility);
    }
  }
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
  engineOptions.llvmModuleBuilder =
      [](Operation *op, llvm::LLVMContext &context) -> std::unique_ptr<llvm::Module> {
    std::unique_ptr<llvm::Module> module = translateModuleToLLVMIR(op, context);
    if (module)
      exposeInitializers(*module);
    return module;
  };
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
    // The engine writes its object to a file only: dumped, then wrapped
    // into a checked entry.
    std::string raw = cachePath.str() + ".obj" + std::to_string(::getpid());
    exe.engine->dumpToObjectFile(raw);
    if (auto object = llvm::MemoryBuffer::getFile(raw, false, false))
      writeCachedObject(cachePath, llvm::sys::path::stem(cachePath),
                        (*object)->getBuffer());
    llvm::sys::fs::remove(raw);
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

/// Drops the serializer's timings (ISAToBinaryTimeInMs, ...) from the GPU
/// objects' properties: they differ between two compiles of the same kernels
/// and would make every CUDA cache key new. Nothing reads them later.
static void dropCompileTimings(ModuleOp module) {
  module.walk([](gpu::BinaryOp binary) {
    SmallVector<Attribute> objects;
    for (Attribute a : binary.getObjects()) {
      auto object = dyn_cast<gpu::ObjectAttr>(a);
      DictionaryAttr props = object ? object.getProperties() : nullptr;
      if (!props) {
        objects.push_back(a);
        continue;
      }
      SmallVector<NamedAttribute> kept;
      for (NamedAttribute p : props)
        if (!p.getName().getValue().ends_with("TimeInMs"))
          kept.push_back(p);
      objects.push_back(gpu::ObjectAttr::get(
          object.getContext(), object.getTarget(), object.getFormat(),
          object.getObject(),
          kept.empty() ? DictionaryAttr()
                       : DictionaryAttr::get(object.getContext(), kept),
          object.getKernels()));
    }
    binary.setObjectsAttr(ArrayAttr::get(binary.getContext(), objects));
  });
}

/// The key text of a host program: its lowered module (so a new compiler
/// that lowers differently never reuses an old object).
static std::string loweredKeyText(ModuleOp module) {
  dropCompileTimings(module);
  std::string ir;
  llvm::raw_string_ostream os(ir);
  module->print(os, OpPrintingFlags().enableDebugInfo(false));
  return ir;
}

/// The key text of a CUDA program, known before its (slow) pipeline runs:
/// the source, the pipeline options, and the identity (path, size, mtime)
/// of what turns them into code: this library and the ptxas it would run.
static std::string sourceKeyText(StringRef source, StringRef pipelineOptions) {
  static const std::string tools = [] {
    std::string id;
    auto stamp = [&](StringRef path) {
      llvm::sys::fs::file_status st;
      if (llvm::sys::fs::status(path, st))
        return;
      id += path.str() + ":" + std::to_string(st.getSize()) + ":" +
            std::to_string(st.getLastModificationTime().time_since_epoch().count()) +
            "\n";
    };
    Dl_info info;
    if (dladdr(reinterpret_cast<void *>(&egsCompile), &info) && info.dli_fname)
      stamp(info.dli_fname);
#ifdef EGS_HAVE_NVVM_PIPELINE
    if (auto dir = egs::cuda::findToolkitWith("ptxas")) {
      llvm::SmallString<256> ptxas(*dir);
      llvm::sys::path::append(ptxas, "bin", "ptxas");
      stamp(ptxas);
    }
#endif
    return id;
  }();
  return "source\n" + tools + "options: " + pipelineOptions.str() + "\n" +
         source.str();
}

/// Loads the object keyed by `keyText` from the disk cache when it is there;
/// otherwise sets `cachePath` to where the new object goes ("" for none: no
/// cache directory).
static bool loadFromDiskCache(std::string keyText, const EgsCompileOptions &options,
                              ArrayRef<std::string> libs,
                              const ExternalSymbols &symbols, Executable &exe,
                              std::string &cachePath) {
  cachePath.clear();
  if (!options.cacheDir || !*options.cacheDir)
    return false;
  for (const std::string &l : libs)
    keyText += "\n;lib " + l;
  std::string path = diskCachePath(options.cacheDir,
                                   hashKey(keyText, exe.target, options.optLevel));
  if (llvm::sys::fs::exists(path)) {
    std::string loadError;
    if (loadCachedObject(path, llvm::sys::path::stem(path), symbols, exe,
                         loadError)) {
      exe.fromDiskCache = true;
      statistics().diskCacheLoads++;
      return true;
    }
    // A corrupt or foreign entry: drop it and compile afresh.
    llvm::errs() << "egs: warning: dropping disk-cache entry " << path << " ("
                 << loadError << "); compiling again\n";
    llvm::sys::fs::remove(path);
    exe.objectJit.reset();
    exe.cachedDestructors.clear();
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

/// Whether the egs CUDA runtime finds a driver and a device (it loads
/// libcuda itself), with the reason when not.
static bool cudaDeviceAvailable(std::string &why) {
  std::string runtime = cudaRuntimeLibrary();
  if (runtime.empty()) {
    why = "the egs CUDA runtime (libegs_cuda_runtime.so) was not found next to "
          "libEGSCAPI; set EGS_CUDA_RUNTIME_LIB";
    return false;
  }
  void *handle = egs::capi::openLocalLibrary(runtime, why);
  if (!handle)
    return false;
  using Probe = int (*)(char *, size_t);
  auto probe = reinterpret_cast<Probe>(::dlsym(handle, "egsCudaAvailable"));
  if (!probe) {
    why = runtime + " has no egsCudaAvailable (a runtime of another egs build?)";
    return false;
  }
  char reason[512] = {0};
  if (probe(reason, sizeof(reason)))
    return true;
  why = std::string("no CUDA device: ") + reason;
  return false;
}

extern "C" int egsTargetAvailable(const char *target, char **why) {
  StringRef t = target ? target : "cpu";
  if (t == "cpu")
    return 1;
  if (t == "cuda") {
#ifdef EGS_HAVE_NVVM_PIPELINE
    // Programs load their kernels when they are loaded: without a driver
    // and a device that would end the process, so say so here instead.
    std::string reason;
    if (cudaDeviceAvailable(reason))
      return 1;
    if (why)
      *why = copyString(reason);
    return 0;
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
#ifdef EGS_HAVE_NVVM_PIPELINE
  // Bad GPU options are reported as such, before (and whether or not) a
  // device is there.
  if (target == "cuda") {
    egs::LowerToNVVMOptions nvvm;
    std::string optionErrors;
    llvm::raw_string_ostream optionStream(optionErrors);
    if (failed(nvvm.parseFromString(options.pipelineOptions ? options.pipelineOptions : "",
                                    optionStream)))
      return fail(error, "bad pipeline options '" +
                             std::string(options.pipelineOptions) +
                             "' for target cuda: " + optionErrors);
    if (llvm::Error e = egs::cuda::checkOptions(nvvm.chip, nvvm.features, nvvm.format,
                                                nvvm.optLevel))
      return fail(error, "egs-lower-to-nvvm: " + llvm::toString(std::move(e)));
  }
#endif
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
  StringRef pipelineOptions = options.pipelineOptions ? options.pipelineOptions : "";
  bool cuda = target == "cuda";
  ExternalSymbols symbols;
  if (!prepareEntryPoints(*module, *exe, message) ||
      !loadSharedLibraries(sharedLibs, cuda, symbols, message))
    return fail(error, message);
  // CUDA: the pipeline (NVPTX code generation, ptxas) is most of a compile,
  // so the cache is looked up by source before it runs; host programs by
  // their lowered module, after their fast pipeline.
  std::string cachePath;
  auto fromCache = [&](std::string keyText) {
    if (!loadFromDiskCache(std::move(keyText), options, sharedLibs, symbols,
                           *exe, cachePath))
      return false;
    *result = exe.release();
    return true;
  };
  if (cuda && fromCache(sourceKeyText(StringRef(source, length), pipelineOptions)))
    return 0;
  std::string cudaCachePath = cachePath;
  if (!runPipeline(*module, target, pipelineOptions, message) ||
      !checkExternals(*module, symbols, message))
    return fail(error, message);
  if (!cuda && fromCache(loweredKeyText(*module)))
    return 0;
  if (cuda)
    cachePath = cudaCachePath;
  if (!generateCode(*module, options, symbols, cachePath, *exe, message))
    return fail(error, message);
  statistics().compilations++;
  *result = exe.release();
  return 0;
}

extern "C" const char *egsVersion(void) { return EGS_VERSION_STRING; }

extern "C" const char *egsHostCPUName(void) {
  static const std::string name = llvm::sys::getHostCPUName().str();
  return name.c_str();
}
