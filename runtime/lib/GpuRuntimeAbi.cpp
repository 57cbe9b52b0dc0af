//===- GpuRuntimeAbi.cpp - The MLIR GPU runtime ABI on the driver API -----===//
//
// Modules, launches, streams, events and memory, as MLIR 22's lowerings call
// them (see egs/Runtime/GpuRuntimeAbi.h). Each call runs in a ScopedContext;
// each failure is reported with the driver call that failed.
//
//===----------------------------------------------------------------------===//

#include "egs/Runtime/GpuRuntimeAbi.h"

#include "Diagnostics.h"
#include "KernelCache.h"
#include "MemRefDescriptor.h"

#include <climits>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_set>

using namespace egs::runtime;

namespace {

// Streams this runtime created. Any other stream is borrowed (the embedder's
// current stream) and mgpuStreamDestroy must leave it alone.
struct OwnedStreams {
  std::mutex mutex;
  std::unordered_set<CUstream> streams;
};

OwnedStreams &ownedStreams() {
  static OwnedStreams *owned = new OwnedStreams;
  return *owned;
}

// Managed allocations made by mgpuMemAlloc. mgpuMemFree must free them with
// cuMemFree; it looks them up here rather than asking the driver, because
// cuPointerGetAttribute is not allowed while the stream is being captured
// into a CUDA graph (where stream-ordered allocations are fine).
struct ManagedAllocations {
  std::mutex mutex;
  std::unordered_set<void *> pointers;
};

ManagedAllocations &managedAllocations() {
  static ManagedAllocations *managed = new ManagedAllocations;
  return *managed;
}

struct LaunchShape {
  intptr_t grid[3];
  intptr_t block[3];
  int32_t sharedBytes;

  // The ABI passes index-typed dimensions; the driver takes unsigned ints.
  bool fitsDriver() const {
    for (intptr_t dim : {grid[0], grid[1], grid[2], block[0], block[1],
                         block[2]})
      if (dim <= 0 || uintptr_t(dim) > UINT_MAX)
        return false;
    return sharedBytes >= 0;
  }

  std::string describe(const CudaDriver &cu, CUfunction function) const {
    const char *name = nullptr;
    if (!function || !cu.cuFuncGetName ||
        cu.cuFuncGetName(&name, function) != CUDA_SUCCESS || !name)
      name = "?";
    auto dims = [](const intptr_t *d) {
      return "(" + std::to_string(d[0]) + ", " + std::to_string(d[1]) + ", " +
             std::to_string(d[2]) + ")";
    };
    return std::string("kernel '") + name + "', grid " + dims(grid) +
           ", block " + dims(block) + ", " + std::to_string(sharedBytes) +
           " bytes of dynamic shared memory";
  }
};

// Checks the shape and raises the kernel's shared-memory limit if needed.
bool prepareLaunch(const ScopedContext &scope, CUfunction function,
                   const LaunchShape &shape, const char *abiName) {
  if (!shape.fitsDriver()) {
    reportError(CUDA_ERROR_INVALID_VALUE,
                std::string("egs runtime: ") + abiName +
                    " got a launch shape outside the driver's range: " +
                    shape.describe(scope.cu(), function));
    return false;
  }
  return reserveDynamicSharedMemory(scope, function, shape.sharedBytes);
}

CUdeviceptr devicePointer(const void *ptr) {
  return reinterpret_cast<CUdeviceptr>(ptr);
}

} // namespace

//===----------------------------------------------------------------------===//
// Modules and kernels
//===----------------------------------------------------------------------===//

extern "C" CUmodule mgpuModuleLoad(void *data, size_t size) {
  ScopedContext scope;
  if (!scope)
    return nullptr;
  return acquireModule(scope, data, size, /*jitOptimizationLevel=*/-1);
}

extern "C" CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  ScopedContext scope;
  if (!scope)
    return nullptr;
  // The lowering passes PTX text without its size; it is NUL-terminated.
  size_t size = data ? std::strlen(static_cast<const char *>(data)) + 1 : 0;
  int level = optLevel < 0 ? 0 : optLevel > 4 ? 4 : optLevel;
  return acquireModule(scope, data, size, level);
}

extern "C" void mgpuModuleUnload(CUmodule module) { releaseModule(module); }

extern "C" CUfunction mgpuModuleGetFunction(CUmodule module,
                                            const char *name) {
  ScopedContext scope;
  if (!scope)
    return nullptr;
  return lookupFunction(scope, module, name);
}

