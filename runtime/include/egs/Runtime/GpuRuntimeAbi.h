//===- GpuRuntimeAbi.h - The MLIR GPU runtime ABI ----------------*- C -*-===//
//
// The functions that MLIR 22's `gpu-to-llvm` lowering, the `gpu.binary`
// SelectObjectAttr translation and the nvgpu TMA lowering emit calls to, with
// the exact signatures they emit. libegs_cuda_runtime implements them on the
// CUDA driver API. CUDA handles appear as the struct pointers cuda.h uses, so
// this header needs no CUDA installation and agrees with cuda.h where both are
// included.
//
//===----------------------------------------------------------------------===//

#ifndef EGS_RUNTIME_GPURUNTIMEABI_H
#define EGS_RUNTIME_GPURUNTIMEABI_H

#include "egs/Runtime/CudaRuntime.h"

#include <stddef.h>
#include <stdint.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUevent_st;
struct CUtensorMap_st;

// Modules and kernels. `data` is a cubin, fatbin or NUL-terminated PTX image.
EGS_RUNTIME_EXPORT struct CUmod_st *mgpuModuleLoad(void *data, size_t size);
EGS_RUNTIME_EXPORT struct CUmod_st *mgpuModuleLoadJIT(void *data,
                                                      int optLevel);
EGS_RUNTIME_EXPORT void mgpuModuleUnload(struct CUmod_st *module);
EGS_RUNTIME_EXPORT struct CUfunc_st *
mgpuModuleGetFunction(struct CUmod_st *module, const char *name);
EGS_RUNTIME_EXPORT void
mgpuLaunchKernel(struct CUfunc_st *function, intptr_t gridX, intptr_t gridY,
                 intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                 intptr_t blockZ, int32_t smem, struct CUstream_st *stream,
                 void **params, void **extra, size_t paramsCount);
EGS_RUNTIME_EXPORT void mgpuLaunchClusterKernel(
    struct CUfunc_st *function, intptr_t clusterX, intptr_t clusterY,
    intptr_t clusterZ, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
    intptr_t blockX, intptr_t blockY, intptr_t blockZ, int32_t smem,
    struct CUstream_st *stream, void **params, void **extra);

// Streams and events.
EGS_RUNTIME_EXPORT struct CUstream_st *mgpuStreamCreate(void);
EGS_RUNTIME_EXPORT void mgpuStreamDestroy(struct CUstream_st *stream);
EGS_RUNTIME_EXPORT void mgpuStreamSynchronize(struct CUstream_st *stream);
EGS_RUNTIME_EXPORT void mgpuStreamWaitEvent(struct CUstream_st *stream,
                                            struct CUevent_st *event);
EGS_RUNTIME_EXPORT struct CUevent_st *mgpuEventCreate(void);
EGS_RUNTIME_EXPORT void mgpuEventDestroy(struct CUevent_st *event);
EGS_RUNTIME_EXPORT void mgpuEventSynchronize(struct CUevent_st *event);
EGS_RUNTIME_EXPORT void mgpuEventRecord(struct CUevent_st *event,
                                        struct CUstream_st *stream);

// Memory.
EGS_RUNTIME_EXPORT void *mgpuMemAlloc(uint64_t sizeBytes,
                                      struct CUstream_st *stream,
                                      bool isHostShared);
EGS_RUNTIME_EXPORT void mgpuMemFree(void *ptr, struct CUstream_st *stream);
EGS_RUNTIME_EXPORT void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                                   struct CUstream_st *stream);
EGS_RUNTIME_EXPORT void mgpuMemset32(void *dst, unsigned int value,
                                     size_t count, struct CUstream_st *stream);
EGS_RUNTIME_EXPORT void mgpuMemset16(void *dst, unsigned short value,
                                     size_t count, struct CUstream_st *stream);
EGS_RUNTIME_EXPORT void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes);
EGS_RUNTIME_EXPORT void mgpuMemHostUnregister(void *ptr);
// `descriptor` points to a ranked memref descriptor of rank `rank`.
EGS_RUNTIME_EXPORT void mgpuMemHostRegisterMemRef(int64_t rank,
                                                  void *descriptor,
                                                  int64_t elementSizeBytes);
EGS_RUNTIME_EXPORT void mgpuMemHostUnregisterMemRef(int64_t rank,
                                                    void *descriptor,
                                                    int64_t elementSizeBytes);

// Devices. The default device is per thread, as upstream.
EGS_RUNTIME_EXPORT void mgpuSetDefaultDevice(int32_t device);

// TMA descriptors. The enum arguments are CUtensorMap* enum values.
EGS_RUNTIME_EXPORT void mgpuTensorMapEncodeTiled(
    struct CUtensorMap_st *tensorMap, int dataType, uint32_t rank,
    void *globalAddress, const uint64_t *globalDim,
    const uint64_t *globalStrides, const uint32_t *boxDim,
    const uint32_t *elementStrides, int interleave, int swizzle,
    int l2Promotion, int oobFill);
// Returns a device pointer to the encoded CUtensorMap; `boxDims` lists the box
// outermost dimension first, like the memref.
EGS_RUNTIME_EXPORT void *
mgpuTensorMapEncodeTiledMemref(int64_t rank, void *descriptor, int64_t dataType,
                               int64_t interleave, int64_t swizzle,
                               int64_t l2Promotion, int64_t oobFill,
                               int64_t *boxDims);

#ifdef __cplusplus
} // extern "C"
#endif

#endif // EGS_RUNTIME_GPURUNTIMEABI_H
