#!/usr/bin/env bash
# Runs egs-runner under valgrind memcheck on issue 16's mismatched-shape
# reproducer; exits non-zero on any memcheck error (the dynamic loader's
# strncmp in is_dst, a known glibc false positive, is suppressed).
# Usage: scripts/memcheck.sh [build-dir]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
supp=$(mktemp)
cat >"$supp" <<'SUPP'
{
   ld-so-is_dst-strncmp
   Memcheck:Addr8
   fun:strncmp
   fun:is_dst
}
SUPP
log=$(mktemp)
trap 'rm -f "$supp" "$log"' EXIT
status=0
valgrind --error-exitcode=9 --suppressions="$supp" \
  "$build/bin/egs-runner" \
  "$root/test/Integration/CPU/shape_errors/matmul_scatter_issue16.mlir" \
  -e main --entry-point-result=void >"$log" 2>&1 || status=$?
cat "$log"
grep -q "egs: shape error: egs.matmul_scatter" "$log" ||
  { echo "memcheck: no shape error" >&2; exit 1; }
# The runner exits 1 on the shape error; 9 would be a memcheck error.
[[ $status == 1 ]] || { echo "memcheck: egs-runner exited $status" >&2; exit 1; }
grep "ERROR SUMMARY" "$log"
echo "memcheck: ok"
