#!/usr/bin/env bash
# egs-runner --target=cuda (the JIT path) on the GPU machine, which has no
# LLVM: carry the runner with libLLVM and the few libraries the GPU image
# lacks, then run integration programs there and FileCheck their output.
#
#   scripts/runner-gpu-check.sh build     # here: .carry/runner (git-ignored)
#   scripts/runner-gpu-check.sh device    # GPU machine (run tool, carry [".carry/runner"])
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CARRY="$ROOT/.carry/runner"
# A spread of ops and forms; each is a self-checking CPU integration program.
PROGRAMS="gather_matmul_expert_choice_bf16 gather_matmul_ragged matmul_scatter_ragged
  matmul_scatter_deterministic permute unpermute route gather moe_token_choice"

case "${1:-build}" in
build)
  build="${BUILD:-$ROOT/build}"
  rm -rf "$CARRY" && mkdir -p "$CARRY/bin" "$CARRY/lib" "$CARRY/tests"
  cp "$build/bin/egs-runner" "$CARRY/bin/"
  cp "$build/lib/libegs_cuda_runtime.so" "$CARRY/lib/"
  # Debian's runner utilities need libMLIR.so (107 MB): carry the small
  # self-contained ones of scripts/gpu-check under the name egs-runner loads.
  g++ -O2 -std=c++17 -shared -fPIC -static-libstdc++ -static-libgcc -I /usr/lib/llvm-22/include \
    "$ROOT/scripts/gpu-check/runner_utils.cpp" -o "$CARRY/lib/libmlir_runner_utils.so"
  cp "$(readlink -f /usr/lib/llvm-22/lib/libLLVM.so.22.1)" "$CARRY/lib/libLLVM.so.22.1"
  for l in libz3.so.4 libedit.so.2 libffi.so.8 libbsd.so.0 libmd.so.0; do
    cp "$(readlink -f /lib/x86_64-linux-gnu/$l)" "$CARRY/lib/$l"
  done
  cp /usr/lib/llvm-22/bin/FileCheck "$CARRY/bin/"
  for p in $PROGRAMS; do
    cp "$ROOT/test/Integration/CPU/$p.mlir" "$CARRY/tests/"
  done
  (cd "$CARRY" && tar -cf - bin lib | xz -6 -T2 > bundle.tar.xz && rm -rf bin lib)
  du -sh "$CARRY"
  ;;
device)
  dir=/tmp/egs-runner && rm -rf "$dir" && mkdir -p "$dir"
  xz -dc "$CARRY/bundle.tar.xz" | tar -C "$dir" -xf -
  export LD_LIBRARY_PATH="$dir/lib" CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
  export PATH="$PATH:$CUDA_HOME/bin"
  pass=0 fail=0
  for f in "$CARRY"/tests/*.mlir; do
    t0=$(date +%s%N)
    if "$dir/bin/egs-runner" "$f" -e main --entry-point-result=void --target=cuda \
         > "/tmp/$(basename "$f").out" 2> "/tmp/$(basename "$f").err" &&
       "$dir/bin/FileCheck" "$f" --enable-var-scope --input-file "/tmp/$(basename "$f").out" \
         > /dev/null 2>&1; then
      pass=$((pass + 1)); status=PASS
    else
      fail=$((fail + 1)); status=FAIL; head -5 "/tmp/$(basename "$f").err"
    fi
    printf "%-4s %-40s %6d ms (JIT incl. ptxas)\n" "$status" "$(basename "$f")" \
      "$(( ($(date +%s%N) - t0) / 1000000 ))"
  done
  echo "egs-runner --target=cuda: $pass passed, $fail failed"
  ;;
esac
