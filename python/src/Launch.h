//===- Launch.h - What both egs extension modules share -------------------===//
//
// egs._egs (EGSModule.cpp) and egs._egs_torch (TorchDispatch.cpp) both launch
// destination-passing kernels through the egs C API: the argument limits, the
// launch itself (device, stream, GIL released) and the mapping of its errors
// to Python exceptions.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_PYTHON_LAUNCH_H
#define EGS_PYTHON_LAUNCH_H

#include "egs-c/EGS.h"

#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace egs_python {

constexpr int kMaxArgs = 16;
constexpr int kMaxRank = 8;

/// Raises the Python exception for a failed invocation: IndexError for the
/// compiled index checks ("egs: index error: ..."), RuntimeError otherwise.
[[noreturn]] inline void raiseInvokeError(char *error) {
  std::string message = error ? error : "unknown error";
  egsFreeString(error);
  if (message.rfind("egs: index error", 0) == 0)
    throw pybind11::index_error(message);
  throw std::runtime_error(message);
}

/// Runs entry point `fn` of `exe` on `memrefs`: on CUDA device `device`
/// (< 0: a CPU kernel; device 0 is named, so that a call for cuda:1 does not
/// leave later calls of this thread there) and, when `stream` is set, queued
/// on that CUstream. The GIL is released while it runs.
inline void launch(EgsExecutable exe, int fn, const EgsMemRef *memrefs, int n,
                   int device, bool hasStream, uintptr_t stream) {
  egsSetCudaDevice(device >= 0 ? device : 0);
  if (hasStream)
    egsSetCudaStream(reinterpret_cast<void *>(stream));
  char *error = nullptr;
  int rc;
  {
    pybind11::gil_scoped_release release;
    rc = egsExecutableInvokeMemRefs(exe, fn, memrefs, n, &error);
  }
  if (rc)
    raiseInvokeError(error);
}

} // namespace egs_python

#endif // EGS_PYTHON_LAUNCH_H
