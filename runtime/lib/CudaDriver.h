//===- CudaDriver.h - libcuda, loaded at run time ---------------*- C++ -*-===//
//
// The runtime never links libcuda: it opens it on first use, so that a program
// built with egs starts on a machine without a GPU and says why it cannot run.
//
//===----------------------------------------------------------------------===//

#ifndef EGS_RUNTIME_LIB_CUDADRIVER_H
#define EGS_RUNTIME_LIB_CUDADRIVER_H

#include "CudaDriverApi.h"

#include <string>

namespace egs::runtime {

/// The driver entry points the runtime uses; the optional ones may be null.
struct CudaDriver {
#define EGS_DECLARE_DRIVER_FUNCTION(name, symbol)                              \
  driver_types::symbol *name = nullptr;
  EGS_CUDA_REQUIRED_FUNCTIONS(EGS_DECLARE_DRIVER_FUNCTION)
  EGS_CUDA_OPTIONAL_FUNCTIONS(EGS_DECLARE_DRIVER_FUNCTION)
#undef EGS_DECLARE_DRIVER_FUNCTION
};

/// Opens and initializes libcuda once per process (thread-safe). Returns null
/// and sets `why` when there is no usable driver or device. The library path
/// can be overridden with the EGS_CUDA_LIBRARY environment variable.
const CudaDriver *loadCudaDriver(std::string *why = nullptr);

/// Like loadCudaDriver, but reports "no CUDA device (<why>)" to the error
/// handler on failure.
const CudaDriver *cudaDriverOrReport();

} // namespace egs::runtime

#endif // EGS_RUNTIME_LIB_CUDADRIVER_H
