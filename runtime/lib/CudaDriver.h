//===- CudaDriver.h - libcuda, loaded at run time ---------------*- C++ -*-===//
//
// The runtime never links libcuda: it opens it on first use, so that a program
// built with egs starts on a machine without a GPU and says why it cannot run.
//
//===----------------------------------------------------------------------===//

#ifndef EGS_RUNTIME_LIB_CUDADRIVER_H
#define EGS_RUNTIME_LIB_CUDADRIVER_H

#include <cuda.h>

#include <string>

static_assert(CUDA_VERSION >= 12000, "the egs runtime needs CUDA 12 headers");

// cuda.h maps several names to versioned symbols (cuMemAlloc is cuMemAlloc_v2);
// the table and the dlsym names go through the same macros, so each entry gets
// the prototype and the symbol that match.
#define EGS_CUDA_REQUIRED_FUNCTIONS(X)                                         \
  X(cuInit)                                                                    \
  X(cuGetErrorName)                                                            \
  X(cuGetErrorString)                                                          \
  X(cuDeviceGet)                                                               \
  X(cuDeviceGetCount)                                                          \
  X(cuDeviceGetAttribute)                                                      \
  X(cuDevicePrimaryCtxRetain)                                                  \
  X(cuCtxPushCurrent)                                                          \
  X(cuCtxPopCurrent)                                                           \
  X(cuModuleLoadDataEx)                                                        \
  X(cuModuleUnload)                                                            \
  X(cuModuleGetFunction)                                                       \
  X(cuFuncGetAttribute)                                                        \
  X(cuFuncSetAttribute)                                                        \
  X(cuLaunchKernel)                                                            \
  X(cuStreamCreate)                                                            \
  X(cuStreamDestroy)                                                           \
  X(cuStreamSynchronize)                                                       \
  X(cuStreamWaitEvent)                                                         \
  X(cuEventCreate)                                                             \
  X(cuEventDestroy)                                                            \
  X(cuEventSynchronize)                                                        \
  X(cuEventRecord)                                                             \
  X(cuMemAlloc)                                                                \
  X(cuMemAllocManaged)                                                         \
  X(cuMemFree)                                                                 \
  X(cuMemcpy)                                                                  \
  X(cuMemcpyAsync)                                                             \
  X(cuMemsetD16Async)                                                          \
  X(cuMemsetD32Async)                                                          \
  X(cuMemHostRegister)                                                         \
  X(cuMemHostUnregister)                                                       \
  X(cuPointerGetAttribute)

// Newer entry points: resolved when the driver has them, reported when a call
// needs one that is missing.
#define EGS_CUDA_OPTIONAL_FUNCTIONS(X)                                         \
  X(cuMemAllocAsync)                                                           \
  X(cuMemFreeAsync)                                                            \
  X(cuDeviceGetDefaultMemPool)                                                 \
  X(cuMemPoolSetAttribute)                                                     \
  X(cuLaunchKernelEx)                                                          \
  X(cuTensorMapEncodeTiled)

namespace egs::runtime {

/// The driver entry points the runtime uses.
struct CudaDriver {
#define EGS_DECLARE_DRIVER_FUNCTION(fn) decltype(&::fn) fn = nullptr;
  EGS_CUDA_REQUIRED_FUNCTIONS(EGS_DECLARE_DRIVER_FUNCTION)
  EGS_CUDA_OPTIONAL_FUNCTIONS(EGS_DECLARE_DRIVER_FUNCTION)
#undef EGS_DECLARE_DRIVER_FUNCTION
};

/// Opens and initializes libcuda once per process (thread-safe). Returns null
/// and sets `why` when there is no usable driver or device. The library path
/// can be overridden with the EGS_CUDA_LIBRARY environment variable.
const CudaDriver *loadCudaDriver(std::string *why = nullptr);

/// Like loadCudaDriver, but reports "no CUDA device (<why>)" to the error
/// handler on failure.
const CudaDriver *cudaDriverOrReport();

} // namespace egs::runtime

#endif // EGS_RUNTIME_LIB_CUDADRIVER_H
