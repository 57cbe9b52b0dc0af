#!/usr/bin/env bash
# Installs what is missing (Debian and Python packages), configures and
# builds egs, then runs the main job: the built-in MoE example
# (examples/moe_layer.mlir) parsed and printed by egs-opt, lowered with
# --egs-lower-to-cpu, and executed by egs-runner, which prints the layer's
# output and whether it matches an upstream-only reference.
set -euo pipefail
source "$(dirname "$0")/common.sh"
install_dependencies
configure_and_build
example="$EGS_ROOT/examples/moe_layer.mlir"
run_quiet example-parse "$EGS_BUILD/bin/egs-opt" "$example"
run_quiet example-lower "$EGS_BUILD/bin/egs-opt" "$example" --egs-lower-to-cpu
"$EGS_BUILD/bin/egs-runner" "$example" -e main --entry-point-result=void
