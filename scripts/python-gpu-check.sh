#!/usr/bin/env bash
# The Python package's tests on the GPU machine (no LLVM/MLIR there):
#
#   scripts/python-gpu-check.sh build    # here: .carry/egs-py (git-ignored)
#   scripts/python-gpu-check.sh device   # on the GPU machine (run tool, carry
#                                        #   [".carry/egs-py"]): builds the small
#                                        #   extension for its Python, runs
#                                        #   test/python and the overhead benchmark
#   scripts/python-gpu-check.sh package  # on the GPU machine: only the package
#                                        #   (/tmp/egs-pkg), for benchmarks
#
# libEGSCAPI.so is self-contained (MLIR and LLVM inside), so it travels as is,
# compressed to fit the carry limit; the GPU machine compiles only the pybind11
# extension against it. env: BUILD (default build), pytest arguments after the mode.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CARRY="$ROOT/.carry/egs-py"
MODE="${1:-build}"
shift || true
case "$MODE" in
build)
  build="${BUILD:-$ROOT/build}"
  ninja -C "$build" egs-python egs_cuda_runtime > /dev/null
  rm -rf "$CARRY" && mkdir -p "$CARRY"
  strip --strip-unneeded -o "$CARRY/libEGSCAPI.so" "$build/lib/libEGSCAPI.so"
  xz -T0 -4 -f "$CARRY/libEGSCAPI.so"
  cp "$build/lib/libegs_cuda_runtime.so" "$CARRY/"
  du -sh "$CARRY"
  ;;
device|package)
  cd "$ROOT"
  pkg=/tmp/egs-pkg/egs
  rm -rf /tmp/egs-pkg && mkdir -p "$pkg"
  xz -dc "$CARRY/libEGSCAPI.so.xz" > "$pkg/libEGSCAPI.so"
  cp "$CARRY/libegs_cuda_runtime.so" "$pkg/"
  cp -r python/egs/. "$pkg/"  # the modules and subpackages (egs.integrations)
  suffix=$(python3 -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
  g++ -O2 -shared -fPIC -std=c++17 -fvisibility=hidden -Iinclude \
    $(python3 -m pybind11 --includes) python/src/EGSModule.cpp \
    -o "$pkg/_egs$suffix" -L"$pkg" -lEGSCAPI -Wl,-rpath,'$ORIGIN' &
  egs_ext=$!
  # egs._egs_torch against this machine's torch, where it has one
  # (python/CMakeLists.txt does the same where egs is built with CMake).
  mapfile -t torch_info < <(python3 -c "import sysconfig, torch, torch.utils.cpp_extension as c
print(torch.__version__); print(c.library_paths()[0]); print(sysconfig.get_paths()['include'])
print(' '.join('-isystem ' + p for p in c.include_paths()))" 2>/dev/null || true)
  if [ "${#torch_info[@]}" -eq 4 ] &&
     g++ -O2 -shared -fPIC -std=c++20 -fvisibility=hidden -Iinclude ${torch_info[3]} \
       -isystem "${torch_info[2]}" -DEGS_TORCH_VERSION="\"${torch_info[0]}\"" \
       python/src/TorchDispatch.cpp -o "$pkg/_egs_torch$suffix" -L"$pkg" -lEGSCAPI \
       -L"${torch_info[1]}" -ltorch -ltorch_cpu -lc10 -ltorch_python \
       -Wl,-rpath,'$ORIGIN' -Wl,-rpath,"${torch_info[1]}"; then
    echo "TORCH_VERSION = \"${torch_info[0]}\"" > "$pkg/_torch_build.py"
  else
    echo "egs._egs_torch not built (no torch, or it did not compile): the Python replay runs"
  fi
  wait "$egs_ext"
  [ "$MODE" = package ] && exit 0
  export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}" PYTHONPATH=/tmp/egs-pkg
  unset EGS_BUILD
  python3 -m pytest -q -p no:cacheprovider test/python "$@" 2>&1 | tail -15
  python3 benchmarks/python_call_overhead.py 2>&1 | tail -8
  python3 benchmarks/cuda_call_breakdown.py
  ;;
*)
  echo "usage: $0 build|device|package [pytest args]" >&2
  exit 2
  ;;
esac
