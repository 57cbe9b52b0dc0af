//===- CudaDriver.cpp - libcuda, loaded at run time -----------------------===//

#include "CudaDriver.h"

#include "Diagnostics.h"
#include "egs/Runtime/CudaRuntime.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace egs::runtime {
namespace {

struct DriverState {
  CudaDriver api;
  std::string failure; // Empty when the driver is usable.
};

template <typename Function>
bool resolve(void *library, const char *symbol, Function &slot) {
  slot = reinterpret_cast<Function>(dlsym(library, symbol));
  return slot != nullptr;
}

std::string describeResult(const CudaDriver &api, CUresult result) {
  const char *name = nullptr;
  const char *text = nullptr;
  api.cuGetErrorName(result, &name);
  api.cuGetErrorString(result, &text);
  return std::string(name ? name : "unknown CUresult") + " (" +
         (text ? text : "no description") + ")";
}

// Resolves every entry point, then initializes the driver and checks that it
// sees a device; stops at the first failure with the reason.
DriverState initialize() {
  DriverState state;
  const char *path = std::getenv("EGS_CUDA_LIBRARY");
  if (!path || !*path)
    path = "libcuda.so.1";
  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *error = dlerror();
    state.failure = std::string("cannot load ") + path + ": " +
                    (error ? error : "unknown dlopen error");
    return state;
  }

  CudaDriver &api = state.api;
#define EGS_RESOLVE_REQUIRED(name, symbol)                                     \
  if (!resolve(library, #symbol, api.name)) {                                  \
    state.failure = std::string(path) + " lacks " #symbol " (driver too old)"; \
    return state;                                                              \
  }
  EGS_CUDA_REQUIRED_FUNCTIONS(EGS_RESOLVE_REQUIRED)
#undef EGS_RESOLVE_REQUIRED
#define EGS_RESOLVE_OPTIONAL(name, symbol) resolve(library, #symbol, api.name);
  EGS_CUDA_OPTIONAL_FUNCTIONS(EGS_RESOLVE_OPTIONAL)
#undef EGS_RESOLVE_OPTIONAL

  if (CUresult result = api.cuInit(0); result != CUDA_SUCCESS) {
    state.failure = "cuInit failed with " + describeResult(api, result);
    return state;
  }
  int count = 0;
  if (CUresult result = api.cuDeviceGetCount(&count);
      result != CUDA_SUCCESS) {
    state.failure =
        "cuDeviceGetCount failed with " + describeResult(api, result);
    return state;
  }
  if (count == 0)
    state.failure = "the driver reports no devices";
  return state;
}

const DriverState &driverState() {
  // Leaked on purpose: generated code calls the runtime from global
  // destructors, which may run after ours.
  static const DriverState *state = new DriverState(initialize());
  return *state;
}

} // namespace

const CudaDriver *loadCudaDriver(std::string *why) {
  const DriverState &state = driverState();
  if (state.failure.empty())
    return &state.api;
  if (why)
    *why = state.failure;
  return nullptr;
}

const CudaDriver *cudaDriverOrReport() {
  std::string why;
  if (const CudaDriver *api = loadCudaDriver(&why))
    return api;
  reportError(EGS_CUDA_ERROR_NO_DEVICE,
              "egs runtime: no CUDA device (" + why + ")");
  return nullptr;
}

std::string describeCudaResult(CUresult result) {
  if (const CudaDriver *api = loadCudaDriver())
    return describeResult(*api, result);
  return "CUresult " + std::to_string(static_cast<int>(result));
}

} // namespace egs::runtime

extern "C" int egsCudaAvailable(char *why, size_t n) {
  std::string reason;
  bool available = egs::runtime::loadCudaDriver(&reason) != nullptr;
  if (why && n > 0)
    std::snprintf(why, n, "%s", reason.c_str());
  return available ? 1 : 0;
}
