//===- DeviceScan.h - grid-wide prefix sums on the device -------*- C++ -*-===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_DEVICESCAN_H
#define EGS_LIB_CONVERSION_EGSTOGPU_DEVICESCAN_H

#include "Host/HostLaunch.h"

namespace egs {

/// starts[i] = counts[0] + ... + counts[i-1] for i in [0, n] (i32 memrefs
/// as kernel arguments; starts has n + 1 entries), computed by the whole
/// grid in three launches: block sums, one block scanning them, a scan per
/// block. No host synchronisation.
void launchExclusiveScan(HostLauncher &host, Value counts, Value starts,
                         Value n);

} // namespace egs

#endif
