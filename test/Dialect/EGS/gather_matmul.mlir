// RUN: egs-opt %s | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | egs-opt | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Expert-choice, batched: x [B,T,I], ind [B,E,K], w [E,I,J] -> y [B,E,K,J].
// CHECK-LABEL: func.func @expert_choice_batched
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: tensor<2x16x8xbf16>, %[[IND:[a-z0-9]+]]: tensor<2x4x3xi32>, %[[W:[a-z0-9]+]]: tensor<4x8x6xbf16>)
// CHECK:         %[[Y:[a-z0-9_]+]] = egs.gather_matmul %[[X]][%[[IND]]] * %[[W]] : (tensor<2x16x8xbf16>, tensor<2x4x3xi32>, tensor<4x8x6xbf16>) -> tensor<2x4x3x6xbf16>
// CHECK:         return %[[Y]]
// GENERIC-LABEL: sym_name = "expert_choice_batched"
// GENERIC:       "egs.gather_matmul"({{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0>}>
func.func @expert_choice_batched(%x: tensor<2x16x8xbf16>, %ind: tensor<2x4x3xi32>,
                                 %w: tensor<4x8x6xbf16>) -> tensor<2x4x3x6xbf16> {
  %y = egs.gather_matmul %x[%ind] * %w
      : (tensor<2x16x8xbf16>, tensor<2x4x3xi32>, tensor<4x8x6xbf16>) -> tensor<2x4x3x6xbf16>
  return %y : tensor<2x4x3x6xbf16>
}

// Expert-choice without B (the B = 1 form squeezed); f16 in, f32 accumulator out.
// CHECK-LABEL: func.func @expert_choice_unbatched
// CHECK:         egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} : (tensor<16x8xf16>, tensor<4x3xi64>, tensor<4x8x6xf16>) -> tensor<4x3x6xf32>
func.func @expert_choice_unbatched(%x: tensor<16x8xf16>, %ind: tensor<4x3xi64>,
                                   %w: tensor<4x8x6xf16>) -> tensor<4x3x6xf32> {
  %y = egs.gather_matmul %x[%ind] * %w
      : (tensor<16x8xf16>, tensor<4x3xi64>, tensor<4x8x6xf16>) -> tensor<4x3x6xf32>
  return %y : tensor<4x3x6xf32>
}

// bias [E,J] in the data type or f32.
// CHECK-LABEL: func.func @bias
// CHECK-SAME:    %[[B:[a-z0-9]+]]: tensor<4x6xf32>)
// CHECK:         egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} + %[[B]] : (tensor<2x16x8xf32>, tensor<2x4x3xi32>, tensor<4x8x6xf32>, tensor<4x6xf32>) -> tensor<2x4x3x6xf32>
// GENERIC-LABEL: sym_name = "bias"
// GENERIC:       operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0>
func.func @bias(%x: tensor<2x16x8xf32>, %ind: tensor<2x4x3xi32>, %w: tensor<4x8x6xf32>,
                %b: tensor<4x6xf32>) -> tensor<2x4x3x6xf32> {
  %y = egs.gather_matmul %x[%ind] * %w + %b
      : (tensor<2x16x8xf32>, tensor<2x4x3xi32>, tensor<4x8x6xf32>, tensor<4x6xf32>) -> tensor<2x4x3x6xf32>
  return %y : tensor<2x4x3x6xf32>
}

// CHECK-LABEL: func.func @bias_in_data_type
// CHECK:         egs.gather_matmul {{.*}} + %{{.*}} : (tensor<16x8xbf16>, tensor<4x3xi32>, tensor<4x8x6xbf16>, tensor<4x6xbf16>) -> tensor<4x3x6xbf16>
func.func @bias_in_data_type(%x: tensor<16x8xbf16>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xbf16>,
                             %b: tensor<4x6xbf16>) -> tensor<4x3x6xbf16> {
  %y = egs.gather_matmul %x[%ind] * %w + %b
      : (tensor<16x8xbf16>, tensor<4x3xi32>, tensor<4x8x6xbf16>, tensor<4x6xbf16>) -> tensor<4x3x6xbf16>
  return %y : tensor<4x3x6xbf16>
}

