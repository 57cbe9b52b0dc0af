#!/usr/bin/env bash
# The training path on the GPU machine, in one run (correctness first, the
# tables last): the weight-gradient and transposed-weight kernels
# (gpu_check.py, compute-sanitizer on the integration programs), the Python
# CUDA tests (gradients, determinism, the CUDA-graph capture of egs.nn.MoE
# forward + backward) and the layer benchmark.
#
#   here:    BUILD=build scripts/gpu-check.sh build && scripts/python-gpu-check.sh build
#            (and copy ScatterMoE into .peers/ for the benchmark)
#   device:  run tool, carry [".carry/gpu-check", ".carry/egs-py", ".peers"]:
#            bash scripts/training-gpu-check.sh
#   here:    scripts/gpu-check.sh verify /work/.device/N   (FileCheck of the programs)
#
# env: OUT (default /tmp/egs-training-check), LAYERS (bench_layer --layers),
#      BENCH_ARGS (extra bench_layer arguments, default --quick), PYTEST_FILES,
#      CHECK_SECONDS / PYTEST_SECONDS / BENCH_SECONDS (time limits of the parts).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-/tmp/egs-training-check}"
CARRY="$ROOT/.carry/gpu-check"
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}" PYTHONUNBUFFERED=1
mkdir -p "$OUT/tests"
fails=0

echo "== integration programs of the training path (outputs for 'verify')"
cd "$CARRY"
grep -E "weight_grad|transposed" programs.txt > "$OUT/programs.txt" || true
while read -r name; do
  timeout 120 "./tests/$name" > "$OUT/tests/$name.out" 2>&1 || { echo "FAIL: $name"; fails=$((fails + 1)); }
  compute-sanitizer --tool memcheck "./tests/$name" 2>&1 | grep -E "ERROR SUMMARY" | sed "s/^/$name: /"
done < "$OUT/programs.txt"
tar -C "$OUT" -czf "$OUT/outputs.tgz" tests programs.txt && rm -rf "$OUT/tests"

echo "== gpu_check.py: every correctness check, then the dW and transposed-weight timing rows"
EGS_CHECK_WEIGHT_GRAD=1 EGS_CHECK_TRANSPOSED=1 EGS_CHECK_ALL=1 timeout ${CHECK_SECONDS:-360} python3 gpu_check.py "$CARRY" > "$OUT/gpu_check.log" 2>&1 ||
  fails=$((fails + 1))
grep -E "^FAIL|correctness:" "$OUT/gpu_check.log"

echo "== Python CUDA tests"
cd "$ROOT"
bash scripts/python-gpu-check.sh package > "$OUT/package.log" 2>&1 || { tail -20 "$OUT/package.log"; exit 1; }
PYTHONPATH=/tmp/egs-pkg timeout ${PYTEST_SECONDS:-300} python3 -m pytest -q -p no:cacheprovider \
  ${PYTEST_FILES:-test/python/test_cuda.py test/python/test_torch.py} > "$OUT/pytest.log" 2>&1 || fails=$((fails + 1))
grep -E "passed|failed|FAILED|Error" "$OUT/pytest.log" | tail -12

echo "== layer benchmark"
PYTHONPATH=/tmp/egs-pkg timeout ${BENCH_SECONDS:-420} python3 benchmarks/bench_layer.py ${BENCH_ARGS:---quick} \
  ${LAYERS:+--layers "$LAYERS"} --out "$OUT/layer.jsonl" --table > "$OUT/layer.log" 2>&1 || fails=$((fails + 1))
tail -40 "$OUT/layer.log"
echo "== dW and transposed-weight timings"
grep "^|" "$OUT/gpu_check.log"
echo "failures: $fails"
