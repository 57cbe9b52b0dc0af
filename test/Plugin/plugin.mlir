// REQUIRES: plugin
// The plugin loads into Debian's stock mlir-opt, round-trips egs IR, and its
// passes run there through --pass-pipeline.
// RUN: mlir-opt %s --load-dialect-plugin=%egs_lib_dir/libEGSPlugin%shlibext \
// RUN:   | FileCheck %s --enable-var-scope
// RUN: mlir-opt %s --load-dialect-plugin=%egs_lib_dir/libEGSPlugin%shlibext \
// RUN:   --mlir-print-op-generic | mlir-opt --load-dialect-plugin=%egs_lib_dir/libEGSPlugin%shlibext \
// RUN:   | FileCheck %s --enable-var-scope
// RUN: mlir-opt %s --load-dialect-plugin=%egs_lib_dir/libEGSPlugin%shlibext \
// RUN:   --load-pass-plugin=%egs_lib_dir/libEGSPlugin%shlibext \
// RUN:   --pass-pipeline="builtin.module(one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},convert-egs-to-loops)" \
// RUN:   | FileCheck %s --check-prefix=LOOPS --enable-var-scope

// CHECK-LABEL: func.func @gather
// CHECK: %[[Y:.*]] = egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} : (tensor<4x8xf32>, tensor<2x3xi32>, tensor<2x8x16xf32>) -> tensor<2x3x16xf32>
// CHECK: return %[[Y]]
// LOOPS-LABEL: func.func @gather
// LOOPS-NOT: egs.
// LOOPS: scf.for
// LOOPS: vector.fma
func.func @gather(%x: tensor<4x8xf32>, %ind: tensor<2x3xi32>, %w: tensor<2x8x16xf32>) -> tensor<2x3x16xf32> {
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<4x8xf32>, tensor<2x3xi32>, tensor<2x8x16xf32>) -> tensor<2x3x16xf32>
  return %y : tensor<2x3x16xf32>
}
