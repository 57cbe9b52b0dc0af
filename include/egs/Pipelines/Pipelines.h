//===- Pipelines.h - the egs lowering pipelines -----------------*- C++ -*-===//
//
// Each pipeline is registered with egs-opt (--egs-lower-to-cpu, ...) and is
// also a C++ function so other compilers can add it to their pass managers.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_PIPELINES_PIPELINES_H
#define EGS_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace egs {

struct LowerToCPUOptions : public mlir::PassPipelineOptions<LowerToCPUOptions> {
  Option<bool> checkIndices{
      *this, "check-indices",
      llvm::cl::desc("Check routed indices and expert_offsets at run time"),
      llvm::cl::init(true)};
  Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes of the vectorized matmul loops (1 = scalar)"),
      llvm::cl::init(8)};
  Option<bool> bufferize{
      *this, "bufferize",
      llvm::cl::desc("Run one-shot bufferization first (off for memref input)"),
      llvm::cl::init(true)};
};

/// Bufferizes (function boundaries included, identity layouts), lowers egs
/// ops to loops, linalg to loops, then everything to the LLVM dialect.
void buildLowerToCPUPipeline(mlir::OpPassManager &pm,
                             const LowerToCPUOptions &options);

/// Bufferization as both pipelines use it: one-shot over the whole module
/// with identity-layout function boundaries, then buffer deallocation.
void buildEGSBufferizePipeline(mlir::OpPassManager &pm);

/// Registers --egs-lower-to-cpu (and the other pipelines) with egs-opt.
void registerPipelines();

} // namespace egs

#endif
