//===- CudaRuntime.h - egs extensions to the MLIR GPU runtime ---*- C -*-===//
//
// The C API that egs adds on top of the MLIR GPU runtime ABI (GpuRuntimeAbi.h)
// so that an embedder (a Python extension, a host program) can ask whether a
// device exists, route generated code onto its own stream, and turn runtime
// errors into its own diagnostics instead of an abort.
//
//===----------------------------------------------------------------------===//

#ifndef EGS_RUNTIME_CUDARUNTIME_H
#define EGS_RUNTIME_CUDARUNTIME_H

#include <stddef.h>

#if defined(_WIN32)
#define EGS_RUNTIME_EXPORT __declspec(dllexport)
#else
#define EGS_RUNTIME_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/// The error code passed to the error handler when no usable CUDA driver or
/// device exists. Every other code is the CUresult of the failed driver call.
enum { EGS_CUDA_ERROR_NO_DEVICE = -1 };

/// Receives every runtime error. `message` reads "egs runtime: ..." and names
/// the driver call that failed. A handler that returns lets the failing ABI
/// call return a null handle or do nothing; it must not unwind (C++ exceptions
/// cannot cross the JIT-compiled frames above it) and must not call back into
/// the runtime.
typedef void (*EgsCudaErrorHandler)(int code, const char *message,
                                    void *userData);

/// Returns 1 when libcuda loads, initializes and reports at least one device;
/// otherwise returns 0 and writes the reason to `why` (if not null) as a
/// NUL-terminated string of at most `n` bytes. Never reports an error.
EGS_RUNTIME_EXPORT int egsCudaAvailable(char *why, size_t n);

/// Sets the calling thread's current stream (a CUstream; null clears it).
/// While set, ABI calls given a null stream use it, and mgpuStreamCreate hands
/// it out instead of creating a stream (mgpuStreamDestroy then leaves it
/// alone), so everything generated code enqueues is ordered with the
/// embedder's own work on that stream. The stream must belong to the primary
/// context of the default device (see mgpuSetDefaultDevice).
EGS_RUNTIME_EXPORT void egsSetCurrentStream(void *cuStream);

/// The calling thread's current stream, or null.
EGS_RUNTIME_EXPORT void *egsGetCurrentStream(void);

/// Installs `handler` for all threads; null restores the default handler,
/// which prints the message to stderr and aborts (or, for
/// EGS_CUDA_ERROR_NO_DEVICE, exits with status 1).
EGS_RUNTIME_EXPORT void egsSetErrorHandler(EgsCudaErrorHandler handler,
                                           void *userData);

/// Unloads the cached modules that no loaded program references any more
/// (mgpuModuleUnload only drops a reference, so that reloading the same
/// binary is free) and returns how many were unloaded.
EGS_RUNTIME_EXPORT size_t egsCudaReleaseUnusedModules(void);

#ifdef __cplusplus
} // extern "C"
#endif

#endif // EGS_RUNTIME_CUDARUNTIME_H
