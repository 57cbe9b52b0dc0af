//===- CudaDriverApi.h - The part of cuda.h the runtime uses ----*- C++ -*-===//
//
// Declared here rather than taken from cuda.h so that the runtime builds
// without a CUDA toolkit: it only needs a driver when it runs. Where cuda.h is
// installed, CudaDriverApiCheck.cpp proves at compile time that every value,
// layout and prototype below matches it.
//
// Enumerations are plain ints (each is int-sized in cuda.h); handles are the
// struct pointers cuda.h uses, so they agree with GpuRuntimeAbi.h.
//
//===----------------------------------------------------------------------===//

#ifndef EGS_RUNTIME_LIB_CUDADRIVERAPI_H
#define EGS_RUNTIME_LIB_CUDADRIVERAPI_H

#include <cstddef>
#include <cstdint>

struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUevent_st;
struct CUmemPoolHandle_st;

namespace egs::runtime {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = CUctx_st *;
using CUmodule = CUmod_st *;
using CUfunction = CUfunc_st *;
using CUstream = CUstream_st *;
using CUevent = CUevent_st *;
using CUmemoryPool = CUmemPoolHandle_st *;

// name, value in cuda.h
#define EGS_CUDA_CONSTANTS(X)                                                  \
  X(CUDA_SUCCESS, 0)                                                           \
  X(CUDA_ERROR_INVALID_VALUE, 1)                                               \
  X(CUDA_ERROR_INVALID_IMAGE, 200)                                             \
  X(CUDA_ERROR_NOT_FOUND, 500)                                                 \
  X(CUDA_ERROR_NOT_SUPPORTED, 801)                                             \
  X(CU_STREAM_NON_BLOCKING, 1)                                                 \
  X(CU_EVENT_DISABLE_TIMING, 2)                                                \
  X(CU_MEM_ATTACH_GLOBAL, 1)                                                   \
  X(CU_POINTER_ATTRIBUTE_IS_MANAGED, 8)                                        \
  X(CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, 4)                                      \
  X(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, 97)                 \
  X(CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, 1)                                    \
  X(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 8)                        \
  X(CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 14)                   \
  X(CU_JIT_ERROR_LOG_BUFFER, 5)                                                \
  X(CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, 6)                                     \
  X(CU_JIT_OPTIMIZATION_LEVEL, 7)                                              \
  X(CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION, 4)

#define EGS_DEFINE_CUDA_CONSTANT(name, value) constexpr int name = value;
EGS_CUDA_CONSTANTS(EGS_DEFINE_CUDA_CONSTANT)
#undef EGS_DEFINE_CUDA_CONSTANT

struct CUlaunchAttribute {
  int id;
  char pad[4];
  union alignas(8) {
    char pad[64];
    struct {
      unsigned int x, y, z;
    } clusterDim;
  } value;
};

struct CUlaunchConfig {
  unsigned int gridDimX, gridDimY, gridDimZ;
  unsigned int blockDimX, blockDimY, blockDimZ;
  unsigned int sharedMemBytes;
  CUstream hStream;
  CUlaunchAttribute *attrs;
  unsigned int numAttrs;
};

struct alignas(128) CUtensorMap {
  uint64_t opaque[16];
};

/// The prototypes, named after the exported symbol (cuda.h maps several
/// names to a versioned symbol: cuMemAlloc is cuMemAlloc_v2).
namespace driver_types {
using cuInit = CUresult(unsigned int flags);
using cuGetErrorName = CUresult(CUresult error, const char **name);
using cuGetErrorString = CUresult(CUresult error, const char **text);
using cuDeviceGet = CUresult(CUdevice *device, int ordinal);
using cuDeviceGetCount = CUresult(int *count);
using cuDeviceGetAttribute = CUresult(int *value, int attribute,
                                      CUdevice device);
using cuDevicePrimaryCtxRetain = CUresult(CUcontext *context, CUdevice device);
using cuCtxPushCurrent_v2 = CUresult(CUcontext context);
using cuCtxPopCurrent_v2 = CUresult(CUcontext *context);
using cuCtxGetCurrent = CUresult(CUcontext *context);
using cuModuleLoadDataEx = CUresult(CUmodule *module, const void *image,
                                    unsigned int numOptions, int *options,
                                    void **optionValues);
using cuModuleUnload = CUresult(CUmodule module);
using cuModuleGetFunction = CUresult(CUfunction *function, CUmodule module,
                                     const char *name);
using cuFuncGetAttribute = CUresult(int *value, int attribute,
                                    CUfunction function);
using cuFuncSetAttribute = CUresult(CUfunction function, int attribute,
                                    int value);
using cuFuncGetName = CUresult(const char **name, CUfunction function);
using cuLaunchKernel = CUresult(CUfunction function, unsigned int gridX,
                                unsigned int gridY, unsigned int gridZ,
                                unsigned int blockX, unsigned int blockY,
                                unsigned int blockZ, unsigned int sharedBytes,
                                CUstream stream, void **params, void **extra);
using cuLaunchKernelEx = CUresult(const CUlaunchConfig *config,
                                  CUfunction function, void **params,
                                  void **extra);
using cuStreamCreate = CUresult(CUstream *stream, unsigned int flags);
using cuStreamDestroy_v2 = CUresult(CUstream stream);
using cuStreamSynchronize = CUresult(CUstream stream);
using cuStreamWaitEvent = CUresult(CUstream stream, CUevent event,
                                   unsigned int flags);
using cuEventCreate = CUresult(CUevent *event, unsigned int flags);
using cuEventDestroy_v2 = CUresult(CUevent event);
using cuEventSynchronize = CUresult(CUevent event);
using cuEventRecord = CUresult(CUevent event, CUstream stream);
using cuMemAlloc_v2 = CUresult(CUdeviceptr *ptr, size_t bytes);
using cuMemAllocManaged = CUresult(CUdeviceptr *ptr, size_t bytes,
                                   unsigned int flags);
using cuMemAllocAsync = CUresult(CUdeviceptr *ptr, size_t bytes,
                                 CUstream stream);
using cuMemFree_v2 = CUresult(CUdeviceptr ptr);
using cuMemFreeAsync = CUresult(CUdeviceptr ptr, CUstream stream);
using cuMemcpy = CUresult(CUdeviceptr dst, CUdeviceptr src, size_t bytes);
using cuMemcpyAsync = CUresult(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                               CUstream stream);
using cuMemsetD16Async = CUresult(CUdeviceptr dst, unsigned short value,
                                  size_t count, CUstream stream);
using cuMemsetD32Async = CUresult(CUdeviceptr dst, unsigned int value,
                                  size_t count, CUstream stream);
using cuMemHostRegister_v2 = CUresult(void *ptr, size_t bytes,
                                      unsigned int flags);
using cuMemHostUnregister = CUresult(void *ptr);
using cuPointerGetAttribute = CUresult(void *data, int attribute,
                                       CUdeviceptr ptr);
using cuDeviceGetDefaultMemPool = CUresult(CUmemoryPool *pool,
                                           CUdevice device);
using cuMemPoolSetAttribute = CUresult(CUmemoryPool pool, int attribute,
                                       void *value);
using cuTensorMapEncodeTiled = CUresult(
    CUtensorMap *tensorMap, int dataType, uint32_t rank, void *globalAddress,
    const uint64_t *globalDim, const uint64_t *globalStrides,
    const uint32_t *boxDim, const uint32_t *elementStrides, int interleave,
    int swizzle, int l2Promotion, int oobFill);
} // namespace driver_types

} // namespace egs::runtime

