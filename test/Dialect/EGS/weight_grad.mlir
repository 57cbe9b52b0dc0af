// RUN: egs-opt %s | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | egs-opt | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Ragged, dW of gather_matmul: x [T,I] read through rows [R], dy [R,J] in slot order.
// CHECK-LABEL: func.func @ragged_gather_lhs
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: tensor<?x64xbf16>, %[[ROWS:[a-z0-9]+]]: tensor<?xi32>, %[[DY:[a-z0-9]+]]: tensor<?x128xbf16>, %[[OFF:[a-z0-9]+]]: tensor<9xi32>)
// CHECK:         %[[DW:[a-z0-9_]+]] = egs.weight_grad %[[X]][%[[ROWS]]] * %[[DY]] offsets %[[OFF]] : (tensor<?x64xbf16>, tensor<?xi32>, tensor<?x128xbf16>, tensor<9xi32>) -> tensor<8x64x128xf32>
// CHECK:         return %[[DW]]
// GENERIC-LABEL: sym_name = "ragged_gather_lhs"
// GENERIC:       "egs.weight_grad"({{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 0>}>
func.func @ragged_gather_lhs(%x: tensor<?x64xbf16>, %rows: tensor<?xi32>, %dy: tensor<?x128xbf16>,
                             %off: tensor<9xi32>) -> tensor<8x64x128xf32> {
  %dw = egs.weight_grad %x[%rows] * %dy offsets %off
      : (tensor<?x64xbf16>, tensor<?xi32>, tensor<?x128xbf16>, tensor<9xi32>) -> tensor<8x64x128xf32>
  return %dw : tensor<8x64x128xf32>
}

// Ragged, dW of matmul_scatter: y [R,J] in slot order, dout [T,I] through rows, scale [R].
// CHECK-LABEL: func.func @ragged_gather_rhs_scale
// CHECK:         egs.weight_grad %{{.*}} * %{{.*}}[%{{.*}}] offsets %{{.*}} scale %{{.*}} : (tensor<?x32xf16>, tensor<?x16xf16>, tensor<?xi64>, tensor<5xi64>, tensor<?xf32>) -> tensor<4x32x16xf16>
// GENERIC-LABEL: sym_name = "ragged_gather_rhs_scale"
// GENERIC:       "egs.weight_grad"({{.*}}) <{operandSegmentSizes = array<i32: 1, 0, 1, 1, 1, 1, 0>}>
func.func @ragged_gather_rhs_scale(%y: tensor<?x32xf16>, %dout: tensor<?x16xf16>, %rows: tensor<?xi64>,
                                   %off: tensor<5xi64>, %s: tensor<?xf32>) -> tensor<4x32x16xf16> {
  %dw = egs.weight_grad %y * %dout[%rows] offsets %off scale %s
      : (tensor<?x32xf16>, tensor<?x16xf16>, tensor<?xi64>, tensor<5xi64>, tensor<?xf32>) -> tensor<4x32x16xf16>
  return %dw : tensor<4x32x16xf16>
}

// Expert-choice, batched, both operands gathered.
// CHECK-LABEL: func.func @expert_choice_both_gathered
// CHECK:         egs.weight_grad %{{.*}}[%{{.*}}] * %{{.*}}[%{{.*}}] : (tensor<2x10x6xf32>, tensor<2x4x3xi32>, tensor<2x10x5xf32>, tensor<2x4x3xi32>) -> tensor<4x6x5xf32>
func.func @expert_choice_both_gathered(%a: tensor<2x10x6xf32>, %ia: tensor<2x4x3xi32>,
                                       %b: tensor<2x10x5xf32>, %ib: tensor<2x4x3xi32>) -> tensor<4x6x5xf32> {
  %dw = egs.weight_grad %a[%ia] * %b[%ib]
      : (tensor<2x10x6xf32>, tensor<2x4x3xi32>, tensor<2x10x5xf32>, tensor<2x4x3xi32>) -> tensor<4x6x5xf32>
  return %dw : tensor<4x6x5xf32>
}

// Expert-choice, unbatched, both in slot order (a batched matmul over K).
// CHECK-LABEL: func.func @expert_choice_slot_order
// CHECK:         egs.weight_grad %{{.*}} * %{{.*}} : (tensor<4x3x6xbf16>, tensor<4x3x5xbf16>) -> tensor<4x6x5xbf16>
func.func @expert_choice_slot_order(%a: tensor<4x3x6xbf16>, %b: tensor<4x3x5xbf16>) -> tensor<4x6x5xbf16> {
  %dw = egs.weight_grad %a * %b : (tensor<4x3x6xbf16>, tensor<4x3x5xbf16>) -> tensor<4x6x5xbf16>
  return %dw : tensor<4x6x5xbf16>
}

// Memref form: dw is an outs buffer.
// CHECK-LABEL: func.func @memref_form
// CHECK:         egs.weight_grad %{{.*}}[%{{.*}}] * %{{.*}} offsets %{{.*}} outs(%{{.*}}) : (memref<?x8xf32>, memref<?xi32>, memref<?x4xf32>, memref<3xi32>, memref<2x8x4xf32>) -> ()
// GENERIC-LABEL: sym_name = "memref_form"
// GENERIC:       "egs.weight_grad"({{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0, 1>}>
func.func @memref_form(%x: memref<?x8xf32>, %rows: memref<?xi32>, %dy: memref<?x4xf32>,
                       %off: memref<3xi32>, %dw: memref<2x8x4xf32>) {
  egs.weight_grad %x[%rows] * %dy offsets %off outs(%dw)
      : (memref<?x8xf32>, memref<?xi32>, memref<?x4xf32>, memref<3xi32>, memref<2x8x4xf32>) -> ()
  return
}
