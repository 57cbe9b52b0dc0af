#!/usr/bin/env bash
# Build the prototype GPU kernels with the STOCK Debian LLVM/MLIR 22 tools + CUDA 13 ptxas.
#
#   .mlir (gpu.module + host func)  --mlir-opt (PIPELINE)-->  LLVM-dialect module with a
#   gpu.binary holding the sm_90a fatbin (ptxas run by mlir-opt)  --mlir-translate-->  .ll
#   --llc-->  .o  (host code + embedded cubin + a global ctor that calls mgpuModuleLoad)
#   --g++-->  out/harness (+ mgpu_min.cpp, the temporary mgpu* runtime)
#
# usage: prototype/gpu/build.sh            (from anywhere; outputs in prototype/gpu/out/)
# env:   VARIANTS="kind:name:params,..."  (kernel variants in one module, see DEFAULT_VARIANTS)
#        RUNTIME=/path/libegs_cuda_runtime.so            (link that instead of mgpu_min.cpp)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="$HERE/out"
mkdir -p "$OUT"
LLVM=/usr/lib/llvm-22/bin
# ptxas discovery: mlir-opt's NVVM target looks in the `toolkit` option / $CUDA_ROOT /
# $CUDA_HOME / $CUDA_PATH (each + /bin/ptxas), then $PATH. Without any of them
# gpu-module-to-binary fails with "Couldn't find the `ptxas` binary".
export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
export PATH="$CUDA_HOME/bin:$PATH"

CHIP=${CHIP:-sm_90a}
FEATURES=${FEATURES:-+ptx80}     # PTX ISA 8.0 is the minimum for sm_90a; CUDA 13 ptxas takes up to 9.0
FORMAT=${FORMAT:-fatbin}         # fatbin | bin (cubin) | isa (PTX text only, for inspection)

# The explicit equivalent of
#   --gpu-lower-to-nvvm-pipeline="cubin-chip=$CHIP cubin-features=$FEATURES opt-level=3 cubin-format=$FORMAT"
# (mlir/lib/Dialect/GPU/Pipelines/GPUToNVVMPipeline.cpp, MLIR 22). ORDER MATTERS:
#  * convert-nvgpu-to-nvvm must run first, while the kernel's scf.for still carries
#    !nvgpu.device.async.token iter_args (it type-converts them to i32 structurally).
#  * nvvm-attach-target before gpu-module-to-binary; gpu-to-llvm before gpu-module-to-binary
#    (it needs the gpu.module symbol for the launch), gpu-module-to-binary replaces the
#    gpu.module by gpu.binary that mlir-translate turns into the embedded blob + ctor.
#  * convert-gpu-to-nvvm (nested on gpu.module) lowers the kernel bodies incl. vector,
#    memref (workgroup attributions -> addrspace(3) globals) and nvgpu leftovers.
PIPELINE="builtin.module(
  convert-nvgpu-to-nvvm,
  gpu-kernel-outlining,
  convert-vector-to-scf,
  convert-scf-to-cf,
  convert-nvvm-to-llvm,
  convert-func-to-llvm,
  expand-strided-metadata,
  nvvm-attach-target{chip=$CHIP features=$FEATURES O=3},
  lower-affine,
  convert-arith-to-llvm,
  convert-index-to-llvm{index-bitwidth=64},
  canonicalize,
  cse,
  gpu.module(strip-debuginfo,
             convert-gpu-to-nvvm{index-bitwidth=64},
             llvm-optimize-for-nvvm-target,
             canonicalize,
             cse,
             reconcile-unrealized-casts),
  gpu-to-llvm,
  gpu-module-to-binary{format=$FORMAT},
  convert-math-to-llvm,
  canonicalize,
  cse,
  reconcile-unrealized-casts)"
PIPELINE=$(echo "$PIPELINE" | tr -d '\n' | tr -s ' ')

