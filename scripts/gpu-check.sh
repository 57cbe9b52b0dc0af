#!/usr/bin/env bash
# Build here, run on the GPU machine, check here: the GPU verification of egs.
#
#   scripts/gpu-check.sh build          # here: .carry/gpu-check (git-ignored)
#   scripts/gpu-check.sh device         # on the GPU machine (run tool, carry
#                                       #   [".carry/gpu-check"]); writes $OUT
#   scripts/gpu-check.sh sweep          # on the GPU machine: tile-strategy
#                                       #   checks + token-choice GEMM timings
#   scripts/gpu-check.sh wgrad          # on the GPU machine: the layer rows'
#                                       #   dW GEMMs per weight-gradient tile
#   scripts/gpu-check.sh profile        # on the GPU machine: ncu of one dW row
#                                       #   beside torch._grouped_mm (PROFILE=)
#   scripts/gpu-check.sh seed           # on the GPU machine: the same for the
#                                       #   expert-choice seed gather + ncu
#   scripts/gpu-check.sh sanitize       # on the GPU machine: compute-sanitizer
#                                       #   over the whole matrix (see sanitize())
#   scripts/gpu-check.sh verify DIR     # here: FileCheck the programs' output
#                                       #   that came back in DIR
#
# build: every integration program (test/Integration/CPU and GPU) is lowered
# with --egs-lower-to-nvvm (host-buffers=copy, as egs-runner --target=cuda
# does) and linked ahead of time into an executable, so the GPU machine needs
# no LLVM/MLIR: only libegs_cuda_runtime.so and libegs_test_utils.so (the
# printMemref* utilities and egsReportShapeError), both with a static libstdc++. gen_check_kernels.py's entry
# points become libegs_check.so (host-buffers=device host-sync=false), which
# gpu_check.py calls on torch tensors: correctness first (random data,
# outputs poisoned, float64 reference), then a table of timings.
# libegs_check_sm80.so holds the weight_grad entry points built for sm_80
# (mma.sync instead of wgmma); `device` runs the weight_grad checks with it
# too (EGS_CHECK_WEIGHT_GRAD=1: the weight_grad cases and dW timings only).
#
# env: BUILD (default build-gpu), CUDA_HOME (default /usr/local/cuda),
#      CHIP (default sm_90a), OUT (device mode, default /tmp/egs-gpu-check).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CARRY="$ROOT/.carry/gpu-check"
HERE="$ROOT/scripts/gpu-check"
MODE="${1:-build}"

# Integration programs that only make sense on the CPU (index errors are
# reported by the host lowering; GPU kernels clamp instead).
is_program() {
  local f=$1
  grep -q "^// RUN: egs-runner" "$f" && ! grep -q "^// RUN: not " "$f"
}

# check_library BUILD CHIP NAME SOURCE [OPTIONS]: $obj/SOURCE -> $CARRY/lib/NAME
# (OPTIONS: more --egs-lower-to-nvvm options).
check_library() {
  local build=$1 chip=$2 name=$3 src=$4 extra=${5:-} llvm=/usr/lib/llvm-22/bin
  "$build/bin/egs-opt" "$obj/$src" \
    --egs-lower-to-nvvm="bufferize=false host-buffers=device host-sync=false chip=$chip $extra" -o "$obj/check.llvm.mlir"
  "$llvm/mlir-translate" --mlir-to-llvmir "$obj/check.llvm.mlir" -o "$obj/check.ll"
  "$llvm/llc" -O3 -relocation-model=pic -filetype=obj "$obj/check.ll" -o "$obj/check.o"
  g++ -shared "$obj/check.o" -L "$CARRY/lib" -legs_test_utils -legs_cuda_runtime -Wl,-rpath,'$ORIGIN' \
    -static-libstdc++ -static-libgcc -o "$CARRY/lib/$name"
}

