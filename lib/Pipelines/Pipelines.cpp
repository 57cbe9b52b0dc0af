//===- Pipelines.cpp - the egs lowering pipelines -------------------------===//
#include "egs/Pipelines/Pipelines.h"
#include "egs/Conversion/EGSToGPU/EGSToGPU.h"
#include "egs/Conversion/Passes.h"
#include "egs/Target/CUDA/Chip.h"
#include "egs/Target/CUDA/Toolkit.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace egs {

void buildEGSBufferizePipeline(OpPassManager &pm) {
  // Elementwise arith/math on tensors (e.g. arith.extf of a whole tensor)
  // becomes linalg so that it bufferizes.
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  // Identity layouts at function boundaries keep rows contiguous, which the
  // vectorized loops and the C calling convention both want.
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  // Deallocation may clone buffers returned from functions; lower the clones.
  pm.addPass(createConvertBufferizationToMemRefPass());
}

void buildLowerToCPUPipeline(OpPassManager &pm,
                                  const LowerToCPUOptions &options) {
  pm.addPass(egs::createCheckInput());
  if (options.bufferize)
    buildEGSBufferizePipeline(pm);
  egs::ConvertEGSToLoopsOptions loops;
  loops.checkIndices = options.checkIndices;
  loops.vectorWidth = options.vectorWidth;
  pm.addPass(egs::createConvertEGSToLoops(loops));
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(memref::createExpandStridedMetadataPass());
  // expand-strided-metadata computes dynamic sizes and strides with affine.apply.
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void buildLowerToNVVMPipeline(OpPassManager &pm,
                              const LowerToNVVMOptions &options) {
  // The options are checked first (egs-check-gpu-target fails the pipeline
  // on a chip or features egs cannot use); the rest derives from the chip's
  // facts, with sm_90a's standing in where the check will fail anyway.
  egs::CheckGPUTargetOptions checkTarget;
  checkTarget.chip = options.chip;
  checkTarget.features = options.features;
  checkTarget.format = options.format;
  checkTarget.optLevel = options.optLevel;
  pm.addPass(egs::createCheckGPUTarget(checkTarget));
  pm.addPass(egs::createCheckInput());
  llvm::Expected<cuda::Chip> chipOr = cuda::lookupChip(options.chip);
  cuda::Chip chip = chipOr ? *chipOr : *cuda::lookupChip("sm_90a");
  if (!chipOr)
    llvm::consumeError(chipOr.takeError());
  llvm::Expected<unsigned> ptxOr = cuda::ptxVersion(chip, options.features);
  unsigned ptx = ptxOr ? *ptxOr : chip.defaultPtx();
  if (!ptxOr)
    llvm::consumeError(ptxOr.takeError());
  std::string features = options.features.empty() ? chip.defaultFeatures()
                                                  : std::string(options.features);
  if (options.bufferize)
    buildEGSBufferizePipeline(pm);
  egs::SelectGPUStrategyOptions strategy;
  strategy.warpgroupMma = chip.hasWarpgroupMma();
  strategy.maxSharedMemory = chip.maxSharedMemory;
  strategy.tile.assign(options.tile.begin(), options.tile.end());
  pm.addPass(egs::createSelectGPUStrategy(strategy));
  egs::ConvertEGSToGPUOptions gpu;
  gpu.vectorAtomics = chip.hasVectorAtomics(ptx);
  gpu.hostBuffers = options.hostBuffers;
  gpu.hostSync = options.hostSync;
  gpu.checkIndices = options.checkIndices;
  pm.addPass(egs::createConvertEGSToGPU(gpu));
  // Host code as the CPU pipeline prepares it (linalg from the program,
  // bf16 arithmetic the host cannot do natively); kernels are left alone.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLowerAffinePass());
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addNestedPass<func::FuncOp>(arith::createArithExpandOpsPass(expand));

  // The NVVM recipe of prototype/gpu/README.md. convert-nvgpu-to-nvvm comes
  // first, while the kernels' scf.for still carry !nvgpu.device.async.token.
  pm.addPass(createConvertNVGPUToNVVMPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addNestedPass<func::FuncOp>(createConvertVectorToLLVMPass());
  pm.addNestedPass<func::FuncOp>(createConvertMathToLLVMPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = features;
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  ConvertIndexToLLVMPassOptions index;
  index.indexBitwidth = 64;
  pm.addPass(createConvertIndexToLLVMPass(index));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createStripDebugInfoPass());
  ConvertGpuOpsToNVVMOpsOptions toNVVM;
  toNVVM.indexBitwidth = 64;
  kernels.addPass(createConvertGpuOpsToNVVMOps(toNVVM));
  kernels.addPass(LLVM::createNVVMOptimizeForTargetPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());

  // Host: launches become mgpu* calls (needs the gpu.module still there).
  pm.addPass(createGpuToLLVMConversionPass());
  egs::CheckCUDAToolkitOptions check;
  check.format = options.format;
  pm.addPass(egs::createCheckCUDAToolkit(check));
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  if (std::optional<std::string> toolkit = cuda::findToolkitWith("ptxas"))
    binary.toolkitPath = *toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void registerPipelines() {
  PassPipelineRegistration<LowerToNVVMOptions>(
      "egs-lower-to-nvvm",
      "Bufferize, lower egs ops to generated tensor-core GPU kernels, "
      "serialise them for an NVIDIA GPU (NVVM target, ptxas) and lower the "
      "host code to the LLVM dialect",
      buildLowerToNVVMPipeline);
  PassPipelineRegistration<LowerToCPUOptions>(
      "egs-lower-to-cpu",
      "Bufferize and lower egs (and linalg/tensor/scf/vector) to the LLVM "
      "dialect for the host",
      buildLowerToCPUPipeline);
}

} // namespace egs
