// The fusion counts of fuse-statistics.mlir's program as one remark
// (summary=true), on every LLVM build (-mlir-pass-statistics counts only in
// an LLVM built with statistics).
// RUN: egs-opt --egs-fuse="summary=true" %S/fuse-statistics.mlir -o /dev/null 2>&1 \
// RUN:   | FileCheck %s
// RUN: egs-opt --egs-fuse="summary=true gather-contraction=false epilogue=false" \
// RUN:   %S/fuse-statistics.mlir -o /dev/null 2>&1 | FileCheck %s --check-prefix=OFF
// RUN: egs-opt --egs-fuse %S/fuse-statistics.mlir -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=QUIET --allow-empty

// CHECK: remark: egs-fuse: 2 gather-contraction, 1 contraction-scatter, 2 routing, 1 gather-transpose, 2 epilogue, 0 weight-grad
// CHECK-NOT: remark
// OFF: remark: egs-fuse: 0 gather-contraction, 0 contraction-scatter, 2 routing, 1 gather-transpose, 0 epilogue, 0 weight-grad
// QUIET-NOT: remark
