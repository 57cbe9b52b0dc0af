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

#include "llvm/Object/ELFObjectFile.h"

#include "llvm/ADT/StringSet.h"

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

bool addLibrarySymbols(const std::string &path, void *handle,
                       ExternalSymbols &symbols, std::string &error) {
  // Every function the library exports: calls to the runtime ABI are also
  // made by code that the LLVM IR translation emits (gpu.binary loading,
  // kernel launches), which the MLIR module does not declare.
  auto binary = llvm::object::createBinary(path);
  if (!binary) {
    error = "cannot read " + path + ": " + llvm::toString(binary.takeError());
    return false;
  }
  auto *elf = llvm::dyn_cast<llvm::object::ELFObjectFileBase>(binary->getBinary());
  if (!elf) {
    error = path + " is not an ELF shared library";
    return false;
  }
  for (const llvm::object::ELFSymbolRef &sym : elf->getDynamicSymbolIterators()) {
    auto flags = sym.getFlags();
    auto name = sym.getName();
    if (!flags || !name) {
      if (!flags)
        llvm::consumeError(flags.takeError());
      if (!name)
        llvm::consumeError(name.takeError());
      continue;
    }
    if ((*flags & llvm::object::SymbolRef::SF_Undefined) || name->empty())
      continue;
    if (void *address = ::dlsym(handle, name->str().c_str()))
      symbols.emplace_back(name->str(), address);
  }
  return true;
}

bool checkExternals(mlir::ModuleOp lowered, const ExternalSymbols &symbols,
                    std::string &error) {
  llvm::StringSet<> known;
  for (const auto &entry : symbols)
    known.insert(entry.first);
  std::string missing;
  for (auto fn : lowered.getOps<mlir::LLVM::LLVMFuncOp>()) {
    std::string name = fn.getName().str();
    if (!fn.isExternal() || name == "egsReportIndexError" ||
        name == "egsReportShapeError" || known.contains(name))
      continue;
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
