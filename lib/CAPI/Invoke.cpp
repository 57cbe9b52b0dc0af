//===- Invoke.cpp - calling compiled entry points -------------------------===//
//
// Arguments become memref descriptors {allocated, aligned, offset, sizes,
// strides} passed by pointer, scalars by value, through the packed wrapper of
// the C interface: args[i] points to the i-th argument, and results come back
// through a leading pointer to the result struct (memrefs, several results)
// or a trailing pointer to a scalar.
//
// An index error found by the compiled checks must not return into the code
// that found it (the next access would be out of bounds), so the host
// runtime's handler jumps back to the invocation with the message. The jump
// crosses only JIT-compiled frames, which own no C++ objects; what it skips
// is the runtime's message string and any scratch buffer the kernel had
// allocated (a small leak per error, never a crash).
//
//===----------------------------------------------------------------------===//
#include "Executable.h"

#include "egs/ExecutionEngine/HostRuntime.h"

#include <atomic>
#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>

using namespace egs::capi;

std::atomic<void *> egs::capi::cudaRuntime{nullptr};

namespace {
struct Trap {
  sigjmp_buf env;
  std::string message;
};
thread_local Trap *currentTrap = nullptr;
/// CUDA runtime errors of this thread's current invocation (the CUDA
/// runtime's handler must return, not jump).
thread_local std::string *currentCudaError = nullptr;

void onIndexError(const char *message) {
  if (Trap *trap = currentTrap) {
    trap->message = message;
    siglongjmp(trap->env, 1);
  }
  // Not inside an invocation of ours: keep the runtime's default behaviour.
  std::fprintf(stderr, "%s\n", message);
  std::exit(1);
}

void onCudaError(int, const char *message, void *) {
  if (currentCudaError && currentCudaError->empty())
    *currentCudaError = message;
}

/// Resolves a function of the CUDA runtime once a CUDA program loaded it.
template <typename Fn>
Fn cudaRuntimeFunction(const char *name) {
  void *handle = egs::capi::cudaRuntime.load();
  return handle ? reinterpret_cast<Fn>(::dlsym(handle, name)) : nullptr;
}

/// cudaRuntimeFunction, looked up once per call site (dlsym costs about a
/// microsecond, on every kernel call otherwise). The runtime library is
/// loaded once and never unloaded, so the address stays valid.
template <typename Fn>
Fn cachedRuntimeFunction(std::atomic<Fn> &slot, const char *name) {
  Fn fn = slot.load(std::memory_order_acquire);
  if (!fn && (fn = cudaRuntimeFunction<Fn>(name)))
    slot.store(fn, std::memory_order_release);
  return fn;
}

void installHandlers() {
  static std::once_flag once;
  std::call_once(once, [] { egsSetIndexErrorHandler(onIndexError); });
}

/// Calls `fn`; false (with the message in `trap`) when an index check failed.
bool callTrapped(void (*fn)(void **), void **args, Trap &trap) {
  Trap *outer = currentTrap;
  currentTrap = &trap;
  if (sigsetjmp(trap.env, 0) == 0) {
    fn(args);
    currentTrap = outer;
    return true;
  }
  currentTrap = outer;
  return false;
}

int fail(char **error, const std::string &message) {
  if (error)
    *error = copyString(message);
  return 1;
}

void packDescriptor(const EgsMemRef &m, int64_t *desc) {
  desc[0] = desc[1] = reinterpret_cast<int64_t>(m.data);
  desc[2] = 0;
  int64_t stride = 1;
  for (int r = m.rank - 1; r >= 0; --r) {
    desc[3 + r] = m.sizes[r];
    desc[3 + m.rank + r] = m.strides ? m.strides[r] : stride;
    stride *= m.sizes[r];
  }
}

std::string describe(const EgsValueType &t) {
  if (t.kind != EGS_VALUE_MEMREF)
    return std::string("scalar ") + egsDTypeName(t.dtype);
  std::string s = "memref<";
  for (int d = 0; d < t.rank; ++d)
    s += (t.sizes[d] < 0 ? std::string("?") : std::to_string(t.sizes[d])) + "x";
  return s + egsDTypeName(t.dtype) + ">";
}

/// Checks one argument against the declared type.
bool checkArgument(const EgsValue &v, const EgsValueType &want, int index,
                   const std::string &fn, std::string &error) {
  std::string where = "@" + fn + " argument " + std::to_string(index) + " (" +
                      describe(want) + "): ";
  if (want.kind == EGS_VALUE_MEMREF) {
    if (v.kind != EGS_VALUE_MEMREF) {
      error = where + "expected an array, got a scalar";
      return false;
    }
    const EgsMemRef &m = v.memref;
    if (m.dtype != want.dtype) {
      error = where + "element type " + egsDTypeName(m.dtype) + " does not match";
      return false;
    }
    if (m.rank != want.rank) {
      error = where + "rank " + std::to_string(m.rank) + " does not match";
      return false;
    }
    int64_t dense = 1;
    for (int d = want.rank - 1; d >= 0; --d) {
      if (m.sizes[d] < 0 || (want.sizes[d] >= 0 && m.sizes[d] != want.sizes[d])) {
        error = where + "size " + std::to_string(m.sizes[d]) + " of dim " +
                std::to_string(d) + " does not match";
        return false;
      }
      if (m.strides) {
        int64_t need = want.identityLayout ? dense : want.strides[d];
        bool matters = m.sizes[d] > 1; // a stride of a size-1 dim is never used
        if (matters && need != INT64_MIN && m.strides[d] != need) {
          error = where + "stride " + std::to_string(m.strides[d]) + " of dim " +
                  std::to_string(d) + " must be " + std::to_string(need) +
                  (want.identityLayout ? " (the array must be C-contiguous)" : "");
          return false;
        }
      }
      dense *= m.sizes[d];
    }
    return true;
  }
  if (v.kind == EGS_VALUE_MEMREF) {
    error = where + "expected a scalar, got an array";
    return false;
  }
  return true;
}

void storeScalar(const EgsValue &v, const EgsValueType &t, int64_t *slot) {
  *slot = 0;
  switch (t.dtype) {
  case EGS_DTYPE_F32: {
    float f = static_cast<float>(v.kind == EGS_VALUE_FLOAT ? v.f : double(v.i));
    std::memcpy(slot, &f, sizeof f);
    return;
  }
  case EGS_DTYPE_F64: {
    double d = v.kind == EGS_VALUE_FLOAT ? v.f : double(v.i);
    std::memcpy(slot, &d, sizeof d);
    return;
  }
  default: {
    // Little-endian: the low bytes of the i64 are the narrower integer.
    *slot = v.kind == EGS_VALUE_INT ? v.i : static_cast<int64_t>(v.f);
    if (t.dtype == EGS_DTYPE_I1)
      *slot = *slot != 0;
    return;
  }
  }
}

/// Runs the packed wrapper, with the CUDA stream and error hooks when the
/// executable targets CUDA.
int run(Executable &exe, const EntryPoint &entry, void **args, char **error) {
  installHandlers();
  statistics().invocations++;
  Trap trap;
  if (exe.target != "cuda") {
    if (!callTrapped(entry.packed, args, trap))
      return fail(error, trap.message);
    return 0;
  }
  using ErrorHandler = void (*)(int, const char *, void *);
  using SetHandler = void (*)(ErrorHandler, void *);
  std::string cudaError;
  currentCudaError = &cudaError;
  static std::atomic<SetHandler> setHandler{nullptr};
  if (auto set = cachedRuntimeFunction(setHandler, "egsSetErrorHandler"))
    set(onCudaError, nullptr);
  bool ok = callTrapped(entry.packed, args, trap);
  currentCudaError = nullptr;
  if (!ok)
    return fail(error, trap.message);
  if (!cudaError.empty())
    return fail(error, cudaError);
  return 0;
}
} // namespace

