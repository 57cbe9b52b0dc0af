//===- Diagnostics.cpp - Runtime error reporting --------------------------===//

#include "Diagnostics.h"

#include "egs/Runtime/CudaRuntime.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace egs::runtime {
namespace {

void defaultErrorHandler(int code, const char *message, void *) {
  std::fprintf(stderr, "%s\n", message);
  std::fflush(nullptr);
  // The first use is often a JIT-compiled global constructor; running atexit
  // handlers and static destructors from inside it can deadlock the JIT, so
  // leave without them.
  if (code == EGS_CUDA_ERROR_NO_DEVICE)
    std::_Exit(EXIT_FAILURE);
  std::abort();
}

struct HandlerSlot {
  std::mutex mutex;
  EgsCudaErrorHandler handler = defaultErrorHandler;
  void *userData = nullptr;
};

HandlerSlot &handlerSlot() {
  static HandlerSlot *slot = new HandlerSlot;
  return *slot;
}

} // namespace

void reportError(int code, const std::string &message) {
  HandlerSlot &slot = handlerSlot();
  EgsCudaErrorHandler handler;
  void *userData;
  {
    std::lock_guard<std::mutex> lock(slot.mutex);
    handler = slot.handler;
    userData = slot.userData;
  }
  handler(code, message.c_str(), userData);
}

void reportCudaError(CUresult result, const char *call,
                     const std::string &detail) {
  std::string message = std::string("egs runtime: ") + call + " failed with " +
                        describeCudaResult(result);
  if (!detail.empty())
    message += ": " + detail;
  reportError(static_cast<int>(result), message);
}

} // namespace egs::runtime

extern "C" void egsSetErrorHandler(EgsCudaErrorHandler handler,
                                   void *userData) {
  egs::runtime::HandlerSlot &slot = egs::runtime::handlerSlot();
  std::lock_guard<std::mutex> lock(slot.mutex);
  slot.handler = handler ? handler : egs::runtime::defaultErrorHandler;
  slot.userData = handler ? userData : nullptr;
}
