//===- TensorMap.cpp - TMA descriptors for the nvgpu lowering -------------===//
//
// `nvgpu.tma.create.descriptor` lowers to mgpuTensorMapEncodeTiledMemref,
// which must return a device pointer to the encoded CUtensorMap. Generated
// code calls it on every execution, so descriptors are interned by content:
// one device copy per distinct descriptor instead of a fresh allocation (and
// a leak) per call.
//
//===----------------------------------------------------------------------===//

#include "egs/Runtime/GpuRuntimeAbi.h"

#include "Diagnostics.h"
#include "DeviceContext.h"
#include "MemRefDescriptor.h"

#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>

using namespace egs::runtime;

namespace {

constexpr int64_t kMaxTensorRank = 5;

// Bytes per element of the CUtensorMapDataType values up to TFLOAT32_FTZ; the
// packed sub-byte types after it have no per-element byte stride.
int64_t tensorElementBytes(int64_t dataType) {
  static constexpr int64_t bytes[] = {1, 2, 4, 4, 8, 8, 2, 4, 8, 2, 4, 4, 4};
  if (dataType < 0 || dataType >= int64_t(sizeof(bytes) / sizeof(bytes[0])))
    return 0;
  return bytes[dataType];
}

std::string join(const uint64_t *values, int64_t count) {
  std::string text = "[";
  for (int64_t i = 0; i < count; ++i)
    text += (i ? ", " : "") + std::to_string(values[i]);
  return text + "]";
}

bool encodeTiled(const CudaDriver &cu, CUtensorMap *tensorMap, int dataType,
                 uint32_t rank, void *globalAddress, const uint64_t *globalDim,
                 const uint64_t *globalStrides, const uint32_t *boxDim,
                 const uint32_t *elementStrides, int interleave, int swizzle,
                 int l2Promotion, int oobFill) {
  if (!cu.cuTensorMapEncodeTiled) {
    reportError(CUDA_ERROR_NOT_SUPPORTED,
                "egs runtime: TMA descriptors need cuTensorMapEncodeTiled, "
                "which this driver lacks");
    return false;
  }
  CUresult result = cu.cuTensorMapEncodeTiled(
      tensorMap, dataType, rank, globalAddress, globalDim, globalStrides,
      boxDim, elementStrides, interleave, swizzle, l2Promotion, oobFill);
  if (result == CUDA_SUCCESS)
    return true;
  uint64_t box[kMaxTensorRank] = {};
  for (uint32_t i = 0; i < rank && i < kMaxTensorRank; ++i)
    box[i] = boxDim[i];
  char address[32];
  std::snprintf(address, sizeof(address), "%p", globalAddress);
  reportCudaError(result, "cuTensorMapEncodeTiled",
                  "data type " + std::to_string(dataType) + ", address " +
                      address + ", dims " + join(globalDim, rank) +
                      ", byte strides " +
                      join(globalStrides, rank ? rank - 1 : 0) + ", box " +
                      join(box, rank) + ", swizzle " +
                      std::to_string(swizzle));
  return false;
}

// The device copy of `tensorMap`, made on first request in this context.
void *internDescriptor(const ScopedContext &scope,
                       const CUtensorMap &tensorMap) {
  using Bits = std::array<uint64_t, sizeof(CUtensorMap) / sizeof(uint64_t)>;
  static std::mutex mutex;
  static auto *interned = new std::map<std::pair<CUcontext, Bits>, void *>();

  std::pair<CUcontext, Bits> key{scope.context(), {}};
  std::memcpy(key.second.data(), &tensorMap, sizeof(CUtensorMap));
  std::lock_guard<std::mutex> lock(mutex);
  auto it = interned->find(key);
  if (it != interned->end())
    return it->second;

  const CudaDriver &cu = scope.cu();
  CUdeviceptr copy = 0;
  if (!EGS_CU(cu, cuMemAlloc, &copy, sizeof(CUtensorMap)))
    return nullptr;
  // Synchronous, so the copy is complete before any kernel can read it.
  if (!EGS_CU(cu, cuMemcpy, copy, reinterpret_cast<CUdeviceptr>(&tensorMap),
              sizeof(CUtensorMap))) {
    EGS_CU(cu, cuMemFree, copy);
    return nullptr;
  }
  void *device = reinterpret_cast<void *>(copy);
  interned->emplace(key, device);
  return device;
}

} // namespace

extern "C" void mgpuTensorMapEncodeTiled(
    CUtensorMap_st *tensorMap, int dataType, uint32_t rank, void *globalAddress,
    const uint64_t *globalDim, const uint64_t *globalStrides,
    const uint32_t *boxDim, const uint32_t *elementStrides, int interleave,
    int swizzle, int l2Promotion, int oobFill) {
  ScopedContext scope;
  if (scope)
    encodeTiled(scope.cu(), reinterpret_cast<CUtensorMap *>(tensorMap),
                dataType, rank, globalAddress, globalDim, globalStrides,
                boxDim, elementStrides, interleave, swizzle, l2Promotion,
                oobFill);
}

extern "C" void *mgpuTensorMapEncodeTiledMemref(
    int64_t rank, void *descriptor, int64_t dataType, int64_t interleave,
    int64_t swizzle, int64_t l2Promotion, int64_t oobFill, int64_t *boxDims) {
  ScopedContext scope;
  if (!scope)
    return nullptr;
  int64_t elementBytes = tensorElementBytes(dataType);
  if (rank < 1 || rank > kMaxTensorRank || elementBytes == 0) {
    reportError(CUDA_ERROR_INVALID_VALUE,
                "egs runtime: mgpuTensorMapEncodeTiledMemref supports ranks "
                "1-5 and byte-sized data types, not rank " +
                    std::to_string(rank) + " of data type " +
                    std::to_string(dataType));
    return nullptr;
  }
  RankedMemRefView memref(descriptor, rank);
  // TMA walks the innermost dimension contiguously.
  if (memref.stride(rank - 1) != 1) {
    reportError(CUDA_ERROR_INVALID_VALUE,
                "egs runtime: mgpuTensorMapEncodeTiledMemref needs a unit "
                "innermost stride, not " +
                    std::to_string(memref.stride(rank - 1)));
    return nullptr;
  }
  // The driver lists dimensions innermost first; memrefs outermost first.
  uint64_t globalDim[kMaxTensorRank] = {}, globalStrides[kMaxTensorRank] = {};
  uint32_t boxDim[kMaxTensorRank] = {};
  uint32_t elementStrides[kMaxTensorRank] = {1, 1, 1, 1, 1};
  for (int64_t r = 0; r < rank; ++r) {
    globalDim[r] = uint64_t(memref.size(rank - 1 - r));
    boxDim[r] = uint32_t(boxDims[rank - 1 - r]);
  }
  for (int64_t r = 0; r + 1 < rank; ++r)
    globalStrides[r] = uint64_t(memref.stride(rank - 2 - r) * elementBytes);

  CUtensorMap tensorMap;
  if (!encodeTiled(scope.cu(), &tensorMap, int(dataType), uint32_t(rank),
                   memref.data(elementBytes), globalDim, globalStrides, boxDim,
                   elementStrides, int(interleave), int(swizzle),
                   int(l2Promotion), int(oobFill)))
    return nullptr;
  return internDescriptor(scope, tensorMap);
}
