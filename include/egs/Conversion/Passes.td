//===- Passes.td - egs conversion passes -------------------*- tablegen -*-===//
#ifndef EGS_CONVERSION_PASSES_TD
#define EGS_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertEGSToLoops : Pass<"convert-egs-to-loops", "::mlir::ModuleOp"> {
  let summary = "Lower egs ops in memref form to scf/vector loops for the host";
  let description = [{
    Rewrites every egs op in memref form (after bufferization) into loops
    over memrefs: the matmul ops as vectorized row-times-expert-matrix loops
    accumulating in f32, the routing ops as a counting sort, the data
    movement ops as loop nests. With `check-indices` (the default), routed
    token indices, expert ids, gather indices and expert_offsets are checked
    at run time and a violation calls `egsReportIndexError`, which prints the
    op, its location and the offending value and exits with status 1. The
    check costs one compare per routed row (not per element).
  }];
  let options = [
    Option<"checkIndices", "check-indices", "bool", /*default=*/"true",
           "Check routed indices and expert_offsets at run time">,
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"0",
           "f32 lanes of the vectorized matmul loops (1 = scalar, 0 = from "
           "the host CPU: 16 with AVX-512, else 8)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::vector::VectorDialect",
                           "::mlir::math::MathDialect", "::mlir::func::FuncDialect"];
}

