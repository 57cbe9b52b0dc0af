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

/// The Python class of a plan replay: egs._egs.Dispatcher and
/// egs._egs_torch.Dispatcher have the interface python/egs/ops.py uses.
template <class Dispatcher>
void bindDispatcher(pybind11::module_ &m, const char *constructorArg) {
  namespace py = pybind11;
  py::class_<Dispatcher>(m, "Dispatcher")
      .def(py::init<py::object>(), py::arg(constructorArg))
      .def("run", &Dispatcher::run, py::arg("op"), py::arg("arrays"),
           py::arg("scalars"))
      .def("add", &Dispatcher::add, py::arg("op"), py::arg("arrays"),
           py::arg("scalars"), py::arg("executable"), py::arg("fn"),
           py::arg("device"), py::arg("args"), py::arg("outputs"),
           py::arg("order"), py::arg("results"), py::arg("single"),
           py::arg("stream"))
      .def("clear", &Dispatcher::clear)
      .def("__len__", &Dispatcher::size)
      .def_readonly("hits", &Dispatcher::hits);
}

} // namespace egs_python

#endif // EGS_PYTHON_LAUNCH_H
