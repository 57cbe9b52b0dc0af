//===- WeightGrad.h - the per-expert weight-gradient kernel -----*- C++ -*-===//
//
// weight_grad is dw[e] = sum over the slots s of expert e of
// scale[s] * lhs(s)^T rhs(s): a GEMM whose reduction runs over the expert's
// slots, with both operands staged as K-rows tiles (a slot per row, I or J
// contiguous), the way the expert GEMM stages its weights. One block owns a
// bm x bn tile of dw[e] and sums every slot of e in a fixed order: no
// atomics, no split, bitwise reproducible; the slot range [offsets[e],
// offsets[e+1]) is read on the device (no host sync).
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_KERNELS_WEIGHTGRADKERNEL_H
#define EGS_LIB_CONVERSION_EGSTOGPU_KERNELS_WEIGHTGRADKERNEL_H

#include "Kernels/KernelBuilder.h"
#include "Strategy/KernelConfig.h"

namespace egs {

struct WeightGradSpec {
  GemmConfig config;
  bool ragged = false;
  bool batched = false;
  /// The side is read through its row index (token rows), else slot rows.
  bool lhsGathered = false, rhsGathered = false;
  bool hasScale = false;
};

/// The device kernel body (WeightGradKernel.cpp).
void emitWeightGradKernel(KernelBuilder &kb, const WeightGradSpec &spec,
                          Type dataType, ValueRange args);

} // namespace egs

#endif
