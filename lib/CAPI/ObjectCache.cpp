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
#include "egs/Version.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/xxhash.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <cstring>
#include <unistd.h>

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

namespace {
constexpr char kEntryMagic[8] = {'E', 'G', 'S', 'O', 'B', 'J', '1', '\n'};
/// magic, payload size, payload xxh3, identity xxh3 (little-endian u64s).
constexpr size_t kHeaderBytes = 8 + 3 * 8;

uint64_t identityHash(llvm::StringRef key) {
  std::string id = std::string("egs " EGS_VERSION_STRING " llvm " LLVM_VERSION_STRING
                               " key ") + key.str();
  return llvm::xxh3_64bits(id);
}

void putU64(std::string &out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t getU64(llvm::StringRef bytes, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= uint64_t(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return v;
}
} // namespace

bool writeCachedObject(llvm::StringRef path, llvm::StringRef key,
                       llvm::StringRef object) {
  std::string entry(kEntryMagic, sizeof(kEntryMagic));
  putU64(entry, object.size());
  putU64(entry, llvm::xxh3_64bits(object));
  putU64(entry, identityHash(key));
  entry += object;
  std::string tmp = path.str() + ".tmp" + std::to_string(::getpid());
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp, ec);
    if (ec)
      return false;
    os << entry;
    os.close();
    if (os.has_error()) {
      os.clear_error();
      llvm::sys::fs::remove(tmp);
      return false;
    }
  }
  if (llvm::sys::fs::rename(tmp, path)) {
    llvm::sys::fs::remove(tmp);
    return false;
  }
  return true;
}

bool loadCachedObject(llvm::StringRef path, llvm::StringRef key,
                      const ExternalSymbols &symbols, Executable &exe,
                      std::string &error) {
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!file) {
    error = "cannot read it: " + file.getError().message();
    return false;
  }
  llvm::StringRef bytes = (*file)->getBuffer();
  if (bytes.size() < kHeaderBytes ||
      !bytes.starts_with(llvm::StringRef(kEntryMagic, sizeof(kEntryMagic)))) {
    error = "not an egs cache entry (bad header)";
    return false;
  }
  uint64_t size = getU64(bytes, 8);
  llvm::StringRef object = bytes.drop_front(kHeaderBytes);
  if (size != object.size()) {
    error = "truncated or extended: " + std::to_string(object.size()) +
            " object bytes, the header says " + std::to_string(size);
    return false;
  }
  if (getU64(bytes, 24) != identityHash(key)) {
    error = "written by another egs or LLVM version, or for another key";
    return false;
  }
  if (getU64(bytes, 16) != llvm::xxh3_64bits(object)) {
    error = "checksum mismatch (the object was modified)";
    return false;
  }
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(object, path);
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
  if (llvm::Error e = (*jit)->addObjectFile(std::move(buffer))) {
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
