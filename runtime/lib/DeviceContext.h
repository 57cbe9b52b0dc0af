//===- DeviceContext.h - Contexts, default device and streams ---*- C++ -*-===//
//
// Every ABI call runs in the primary context of the calling thread's default
// device, the context CUDA runtime users (PyTorch included) share, and leaves
// the caller's own current context as it found it.
//
//===----------------------------------------------------------------------===//

#ifndef EGS_RUNTIME_LIB_DEVICECONTEXT_H
#define EGS_RUNTIME_LIB_DEVICECONTEXT_H

#include "CudaDriver.h"

namespace egs::runtime {

/// Makes the primary context of the default device current for its lifetime,
/// retaining that context on first use. Converts to false, after reporting
/// why, when there is no driver or the device cannot be used.
class ScopedContext {
public:
  ScopedContext();
  ~ScopedContext();
  ScopedContext(const ScopedContext &) = delete;
  ScopedContext &operator=(const ScopedContext &) = delete;

  explicit operator bool() const { return api != nullptr; }
  const CudaDriver &cu() const { return *api; }
  CUcontext context() const { return ctx; }
  CUdevice device() const { return dev; }

private:
  const CudaDriver *api = nullptr;
  CUcontext ctx = nullptr;
  CUdevice dev = 0;
  bool pushed = false; ///< popped again on destruction
};

/// `stream`, or the thread's current stream (egsSetCurrentStream) when
/// `stream` is null.
CUstream resolveStream(CUstream stream);

/// The thread's current stream, or null.
CUstream currentStream();

} // namespace egs::runtime

#endif // EGS_RUNTIME_LIB_DEVICECONTEXT_H