extern "C" void mgpuLaunchKernel(CUfunction function, intptr_t gridX,
                                 intptr_t gridY, intptr_t gridZ,
                                 intptr_t blockX, intptr_t blockY,
                                 intptr_t blockZ, int32_t smem, CUstream stream,
                                 void **params, void **extra,
                                 size_t /*paramsCount*/) {
  ScopedContext scope;
  if (!scope)
    return;
  LaunchShape shape{{gridX, gridY, gridZ}, {blockX, blockY, blockZ}, smem};
  if (!prepareLaunch(scope, function, shape, "mgpuLaunchKernel"))
    return;
  const CudaDriver &cu = scope.cu();
  CUresult result = cu.cuLaunchKernel(
      function, unsigned(gridX), unsigned(gridY), unsigned(gridZ),
      unsigned(blockX), unsigned(blockY), unsigned(blockZ), unsigned(smem),
      resolveStream(stream), params, extra);
  if (result != CUDA_SUCCESS)
    reportCudaError(result, "cuLaunchKernel", shape.describe(cu, function));
}

extern "C" void mgpuLaunchClusterKernel(
    CUfunction function, intptr_t clusterX, intptr_t clusterY,
    intptr_t clusterZ, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
    intptr_t blockX, intptr_t blockY, intptr_t blockZ, int32_t smem,
    CUstream stream, void **params, void **extra) {
  ScopedContext scope;
  if (!scope)
    return;
  const CudaDriver &cu = scope.cu();
  if (!cu.cuLaunchKernelEx) {
    reportError(CUDA_ERROR_NOT_SUPPORTED,
                "egs runtime: mgpuLaunchClusterKernel needs cuLaunchKernelEx, "
                "which this driver lacks");
    return;
  }
  LaunchShape shape{{gridX, gridY, gridZ}, {blockX, blockY, blockZ}, smem};
  if (!prepareLaunch(scope, function, shape, "mgpuLaunchClusterKernel"))
    return;
  // Clusters above 8 blocks are legal on sm_90 only once the kernel opts in.
  if (clusterX * clusterY * clusterZ > 8 &&
      !EGS_CU(cu, cuFuncSetAttribute, function,
              CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1))
    return;

  CUlaunchAttribute cluster = {};
  cluster.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
  cluster.value.clusterDim.x = unsigned(clusterX);
  cluster.value.clusterDim.y = unsigned(clusterY);
  cluster.value.clusterDim.z = unsigned(clusterZ);
  CUlaunchConfig config = {};
  config.gridDimX = unsigned(gridX);
  config.gridDimY = unsigned(gridY);
  config.gridDimZ = unsigned(gridZ);
  config.blockDimX = unsigned(blockX);
  config.blockDimY = unsigned(blockY);
  config.blockDimZ = unsigned(blockZ);
  config.sharedMemBytes = unsigned(smem);
  config.hStream = resolveStream(stream);
  config.attrs = &cluster;
  config.numAttrs = 1;
  CUresult result = cu.cuLaunchKernelEx(&config, function, params, extra);
  if (result != CUDA_SUCCESS)
    reportCudaError(result, "cuLaunchKernelEx",
                    shape.describe(cu, function) + ", cluster (" +
                        std::to_string(clusterX) + ", " +
                        std::to_string(clusterY) + ", " +
                        std::to_string(clusterZ) + ")");
}

//===----------------------------------------------------------------------===//
// Streams and events
//===----------------------------------------------------------------------===//

extern "C" CUstream mgpuStreamCreate(void) {
  // Generated code makes a stream for each synchronous launch and each async
  // chain; under an embedder's stream all of it must queue behind the
  // embedder's work, so hand that stream out instead.
  if (CUstream borrowed = currentStream())
    return borrowed;
  ScopedContext scope;
  if (!scope)
    return nullptr;
  CUstream stream = nullptr;
  if (!EGS_CU(scope.cu(), cuStreamCreate, &stream, CU_STREAM_NON_BLOCKING))
    return nullptr;
  OwnedStreams &owned = ownedStreams();
  std::lock_guard<std::mutex> lock(owned.mutex);
  owned.streams.insert(stream);
  return stream;
}

extern "C" void mgpuStreamDestroy(CUstream stream) {
  // The current stream was handed out by mgpuStreamCreate; it stays alive.
  if (stream == currentStream())
    return;
  {
    OwnedStreams &owned = ownedStreams();
    std::lock_guard<std::mutex> lock(owned.mutex);
    if (owned.streams.erase(stream) == 0)
      return; // Not created here: not ours to destroy.
  }
  ScopedContext scope;
  if (scope)
    EGS_CU(scope.cu(), cuStreamDestroy, stream);
}

extern "C" void mgpuStreamSynchronize(CUstream stream) {
  ScopedContext scope;
  if (scope)
    EGS_CU(scope.cu(), cuStreamSynchronize, resolveStream(stream));
}

extern "C" void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  ScopedContext scope;
  if (scope)
    EGS_CU(scope.cu(), cuStreamWaitEvent, resolveStream(stream), event, 0);
}

