//===- Patterns.h - the op patterns of convert-egs-to-gpu -------*- C++ -*-===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_PATTERNS_PATTERNS_H
#define EGS_LIB_CONVERSION_EGSTOGPU_PATTERNS_PATTERNS_H

#include "egs/Conversion/EGSToGPU/EGSToGPU.h"

namespace egs {

/// weight_grad -> its tiled kernel (the matmul patterns add it).
void populateWeightGradToGPUPatterns(mlir::RewritePatternSet &patterns,
                                     const GPULoweringOptions &options);

} // namespace egs

#endif
