# Shared by scripts/setup.sh and scripts/test.sh: dependencies and the build.
# Quiet on success; on failure the log of the failing step is printed.
EGS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EGS_BUILD="${EGS_BUILD:-$EGS_ROOT/build}"
EGS_LOG_DIR="$EGS_BUILD/logs"
LLVM_PREFIX=/usr/lib/llvm-22
export CCACHE_BASEDIR="$EGS_ROOT" CCACHE_NOHASHDIR=1
if [ -d /usr/local/cuda/bin ]; then
  export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
  export PATH="$PATH:$CUDA_HOME/bin"
fi

# run_quiet NAME CMD...: runs CMD with its output in a log, shown on failure.
run_quiet() {
  local name="$1"; shift
  mkdir -p "$EGS_LOG_DIR"
  if ! "$@" > "$EGS_LOG_DIR/$name.log" 2>&1; then
    echo "egs: step '$name' failed; its log ($EGS_LOG_DIR/$name.log) ends with:" >&2
    tail -n 60 "$EGS_LOG_DIR/$name.log" >&2
    return 1
  fi
}

install_system_packages() {
  local pkgs=(llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22
              ninja-build cmake ccache python3-pip)
  local missing=()
  for p in "${pkgs[@]}"; do
    dpkg -s "$p" > /dev/null 2>&1 || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
  fi
}

# What the build and the test suite need from PyPI: pybind11 (the default
# build then builds the egs Python package), numpy and pytest, and torch and
# transformers, which the torch tests (custom ops, autograd, egs.nn,
# torch.compile, the transformers backend) need: they run on the CPU here.
# torch is large (~0.5 GB wheel plus its CUDA libraries): pip's cache keeps
# the download for the next run.
PYTHON_PACKAGES=(numpy pytest pybind11 torch transformers)

install_python_packages() {
  python3 - <<'PY' 2>/dev/null && return 0
import numpy, pytest, pybind11, torch, transformers  # noqa: F401
PY
  python3 -m pip install -q "${PYTHON_PACKAGES[@]}"
}

install_dependencies() {
  run_quiet apt install_system_packages
  run_quiet pip install_python_packages
}

configure_and_build() {
  if [ ! -f "$EGS_BUILD/build.ninja" ]; then
    run_quiet configure cmake -G Ninja -S "$EGS_ROOT" -B "$EGS_BUILD" \
      -DCMAKE_BUILD_TYPE=Release \
      -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
      -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit"
  fi
  # mlir-doc: the generated dialect and pass reference, which test/Docs
  # compares with docs/reference.
  run_quiet build ninja -C "$EGS_BUILD" all mlir-doc
}
