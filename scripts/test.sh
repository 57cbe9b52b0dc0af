#!/usr/bin/env bash
# Builds egs (installing what is missing) and runs the whole test suite:
# the lit suite (dialect, transforms, conversions, CPU integration, plugin,
# CMake package, runtime; GPU tests run where a CUDA device is present) and
# the Python tests. Ends with one line "N passed, N failed, N skipped".
set -euo pipefail
source "$(dirname "$0")/common.sh"
install_dependencies
configure_and_build
results="$EGS_BUILD/logs/lit-results.json"
set +e
"$LLVM_PREFIX/bin/lit" -q --order=smart "$EGS_BUILD/test" --output "$results"
lit_status=$?
set -e
pytest_status=0
pytest_counts="0 0 0"
if [ -d "$EGS_ROOT/test/python" ] && [ -n "$(ls "$EGS_ROOT"/test/python/test_*.py 2>/dev/null)" ]; then
  set +e
  EGS_BUILD="$EGS_BUILD" python3 -m pytest -q "$EGS_ROOT/test/python" \
    --junitxml="$EGS_BUILD/logs/pytest.xml" > "$EGS_BUILD/logs/pytest.log" 2>&1
  pytest_status=$?
  set -e
  tail -n 15 "$EGS_BUILD/logs/pytest.log"
  pytest_counts=$(python3 "$EGS_ROOT/scripts/count_results.py" junit "$EGS_BUILD/logs/pytest.xml")
fi
python3 "$EGS_ROOT/scripts/count_results.py" lit "$results" $pytest_counts
if [ "$lit_status" -ne 0 ] || { [ "$pytest_status" -ne 0 ] && [ "$pytest_status" -ne 5 ]; }; then
  exit 1
fi
