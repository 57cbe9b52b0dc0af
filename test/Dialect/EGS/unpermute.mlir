// RUN: egs-opt %s | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | egs-opt | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// x_sorted [R,H], row_id_map [k*T], probs [T,k] -> out [T,H].
// CHECK-LABEL: func.func @unpermute
// CHECK-SAME:    (%[[XS:[a-z0-9]+]]: tensor<32x64xbf16>, %[[MAP:[a-z0-9]+]]: tensor<32xi32>, %[[P:[a-z0-9]+]]: tensor<16x2xf32>)
// CHECK:         %[[OUT:[a-z0-9_]+]] = egs.unpermute %[[XS]][%[[MAP]]] * %[[P]] : (tensor<32x64xbf16>, tensor<32xi32>, tensor<16x2xf32>) -> tensor<16x64xbf16>
// CHECK:         return %[[OUT]]
// GENERIC-LABEL: sym_name = "unpermute"
// GENERIC:       "egs.unpermute"(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<32x64xbf16>, tensor<32xi32>, tensor<16x2xf32>) -> tensor<16x64xbf16>
func.func @unpermute(%xs: tensor<32x64xbf16>, %map: tensor<32xi32>, %p: tensor<16x2xf32>) -> tensor<16x64xbf16> {
  %out = egs.unpermute %xs[%map] * %p : (tensor<32x64xbf16>, tensor<32xi32>, tensor<16x2xf32>) -> tensor<16x64xbf16>
  return %out : tensor<16x64xbf16>
}

// x_sorted may have fewer rows than k*T (num_out_tokens dropped some); f32 output.
// CHECK-LABEL: func.func @dropped_rows_f32_out
// CHECK:         egs.unpermute %{{.*}}[%{{.*}}] * %{{.*}} : (tensor<20x64xf16>, tensor<32xi64>, tensor<16x2xf16>) -> tensor<16x64xf32>
func.func @dropped_rows_f32_out(%xs: tensor<20x64xf16>, %map: tensor<32xi64>, %p: tensor<16x2xf16>) -> tensor<16x64xf32> {
  %out = egs.unpermute %xs[%map] * %p : (tensor<20x64xf16>, tensor<32xi64>, tensor<16x2xf16>) -> tensor<16x64xf32>
  return %out : tensor<16x64xf32>
}

// CHECK-LABEL: func.func @dynamic
// CHECK:         egs.unpermute %{{.*}}[%{{.*}}] * %{{.*}} : (tensor<?x?xf32>, tensor<?xi32>, tensor<?x?xf32>) -> tensor<?x?xf32>
func.func @dynamic(%xs: tensor<?x?xf32>, %map: tensor<?xi32>, %p: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %out = egs.unpermute %xs[%map] * %p : (tensor<?x?xf32>, tensor<?xi32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  return %out : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @memref
// CHECK-SAME:    %[[OUT:[a-z0-9]+]]: memref<16x64xf32>)
// CHECK:         egs.unpermute %{{.*}}[%{{.*}}] * %{{.*}} outs(%[[OUT]]) : (memref<32x64xf32>, memref<32xi32>, memref<16x2xf32>, memref<16x64xf32>) -> ()
func.func @memref(%xs: memref<32x64xf32>, %map: memref<32xi32>, %p: memref<16x2xf32>, %out: memref<16x64xf32>) {
  egs.unpermute %xs[%map] * %p outs(%out) : (memref<32x64xf32>, memref<32xi32>, memref<16x2xf32>, memref<16x64xf32>) -> ()
  return
}
