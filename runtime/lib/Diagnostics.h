//===- Diagnostics.h - Runtime error reporting ------------------*- C++ -*-===//
//
// Every failure goes to the embedder's error handler (egsSetErrorHandler) as
// one line that names the driver call that failed and the driver's own words.
//
//===----------------------------------------------------------------------===//

#ifndef EGS_RUNTIME_LIB_DIAGNOSTICS_H
#define EGS_RUNTIME_LIB_DIAGNOSTICS_H

#include "CudaDriverApi.h"

#include <string>

namespace egs::runtime {

/// Passes `message` to the error handler; returns if the handler does.
void reportError(int code, const std::string &message);

/// Reports "egs runtime: <call> failed with <NAME> (<text>)[: <detail>]".
void reportCudaError(CUresult result, const char *call,
                     const std::string &detail = std::string());

/// "<NAME> (<text>)" for `result`, from the driver when it is loaded.
std::string describeCudaResult(CUresult result);

/// Reports a failed driver call; returns whether `result` is success.
inline bool checkCuda(CUresult result, const char *call) {
  if (result == CUDA_SUCCESS)
    return true;
  reportCudaError(result, call);
  return false;
}

} // namespace egs::runtime

/// Calls driver entry point `fn` through the table `api` and reports a failure
/// under its name; evaluates to true on success.
#define EGS_CU(api, fn, ...)                                                   \
  ::egs::runtime::checkCuda((api).fn(__VA_ARGS__), #fn)

#endif // EGS_RUNTIME_LIB_DIAGNOSTICS_H
