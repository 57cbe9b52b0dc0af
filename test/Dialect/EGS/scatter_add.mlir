// RUN: egs-opt %s | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | egs-opt | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// out = init; out[ind[q], :] += src[q, :]
// CHECK-LABEL: func.func @axis0
// CHECK-SAME:    (%[[SRC:[a-z0-9]+]]: tensor<8x64xf32>, %[[IND:[a-z0-9]+]]: tensor<8xi64>, %[[INIT:[a-z0-9]+]]: tensor<100x64xf32>)
// CHECK:         %[[O:[a-z0-9_]+]] = egs.scatter_add %[[SRC]] into %[[INIT]][%[[IND]]] axis = 0 : (tensor<8x64xf32>, tensor<8xi64>, tensor<100x64xf32>) -> tensor<100x64xf32>
// CHECK:         return %[[O]]
// GENERIC-LABEL: sym_name = "axis0"
// GENERIC:       "egs.scatter_add"(%{{.*}}, %{{.*}}, %{{.*}}) <{axis = 0 : i64, batch_dims = 0 : i64}>
func.func @axis0(%src: tensor<8x64xf32>, %ind: tensor<8xi64>, %init: tensor<100x64xf32>) -> tensor<100x64xf32> {
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8x64xf32>, tensor<8xi64>, tensor<100x64xf32>) -> tensor<100x64xf32>
  return %o : tensor<100x64xf32>
}

// Along axis 1 with a 2-D index; integer data accumulates too.
// CHECK-LABEL: func.func @axis1_integer
// CHECK:         egs.scatter_add %{{.*}} into %{{.*}}[%{{.*}}] axis = 1 : (tensor<4x2x3xi32>, tensor<2x3xi32>, tensor<4x10xi32>) -> tensor<4x10xi32>
func.func @axis1_integer(%src: tensor<4x2x3xi32>, %ind: tensor<2x3xi32>, %init: tensor<4x10xi32>) -> tensor<4x10xi32> {
  %o = egs.scatter_add %src into %init[%ind] axis = 1 : (tensor<4x2x3xi32>, tensor<2x3xi32>, tensor<4x10xi32>) -> tensor<4x10xi32>
  return %o : tensor<4x10xi32>
}

// CHECK-LABEL: func.func @batch_dims
// CHECK:         egs.scatter_add %{{.*}} into %{{.*}}[%{{.*}}] axis = 1 {batch_dims = 1 : i64} : (tensor<2x8x64xbf16>, tensor<2x8xi32>, tensor<2x100x64xbf16>) -> tensor<2x100x64xbf16>
// GENERIC-LABEL: sym_name = "batch_dims"
// GENERIC:       <{axis = 1 : i64, batch_dims = 1 : i64}>
func.func @batch_dims(%src: tensor<2x8x64xbf16>, %ind: tensor<2x8xi32>, %init: tensor<2x100x64xbf16>) -> tensor<2x100x64xbf16> {
  %o = egs.scatter_add %src into %init[%ind] axis = 1 {batch_dims = 1}
      : (tensor<2x8x64xbf16>, tensor<2x8xi32>, tensor<2x100x64xbf16>) -> tensor<2x100x64xbf16>
  return %o : tensor<2x100x64xbf16>
}

// CHECK-LABEL: func.func @dynamic
// CHECK:         egs.scatter_add %{{.*}} into %{{.*}}[%{{.*}}] axis = 0 : (tensor<?x?xf16>, tensor<?xi64>, tensor<?x64xf16>) -> tensor<?x64xf16>
func.func @dynamic(%src: tensor<?x?xf16>, %ind: tensor<?xi64>, %init: tensor<?x64xf16>) -> tensor<?x64xf16> {
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<?x?xf16>, tensor<?xi64>, tensor<?x64xf16>) -> tensor<?x64xf16>
  return %o : tensor<?x64xf16>
}

// Memref form: init is updated in place; no result, no outs(...).
// CHECK-LABEL: func.func @memref
// CHECK-SAME:    %[[INIT:[a-z0-9]+]]: memref<100x64xf32>)
// CHECK:         egs.scatter_add %{{.*}} into %[[INIT]][%{{.*}}] axis = 0 : (memref<8x64xf32>, memref<8xi32>, memref<100x64xf32>) -> ()
func.func @memref(%src: memref<8x64xf32>, %ind: memref<8xi32>, %init: memref<100x64xf32>) {
  egs.scatter_add %src into %init[%ind] axis = 0 : (memref<8x64xf32>, memref<8xi32>, memref<100x64xf32>) -> ()
  return
}
