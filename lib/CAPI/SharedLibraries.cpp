//===- SharedLibraries.cpp - external symbols of compiled programs --------===//
//
// Libraries a program calls into (the MLIR runner utilities, the egs CUDA
// runtime) are opened RTLD_LOCAL and their functions handed to the JIT by
// address. The JIT's own way (sys::DynamicLibrary, RTLD_GLOBAL) would put
// them and their dependencies -- libLLVM.so, even libMLIR.so -- into the
// process's global scope, where another LLVM in the process (Triton's,
// loaded by torch) would bind to them and crash.
//
//===----------------------------------------------------------------------===//
#include "Executable.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

#include <dlfcn.h>
#include <map>
#include <mutex>

namespace egs::capi {

void *openLocalLibrary(const std::string &path, std::string &error) {
  static std::mutex mutex;
  static std::map<std::string, void *> opened; // kept for the process's life
  std::lock_guard<std::mutex> lock(mutex);
  auto it = opened.find(path);
  if (it != opened.end())
    return it->second;
  void *handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = ::dlerror();
    error = "cannot load " + path + ": " + (why ? why : "unknown error");
    return nullptr;
  }
  opened[path] = handle;
  return handle;
}

bool resolveExternals(mlir::ModuleOp lowered, llvm::ArrayRef<void *> libraries,
                      ExternalSymbols &symbols, std::string &error) {
  std::string missing;
  for (auto fn : lowered.getOps<mlir::LLVM::LLVMFuncOp>()) {
    if (!fn.isExternal())
      continue;
    std::string name = fn.getName().str();
    if (name == "egsReportIndexError")
      continue; // the host runtime, registered by address
    void *address = nullptr;
    for (void *lib : libraries)
      if ((address = ::dlsym(lib, name.c_str())))
        break;
    if (address) {
      symbols.emplace_back(name, address);
      continue;
    }
    if (!::dlsym(RTLD_DEFAULT, name.c_str()))
      missing += (missing.empty() ? "" : ", ") + name;
  }
  if (missing.empty())
    return true;
  error = "the program calls functions that are not defined: " + missing +
          " (for the MLIR runner utilities, such as printMemrefF32 or "
          "memrefCopy, pass their libraries as shared libraries)";
  return false;
}

llvm::orc::SymbolMap symbolMap(const ExternalSymbols &symbols,
                               llvm::orc::MangleAndInterner &interner) {
  llvm::orc::SymbolMap map = hostRuntimeSymbols(interner);
  for (const auto &[name, address] : symbols)
    map[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                           llvm::JITSymbolFlags::Exported};
  return map;
}

} // namespace egs::capi
