//===- CudaDriverApiCheck.cpp - CudaDriverApi.h against cuda.h ------------===//
//
// Compiled only where cuda.h is installed; holds no code. Fails the build if a
// constant, a struct layout or a prototype in CudaDriverApi.h disagrees with
// the toolkit's header.
//
//===----------------------------------------------------------------------===//

// Ours first: cuda.h's macros (cuMemAlloc -> cuMemAlloc_v2) must not touch it.
#include "CudaDriverApi.h"

#include <cuda.h>

#include <cstddef>
#include <type_traits>

namespace {

namespace ours = egs::runtime;

// Maps a cuda.h type to the type CudaDriverApi.h declares for it: enums
// become int, cuda.h's structs become ours; everything else stays.
template <typename T, typename = void>
struct Canonical {
  using type = T;
};
template <typename T>
struct Canonical<T, std::enable_if_t<std::is_enum_v<T> && !std::is_const_v<T>>> {
  using type = int;
};
template <typename T>
struct Canonical<const T> {
  using type = const typename Canonical<T>::type;
};
template <typename T>
struct Canonical<T *> {
  using type = typename Canonical<T>::type *;
};
template <>
struct Canonical<::CUlaunchConfig_st> {
  using type = ours::CUlaunchConfig;
};
template <>
struct Canonical<::CUtensorMap_st> {
  using type = ours::CUtensorMap;
};
template <typename R, typename... Args>
struct Canonical<R(Args...)> {
  using type = typename Canonical<R>::type(typename Canonical<Args>::type...);
};

#define EGS_CHECK_CONSTANT(name, value)                                        \
  static_assert(ours::name == static_cast<int>(::name),                        \
                #name " differs from cuda.h");
EGS_CUDA_CONSTANTS(EGS_CHECK_CONSTANT)

#define EGS_CHECK_PROTOTYPE(name, symbol)                                      \
  static_assert(std::is_same_v<typename Canonical<decltype(::symbol)>::type,   \
                               ours::driver_types::symbol>,                    \
                #symbol " differs from cuda.h");
EGS_CUDA_REQUIRED_FUNCTIONS(EGS_CHECK_PROTOTYPE)
EGS_CUDA_OPTIONAL_FUNCTIONS(EGS_CHECK_PROTOTYPE)

static_assert(sizeof(CUresult) == sizeof(int) && sizeof(CUjit_option) == 4);
static_assert(std::is_same_v<CUdeviceptr, ours::CUdeviceptr> &&
              std::is_same_v<CUdevice, ours::CUdevice>);
static_assert(sizeof(::CUtensorMap) == sizeof(ours::CUtensorMap) &&
              alignof(::CUtensorMap) <= alignof(ours::CUtensorMap));
static_assert(sizeof(::CUlaunchAttribute) == sizeof(ours::CUlaunchAttribute) &&
              alignof(::CUlaunchAttribute) ==
                  alignof(ours::CUlaunchAttribute) &&
              offsetof(::CUlaunchAttribute, value) ==
                  offsetof(ours::CUlaunchAttribute, value) &&
              offsetof(::CUlaunchAttribute, value.clusterDim.z) ==
                  offsetof(ours::CUlaunchAttribute, value.clusterDim.z));
static_assert(sizeof(::CUlaunchConfig) == sizeof(ours::CUlaunchConfig) &&
              offsetof(::CUlaunchConfig, hStream) ==
                  offsetof(ours::CUlaunchConfig, hStream) &&
              offsetof(::CUlaunchConfig, numAttrs) ==
                  offsetof(ours::CUlaunchConfig, numAttrs));

} // namespace
