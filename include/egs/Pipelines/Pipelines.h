//===- Pipelines.h - the egs lowering pipelines -----------------*- C++ -*-===//
//
// Each pipeline is registered with egs-opt (--egs-lower-to-cpu, ...) and is
// also a C++ function so other compilers can add it to their pass managers.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_PIPELINES_PIPELINES_H
#define EGS_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

#include <string>

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
      llvm::cl::desc("f32 lanes of the vectorized matmul loops (1 = scalar, "
                     "0 = from the host CPU: 16 with AVX-512, else 8)"),
      llvm::cl::init(0)};
  Option<bool> bufferize{
      *this, "bufferize",
      llvm::cl::desc("Run one-shot bufferization first (off for memref input)"),
      llvm::cl::init(true)};
};

/// Bufferizes (function boundaries included, identity layouts), lowers egs
/// ops to loops, linalg to loops, then everything to the LLVM dialect.
void buildLowerToCPUPipeline(mlir::OpPassManager &pm,
                             const LowerToCPUOptions &options);

struct LowerToNVVMOptions
    : public mlir::PassPipelineOptions<LowerToNVVMOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("GPU architecture (sm_80, sm_90a, ...)"),
                           llvm::cl::init("sm_90a")};
  Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features (default: +ptx81 for sm_9x, enabling the "
                     "vector atomics of matmul_scatter; +ptx88 for sm_1xx; "
                     "+ptx80 otherwise)"),
      llvm::cl::init("")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("What the GPU module becomes: isa (PTX text), bin "
                     "(cubin) or fatbin"),
      llvm::cl::init("fatbin")};
  Option<int64_t> optLevel{*this, "opt-level",
                           llvm::cl::desc("Optimization level of the NVPTX "
                                          "backend (0-3)"),
                           llvm::cl::init(3)};
  ListOption<int64_t> tile{
      *this, "tile",
      llvm::cl::desc("Tile strategy bm,bn,bk,stages,warps for ops without a "
                     "tile attribute (default: heuristic)")};
  Option<bool> checkIndices{
      *this, "check-indices",
      llvm::cl::desc("Check on the host, before launching, that the dynamic "
                     "dims an op ties together agree (egsReportShapeError); "
                     "kernels never access memory out of bounds either way "
                     "(out-of-range indices read zeros and write nothing)"),
      llvm::cl::init(true)};
  Option<std::string> hostBuffers{
      *this, "host-buffers",
      llvm::cl::desc("copy: operands live in host memory and are copied to "
                     "the device around each op (any program runs); device: "
                     "operands are device-accessible and used in place"),
      llvm::cl::init("copy")};
  Option<bool> hostSync{
      *this, "host-sync",
      llvm::cl::desc("Wait for each op's kernels; false leaves them queued "
                     "on the current stream (host-buffers=device only)"),
      llvm::cl::init(true)};
  Option<bool> bufferize{
      *this, "bufferize",
      llvm::cl::desc("Run one-shot bufferization first (off for memref input)"),
      llvm::cl::init(true)};
};

/// Bufferizes, lowers egs ops to generated GPU kernels (convert-egs-to-gpu),
/// attaches an NVVM target, serialises the kernels with ptxas (a diagnostic
/// names CUDA_HOME / CUDA_ROOT / CUDA_PATH / PATH when it is missing) and
/// lowers the host code to the LLVM dialect. The result calls the MLIR GPU
/// runtime ABI (libegs_cuda_runtime).
void buildLowerToNVVMPipeline(mlir::OpPassManager &pm,
                              const LowerToNVVMOptions &options);

/// Bufferization as both pipelines use it: one-shot over the whole module
/// with identity-layout function boundaries, then buffer deallocation.
void buildEGSBufferizePipeline(mlir::OpPassManager &pm);

/// Registers --egs-lower-to-cpu (and the other pipelines) with egs-opt.
void registerPipelines();

} // namespace egs

#endif
