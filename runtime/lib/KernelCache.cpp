//===- KernelCache.cpp - Loaded modules, kernels and their limits ---------===//

#include "KernelCache.h"

#include "Diagnostics.h"
#include "egs/Runtime/CudaRuntime.h"

#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace egs::runtime {
namespace {

struct LoadedModule {
  CUcontext context = nullptr;
  int jitOptimizationLevel = -1;
  std::string image; // Compared on lookup: a hash match alone is not proof.
  CUmodule module = nullptr;
  int references = 0;
  std::unordered_map<std::string, CUfunction> functions;
  /// The same image loaded in other contexts (other devices), each holding
  /// one reference taken when a kernel of this module first ran there.
  std::unordered_map<CUcontext, CUmodule> siblings;
};

struct KernelCache {
  // Loading may JIT-compile for seconds; launches only need `limitMutex`.
  std::mutex moduleMutex;
  std::unordered_multimap<uint64_t, LoadedModule *> byContent;
  std::unordered_map<CUmodule, std::unique_ptr<LoadedModule>> byHandle;

  std::mutex limitMutex;
  std::unordered_map<CUfunction, int32_t> dynamicSharedLimit;
};

KernelCache &kernelCache() {
  // Leaked on purpose: global destructors of generated code unload modules.
  static KernelCache *cache = new KernelCache;
  return *cache;
}

uint64_t fingerprint(const char *bytes, size_t size) {
  uint64_t hash = 14695981039346656037ull; // FNV-1a
  for (size_t i = 0; i < size; ++i)
    hash = (hash ^ static_cast<unsigned char>(bytes[i])) * 1099511628211ull;
  return hash;
}

// Loads through cuModuleLoadDataEx so that a PTX image that fails to compile
// is reported with the JIT's own log.
CUmodule loadImage(const CudaDriver &cu, const void *image,
                   int jitOptimizationLevel) {
  char log[8192] = {};
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                   CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {log, reinterpret_cast<void *>(sizeof(log)),
                    reinterpret_cast<void *>(intptr_t(jitOptimizationLevel))};
  unsigned count = jitOptimizationLevel < 0 ? 2 : 3;
  CUmodule module = nullptr;
  CUresult result =
      cu.cuModuleLoadDataEx(&module, image, count, options, values);
  if (result != CUDA_SUCCESS) {
    reportCudaError(result, "cuModuleLoadDataEx",
                    log[0] ? std::string("JIT log: ") + log : std::string());
    return nullptr;
  }
  return module;
}

} // namespace

namespace {
/// acquireModule with `moduleMutex` held.
CUmodule acquireLocked(KernelCache &cache, const ScopedContext &scope,
                       const char *bytes, size_t size,
                       int jitOptimizationLevel) {
  uint64_t key = fingerprint(bytes, size);
  auto [first, last] = cache.byContent.equal_range(key);
  for (auto it = first; it != last; ++it) {
    LoadedModule &loaded = *it->second;
    if (loaded.context == scope.context() &&
        loaded.jitOptimizationLevel == jitOptimizationLevel &&
        loaded.image.size() == size &&
        std::memcmp(loaded.image.data(), bytes, size) == 0) {
      ++loaded.references;
      return loaded.module;
    }
  }

  CUmodule module = loadImage(scope.cu(), bytes, jitOptimizationLevel);
  if (!module)
    return nullptr;
  auto loaded = std::make_unique<LoadedModule>();
  loaded->context = scope.context();
  loaded->jitOptimizationLevel = jitOptimizationLevel;
  loaded->image.assign(bytes, size);
  loaded->module = module;
  loaded->references = 1;
  cache.byContent.emplace(key, loaded.get());
  cache.byHandle.emplace(module, std::move(loaded));
  return module;
}

/// Drops one reference with `moduleMutex` held; the last one also drops the
/// module's siblings in other contexts.
void releaseLocked(KernelCache &cache, CUmodule module) {
  auto it = cache.byHandle.find(module);
  if (it == cache.byHandle.end() || it->second->references == 0)
    return;
  if (--it->second->references == 0) {
    auto siblings = std::move(it->second->siblings);
    it->second->siblings.clear();
    for (auto &sibling : siblings)
      releaseLocked(cache, sibling.second);
  }
}
} // namespace

CUmodule acquireModule(const ScopedContext &scope, const void *image,
                       size_t size, int jitOptimizationLevel) {
  if (!image || size == 0) {
    reportError(CUDA_ERROR_INVALID_IMAGE,
                "egs runtime: mgpuModuleLoad got an empty image");
    return nullptr;
  }
  KernelCache &cache = kernelCache();
  std::lock_guard<std::mutex> lock(cache.moduleMutex);
  return acquireLocked(cache, scope, static_cast<const char *>(image), size,
                       jitOptimizationLevel);
}

void releaseModule(CUmodule module) {
  KernelCache &cache = kernelCache();
  std::lock_guard<std::mutex> lock(cache.moduleMutex);
  releaseLocked(cache, module);
}

