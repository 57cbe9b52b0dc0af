//===- ObjectCache.cpp - executables from the on-disk object cache --------===//
//
// mlir::ExecutionEngine can dump the object it generated but cannot load one,
// so a cached object goes into a plain LLJIT set up the way the engine sets
// up its own: process symbols (malloc, free, libm), the host runtime and the
// requested shared libraries resolvable.
//
//===----------------------------------------------------------------------===//
#include "Executable.h"

#include "egs/ExecutionEngine/HostRuntime.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cstdlib>
#include <cstring>

using namespace egs::capi;

namespace egs::capi {

llvm::orc::SymbolMap hostRuntimeSymbols(llvm::orc::MangleAndInterner interner) {
  llvm::orc::SymbolMap map;
  map[interner("egsReportIndexError")] = {
      llvm::orc::ExecutorAddr::fromPtr(&egsReportIndexError),
      llvm::JITSymbolFlags::Exported};
  map[interner("egsReportShapeError")] = {
      llvm::orc::ExecutorAddr::fromPtr(&egsReportShapeError),
      llvm::JITSymbolFlags::Exported};
  return map;
}

std::string diskCachePath(llvm::StringRef dir, llvm::StringRef key) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, key + ".o");
  return std::string(path);
}

bool loadCachedObject(llvm::StringRef path, const ExternalSymbols &symbols,
                      Executable &exe, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    error = "cannot read " + path.str() + ": " + buffer.getError().message();
    return false;
  }
  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmBuilder) {
    error = llvm::toString(tmBuilder.takeError());
    return false;
  }
  auto jit = llvm::orc::LLJITBuilder()
                 .setJITTargetMachineBuilder(std::move(*tmBuilder))
                 .create();
  if (!jit) {
    error = llvm::toString(jit.takeError());
    return false;
  }
  llvm::orc::JITDylib &main = (*jit)->getMainJITDylib();
  char prefix = (*jit)->getDataLayout().getGlobalPrefix();
  auto process =
      llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix);
  if (!process) {
    error = llvm::toString(process.takeError());
    return false;
  }
  main.addGenerator(std::move(*process));
  llvm::orc::MangleAndInterner interner(main.getExecutionSession(),
                                        (*jit)->getDataLayout());
  if (llvm::Error e = main.define(llvm::orc::absoluteSymbols(symbolMap(symbols, interner)))) {
    error = llvm::toString(std::move(e));
    return false;
  }
  if (llvm::Error e = (*jit)->addObjectFile(std::move(*buffer))) {
    error = llvm::toString(std::move(e));
    return false;
  }
  for (EntryPoint &entry : exe.entries) {
    auto addr = (*jit)->lookup("_mlir__mlir_ciface_" + entry.name);
    if (!addr) {
      error = llvm::toString(addr.takeError());
      return false;
    }
    entry.packed = addr->toPtr<void (*)(void **)>();
  }
  // The object's initializers (CUDA: the kernels' module load) under the
  // names generateCode gave them; the destructors run with the Executable.
  auto initializers = [&](llvm::StringRef prefix) {
    std::vector<void (*)()> fns;
    for (int i = 0;; ++i) {
      auto addr = (*jit)->lookup((prefix + llvm::Twine(i)).str());
      if (!addr) {
        llvm::consumeError(addr.takeError());
        return fns;
      }
      fns.push_back(addr->toPtr<void (*)()>());
    }
  };
  std::vector<void (*)()> ctors = initializers("egs_ctor_");
  exe.cachedDestructors = initializers("egs_dtor_");
  exe.objectJit = std::move(*jit);
  for (auto ctor : ctors)
    ctor();
  return true;
}

Executable::~Executable() {
  for (auto dtor : cachedDestructors)
    dtor();
}

Statistics &statistics() {
  static Statistics stats;
  return stats;
}

char *copyString(llvm::StringRef message) {
  char *s = static_cast<char *>(std::malloc(message.size() + 1));
  std::memcpy(s, message.data(), message.size());
  s[message.size()] = '\0';
  return s;
}

} // namespace egs::capi

extern "C" void egsFreeString(char *string) { std::free(string); }

extern "C" EgsStatistics egsGetStatistics(void) {
  Statistics &s = statistics();
  return {s.compilations.load(), s.diskCacheLoads.load(), s.invocations.load()};
}
