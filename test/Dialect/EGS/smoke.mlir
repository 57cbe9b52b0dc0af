// RUN: egs-opt %s | FileCheck %s --enable-var-scope
// CHECK-LABEL: func.func @g
// CHECK: egs.gather %{{.*}}[%{{.*}}] axis = 0 permutation = [1, 0]
func.func @g(%x: tensor<100x64xf32>, %i: tensor<8xi64>) -> tensor<64x8xf32> {
  %g = egs.gather %x[%i] axis = 0 permutation = [1, 0] : (tensor<100x64xf32>, tensor<8xi64>) -> tensor<64x8xf32>
  return %g : tensor<64x8xf32>
}