extern "C" CUevent mgpuEventCreate(void) {
  ScopedContext scope;
  if (!scope)
    return nullptr;
  CUevent event = nullptr;
  if (!EGS_CU(scope.cu(), cuEventCreate, &event, CU_EVENT_DISABLE_TIMING))
    return nullptr;
  return event;
}

extern "C" void mgpuEventDestroy(CUevent event) {
  ScopedContext scope;
  if (scope)
    EGS_CU(scope.cu(), cuEventDestroy, event);
}

extern "C" void mgpuEventSynchronize(CUevent event) {
  ScopedContext scope;
  if (scope)
    EGS_CU(scope.cu(), cuEventSynchronize, event);
}

extern "C" void mgpuEventRecord(CUevent event, CUstream stream) {
  ScopedContext scope;
  if (scope)
    EGS_CU(scope.cu(), cuEventRecord, event, resolveStream(stream));
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

extern "C" void *mgpuMemAlloc(uint64_t sizeBytes, CUstream stream,
                              bool isHostShared) {
  ScopedContext scope;
  if (!scope || sizeBytes == 0)
    return nullptr;
  const CudaDriver &cu = scope.cu();
  CUdeviceptr ptr = 0;
  CUresult result;
  const char *call;
  if (isHostShared) {
    call = "cuMemAllocManaged";
    result = cu.cuMemAllocManaged(&ptr, sizeBytes, CU_MEM_ATTACH_GLOBAL);
  } else if (cu.cuMemAllocAsync) {
    call = "cuMemAllocAsync";
    result = cu.cuMemAllocAsync(&ptr, sizeBytes, resolveStream(stream));
  } else {
    call = "cuMemAlloc";
    result = cu.cuMemAlloc(&ptr, sizeBytes);
  }
  if (result != CUDA_SUCCESS) {
    reportCudaError(result, call, std::to_string(sizeBytes) + " bytes");
    return nullptr;
  }
  if (isHostShared) {
    ManagedAllocations &managed = managedAllocations();
    std::lock_guard<std::mutex> lock(managed.mutex);
    managed.pointers.insert(reinterpret_cast<void *>(ptr));
  }
  return reinterpret_cast<void *>(ptr);
}

extern "C" void mgpuMemFree(void *ptr, CUstream stream) {
  if (!ptr)
    return;
  ScopedContext scope;
  if (!scope)
    return;
  const CudaDriver &cu = scope.cu();
  // Managed memory has no stream-ordered free.
  bool managed;
  {
    ManagedAllocations &allocs = managedAllocations();
    std::lock_guard<std::mutex> lock(allocs.mutex);
    managed = allocs.pointers.erase(ptr) != 0;
  }
  if (managed || !cu.cuMemFreeAsync)
    EGS_CU(cu, cuMemFree, devicePointer(ptr));
  else
    EGS_CU(cu, cuMemFreeAsync, devicePointer(ptr), resolveStream(stream));
}

extern "C" void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                           CUstream stream) {
  if (sizeBytes == 0)
    return;
  ScopedContext scope;
  if (scope)
    EGS_CU(scope.cu(), cuMemcpyAsync, devicePointer(dst), devicePointer(src),
           sizeBytes, resolveStream(stream));
}

extern "C" void mgpuMemset32(void *dst, unsigned int value, size_t count,
                             CUstream stream) {
  if (count == 0)
    return;
  ScopedContext scope;
  if (scope)
    EGS_CU(scope.cu(), cuMemsetD32Async, devicePointer(dst), value, count,
           resolveStream(stream));
}

extern "C" void mgpuMemset16(void *dst, unsigned short value, size_t count,
                             CUstream stream) {
  if (count == 0)
    return;
  ScopedContext scope;
  if (scope)
    EGS_CU(scope.cu(), cuMemsetD16Async, devicePointer(dst), value, count,
           resolveStream(stream));
}

extern "C" void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes) {
  if (sizeBytes == 0)
    return;
  ScopedContext scope;
  if (scope)
    EGS_CU(scope.cu(), cuMemHostRegister, ptr, sizeBytes, 0);
}

extern "C" void mgpuMemHostUnregister(void *ptr) {
  ScopedContext scope;
  if (scope)
    EGS_CU(scope.cu(), cuMemHostUnregister, ptr);
}

extern "C" void mgpuMemHostRegisterMemRef(int64_t rank, void *descriptor,
                                          int64_t elementSizeBytes) {
  RankedMemRefView memref(descriptor, rank);
  mgpuMemHostRegister(memref.data(elementSizeBytes),
                      memref.extentBytes(elementSizeBytes));
}

extern "C" void mgpuMemHostUnregisterMemRef(int64_t rank, void *descriptor,
                                            int64_t elementSizeBytes) {
  RankedMemRefView memref(descriptor, rank);
  // An empty memref was never registered.
  if (memref.extentBytes(elementSizeBytes) != 0)
    mgpuMemHostUnregister(memref.data(elementSizeBytes));
}