def SelectGPUStrategy : Pass<"egs-select-gpu-strategy", "::mlir::ModuleOp"> {
  let summary = "Choose the GPU kernel strategy of each egs matmul op and record it on the op";
  let description = [{
    The only place that decides how the GEMM kernels of gather_matmul,
    matmul_scatter and weight_grad are tiled. For each op it runs the shape
    heuristic (or takes the op's `tile` attribute, else the `tile` option),
    checks the result against the chip (shared memory, warpgroup MMA) and
    writes the decision onto the op as `egs.gpu_strategy =
    #egs.gpu_strategy<fast = [...], general = ...>`: the fast variants the
    host code picks among at run time (with the sizes each is meant for) and
    the general kernel. `convert-egs-to-gpu` reads only that attribute.
    Ops that already carry an `egs.gpu_strategy` are left as they are.
    Works on the tensor and the memref form.

    Heuristic (f16/bf16): large GEMMs (N >= 1024, K >= 512) take 128x256
    tiles (warpgroup MMA 128x256x64, 4 stages, with `warpgroup-mma`); many
    rows per expert with a short reduction take 256x64 (warpgroup 128x64,
    the whole reduction resident when it is at most two 64-wide slices);
    otherwise 128x64x32 (64x64 for at most 64 rows per expert). f32 runs on
    CUDA cores (64x64x16, 3 stages). weight_grad: 128x256 where dw is at
    least 512x1024, else 128x128, 64x64 for narrow sides.
  }];
  let options = [
    ListOption<"tile", "tile", "int64_t",
               "Tile strategy bm,bn,bk,stages,warps[,warpgroup] for ops "
               "without a tile attribute (default: heuristic; warpgroup 1: "
               "warpgroup MMA, sm_90a)">,
    Option<"warpgroupMma", "warpgroup-mma", "bool", /*default=*/"false",
           "Run large f16/bf16 GEMMs (N >= 1024, K >= 512) through warpgroup "
           "MMA (wgmma, sm_90a only) instead of mma.sync">,
    Option<"maxSharedMemory", "max-shared-memory", "int64_t",
           /*default=*/"227 * 1024",
           "Dynamic shared memory one block may use, in bytes (the chip's "
           "limit: 227 KiB on sm_90, 163 KiB on sm_80, 99 KiB on sm_86/89/120)">,
  ];
  let dependentDialects = ["::egs::EGSDialect"];
}

def ConvertEGSToGPU : Pass<"convert-egs-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower egs ops in memref form to generated GPU kernels and launches";
  let description = [{
    Rewrites every egs op in memref form into host code that launches
    kernels generated into `gpu.module @egs_kernels` (gpu, nvgpu, nvvm,
    memref, scf, vector and arith IR; the module gets `gpu.container_module`).

    - gather_matmul / matmul_scatter (expert-choice, batched or not, and
      ragged): BM x BN tiles per expert with a BK reduction loop; f16/bf16
      through a multi-stage `nvgpu.device_async_copy` pipeline, `nvgpu.ldmatrix`
      and `nvvm.mma.sync` m16n8k16 (f32 accumulation), f32 on CUDA cores; bias,
      silu/gelu/swiglu and scale in the epilogue. With `warpgroup-mma`
      (sm_90a) large f16/bf16 GEMMs (N >= 1024, K >= 512) instead stage
      128-byte swizzled tiles and run `nvvm.wgmma.mma_async` on shared-memory
      descriptors. The ragged form builds its
      tile -> expert map on the device. matmul_scatter adds rows with f32
      atomics; with `deterministic` it stores per-slot rows and sums each
      token's rows in slot order (no floating-point atomics).
    - permute / route / unpermute: device counting sort and weighted combine.
    - gather / scatter_add / gather_concat: one thread per element.

    Every op gets a fast kernel (16-byte copies: unit inner stride, rows and
    base aligned to 16 bytes) and a general kernel (element accesses, any
    layout); the host code checks the preconditions at run time and launches
    one of them. All sizes are dynamic in the kernels: one kernel serves every
    shape. The tiles of gather_matmul, matmul_scatter and weight_grad are
    read from each op's `egs.gpu_strategy` attribute, which
    `egs-select-gpu-strategy` writes (run it first); an op without one is an
    error. The chosen tiles are checked again here (warp split, copy widths)
    and a strategy that cannot be built is reported at its op.

    `host-buffers=copy` (default) copies operands to device buffers around
    each op and waits, so programs that keep their data in host memory run
    unchanged; `host-buffers=device` uses the operands in place (they must be
    device-accessible). `host-sync=false` (device buffers only) leaves the
    kernels queued on the current stream (egsSetCurrentStream) without
    waiting. Indices out of range read zeros and write nothing. With
    `check-indices` (the default) the host code compares, before it
    launches anything, every dynamic dim the op's layouts tie together
    (`x [T,I]` against `w [E,I,J]`, `outs` against the result, ...) and
    calls `egsReportShapeError` on a mismatch: fully static programs get
    no code.
  }];
  let options = [
    Option<"hostBuffers", "host-buffers", "std::string", /*default=*/"\"copy\"",
           "Where the operands live: copy (host memory, copied around each op) "
           "or device (used in place)">,
    Option<"hostSync", "host-sync", "bool", /*default=*/"true",
           "Wait for each op's kernels (forced with host-buffers=copy)">,
    Option<"checkIndices", "check-indices", "bool", /*default=*/"true",
           "Check on the host, before any launch, that the dynamic dims an "
           "op's layouts tie together agree (egsReportShapeError)">,
    Option<"vectorAtomics", "vector-atomics", "bool", /*default=*/"false",
           "Use 16-byte vector atomics (red.global.add.v4.f32: sm_90+, PTX "
           "ISA 8.1+) in matmul_scatter's epilogue">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::vector::VectorDialect",
                           "::mlir::math::MathDialect", "::mlir::gpu::GPUDialect",
                           "::mlir::nvgpu::NVGPUDialect", "::mlir::NVVM::NVVMDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def CheckInput : Pass<"egs-check-input", "::mlir::ModuleOp"> {
  let summary = "Reject input that upstream passes of the egs pipelines would crash on";
  let description = [{
    The first pass of `--egs-lower-to-cpu` and `--egs-lower-to-nvvm`. The
    module has passed the verifiers; this catches what they accept but the
    pipelines' upstream passes do not survive, with an error at the op:

    * `memref.dim` / `tensor.dim` with a constant index (or one that folds
      to a constant) outside `[0, rank)`: a negative index passes the
      upstream verifier and then crashes the canonicalizer of the GPU
      pipeline.
  }];
}

def CheckGPUTarget : Pass<"egs-check-gpu-target", "::mlir::ModuleOp"> {
  let summary = "Fail with a clear message on GPU options egs cannot use";
  let description = [{
    The first pass of `--egs-lower-to-nvvm`: checks the chip (an NVIDIA
    architecture egs supports: sm_80 and newer that LLVM 22 knows), the PTX
    features (one `+ptxNN` that LLVM 22 emits and the chip accepts), the
    binary format and the optimization level, and fails with a message that
    names the option and the accepted values, before any pass could crash or
    abort on them.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90a\"",
           "GPU architecture">,
    Option<"features", "features", "std::string", /*default=*/"\"\"",
           "PTX features (+ptxNN; empty: the chip's default)">,
    Option<"format", "format", "std::string", /*default=*/"\"fatbin\"",
           "What the GPU module becomes (isa, bin, fatbin)">,
    Option<"optLevel", "opt-level", "int64_t", /*default=*/"3",
           "Optimization level of the NVPTX backend (0-3)">,
  ];
}

def CheckCUDAToolkit : Pass<"egs-check-cuda-toolkit", "::mlir::ModuleOp"> {
  let summary = "Fail with a clear message when ptxas (and fatbinary) cannot be found";
  let description = [{
    Run before `gpu-module-to-binary`: serialising to `bin` or `fatbin` runs
    `ptxas` (and `fatbinary`) from `$CUDA_ROOT/bin`, `$CUDA_HOME/bin`,
    `$CUDA_PATH/bin` or `$PATH`. When none has it, this pass reports which
    places it searched and how to fix it, instead of the serializer's terse
    message. `format=isa` needs neither tool.
  }];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"fatbin\"",
           "The gpu-module-to-binary format that follows (isa, bin, fatbin)">,
  ];
}

#endif
