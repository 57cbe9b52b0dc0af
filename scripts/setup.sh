#!/usr/bin/env bash
# Installs what is missing (Debian and Python packages), configures and
# builds egs, then runs the main job on the built-in MoE examples:
#  1. examples/moe_frontend.mlir, an expert-choice MoE layer written as a
#     frontend emits it (linalg gather + batch_matmul + scatter-add), is fused
#     by `egs-opt --egs-fuse` into egs.gather_matmul + egs.matmul_scatter,
#     and both versions run on the CPU through egs-runner: same output;
#  2. examples/moe_layer.mlir (the layer in egs ops, with gates) runs and is
#     compared with the same layer written with upstream ops only.
set -euo pipefail
source "$(dirname "$0")/common.sh"
install_dependencies
configure_and_build
bin="$EGS_BUILD/bin"
logs="$EGS_LOG_DIR"
frontend="$EGS_ROOT/examples/moe_frontend.mlir"
run_quiet example-fuse "$bin/egs-opt" --egs-fuse "$frontend" -o "$logs/moe_frontend.fused.mlir"
echo "== egs-opt --egs-fuse examples/moe_frontend.mlir: the fused ops"
grep -o 'egs\.[a-z_]* [^:]*' "$logs/moe_frontend.fused.mlir"
run_quiet example-unfused "$bin/egs-runner" "$frontend" -e main --entry-point-result=void
"$bin/egs-runner" "$logs/moe_frontend.fused.mlir" -e main --entry-point-result=void \
  > "$logs/example-fused.log"
if diff <(tail -n +2 "$logs/example-unfused.log") <(tail -n +2 "$logs/example-fused.log") > /dev/null; then
  echo "== fused and unfused runs print the same [16, 8] output on the CPU"
else
  echo "egs: the fused example differs from the unfused one" >&2
  exit 1
fi
echo "== egs-runner examples/moe_layer.mlir (egs ops vs an upstream-only reference)"
run_quiet example-lower "$bin/egs-opt" "$EGS_ROOT/examples/moe_layer.mlir" --egs-lower-to-cpu
"$bin/egs-runner" "$EGS_ROOT/examples/moe_layer.mlir" -e main --entry-point-result=void
echo "== the Python package is in build/python_packages: export PYTHONPATH=$EGS_BUILD/python_packages"