extern "C" void egsExecutableDestroy(EgsExecutable executable) {
  delete executable;
}

extern "C" int egsExecutableFromDiskCache(EgsExecutable executable) {
  return executable->fromDiskCache;
}

extern "C" int egsExecutableGetNumFunctions(EgsExecutable executable) {
  return static_cast<int>(executable->entries.size());
}

extern "C" const char *egsExecutableGetFunctionName(EgsExecutable executable,
                                                    int function) {
  if (function < 0 || function >= egsExecutableGetNumFunctions(executable))
    return nullptr;
  return executable->entries[function].name.c_str();
}

extern "C" int egsExecutableLookupFunction(EgsExecutable executable,
                                           const char *name) {
  for (size_t i = 0; i < executable->entries.size(); ++i)
    if (executable->entries[i].name == name)
      return static_cast<int>(i);
  return -1;
}

extern "C" int egsExecutableGetNumArguments(EgsExecutable executable, int function) {
  return static_cast<int>(executable->entries.at(function).args.size());
}

extern "C" int egsExecutableGetNumResults(EgsExecutable executable, int function) {
  return static_cast<int>(executable->entries.at(function).results.size());
}

extern "C" EgsValueType egsExecutableGetArgumentType(EgsExecutable executable,
                                                     int function, int index) {
  return executable->entries.at(function).args.at(index);
}