// name, exported symbol
#define EGS_CUDA_REQUIRED_FUNCTIONS(X)                                         \
  X(cuInit, cuInit)                                                            \
  X(cuGetErrorName, cuGetErrorName)                                            \
  X(cuGetErrorString, cuGetErrorString)                                        \
  X(cuDeviceGet, cuDeviceGet)                                                  \
  X(cuDeviceGetCount, cuDeviceGetCount)                                        \
  X(cuDeviceGetAttribute, cuDeviceGetAttribute)                                \
  X(cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRetain)                        \
  X(cuCtxPushCurrent, cuCtxPushCurrent_v2)                                     \
  X(cuCtxPopCurrent, cuCtxPopCurrent_v2)                                       \
  X(cuCtxGetCurrent, cuCtxGetCurrent)                                          \
  X(cuModuleLoadDataEx, cuModuleLoadDataEx)                                    \
  X(cuModuleUnload, cuModuleUnload)                                            \
  X(cuModuleGetFunction, cuModuleGetFunction)                                  \
  X(cuFuncGetAttribute, cuFuncGetAttribute)                                    \
  X(cuFuncSetAttribute, cuFuncSetAttribute)                                    \
  X(cuLaunchKernel, cuLaunchKernel)                                            \
  X(cuStreamCreate, cuStreamCreate)                                            \
  X(cuStreamDestroy, cuStreamDestroy_v2)                                       \
  X(cuStreamSynchronize, cuStreamSynchronize)                                  \
  X(cuStreamWaitEvent, cuStreamWaitEvent)                                      \
  X(cuEventCreate, cuEventCreate)                                              \
  X(cuEventDestroy, cuEventDestroy_v2)                                         \
  X(cuEventSynchronize, cuEventSynchronize)                                    \
  X(cuEventRecord, cuEventRecord)                                              \
  X(cuMemAlloc, cuMemAlloc_v2)                                                 \
  X(cuMemAllocManaged, cuMemAllocManaged)                                      \
  X(cuMemFree, cuMemFree_v2)                                                   \
  X(cuMemcpy, cuMemcpy)                                                        \
  X(cuMemcpyAsync, cuMemcpyAsync)                                              \
  X(cuMemsetD16Async, cuMemsetD16Async)                                        \
  X(cuMemsetD32Async, cuMemsetD32Async)                                        \
  X(cuMemHostRegister, cuMemHostRegister_v2)                                   \
  X(cuMemHostUnregister, cuMemHostUnregister)                                  \
  X(cuPointerGetAttribute, cuPointerGetAttribute)

// Newer entry points (CUDA 11.2 to 12.3): resolved when the driver has them,
// reported when a call needs one that is missing.
#define EGS_CUDA_OPTIONAL_FUNCTIONS(X)                                         \
  X(cuMemAllocAsync, cuMemAllocAsync)                                          \
  X(cuMemFreeAsync, cuMemFreeAsync)                                            \
  X(cuDeviceGetDefaultMemPool, cuDeviceGetDefaultMemPool)                      \
  X(cuMemPoolSetAttribute, cuMemPoolSetAttribute)                              \
  X(cuFuncGetName, cuFuncGetName)                                              \
  X(cuLaunchKernelEx, cuLaunchKernelEx)                                        \
  X(cuTensorMapEncodeTiled, cuTensorMapEncodeTiled)

#endif // EGS_RUNTIME_LIB_CUDADRIVERAPI_H
