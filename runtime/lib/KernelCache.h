//===- KernelCache.h - Loaded modules, kernels and their limits -*- C++ -*-===//
//
// Generated code loads its binary in a global constructor and unloads it in a
// global destructor; an embedder that builds the same program again, or
// several programs sharing a binary, should not pay for the load again. The
// cache keys modules by context and content, and remembers each kernel's
// dynamic shared-memory limit so that launches raise it only once.
//
//===----------------------------------------------------------------------===//

#ifndef EGS_RUNTIME_LIB_KERNELCACHE_H
#define EGS_RUNTIME_LIB_KERNELCACHE_H

#include "DeviceContext.h"

#include <cstddef>
#include <cstdint>

namespace egs::runtime {

/// The module loaded from `image` (`size` bytes of cubin, fatbin or
/// NUL-terminated PTX) in the current context, loading it on first request.
/// `jitOptimizationLevel` < 0 leaves the driver's default. Each call takes a
/// reference that releaseModule drops.
CUmodule acquireModule(const ScopedContext &scope, const void *image,
                       size_t size, int jitOptimizationLevel);

/// Drops a reference taken by acquireModule; the module stays loaded.
void releaseModule(CUmodule module);

/// Unloads modules without references; returns how many.
size_t unloadUnusedModules();

/// The kernel `name` of `module`, looked up once per module.
CUfunction lookupFunction(const ScopedContext &scope, CUmodule module,
                          const char *name);

/// Raises the dynamic shared-memory limit of `function` to `bytes` when the
/// current limit (48 KiB minus static shared memory, by default) is lower.
bool reserveDynamicSharedMemory(const ScopedContext &scope,
                                CUfunction function, int32_t bytes);

} // namespace egs::runtime

#endif // EGS_RUNTIME_LIB_KERNELCACHE_H
