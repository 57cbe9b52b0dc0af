#!/usr/bin/env bash
# egs-runner under valgrind memcheck. Default: issue 16's mismatched-shape
# reproducer (the run-time shape check must stop it with its error, exit 1).
# --all: every CPU integration program (exit 0 expected), every shape_errors
# program (exit 1 with "egs: shape error") and every index_errors program
# (exit 1 with "egs: index error"); a line per program, then a summary.
# Exits non-zero on any memcheck error or unexpected exit. The dynamic
# loader's strncmp in is_dst, a known glibc false positive, is suppressed.
# Usage: scripts/memcheck.sh [--all] [build-dir]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
all=0
if [[ ${1:-} == --all ]]; then all=1; shift; fi
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

# run FILE WANT_STATUS [MESSAGE]: one program under memcheck, with the
# egs-runner options of its first RUN line.
runs=0 bad=0
run() {
  local file=$1 want=$2 message=${3:-} status=0 opts
  opts=$(grep -m1 -o "^// RUN: .*egs-runner [^|>]*" "$file" | sed -e 's/.*egs-runner //' -e 's/%s//' -e 's/ *2 *$//')
  # shellcheck disable=SC2086
  valgrind --error-exitcode=9 --suppressions="$supp" \
    "$build/bin/egs-runner" "$file" $opts >"$log" 2>&1 || status=$?
  runs=$((runs + 1))
  local summary
  summary=$(grep -o "ERROR SUMMARY: [0-9]* errors" "$log" | tail -1)
  if [[ $status != "$want" ]] || { [[ -n $message ]] && ! grep -q "$message" "$log"; }; then
    bad=$((bad + 1))
    echo "FAIL ${file#$root/}: exit $status (want $want${message:+, \"$message\"}); $summary"
    grep -m 6 -E "Invalid|uninitialised|definitely lost|error" "$log" || tail -5 "$log"
  else
    echo "ok   ${file#$root/}: exit $status; $summary"
  fi
}

if [[ $all == 0 ]]; then
  run "$root/test/Integration/CPU/shape_errors/matmul_scatter_issue16.mlir" 1 \
    "egs: shape error: egs.matmul_scatter"
  cat "$log"
else
  for f in "$root"/test/Integration/CPU/*.mlir; do
    grep -q "^// RUN: egs-runner" "$f" || continue
    run "$f" 0
  done
  for f in "$root"/test/Integration/CPU/shape_errors/*.mlir; do run "$f" 1 "egs: shape error"; done
  for f in "$root"/test/Integration/CPU/index_errors/*.mlir; do run "$f" 1 "egs: index error"; done
fi
echo "memcheck: $runs runs, $bad failed"
[[ $bad == 0 ]]