extern "C" EgsValueType egsExecutableGetResultType(EgsExecutable executable,
                                                   int function, int index) {
  return executable->entries.at(function).results.at(index);
}

extern "C" int egsExecutableInvoke(EgsExecutable executable, int function,
                                   const EgsValue *argv, int numArgs,
                                   EgsOwnedMemRef *results, int numResults,
                                   char **error) {
  if (!executable || function < 0 ||
      function >= egsExecutableGetNumFunctions(executable))
    return fail(error, "egsExecutableInvoke: no such entry point");
  const EntryPoint &entry = executable->entries[function];
  if (numArgs != static_cast<int>(entry.args.size()))
    return fail(error, "@" + entry.name + " takes " +
                           std::to_string(entry.args.size()) + " arguments, got " +
                           std::to_string(numArgs));
  if (numResults != static_cast<int>(entry.results.size()))
    return fail(error, "@" + entry.name + " returns " +
                           std::to_string(entry.results.size()) +
                           " results, room was given for " +
                           std::to_string(numResults));
  std::string message;
  for (int i = 0; i < numArgs; ++i)
    if (!checkArgument(argv[i], entry.args[i], i, entry.name, message))
      return fail(error, message);

  // One slot per scalar, one descriptor per memref; addresses taken after
  // every vector has its final size.
  size_t words = 0;
  for (const EgsValueType &t : entry.args)
    words += t.kind == EGS_VALUE_MEMREF ? descriptorSize(t.rank) / 8 : 1;
  std::vector<int64_t> storage(words);
  std::vector<void *> pointers(numArgs);
  std::vector<void *> packed;
  size_t resultSize = 0;
  std::vector<size_t> offsets = resultStructLayout(entry.results, resultSize);
  bool scalarResult = entry.results.size() == 1 &&
                      entry.results[0].kind != EGS_VALUE_MEMREF;
  std::vector<int64_t> resultStorage((resultSize + 7) / 8 + 1);
  void *resultPtr = resultStorage.data();
  if (!entry.results.empty() && !scalarResult)
    packed.push_back(&resultPtr);
  size_t w = 0;
  for (int i = 0; i < numArgs; ++i) {
    int64_t *slot = &storage[w];
    if (entry.args[i].kind == EGS_VALUE_MEMREF) {
      packDescriptor(argv[i].memref, slot);
      w += descriptorSize(entry.args[i].rank) / 8;
      pointers[i] = slot;
      packed.push_back(&pointers[i]);
    } else {
      storeScalar(argv[i], entry.args[i], slot);
      w += 1;
      packed.push_back(slot);
    }
  }
  if (scalarResult)
    packed.push_back(resultStorage.data());
  if (int rc = run(*executable, entry, packed.data(), error))
    return rc;

  auto *bytes = reinterpret_cast<char *>(resultStorage.data());
  for (int r = 0; r < numResults; ++r) {
    const EgsValueType &t = entry.results[r];
    EgsOwnedMemRef &out = results[r];
    std::memset(&out, 0, sizeof out);
    out.dtype = t.dtype;
    out.rank = t.rank;
    if (t.kind != EGS_VALUE_MEMREF) {
      // A scalar result comes back in `data`'s bytes, rank 0, no allocation.
      std::memcpy(&out.data, bytes + offsets[r], egsDTypeSize(t.dtype));
      continue;
    }
    auto *desc = reinterpret_cast<int64_t *>(bytes + offsets[r]);
    size_t elem = egsDTypeSize(t.dtype);
    out.allocated = reinterpret_cast<void *>(desc[0]);
    out.data = reinterpret_cast<char *>(desc[1]) + desc[2] * elem;
    for (int d = 0; d < t.rank; ++d) {
      out.sizes[d] = desc[3 + d];
      out.strides[d] = desc[3 + t.rank + d];
    }
  }
  return 0;
}

