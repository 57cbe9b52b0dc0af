//===- DeviceContext.cpp - Contexts, default device and streams -----------===//

#include "DeviceContext.h"

#include "Diagnostics.h"
#include "egs/Runtime/CudaRuntime.h"
#include "egs/Runtime/GpuRuntimeAbi.h"

#include <mutex>
#include <vector>

namespace egs::runtime {
namespace {

// Per thread, as upstream: generated code sets it on the thread it runs on.
thread_local int32_t defaultDevice = 0;
thread_local CUstream threadCurrentStream = nullptr;

struct PrimaryContext {
  CUcontext context = nullptr;
  CUdevice device = 0;
};

// Lets the default memory pool keep freed blocks, so that the stream-ordered
// allocations of mgpuMemAlloc do not return to the OS at every synchronize.
void keepFreedMemoryPooled(const CudaDriver &cu, CUdevice device) {
  if (!cu.cuDeviceGetDefaultMemPool || !cu.cuMemPoolSetAttribute)
    return;
  CUmemoryPool pool = nullptr;
  if (cu.cuDeviceGetDefaultMemPool(&pool, device) != CUDA_SUCCESS)
    return; // No pool support: mgpuMemAlloc reports it on use.
  uint64_t threshold = ~uint64_t(0);
  cu.cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &threshold);
}

// Primary contexts are retained once and never released, so a thread may keep
// the last one it used without holding the lock.
PrimaryContext primaryContext(const CudaDriver &cu, int32_t ordinal) {
  thread_local int32_t cachedOrdinal = -1;
  thread_local PrimaryContext cached;
  if (ordinal == cachedOrdinal)
    return cached;

  static std::mutex mutex;
  static auto *contexts = new std::vector<PrimaryContext>();
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (ordinal >= 0 && size_t(ordinal) < contexts->size() &&
        (*contexts)[ordinal].context) {
      cachedOrdinal = ordinal;
      cached = (*contexts)[ordinal];
      return cached;
    }
  }
  // Retained outside the lock so the error handler may run freely; a racing
  // thread retains twice, which only raises the driver's reference count.
  PrimaryContext primary;
  if (!EGS_CU(cu, cuDeviceGet, &primary.device, ordinal) ||
      !EGS_CU(cu, cuDevicePrimaryCtxRetain, &primary.context, primary.device))
    return PrimaryContext();
  keepFreedMemoryPooled(cu, primary.device);

  std::lock_guard<std::mutex> lock(mutex);
  if (contexts->size() <= size_t(ordinal))
    contexts->resize(ordinal + 1);
  (*contexts)[ordinal] = primary;
  cachedOrdinal = ordinal;
  cached = primary;
  return primary;
}

} // namespace

ScopedContext::ScopedContext() {
  const CudaDriver *cu = cudaDriverOrReport();
  if (!cu)
    return;
  PrimaryContext primary = primaryContext(*cu, defaultDevice);
  if (!primary.context)
    return;
  // Usually the caller (torch, or an earlier call) already made it current:
  // then push and pop are two driver calls of pure overhead on every launch.
  CUcontext current = nullptr;
  if (cu->cuCtxGetCurrent(&current) != CUDA_SUCCESS ||
      current != primary.context) {
    if (!EGS_CU(*cu, cuCtxPushCurrent, primary.context))
      return;
    pushed = true;
  }
  api = cu;
  ctx = primary.context;
  dev = primary.device;
}

ScopedContext::~ScopedContext() {
  if (api && pushed)
    EGS_CU(*api, cuCtxPopCurrent, nullptr);
}

CUstream resolveStream(CUstream stream) {
  return stream ? stream : threadCurrentStream;
}

CUstream currentStream() { return threadCurrentStream; }

} // namespace egs::runtime

extern "C" void mgpuSetDefaultDevice(int32_t device) {
  egs::runtime::defaultDevice = device;
}

extern "C" void egsSetCurrentStream(void *cuStream) {
  egs::runtime::threadCurrentStream = static_cast<egs::runtime::CUstream>(cuStream);
}

extern "C" void *egsGetCurrentStream(void) {
  return egs::runtime::threadCurrentStream;
}
