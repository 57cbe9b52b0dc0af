//===- Executable.h - internals of the egs C API ----------------*- C++ -*-===//
//
// What an EgsExecutable holds: the JIT that owns the code (a fresh
// mlir::ExecutionEngine, or an LLJIT over an object from the disk cache) and,
// per entry point, its signature as declared before lowering and the packed
// `_mlir__mlir_ciface_<name>` wrapper to call it through.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_CAPI_EXECUTABLE_H
#define EGS_LIB_CAPI_EXECUTABLE_H

#include "egs-c/EGS.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mlir {
class ModuleOp;
class Type;
namespace func {
class FuncOp;
} // namespace func
} // namespace mlir

namespace egs::capi {

/// Largest memref rank the C API passes (EgsOwnedMemRef has 8 sizes).
constexpr int kMaxRank = 8;

struct EntryPoint {
  std::string name;
  std::vector<EgsValueType> args;
  std::vector<EgsValueType> results;
  /// The packed wrapper: args[i] points to the i-th C-interface argument.
  void (*packed)(void **) = nullptr;
};

/// Reads an entry point's signature; fails (with `error`) on types the C API
/// cannot pass (unranked memrefs, vectors, complex, rank > kMaxRank, ...).
bool describeEntryPoint(mlir::func::FuncOp func, EntryPoint &entry,
                        std::string &error);

/// Byte offsets of each result inside the C-interface result struct, and the
/// struct's size (natural alignment, as LLVM lays out the struct).
std::vector<size_t> resultStructLayout(const std::vector<EgsValueType> &results,
                                       size_t &size);

/// Size of the memref descriptor {allocated, aligned, offset, sizes, strides}.
inline size_t descriptorSize(int rank) { return 24 + 16 * size_t(rank); }

/// Owns the loaded code. Exactly one of the two JITs is set.
struct Executable {
  Executable() = default;
  Executable(const Executable &) = delete;
  Executable &operator=(const Executable &) = delete;
  /// Runs cachedDestructors; the JITs then free the code.
  ~Executable();

  std::unique_ptr<mlir::ExecutionEngine> engine;
  std::unique_ptr<llvm::orc::LLJIT> objectJit;
  std::vector<EntryPoint> entries;
  std::string target;
  bool fromDiskCache = false;
  /// An object from the disk cache: its global destructors (CUDA: the
  /// kernels' module unload), which no JIT platform runs for it.
  std::vector<void (*)()> cachedDestructors;
};

/// Functions a lowered program calls, by name and address.
using ExternalSymbols = std::vector<std::pair<std::string, void *>>;

/// dlopen(RTLD_LOCAL), once per path for the life of the process.
void *openLocalLibrary(const std::string &path, std::string &error);

/// Adds every function and variable the library at `path` (opened as
/// `handle`) exports.
bool addLibrarySymbols(const std::string &path, void *handle,
                       ExternalSymbols &symbols, std::string &error);

/// Fails naming the external functions of `lowered` found neither in
/// `symbols` nor in the process.
bool checkExternals(mlir::ModuleOp lowered, const ExternalSymbols &symbols,
                    std::string &error);

/// The host runtime plus `symbols`, for the JIT.
llvm::orc::SymbolMap symbolMap(const ExternalSymbols &symbols,
                               llvm::orc::MangleAndInterner &interner);

/// The egs CUDA runtime's handle once a CUDA program has loaded it.
extern std::atomic<void *> cudaRuntime;

/// Object-code cache on disk, keyed by a hash of the lowered LLVM IR. A
/// program's global constructors and destructors (CUDA: the kernels' module
/// load and unload) are exported as egs_ctor_<i> / egs_dtor_<i>, which
/// loadCachedObject runs, since no JIT platform runs an object's own.
std::string diskCachePath(llvm::StringRef dir, llvm::StringRef key);
/// An entry is a header (magic, the payload's size and xxh3 hash, and the
/// hash of the identity: egs and LLVM versions and the entry's key) and the
/// object. Writes `object` as the entry `path` (a unique temporary name,
/// then a rename: readers never see a partial entry); false on failure.
bool writeCachedObject(llvm::StringRef path, llvm::StringRef key,
                       llvm::StringRef object);
/// Checks the entry `path` (header, identity, checksum) and loads its object
/// into a fresh LLJIT with the host runtime and `symbols` resolvable, filling
/// `exe.objectJit` and each entry's `packed` pointer. A damaged or foreign
/// entry is refused before any of it reaches the JIT (`error` says why).
bool loadCachedObject(llvm::StringRef path, llvm::StringRef key,
                      const ExternalSymbols &symbols, Executable &exe,
                      std::string &error);

/// Host symbols every compiled program may call (egsReportIndexError,
/// egsReportShapeError).
llvm::orc::SymbolMap hostRuntimeSymbols(llvm::orc::MangleAndInterner interner);

/// Global counters behind egsGetStatistics.
struct Statistics {
  std::atomic<int64_t> compilations{0};
  std::atomic<int64_t> diskCacheLoads{0};
  std::atomic<int64_t> invocations{0};
};
Statistics &statistics();

/// Copies `message` into a malloc'ed string for the C caller.
char *copyString(llvm::StringRef message);

} // namespace egs::capi

struct EgsExecutableImpl : egs::capi::Executable {};

struct EgsCompilerImpl {
  mlir::MLIRContext context;
  std::mutex mutex;
};

#endif // EGS_LIB_CAPI_EXECUTABLE_H