# kind:name:params -- mma:name:BM:BN:BK:WM:WN:STAGES:OUT[:ROWS] | simt:name:BM:BN:BK:TM:TN:STAGES[:ROWS] |
#                     unpermute:name:TOPK:OUT        (ROWS: e = rows of one expert, flattened over
#                     (b,k) -- default; be = rows of one (b,e))
DEFAULT_VARIANTS="mma:gm_be32_f32:32:64:32:16:32:3:f32:be,\
mma:gm_e64_f32:64:64:32:32:32:3:f32,mma:gm_e128_f32:128:64:32:32:32:3:f32,\
mma:gm_e128_bk64_f32:128:64:64:32:32:3:f32,mma:gm_e128w64_f32:128:64:32:64:32:3:f32,\
mma:gm_e64_bf16:64:64:32:32:32:3:bf16,mma:gm_e128_bf16:128:64:32:32:32:3:bf16,\
mma:gm_big_bf16:128:128:32:64:32:4:bf16,\
simt:gm_simt_e64_f32:64:64:16:4:4:3,simt:gm_simt_e32_f32:32:64:32:4:4:3,simt:gm_simt_e128_f32:128:64:16:8:4:3,\
unpermute:unpermute_k4_bf16:4:bf16"
VARIANTS=${VARIANTS:-$DEFAULT_VARIANTS}

# 1. the reference hand-off file (one variant, f32 out) and the multi-variant build input
# (same config as the measured gm_e128_f32 variant)
python3 "$HERE/gen_gather_matmul.py" --variants "mma:gather_matmul_bf16:128:64:32:32:32:3:f32:e" \
  > "$HERE/gather_matmul_bf16.mlir"
python3 "$HERE/gen_gather_matmul.py" --variants "$VARIANTS" > "$OUT/variants.mlir"
{
  IFS=',' read -ra VS <<< "$VARIANTS"
  for v in "${VS[@]}"; do
    IFS=':' read -ra F <<< "$v"
    kind=${F[0]}; n=${F[1]}; o=${F[${#F[@]}-1]}
    echo "V($n, $(echo "$kind" | tr a-z A-Z), $([ "$o" = bf16 ] && echo true || echo false))"
  done
} > "$OUT/variants.inc"

# 2. MLIR -> LLVM dialect + embedded binary (ptxas runs here). Also keep the PTX for reading.
"$LLVM/mlir-opt" "$OUT/variants.mlir" --pass-pipeline="$PIPELINE" -o "$OUT/variants.llvm.mlir"
"$LLVM/mlir-opt" "$OUT/variants.mlir" \
  --pass-pipeline="${PIPELINE/format=$FORMAT/format=isa}" -o "$OUT/variants.isa.mlir"
python3 "$HERE/extract_ptx.py" "$OUT/variants.isa.mlir" "$OUT/variants.ptx"
"$CUDA_HOME/bin/ptxas" -arch="$CHIP" -v "$OUT/variants.ptx" -o "$OUT/variants.cubin" 2> "$OUT/ptxas.log"
grep -E "Compiling|registers|spill" "$OUT/ptxas.log" || true
# SASS check: tensor-core path shows HMMA
if command -v "$CUDA_HOME/bin/cuobjdump" > /dev/null 2>&1; then
  "$CUDA_HOME/bin/cuobjdump" -sass "$OUT/variants.cubin" > "$OUT/variants.sass" || true
fi

# 3. LLVM dialect -> LLVM IR -> object (PIC: linked into a PIE executable / shared lib)
"$LLVM/mlir-translate" --mlir-to-llvmir "$OUT/variants.llvm.mlir" -o "$OUT/variants.ll"
"$LLVM/llc" -O3 -relocation-model=pic -filetype=obj "$OUT/variants.ll" -o "$OUT/variants.o"

# 4. harness (static libstdc++ so the binary runs on the device machine as-is)
if [ -n "${RUNTIME:-}" ]; then
  # e.g. RUNTIME=$PWD/out/rt-build/libegs_cuda_runtime.so after
  #   cmake -S runtime -B prototype/gpu/out/rt-build -G Ninja && ninja -C prototype/gpu/out/rt-build
  cp "$RUNTIME" "$OUT/"
  RT=("$OUT/$(basename "$RUNTIME")" "-Wl,-rpath,\$ORIGIN")
else
  RT=("$HERE/mgpu_min.cpp")
fi
g++ -O3 -march=x86-64-v3 -std=c++17 -I"$OUT" "$HERE/harness.cpp" "${RT[@]}" "$OUT/variants.o" \
  -static-libstdc++ -static-libgcc -ldl -lpthread -o "$OUT/harness"
echo "built $OUT/harness"