build() {
  local build="${BUILD:-$ROOT/build-gpu}" llvm=/usr/lib/llvm-22/bin
  export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
  local chip="${CHIP:-sm_90a}"
  rm -rf "$CARRY"
  mkdir -p "$CARRY/lib" "$CARRY/tests" "$CARRY/obj"
  obj="$CARRY/obj"
  echo "== runtime"
  g++ -O2 -std=c++17 -shared -fPIC -fvisibility=hidden -static-libstdc++ -static-libgcc \
    -I "$ROOT/runtime/include" \
    "$ROOT"/runtime/lib/{CudaDriver,DeviceContext,Diagnostics,GpuRuntimeAbi,KernelCache,TensorMap}.cpp \
    -Wl,--version-script="$ROOT/runtime/lib/exports.map" -ldl -lpthread \
    -o "$CARRY/lib/libegs_cuda_runtime.so"
  g++ -O2 -std=c++17 -shared -fPIC -static-libstdc++ -static-libgcc -I /usr/lib/llvm-22/include \
    -I "$ROOT/include" "$HERE/runner_utils.cpp" "$ROOT/lib/ExecutionEngine/HostRuntime.cpp" \
    -o "$CARRY/lib/libegs_test_utils.so"
  gcc -O2 -c "$HERE/test_main.c" -o "$obj/test_main.o"

  echo "== integration programs"
  local f name
  # program FILE NAME LIST: FILE lowered for the GPU -> tests/NAME, listed in LIST.
  program() {
    local f=$1 name=$2
    if ! "$build/bin/egs-opt" "$f" --egs-lower-to-nvvm="chip=$chip" -o "$obj/$name.llvm.mlir" 2> "$obj/$name.log"; then
      echo "FAIL to compile: $f"; head -5 "$obj/$name.log"; return
    fi
    if "$llvm/mlir-translate" --mlir-to-llvmir "$obj/$name.llvm.mlir" -o "$obj/$name.ll" &&
       sed -i 's/@main(/@egs_test_main(/g' "$obj/$name.ll" &&
       "$llvm/llc" -O2 -relocation-model=pic -filetype=obj "$obj/$name.ll" -o "$obj/$name.o" &&
       gcc "$obj/$name.o" "$obj/test_main.o" -L "$CARRY/lib" -legs_test_utils -legs_cuda_runtime -lm \
         -Wl,-rpath,'$ORIGIN/../lib' -o "$CARRY/tests/$name"; then
      echo "$name" >> "$CARRY/$3"
    else
      echo "FAIL to build: $f"
    fi
  }
  for f in "$ROOT"/test/Integration/CPU/*.mlir "$ROOT"/test/Integration/GPU/*.mlir; do
    [ -f "$f" ] && is_program "$f" || continue
    program "$f" "$(basename "$(dirname "$f")")_$(basename "$f" .mlir)" programs.txt
  done
  # Mismatched dynamic shapes: the host code must stop before any launch
  # (exit status 1, "egs: shape error: ..."), checked by 'verify'.
  for f in "$ROOT"/test/Integration/CPU/shape_errors/*.mlir; do
    program "$f" "ERR_$(basename "$f" .mlir)" errors.txt
  done

  echo "== check library"
  python3 "$HERE/gen_check_kernels.py" > "$obj/check.mlir"
  check_library "$build" "$chip" libegs_check.so check.mlir
  # weight_grad's entry points for sm_80 (mma.sync instead of wgmma; sm_80
  # code runs on Hopper too): the device run checks the mma.sync path.
  echo "== check library, weight_grad for sm_80"
  python3 "$HERE/gen_check_kernels.py" --weight-grad-only > "$obj/check_wg.mlir"
  check_library "$build" sm_80 libegs_check_sm80.so check_wg.mlir
  # The seed gather with dynamic B, T, K, with and without the host-side
  # shape checks (check-indices): gpu_check.py's shape-check cost row.
  echo "== check libraries, shape checks on/off"
  python3 "$HERE/gen_check_kernels.py" --shape-check-cost > "$obj/check_shape.mlir"
  check_library "$build" "$chip" libegs_check_shape_on.so check_shape.mlir check-indices=true
  check_library "$build" "$chip" libegs_check_shape_off.so check_shape.mlir check-indices=false
  # gpu_check.py with egs's float64 reference and dtype table beside it (it imports them).
  cp "$HERE/gpu_check.py" "$ROOT/python/egs/_reference.py" "$ROOT/python/egs/_dtypes.py" "$CARRY/"
  rm -rf "$obj"
  du -sh "$CARRY"
}

device() {
  local out="${OUT:-/tmp/egs-gpu-check}"
  mkdir -p "$out/tests"
  cd "$CARRY"
  nvidia-smi -L || true
  echo "== integration programs (output checked by 'verify' on the build machine)"
  local name rc t0 fails=0
  while read -r name; do
    t0=$(date +%s%N)
    rc=0
    timeout 120 "./tests/$name" > "$out/tests/$name.out" 2> "$out/tests/$name.err" || rc=$?
    printf "%-58s rc=%d %6d ms\n" "$name" "$rc" "$(( ($(date +%s%N) - t0) / 1000000 ))"
    [ "$rc" = 0 ] || { fails=$((fails + 1)); head -3 "$out/tests/$name.err"; }
  done < programs.txt
  while read -r name; do
    rc=0
    timeout 60 "./tests/$name" > "$out/tests/$name.out" 2>&1 || rc=$?
    printf "%-58s rc=%d (a shape error: 1)\n" "$name" "$rc"
    [ "$rc" = 1 ] || { fails=$((fails + 1)); head -3 "$out/tests/$name.out"; }
  done < <(cat errors.txt 2>/dev/null)
  if [ -x tests/CPU_matmul_scatter_deterministic ]; then
    ./tests/CPU_matmul_scatter_deterministic > "$out/det2.out" 2>&1 || true
    if diff <(grep -v 'base@' "$out/tests/CPU_matmul_scatter_deterministic.out") \
            <(grep -v 'base@' "$out/det2.out") > /dev/null; then
      echo "deterministic matmul_scatter: two runs identical"
    else
      echo "FAIL: deterministic matmul_scatter differs between runs"; fails=$((fails + 1))
    fi
  fi
  if command -v compute-sanitizer > /dev/null 2>&1; then
    echo "== compute-sanitizer memcheck"
    for name in CPU_gather_matmul_ragged CPU_matmul_scatter_ragged CPU_permute CPU_unpermute; do
      [ -x "tests/$name" ] || continue
      compute-sanitizer --tool memcheck "./tests/$name" 2>&1 | grep -E "ERROR SUMMARY|Invalid" | head -3
    done
  fi
  echo "== gpu_check.py"
  timeout 420 python3 gpu_check.py "$CARRY" 2>&1 | tee "$out/gpu_check.log" || fails=$((fails + 1))
  echo "== gpu_check.py: weight_grad with the sm_80 (mma.sync) kernels"
  EGS_CHECK_LIB=libegs_check_sm80.so EGS_CHECK_WEIGHT_GRAD=1 timeout 300 python3 gpu_check.py "$CARRY" 2>&1 |
    tee "$out/gpu_check_sm80.log" || fails=$((fails + 1))
  # The run tool fetches a limited number of files: one archive of them all.
  tar -C "$out" -czf "$out/outputs.tgz" tests && rm -rf "$out/tests"
  echo "program failures (exit codes): $fails"
}

verify() {
  local dir="$1" llvm=/usr/lib/llvm-22/bin name src pass=0 fail=0
  if [ -f "$dir/outputs.tgz" ]; then
    local unpacked; unpacked="$(mktemp -d)"
    tar -C "$unpacked" -xzf "$dir/outputs.tgz"
    dir="$unpacked"
  fi
  while read -r name; do
    case "$name" in
      CPU_*) src="$ROOT/test/Integration/CPU/${name#CPU_}.mlir" ;;
      GPU_*) src="$ROOT/test/Integration/GPU/${name#GPU_}.mlir" ;;
      ERR_*) src="$ROOT/test/Integration/CPU/shape_errors/${name#ERR_}.mlir" ;;
    esac
    if "$llvm/FileCheck" "$src" --enable-var-scope --input-file "$dir/tests/$name.out" > "/tmp/fc_$name.log" 2>&1; then
      pass=$((pass + 1))
    else
      fail=$((fail + 1)); echo "FAIL $name"; head -8 "/tmp/fc_$name.log"
    fi
  done < <(cat "$CARRY/programs.txt" "$CARRY/errors.txt" 2>/dev/null)
  echo "FileCheck: $pass passed, $fail failed"
}

sweep() {
  local out="${OUT:-/tmp/egs-gpu-check}"
  mkdir -p "$out"
  cd "$CARRY"
  EGS_CHECK_SWEEP=1 timeout 540 python3 gpu_check.py "$CARRY" 2>&1 | tee "$out/gpu_check_sweep.log"
}

# The layer rows' dW GEMMs with every weight-gradient tile (checked against
# torch._grouped_mm first; EGS_CHECK_WG_TILES=a,b picks tiles).
wgrad() {
  local out="${OUT:-/tmp/egs-gpu-check}"
  mkdir -p "$out"
  cd "$CARRY"
  EGS_CHECK_WG_LAYER=1 timeout 400 python3 gpu_check.py "$CARRY" 2>&1 | tee "$out/gpu_check_wgrad.log"
}

# Nsight Compute's full view of one dW layer row (PROFILE, default
# wgl_up_mixtral; PROFILE_TILE picks a WG_TILES tile) and of torch's
# _grouped_mm on the same dW, side by side: the kernels in the NVTX range
# "prof". The whole report goes to $OUT/ncu_PROFILE.log.
profile() {
  local out="${OUT:-/tmp/egs-gpu-check}" name="${PROFILE:-wgl_up_mixtral}"
  mkdir -p "$out"
  cd "$CARRY"
  EGS_CHECK_PROFILE="$name${PROFILE_TILE:+:$PROFILE_TILE}" timeout 400 ncu --set full \
    --nvtx --nvtx-include "prof/" python3 gpu_check.py "$CARRY" > "$out/ncu_$name.log" 2>&1 || true
  grep -E "^  [a-zA-Z_].*\(|Duration|Registers Per|Shared Memory Config|Dynamic Shared|Achieved Occ|Compute \(SM\) Th|Memory Throughput|DRAM Through|L2 Hit|L1/TEX Hit|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Stall|Block Size|Grid Size|Theoretical Occ|Executed Ipc A" \
    "$out/ncu_$name.log" | cut -c1-150 | head -150
}

# The expert-choice seed gather: tile-strategy checks, the seed timings per
# tile, and Nsight Compute's view of the default kernel.
seed() {
  local out="${OUT:-/tmp/egs-gpu-check}"
  mkdir -p "$out"
  cd "$CARRY"
  EGS_CHECK_SEED=1 timeout 300 python3 gpu_check.py "$CARRY" 2>&1 | tee "$out/gpu_check_seed.log"
  if command -v ncu > /dev/null 2>&1; then
    EGS_CHECK_PROFILE=seed${SEED_TILE:+:$SEED_TILE} timeout 200 ncu --section SpeedOfLight \
      --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats \
      --section WarpStateStats --section SchedulerStats -k regex:egs_gemm -c 1 \
      python3 gpu_check.py "$CARRY" 2>&1 | tee "$out/ncu_seed.log" | grep -vE "^==PROF==" | tail -120
  fi
}

# compute-sanitizer over the whole GPU matrix: memcheck, racecheck and
# synccheck on every integration program (their kernels stage tiles in shared
# memory: GEMMs, scans, combines), memcheck on every gpu_check.py correctness
# case (both check libraries), and memcheck on the Python CUDA tests where the
# package is carried too (.carry/egs-py; pytest arguments in PYTEST_ARGS).
# torch's caching allocator is off (PYTORCH_NO_CUDA_MEMORY_CACHING=1) so that
# an access past a tensor is not hidden inside one of its pools. A line per
# run, then "sanitizer runs: N, with errors: M". env: SANITIZE_PARTS (some of
# "programs checks pytest", default all), SANITIZE_TOOLS, CHECK_SECONDS,
# PYTEST_SECONDS, PYTEST_ARGS.
sanitize() {
  local out="${OUT:-/tmp/egs-gpu-check}" name tool rc runs=0 bad=0
  mkdir -p "$out/sanitizer"
  cd "$CARRY"
  export PYTORCH_NO_CUDA_MEMORY_CACHING=1
  # sanitize_one LABEL TOOL TIMEOUT CMD...: rc 99 = errors found.
  sanitize_one() {
    local label=$1 tool=$2 limit=$3; shift 3
    local log="$out/sanitizer/$label.$tool.log" rc=0 t0=$SECONDS
    timeout "$limit" compute-sanitizer --tool "$tool" --error-exitcode 99 "$@" > "$log" 2>&1 || rc=$?
    runs=$((runs + 1))
    # A program that never calls CUDA (no egs op on the GPU) leaves the tool
    # nothing to check: not an error.
    if [ "$rc" = 255 ] && grep -q "terminated before first instrumented API call" "$log"; then
      printf "%-52s %-9s no CUDA calls (nothing to check)\n" "$label" "$tool"
      return
    fi
    printf "%-52s %-9s rc=%-3d %4ds  %s\n" "$label" "$tool" "$rc" $((SECONDS - t0)) \
      "$(grep -E "(ERROR|RACECHECK|SYNCCHECK) SUMMARY" "$log" | tail -1 | sed 's/^=* *//')"
    if [ "$rc" != 0 ]; then
      bad=$((bad + 1)); grep -m 4 -E "^=+ +(Invalid|Race|Barrier|Error|ERROR|Program hit)" "$log" || tail -3 "$log"
    fi
  }
  local parts=" ${SANITIZE_PARTS:-programs checks pytest} "
  if [[ $parts == *" programs "* ]]; then
    echo "== integration programs"
    while read -r name; do
      for tool in ${SANITIZE_TOOLS:-memcheck racecheck synccheck}; do
        sanitize_one "$name" "$tool" 300 "./tests/$name"
      done
    done < programs.txt
  fi
  if [[ $parts == *" checks "* ]]; then
    echo "== gpu_check.py correctness (memcheck)"
    EGS_CHECK_NO_TIMINGS=1 EGS_CHECK_ALL=1 EGS_CHECK_WEIGHT_GRAD=1 EGS_CHECK_TRANSPOSED=1 \
      sanitize_one gpu_check memcheck "${CHECK_SECONDS:-300}" python3 gpu_check.py "$CARRY"
    grep -E "^FAIL|correctness:" "$out/sanitizer/gpu_check.memcheck.log"
    EGS_CHECK_LIB=libegs_check_sm80.so EGS_CHECK_WEIGHT_GRAD=1 EGS_CHECK_NO_TIMINGS=1 \
      sanitize_one gpu_check_sm80 memcheck "${CHECK_SECONDS:-300}" python3 gpu_check.py "$CARRY"
    grep -E "^FAIL|correctness:" "$out/sanitizer/gpu_check_sm80.memcheck.log"
  fi
  if [[ $parts == *" pytest "* ]] && [ -f "$ROOT/.carry/egs-py/libEGSCAPI.so.xz" ]; then
    echo "== Python CUDA tests (memcheck)"
    cd "$ROOT"
    bash scripts/python-gpu-check.sh package > "$out/sanitizer/package.log" 2>&1
    # CUDA-graph captures cannot run without torch's caching allocator (a
    # cudaMalloc while capturing is refused): the tests marked cuda_graph run
    # in a second pass with the allocator on.
    PYTHONPATH=/tmp/egs-pkg sanitize_one pytest memcheck "${PYTEST_SECONDS:-400}" \
      python3 -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:-test/python/test_cuda.py} -m "not cuda_graph"
    grep -E "passed|failed" "$out/sanitizer/pytest.memcheck.log" | tail -2
    PYTHONPATH=/tmp/egs-pkg sanitize_one pytest_capture memcheck "${PYTEST_SECONDS:-400}" \
      env -u PYTORCH_NO_CUDA_MEMORY_CACHING python3 -m pytest -q -p no:cacheprovider \
      ${PYTEST_ARGS:-test/python/test_cuda.py} -m cuda_graph
    grep -E "passed|failed" "$out/sanitizer/pytest_capture.memcheck.log" | tail -2
  fi
  tar -C "$out" -czf "$out/sanitizer.tgz" sanitizer && rm -rf "$out/sanitizer"
  echo "sanitizer runs: $runs, with errors: $bad"
  [ "$bad" = 0 ]
}

case "$MODE" in
  build) build ;;
  sanitize) sanitize ;;
  device) device ;;
  sweep) sweep ;;
  wgrad) wgrad ;;
  seed) seed ;;
  profile) profile ;;
  verify) verify "${2:?verify needs the directory of the device outputs}" ;;
  *) echo "usage: $0 build | device | sweep | wgrad | seed | profile | sanitize | verify DIR" >&2; exit 2 ;;
esac