// Fused epilogue and kernel strategy as attributes.
// CHECK-LABEL: func.func @activation_and_tile
// CHECK:         egs.gather_matmul {{.*}} {activation = #egs.activation<gelu>, tile = #egs.tile<bm = 64, bn = 128, bk = 32, stages = 3, warps = 4>} : (tensor<2x16x8xbf16>, tensor<2x4x3xi32>, tensor<4x8x6xbf16>) -> tensor<2x4x3x6xbf16>
func.func @activation_and_tile(%x: tensor<2x16x8xbf16>, %ind: tensor<2x4x3xi32>,
                               %w: tensor<4x8x6xbf16>) -> tensor<2x4x3x6xbf16> {
  %y = egs.gather_matmul %x[%ind] * %w
      {activation = #egs.activation<gelu>,
       tile = #egs.tile<bm = 64, bn = 128, bk = 32, stages = 3, warps = 4>}
      : (tensor<2x16x8xbf16>, tensor<2x4x3xi32>, tensor<4x8x6xbf16>) -> tensor<2x4x3x6xbf16>
  return %y : tensor<2x4x3x6xbf16>
}

// swiglu halves J: w has J = 6 columns, y has J/2 = 3.
// CHECK-LABEL: func.func @swiglu
// CHECK:         egs.gather_matmul {{.*}} {activation = #egs.activation<swiglu>} : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>, tensor<4x6xf32>) -> tensor<4x3x3xf32>
func.func @swiglu(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>,
                  %b: tensor<4x6xf32>) -> tensor<4x3x3xf32> {
  %y = egs.gather_matmul %x[%ind] * %w + %b {activation = #egs.activation<swiglu>}
      : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>, tensor<4x6xf32>) -> tensor<4x3x3xf32>
  return %y : tensor<4x3x3xf32>
}

// CHECK-LABEL: func.func @silu_none
// CHECK:         {activation = #egs.activation<silu>}
// CHECK:         {activation = #egs.activation<none>}
func.func @silu_none(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>)
    -> (tensor<4x3x6xf32>, tensor<4x3x6xf32>) {
  %a = egs.gather_matmul %x[%ind] * %w {activation = #egs.activation<silu>}
      : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  %b = egs.gather_matmul %x[%ind] * %w {activation = #egs.activation<none>}
      : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return %a, %b : tensor<4x3x6xf32>, tensor<4x3x6xf32>
}

// Dynamic sizes everywhere; swiglu with dynamic J is accepted.
// CHECK-LABEL: func.func @dynamic
// CHECK:         egs.gather_matmul {{.*}} : (tensor<?x?x?xf16>, tensor<?x?x?xi64>, tensor<?x?x?xf16>) -> tensor<?x?x?x?xf16>
// CHECK:         egs.gather_matmul {{.*}} {activation = #egs.activation<swiglu>} : (tensor<?x?x?xf16>, tensor<?x?x?xi64>, tensor<?x?x?xf16>) -> tensor<?x?x?x?xf16>
func.func @dynamic(%x: tensor<?x?x?xf16>, %ind: tensor<?x?x?xi64>, %w: tensor<?x?x?xf16>)
    -> (tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>) {
  %y = egs.gather_matmul %x[%ind] * %w
      : (tensor<?x?x?xf16>, tensor<?x?x?xi64>, tensor<?x?x?xf16>) -> tensor<?x?x?x?xf16>
  %z = egs.gather_matmul %x[%ind] * %w {activation = #egs.activation<swiglu>}
      : (tensor<?x?x?xf16>, tensor<?x?x?xi64>, tensor<?x?x?xf16>) -> tensor<?x?x?x?xf16>
  return %y, %z : tensor<?x?x?x?xf16>, tensor<?x?x?x?xf16>
}

// Mixed static/dynamic: the static sizes still have to agree.
// CHECK-LABEL: func.func @partially_dynamic
// CHECK:         egs.gather_matmul {{.*}} : (tensor<2x?x8xbf16>, tensor<?x4x3xi32>, tensor<4x?x?xbf16>) -> tensor<2x?x3x6xf32>
func.func @partially_dynamic(%x: tensor<2x?x8xbf16>, %ind: tensor<?x4x3xi32>,
                             %w: tensor<4x?x?xbf16>) -> tensor<2x?x3x6xf32> {
  %y = egs.gather_matmul %x[%ind] * %w
      : (tensor<2x?x8xbf16>, tensor<?x4x3xi32>, tensor<4x?x?xbf16>) -> tensor<2x?x3x6xf32>
  return %y : tensor<2x?x3x6xf32>
}

// Ragged (token-choice) form: rows [R], expert_offsets [E+1] -> y [R,J].
// CHECK-LABEL: func.func @ragged
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: tensor<16x8xbf16>, %[[ROWS:[a-z0-9]+]]: tensor<32xi32>, %[[W:[a-z0-9]+]]: tensor<4x8x6xbf16>, %[[OFF:[a-z0-9]+]]: tensor<5xi32>)
// CHECK:         egs.gather_matmul %[[X]][%[[ROWS]]] * %[[W]] offsets %[[OFF]] : (tensor<16x8xbf16>, tensor<32xi32>, tensor<4x8x6xbf16>, tensor<5xi32>) -> tensor<32x6xbf16>
// GENERIC-LABEL: sym_name = "ragged"
// GENERIC:       operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>
func.func @ragged(%x: tensor<16x8xbf16>, %rows: tensor<32xi32>, %w: tensor<4x8x6xbf16>,
                  %off: tensor<5xi32>) -> tensor<32x6xbf16> {
  %y = egs.gather_matmul %x[%rows] * %w offsets %off
      : (tensor<16x8xbf16>, tensor<32xi32>, tensor<4x8x6xbf16>, tensor<5xi32>) -> tensor<32x6xbf16>
  return %y : tensor<32x6xbf16>
}

// CHECK-LABEL: func.func @ragged_bias_dynamic
// CHECK-SAME:    %[[OFF:[a-z0-9]+]]: tensor<?xi32>, %[[B:[a-z0-9]+]]: tensor<?x6xf32>)
// CHECK:         egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} offsets %[[OFF]] + %[[B]] {tile = #egs.tile<bm = 128, bn = 64, bk = 64, stages = 4, warps = 8>} : (tensor<?x8xf16>, tensor<?xi64>, tensor<?x8x6xf16>, tensor<?xi32>, tensor<?x6xf32>) -> tensor<?x6xf32>
// GENERIC-LABEL: sym_name = "ragged_bias_dynamic"
// GENERIC:       operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0>
func.func @ragged_bias_dynamic(%x: tensor<?x8xf16>, %rows: tensor<?xi64>, %w: tensor<?x8x6xf16>,
                               %off: tensor<?xi32>, %b: tensor<?x6xf32>) -> tensor<?x6xf32> {
  %y = egs.gather_matmul %x[%rows] * %w offsets %off + %b
      {tile = #egs.tile<bm = 128, bn = 64, bk = 64, stages = 4, warps = 8>}
      : (tensor<?x8xf16>, tensor<?xi64>, tensor<?x8x6xf16>, tensor<?xi32>, tensor<?x6xf32>) -> tensor<?x6xf32>
  return %y : tensor<?x6xf32>
}

// CHECK-LABEL: func.func @ragged_swiglu
// CHECK:         egs.gather_matmul {{.*}} offsets {{.*}} {activation = #egs.activation<swiglu>} : (tensor<16x8xf32>, tensor<32xi32>, tensor<4x8x12xf32>, tensor<5xi64>) -> tensor<32x6xf32>
func.func @ragged_swiglu(%x: tensor<16x8xf32>, %rows: tensor<32xi32>, %w: tensor<4x8x12xf32>,
                         %off: tensor<5xi64>) -> tensor<32x6xf32> {
  %y = egs.gather_matmul %x[%rows] * %w offsets %off {activation = #egs.activation<swiglu>}
      : (tensor<16x8xf32>, tensor<32xi32>, tensor<4x8x12xf32>, tensor<5xi64>) -> tensor<32x6xf32>
  return %y : tensor<32x6xf32>
}

// Memref form: no result, y is written into the outs(...) buffer.
// CHECK-LABEL: func.func @memref_expert_choice
// CHECK-SAME:    %[[OUT:[a-z0-9]+]]: memref<2x4x3x6xf32>)
// CHECK:         egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} outs(%[[OUT]]) : (memref<2x16x8xbf16>, memref<2x4x3xi32>, memref<4x8x6xbf16>, memref<2x4x3x6xf32>) -> ()
// GENERIC-LABEL: sym_name = "memref_expert_choice"
// GENERIC:       operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 1>
func.func @memref_expert_choice(%x: memref<2x16x8xbf16>, %ind: memref<2x4x3xi32>,
                                %w: memref<4x8x6xbf16>, %out: memref<2x4x3x6xf32>) {
  egs.gather_matmul %x[%ind] * %w outs(%out)
      : (memref<2x16x8xbf16>, memref<2x4x3xi32>, memref<4x8x6xbf16>, memref<2x4x3x6xf32>) -> ()
  return
}

// Memref form of the ragged form with bias, dynamic and strided buffers.
// CHECK-LABEL: func.func @memref_ragged_bias
// CHECK:         egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} offsets %{{.*}} + %{{.*}} outs(%{{.*}}) : (memref<?x8xf16, strided<[?, 1], offset: ?>>, memref<?xi32>, memref<4x8x6xf16>, memref<5xi32>, memref<4x6xf16>, memref<?x6xf16>) -> ()
// GENERIC-LABEL: sym_name = "memref_ragged_bias"
// GENERIC:       operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1>
func.func @memref_ragged_bias(%x: memref<?x8xf16, strided<[?, 1], offset: ?>>, %rows: memref<?xi32>,
                              %w: memref<4x8x6xf16>, %off: memref<5xi32>, %b: memref<4x6xf16>,
                              %out: memref<?x6xf16>) {
  egs.gather_matmul %x[%rows] * %w offsets %off + %b outs(%out)
      : (memref<?x8xf16, strided<[?, 1], offset: ?>>, memref<?xi32>, memref<4x8x6xf16>,
         memref<5xi32>, memref<4x6xf16>, memref<?x6xf16>) -> ()
  return
}

// GPT-OSS's experts: clamped swiglu over interleaved gate/up columns, with
// its parameters; the bias is [E,J] of h (J = 12), y has J/2 = 6 columns.
// CHECK-LABEL: func.func @ragged_clamped_swiglu_interleaved
// CHECK:         egs.gather_matmul {{.*}} transposed offsets {{.*}} + {{.*}} {activation = #egs.activation<clamped_swiglu>, alpha = 1.702000e+00 : f32, interleaved, limit = 7.000000e+00 : f32} : (tensor<16x8xbf16>, tensor<32xi32>, tensor<4x12x8xbf16>, tensor<5xi64>, tensor<4x12xbf16>) -> tensor<32x6xbf16>
func.func @ragged_clamped_swiglu_interleaved(%x: tensor<16x8xbf16>, %rows: tensor<32xi32>, %w: tensor<4x12x8xbf16>,
                                             %off: tensor<5xi64>, %b: tensor<4x12xbf16>) -> tensor<32x6xbf16> {
  %y = egs.gather_matmul %x[%rows] * %w transposed offsets %off + %b
         {activation = #egs.activation<clamped_swiglu>, alpha = 1.702 : f32, limit = 7.0 : f32, interleaved}
         : (tensor<16x8xbf16>, tensor<32xi32>, tensor<4x12x8xbf16>, tensor<5xi64>, tensor<4x12xbf16>) -> tensor<32x6xbf16>
  return %y : tensor<32x6xbf16>
}