size_t unloadUnusedModules() {
  const CudaDriver *cu = loadCudaDriver();
  if (!cu)
    return 0;
  KernelCache &cache = kernelCache();
  std::lock_guard<std::mutex> moduleLock(cache.moduleMutex);
  std::lock_guard<std::mutex> limitLock(cache.limitMutex);
  size_t unloaded = 0;
  for (auto it = cache.byHandle.begin(); it != cache.byHandle.end();) {
    LoadedModule &loaded = *it->second;
    if (loaded.references > 0) {
      ++it;
      continue;
    }
    // The driver may hand out the same CUfunction values for a later module.
    for (const auto &function : loaded.functions)
      cache.dynamicSharedLimit.erase(function.second);
    for (auto entry = cache.byContent.begin(); entry != cache.byContent.end();
         ++entry) {
      if (entry->second == &loaded) {
        cache.byContent.erase(entry);
        break;
      }
    }
    // A module is unloaded from its own context, which may not be current.
    if (EGS_CU(*cu, cuCtxPushCurrent, loaded.context)) {
      EGS_CU(*cu, cuModuleUnload, loaded.module);
      EGS_CU(*cu, cuCtxPopCurrent, nullptr);
    }
    it = cache.byHandle.erase(it);
    ++unloaded;
  }
  return unloaded;
}

CUfunction lookupFunction(const ScopedContext &scope, CUmodule module,
                          const char *name) {
  if (!name) {
    reportError(CUDA_ERROR_INVALID_VALUE,
                "egs runtime: mgpuModuleGetFunction got a null kernel name");
    return nullptr;
  }
  KernelCache &cache = kernelCache();
  std::lock_guard<std::mutex> lock(cache.moduleMutex);
  auto loaded = cache.byHandle.find(module);
  if (loaded != cache.byHandle.end() &&
      loaded->second->context != scope.context()) {
    // The program loaded its binary in another device's context (where its
    // constructor ran); on this device it runs the same image loaded here.
    // The copy belongs to this module alone (not findable by content), so
    // two programs' modules never hold each other and both can unload.
    LoadedModule &origin = *loaded->second;
    auto sibling = origin.siblings.find(scope.context());
    if (sibling == origin.siblings.end()) {
      CUmodule here = loadImage(scope.cu(), origin.image.data(),
                                origin.jitOptimizationLevel);
      if (!here)
        return nullptr;
      auto copy = std::make_unique<LoadedModule>();
      copy->context = scope.context();
      copy->jitOptimizationLevel = origin.jitOptimizationLevel;
      copy->module = here;
      copy->references = 1;
      cache.byHandle.emplace(here, std::move(copy));
      sibling = origin.siblings.emplace(scope.context(), here).first;
    }
    module = sibling->second;
    loaded = cache.byHandle.find(module);
  }
  if (loaded != cache.byHandle.end()) {
    auto known = loaded->second->functions.find(name);
    if (known != loaded->second->functions.end())
      return known->second;
  }
  CUfunction function = nullptr;
  CUresult result = scope.cu().cuModuleGetFunction(&function, module, name);
  if (result != CUDA_SUCCESS) {
    reportCudaError(result, "cuModuleGetFunction",
                    std::string("kernel '") + name + "'");
    return nullptr;
  }
  if (loaded != cache.byHandle.end())
    loaded->second->functions.emplace(name, function);
  return function;
}

bool reserveDynamicSharedMemory(const ScopedContext &scope,
                                CUfunction function, int32_t bytes) {
  if (bytes <= 0)
    return true;
  const CudaDriver &cu = scope.cu();
  KernelCache &cache = kernelCache();
  std::lock_guard<std::mutex> lock(cache.limitMutex);
  auto limit = cache.dynamicSharedLimit.find(function);
  if (limit == cache.dynamicSharedLimit.end()) {
    int current = 0;
    if (!EGS_CU(cu, cuFuncGetAttribute, &current,
                CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, function))
      return false;
    limit = cache.dynamicSharedLimit.emplace(function, current).first;
  }
  if (bytes <= limit->second)
    return true;

  CUresult result = cu.cuFuncSetAttribute(
      function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
  if (result != CUDA_SUCCESS) {
    int staticBytes = 0, deviceMax = 0;
    cu.cuFuncGetAttribute(&staticBytes, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES,
                          function);
    cu.cuDeviceGetAttribute(
        &deviceMax, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
        scope.device());
    reportCudaError(result, "cuFuncSetAttribute",
                    "the kernel asks for " + std::to_string(bytes) +
                        " bytes of dynamic shared memory beside " +
                        std::to_string(staticBytes) +
                        " static; the device allows " +
                        std::to_string(deviceMax) + " per block");
    return false;
  }
  limit->second = bytes;
  return true;
}

} // namespace egs::runtime

extern "C" size_t egsCudaReleaseUnusedModules(void) {
  return egs::runtime::unloadUnusedModules();
}
