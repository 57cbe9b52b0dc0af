#!/usr/bin/env bash
# scripts/ptx-snapshot.sh OUTDIR [BUILD]
#
# Lowers every GPU-runnable integration program and the gpu-check kernel
# library with --egs-lower-to-nvvm (format=isa: the PTX stays readable in the
# output) and writes each result to OUTDIR/NAME.mlir. Two snapshots taken
# before and after a change to the GPU lowering show whether the generated
# host code and PTX changed:
#
#   scripts/ptx-snapshot.sh /tmp/before        # at the old commit
#   scripts/ptx-snapshot.sh /tmp/after         # at the new one
#   diff -r /tmp/before /tmp/after && echo identical
#
# The kernel library comes from scripts/gpu-check/gen_check_kernels.py (sm_90a,
# and its weight_grad part for sm_80, as scripts/gpu-check.sh builds them).
# No GPU is needed; ptxas is not run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:?usage: scripts/ptx-snapshot.sh OUTDIR [BUILD]}"
BUILD="${2:-$ROOT/build}"
OPT="$BUILD/bin/egs-opt"
mkdir -p "$OUT"

# lower NAME FILE OPTIONS. The program is read from stdin, so that the
# locations in the host code's messages do not depend on where it lies, and
# the serializer's timing property is dropped: what is left depends only on
# the compiler.
lower() {
  if ! "$OPT" - --egs-lower-to-nvvm="format=isa $3" < "$2" 2> "$OUT/$1.err" |
       sed -E 's/LLVMIRToISATimeInMs = [0-9]+ : i64, //' > "$OUT/$1.mlir" ||
     [ -s "$OUT/$1.err" ]; then
    echo "FAIL $1"; head -3 "$OUT/$1.err"
  fi
  [ -s "$OUT/$1.err" ] || rm -f "$OUT/$1.err"
}

n=0
# The programs scripts/gpu-check.sh runs: the integration programs and the
# mismatched-shape ones (their host code checks the dims before launching).
for f in "$ROOT"/test/Integration/CPU/*.mlir "$ROOT"/test/Integration/CPU/shape_errors/*.mlir; do
  case "$f" in
    */shape_errors/*) ;;
    *) grep -q "^// RUN: egs-runner" "$f" && ! grep -q "^// RUN: not " "$f" || continue ;;
  esac
  lower "$(basename "$(dirname "$f")")_$(basename "$f" .mlir)" "$f" "chip=sm_90a"
  n=$((n + 1))
done
python3 "$ROOT/scripts/gpu-check/gen_check_kernels.py" > "$OUT/check.input"
python3 "$ROOT/scripts/gpu-check/gen_check_kernels.py" --weight-grad-only > "$OUT/check_wg.input"
lower check "$OUT/check.input" "bufferize=false host-buffers=device host-sync=false chip=sm_90a"
lower check_wg_sm80 "$OUT/check_wg.input" "bufferize=false host-buffers=device host-sync=false chip=sm_80"
echo "ptx-snapshot: $((n + 2)) programs lowered into $OUT"
