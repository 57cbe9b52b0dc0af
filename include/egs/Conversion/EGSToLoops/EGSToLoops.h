//===- EGSToLoops.h - egs ops on memrefs to host loops ----------*- C++ -*-===//
#ifndef EGS_CONVERSION_EGSTOLOOPS_EGSTOLOOPS_H
#define EGS_CONVERSION_EGSTOLOOPS_EGSTOLOOPS_H

#include <cstdint>

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace egs {
using mlir::RewritePatternSet;

struct LoopLoweringOptions {
  /// Report out-of-range indices and malformed expert_offsets at run time
  /// (egsReportIndexError) instead of reading or writing out of bounds.
  bool checkIndices = true;
  /// f32 lanes of the vectorized matmul loops (1: scalar code).
  int64_t vectorWidth = 8;
};

/// gather_matmul, matmul_scatter (memref form) -> scf/vector loops.
void populateEGSMatmulToLoopsPatterns(RewritePatternSet &patterns,
                                      const LoopLoweringOptions &options);
/// permute, route, unpermute (memref form) -> scf loops.
void populateEGSRoutingToLoopsPatterns(RewritePatternSet &patterns,
                                       const LoopLoweringOptions &options);
/// gather, scatter_add, gather_concat (memref form) -> scf loops.
void populateEGSDataMovementToLoopsPatterns(RewritePatternSet &patterns,
                                            const LoopLoweringOptions &options);
/// All of the above.
void populateEGSToLoopsPatterns(RewritePatternSet &patterns,
                                const LoopLoweringOptions &options);

} // namespace egs

#endif
