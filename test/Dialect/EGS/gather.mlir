// RUN: egs-opt %s | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | egs-opt | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// numpy.take(x, ind, axis=0): [100,64] x [8] -> [8,64].
// CHECK-LABEL: func.func @axis0
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: tensor<100x64xf32>, %[[IND:[a-z0-9]+]]: tensor<8xi64>)
// CHECK:         %[[G:[a-z0-9_]+]] = egs.gather %[[X]][%[[IND]]] axis = 0 : (tensor<100x64xf32>, tensor<8xi64>) -> tensor<8x64xf32>
// CHECK:         return %[[G]]
// GENERIC-LABEL: sym_name = "axis0"
// GENERIC:       "egs.gather"(%{{.*}}, %{{.*}}) <{axis = 0 : i64, batch_dims = 0 : i64}>
func.func @axis0(%x: tensor<100x64xf32>, %ind: tensor<8xi64>) -> tensor<8x64xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<100x64xf32>, tensor<8xi64>) -> tensor<8x64xf32>
  return %g : tensor<8x64xf32>
}

// Along a middle axis with a 2-D index: [4,100,64] x [2,3] (axis 1) -> [4,2,3,64].
// CHECK-LABEL: func.func @axis1_2d_index
// CHECK:         egs.gather %{{.*}}[%{{.*}}] axis = 1 : (tensor<4x100x64xbf16>, tensor<2x3xi32>) -> tensor<4x2x3x64xbf16>
func.func @axis1_2d_index(%x: tensor<4x100x64xbf16>, %ind: tensor<2x3xi32>) -> tensor<4x2x3x64xbf16> {
  %g = egs.gather %x[%ind] axis = 1 : (tensor<4x100x64xbf16>, tensor<2x3xi32>) -> tensor<4x2x3x64xbf16>
  return %g : tensor<4x2x3x64xbf16>
}

// A 0-d index drops the axis.
// CHECK-LABEL: func.func @scalar_index
// CHECK:         egs.gather %{{.*}}[%{{.*}}] axis = 0 : (tensor<100x64xf16>, tensor<i32>) -> tensor<64xf16>
func.func @scalar_index(%x: tensor<100x64xf16>, %ind: tensor<i32>) -> tensor<64xf16> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<100x64xf16>, tensor<i32>) -> tensor<64xf16>
  return %g : tensor<64xf16>
}

// Written directly transposed: result dim d is gathered dim permutation[d].
// CHECK-LABEL: func.func @permutation
// CHECK:         egs.gather %{{.*}}[%{{.*}}] axis = 0 permutation = [1, 0] : (tensor<100x64xf32>, tensor<8xi64>) -> tensor<64x8xf32>
// GENERIC-LABEL: sym_name = "permutation"
// GENERIC:       <{axis = 0 : i64, batch_dims = 0 : i64, permutation = array<i64: 1, 0>}>
func.func @permutation(%x: tensor<100x64xf32>, %ind: tensor<8xi64>) -> tensor<64x8xf32> {
  %g = egs.gather %x[%ind] axis = 0 permutation = [1, 0] : (tensor<100x64xf32>, tensor<8xi64>) -> tensor<64x8xf32>
  return %g : tensor<64x8xf32>
}

// batch_dims = 1: x [B,T,H], ind [B,K] -> [B,K,H]; then permuted to [H,B,K].
// CHECK-LABEL: func.func @batch_dims
// CHECK:         egs.gather %{{.*}}[%{{.*}}] axis = 1 {batch_dims = 1 : i64} : (tensor<2x100x64xf32>, tensor<2x8xi64>) -> tensor<2x8x64xf32>
// CHECK:         egs.gather %{{.*}}[%{{.*}}] axis = 1 permutation = [2, 0, 1] {batch_dims = 1 : i64} : (tensor<2x100x64xf32>, tensor<2x8xi64>) -> tensor<64x2x8xf32>
// GENERIC-LABEL: sym_name = "batch_dims"
// GENERIC:       <{axis = 1 : i64, batch_dims = 1 : i64}>
func.func @batch_dims(%x: tensor<2x100x64xf32>, %ind: tensor<2x8xi64>) -> (tensor<2x8x64xf32>, tensor<64x2x8xf32>) {
  %g = egs.gather %x[%ind] axis = 1 {batch_dims = 1} : (tensor<2x100x64xf32>, tensor<2x8xi64>) -> tensor<2x8x64xf32>
  %p = egs.gather %x[%ind] axis = 1 permutation = [2, 0, 1] {batch_dims = 1}
      : (tensor<2x100x64xf32>, tensor<2x8xi64>) -> tensor<64x2x8xf32>
  return %g, %p : tensor<2x8x64xf32>, tensor<64x2x8xf32>
}

// batch_dims = 0 is the default and is not printed.
// CHECK-LABEL: func.func @batch_dims_default
// CHECK:         egs.gather %{{.*}}[%{{.*}}] axis = 1 : (tensor<2x100x64xf32>, tensor<2x8xi64>) -> tensor<2x2x8x64xf32>
func.func @batch_dims_default(%x: tensor<2x100x64xf32>, %ind: tensor<2x8xi64>) -> tensor<2x2x8x64xf32> {
  %g = egs.gather %x[%ind] axis = 1 {batch_dims = 0} : (tensor<2x100x64xf32>, tensor<2x8xi64>) -> tensor<2x2x8x64xf32>
  return %g : tensor<2x2x8x64xf32>
}

// Dynamic sizes; integer data is allowed (pure data movement).
// CHECK-LABEL: func.func @dynamic
// CHECK:         egs.gather %{{.*}}[%{{.*}}] axis = 0 permutation = [1, 0] : (tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x?xi32>
// CHECK:         egs.gather %{{.*}}[%{{.*}}] axis = 0 : (tensor<?x?xi32>, tensor<?xi32>) -> tensor<5x?xi32>
func.func @dynamic(%x: tensor<?x?xi32>, %ind: tensor<?xi32>) -> (tensor<?x?xi32>, tensor<5x?xi32>) {
  %g = egs.gather %x[%ind] axis = 0 permutation = [1, 0] : (tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x?xi32>
  %h = egs.gather %x[%ind] axis = 0 : (tensor<?x?xi32>, tensor<?xi32>) -> tensor<5x?xi32>
  return %g, %h : tensor<?x?xi32>, tensor<5x?xi32>
}

// CHECK-LABEL: func.func @memref
// CHECK-SAME:    %[[OUT:[a-z0-9]+]]: memref<64x8xf32>)
// CHECK:         egs.gather %{{.*}}[%{{.*}}] axis = 0 permutation = [1, 0] outs(%[[OUT]]) : (memref<100x64xf32>, memref<8xi64>, memref<64x8xf32>) -> ()
func.func @memref(%x: memref<100x64xf32>, %ind: memref<8xi64>, %out: memref<64x8xf32>) {
  egs.gather %x[%ind] axis = 0 permutation = [1, 0] outs(%out) : (memref<100x64xf32>, memref<8xi64>, memref<64x8xf32>) -> ()
  return
}
