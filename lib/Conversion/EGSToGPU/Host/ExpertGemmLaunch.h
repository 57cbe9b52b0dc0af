//===- ExpertGemmLaunch.h - launching the per-expert GEMM -------*- C++ -*-===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_HOST_EXPERTGEMMLAUNCH_H
#define EGS_LIB_CONVERSION_EGSTOGPU_HOST_EXPERTGEMMLAUNCH_H

#include "Host/HostLaunch.h"
#include "Kernels/ExpertGemmKernel.h"

namespace egs {

/// Device operands (kernel argument types, see HostLauncher::device):
/// a [B?,T,I] or [B?,E,K,J] / [R,J]; ind [B?,E,K] or rows [R];
/// w [E, reduce, cols] ([E, cols, reduce] when wTransposed); offsets [E+1] (ragged); bias [E, cols];
/// scale [B?,E,K] / [R]; out: [B?,E,K,cols'] / [R,cols'] (StoreSlots) or
/// [B?,T,cols] (AtomicAddTokens).
struct ExpertGemmOperands {
  Value a, ind, w, offsets, bias, scale, out;
};

/// Launches the GEMM when `cond` holds (the ragged form first builds its
/// tile map on the device).
void launchExpertGemm(HostLauncher &host, const ExpertGemmSpec &spec,
                      const ExpertGemmOperands &ops, Value cond);

} // namespace egs

#endif
