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
# The package as users get it: `pip install .` into a fresh virtual
# environment, then the same Python tests against the installed package. The
# environment sees the system's packages (torch, transformers: installed
# above) so that the large wheels are not downloaded twice.
pip_status=0
pip_counts="0 0 0"
if [ "${EGS_TEST_PIP_INSTALL:-1}" = 1 ] && [ -f "$EGS_ROOT/pyproject.toml" ]; then
  venv="$EGS_BUILD/pip-venv"
  if run_quiet pip-install bash -c "rm -rf '$venv' && python3 -m venv --system-site-packages '$venv' &&
       '$venv/bin/pip' install -q '$EGS_ROOT[test]'"; then
    set +e
    (cd "$EGS_BUILD" && env -u EGS_BUILD EGS_TEST_INSTALLED=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider \
      "$EGS_ROOT/test/python" --junitxml="$EGS_BUILD/logs/pytest-pip.xml" \
      > "$EGS_BUILD/logs/pytest-pip.log" 2>&1)
    pip_status=$?
    set -e
    echo "installed package: $(tail -n 1 "$EGS_BUILD/logs/pytest-pip.log")"
    pip_counts=$(python3 "$EGS_ROOT/scripts/count_results.py" junit "$EGS_BUILD/logs/pytest-pip.xml")
  else
    pip_status=1
    pip_counts="0 1 0"
  fi
fi
# The fuzzer (bounded, seeded: EGS_FUZZ_SECONDS, EGS_FUZZ_SEED): egs-opt on
# mutated test inputs through parse, --egs-fuse and both lowerings; any
# crash or hang fails the run (reproducers under logs/fuzz). One test.
fuzz_status=0
fuzz_counts="0 0 0"
if [ "${EGS_FUZZ_SECONDS:-120}" != 0 ]; then
  set +e
  python3 "$EGS_ROOT/scripts/fuzz.py" --egs-opt "$EGS_BUILD/bin/egs-opt" --root "$EGS_ROOT" \
    --seed "${EGS_FUZZ_SEED:-1}" --seconds "${EGS_FUZZ_SECONDS:-120}" --jobs 2 \
    --out "$EGS_BUILD/logs/fuzz" > "$EGS_BUILD/logs/fuzz.log" 2>&1
  fuzz_status=$?
  set -e
  tail -n 1 "$EGS_BUILD/logs/fuzz.log"
  if [ "$fuzz_status" = 0 ]; then fuzz_counts="1 0 0"; else fuzz_counts="0 1 0"; tail -n 20 "$EGS_BUILD/logs/fuzz.log"; fi
fi
read -r p1 f1 s1 <<< "$pytest_counts"
read -r p2 f2 s2 <<< "$pip_counts"
read -r p3 f3 s3 <<< "$fuzz_counts"
python3 "$EGS_ROOT/scripts/count_results.py" lit "$results" $((p1 + p2 + p3)) $((f1 + f2 + f3)) $((s1 + s2 + s3))
if [ "$lit_status" -ne 0 ] || [ "$fuzz_status" -ne 0 ] || { [ "$pytest_status" -ne 0 ] && [ "$pytest_status" -ne 5 ]; } ||
   { [ "$pip_status" -ne 0 ] && [ "$pip_status" -ne 5 ]; }; then
  exit 1
fi
