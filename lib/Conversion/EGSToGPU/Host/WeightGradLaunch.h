//===- WeightGradLaunch.h - launching the weight-gradient kernel -*- C++ -*-===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_HOST_WEIGHTGRADLAUNCH_H
#define EGS_LIB_CONVERSION_EGSTOGPU_HOST_WEIGHTGRADLAUNCH_H

#include "Host/HostLaunch.h"
#include "Kernels/WeightGradKernel.h"

namespace egs {

/// Kernel arguments (see HostLauncher::device); absent ones are null.
struct WeightGradOperands {
  Value lhs, lhsInd, rhs, rhsInd, offsets, scale, dw;
};

/// Launches the kernel of `spec` when `cond` holds.
void launchWeightGrad(HostLauncher &host, const WeightGradSpec &spec,
                      const WeightGradOperands &ops, Value cond);

} // namespace egs

#endif