extern "C" int egsExecutableInvokeMemRefs(EgsExecutable executable, int function,
                                          const EgsMemRef *args, int numArgs,
                                          char **error) {
  if (function < 0 || function >= egsExecutableGetNumFunctions(executable))
    return fail(error, "egsExecutableInvokeMemRefs: no entry point #" +
                           std::to_string(function));
  const EntryPoint &entry = executable->entries[function];
  if (numArgs != static_cast<int>(entry.args.size()) || !entry.results.empty())
    return fail(error, "@" + entry.name + " is not a destination-passing "
                                          "kernel with " +
                           std::to_string(numArgs) + " arguments");
  // The descriptors are packed by the caller's ranks: they must be the
  // kernel's (this hot path checks nothing else; egsExecutableInvoke does).
  for (int i = 0; i < numArgs; ++i)
    if (entry.args[i].kind != EGS_VALUE_MEMREF || args[i].rank != entry.args[i].rank)
      return fail(error, "@" + entry.name + " argument " + std::to_string(i) +
                             ": expected a memref of rank " +
                             std::to_string(entry.args[i].rank) + ", got rank " +
                             std::to_string(args[i].rank));
  constexpr int kMaxArgs = 16;
  if (numArgs > kMaxArgs)
    return fail(error, "egsExecutableInvokeMemRefs: more than 16 arguments");
  int64_t storage[kMaxArgs * (3 + 2 * kMaxRank)];
  void *pointers[kMaxArgs];
  void *packed[kMaxArgs];
  int64_t *slot = storage;
  for (int i = 0; i < numArgs; ++i) {
    if (args[i].rank > kMaxRank)
      return fail(error, "rank above 8");
    packDescriptor(args[i], slot);
    pointers[i] = slot;
    packed[i] = &pointers[i];
    slot += 3 + 2 * args[i].rank;
  }
  return run(*executable, entry, packed, error);
}

extern "C" void egsFreeBuffer(void *allocated) { std::free(allocated); }

extern "C" void egsSetCudaDevice(int ordinal) {
  using SetDevice = void (*)(int32_t);
  static std::atomic<SetDevice> setDevice{nullptr};
  if (auto set = cachedRuntimeFunction(setDevice, "mgpuSetDefaultDevice"))
    set(ordinal);
}

extern "C" void egsSetCudaStream(void *stream) {
  using SetStream = void (*)(void *);
  // Null is the default stream (torch's, unless it runs per-thread default
  // streams): name it CU_STREAM_LEGACY, since a null current stream would
  // make generated code create streams of its own, unordered with the
  // caller's work.
  void *const legacyDefaultStream = reinterpret_cast<void *>(0x1);
  static std::atomic<SetStream> setStream{nullptr};
  if (auto set = cachedRuntimeFunction(setStream, "egsSetCurrentStream"))
    set(stream ? stream : legacyDefaultStream);
}
