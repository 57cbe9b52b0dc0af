// RUN: egs-opt %s | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | egs-opt | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Expert-choice, batched: y [B,E,K,J], ind [B,E,K], w [E,J,I], init [B,T,I] -> out [B,T,I].
// CHECK-LABEL: func.func @expert_choice_batched
// CHECK-SAME:    (%[[Y:[a-z0-9]+]]: tensor<2x4x3x6xbf16>, %[[IND:[a-z0-9]+]]: tensor<2x4x3xi32>, %[[W:[a-z0-9]+]]: tensor<4x6x8xbf16>, %[[INIT:[a-z0-9]+]]: tensor<2x16x8xbf16>)
// CHECK:         %[[OUT:[a-z0-9_]+]] = egs.matmul_scatter %[[Y]] * %[[W]] into %[[INIT]][%[[IND]]] : (tensor<2x4x3x6xbf16>, tensor<2x4x3xi32>, tensor<4x6x8xbf16>, tensor<2x16x8xbf16>) -> tensor<2x16x8xbf16>
// CHECK:         return %[[OUT]]
// GENERIC-LABEL: sym_name = "expert_choice_batched"
// GENERIC:       "egs.matmul_scatter"({{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 0>}>
func.func @expert_choice_batched(%y: tensor<2x4x3x6xbf16>, %ind: tensor<2x4x3xi32>,
                                 %w: tensor<4x6x8xbf16>, %init: tensor<2x16x8xbf16>)
    -> tensor<2x16x8xbf16> {
  %out = egs.matmul_scatter %y * %w into %init[%ind]
      : (tensor<2x4x3x6xbf16>, tensor<2x4x3xi32>, tensor<4x6x8xbf16>, tensor<2x16x8xbf16>)
      -> tensor<2x16x8xbf16>
  return %out : tensor<2x16x8xbf16>
}

// Unbatched, with per-slot scale, deterministic summation, i64 indices, f32 accumulator init.
// CHECK-LABEL: func.func @expert_choice_scale_deterministic
// CHECK-SAME:    %[[S:[a-z0-9]+]]: tensor<4x3xf32>)
// CHECK:         egs.matmul_scatter %{{.*}} * %{{.*}} into %{{.*}}[%{{.*}}] scale %[[S]] {deterministic} : (tensor<4x3x6xf16>, tensor<4x3xi64>, tensor<4x6x8xf16>, tensor<16x8xf32>, tensor<4x3xf32>) -> tensor<16x8xf32>
// GENERIC-LABEL: sym_name = "expert_choice_scale_deterministic"
// GENERIC:       "egs.matmul_scatter"({{.*}}) <{deterministic, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1, 1>}>
func.func @expert_choice_scale_deterministic(%y: tensor<4x3x6xf16>, %ind: tensor<4x3xi64>,
                                             %w: tensor<4x6x8xf16>, %init: tensor<16x8xf32>,
                                             %s: tensor<4x3xf32>) -> tensor<16x8xf32> {
  %out = egs.matmul_scatter %y * %w into %init[%ind] scale %s {deterministic}
      : (tensor<4x3x6xf16>, tensor<4x3xi64>, tensor<4x6x8xf16>, tensor<16x8xf32>, tensor<4x3xf32>)
      -> tensor<16x8xf32>
  return %out : tensor<16x8xf32>
}

// CHECK-LABEL: func.func @tile
// CHECK:         egs.matmul_scatter {{.*}} {tile = #egs.tile<bm = 32, bn = 64, bk = 16, stages = 2, warps = 2>} : (tensor<2x4x3x6xf32>, tensor<2x4x3xi32>, tensor<4x6x8xf32>, tensor<2x16x8xf32>, tensor<2x4x3xbf16>) -> tensor<2x16x8xf32>
func.func @tile(%y: tensor<2x4x3x6xf32>, %ind: tensor<2x4x3xi32>, %w: tensor<4x6x8xf32>,
                %init: tensor<2x16x8xf32>, %s: tensor<2x4x3xbf16>) -> tensor<2x16x8xf32> {
  %out = egs.matmul_scatter %y * %w into %init[%ind] scale %s
      {tile = #egs.tile<bm = 32, bn = 64, bk = 16, stages = 2, warps = 2>}
      : (tensor<2x4x3x6xf32>, tensor<2x4x3xi32>, tensor<4x6x8xf32>, tensor<2x16x8xf32>, tensor<2x4x3xbf16>)
      -> tensor<2x16x8xf32>
  return %out : tensor<2x16x8xf32>
}

// CHECK-LABEL: func.func @dynamic
// CHECK:         egs.matmul_scatter {{.*}} : (tensor<?x?x?x?xbf16>, tensor<?x?x?xi32>, tensor<?x?x?xbf16>, tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
func.func @dynamic(%y: tensor<?x?x?x?xbf16>, %ind: tensor<?x?x?xi32>, %w: tensor<?x?x?xbf16>,
                   %init: tensor<?x?x?xf32>) -> tensor<?x?x?xf32> {
  %out = egs.matmul_scatter %y * %w into %init[%ind]
      : (tensor<?x?x?x?xbf16>, tensor<?x?x?xi32>, tensor<?x?x?xbf16>, tensor<?x?x?xf32>)
      -> tensor<?x?x?xf32>
  return %out : tensor<?x?x?xf32>
}

// Ragged form (the MoE combine): y [R,J], rows [R], w [E,J,I], init [T,I], scale [R].
// CHECK-LABEL: func.func @ragged
// CHECK-SAME:    (%[[Y:[a-z0-9]+]]: tensor<32x6xbf16>, %[[ROWS:[a-z0-9]+]]: tensor<32xi32>, %[[W:[a-z0-9]+]]: tensor<4x6x8xbf16>, %[[OFF:[a-z0-9]+]]: tensor<5xi32>, %[[INIT:[a-z0-9]+]]: tensor<16x8xf32>, %[[S:[a-z0-9]+]]: tensor<32xf32>)
// CHECK:         egs.matmul_scatter %[[Y]] * %[[W]] offsets %[[OFF]] into %[[INIT]][%[[ROWS]]] scale %[[S]] : (tensor<32x6xbf16>, tensor<32xi32>, tensor<4x6x8xbf16>, tensor<5xi32>, tensor<16x8xf32>, tensor<32xf32>) -> tensor<16x8xf32>
// GENERIC-LABEL: sym_name = "ragged"
// GENERIC:       operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1>
func.func @ragged(%y: tensor<32x6xbf16>, %rows: tensor<32xi32>, %w: tensor<4x6x8xbf16>,
                  %off: tensor<5xi32>, %init: tensor<16x8xf32>, %s: tensor<32xf32>)
    -> tensor<16x8xf32> {
  %out = egs.matmul_scatter %y * %w offsets %off into %init[%rows] scale %s
      : (tensor<32x6xbf16>, tensor<32xi32>, tensor<4x6x8xbf16>, tensor<5xi32>, tensor<16x8xf32>, tensor<32xf32>)
      -> tensor<16x8xf32>
  return %out : tensor<16x8xf32>
}

// CHECK-LABEL: func.func @ragged_dynamic_deterministic
// CHECK:         egs.matmul_scatter %{{.*}} * %{{.*}} offsets %{{.*}} into %{{.*}}[%{{.*}}] {deterministic} : (tensor<?x6xf32>, tensor<?xi64>, tensor<?x6x8xf32>, tensor<?xi64>, tensor<?x8xf32>) -> tensor<?x8xf32>
func.func @ragged_dynamic_deterministic(%y: tensor<?x6xf32>, %rows: tensor<?xi64>, %w: tensor<?x6x8xf32>,
                                        %off: tensor<?xi64>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %out = egs.matmul_scatter %y * %w offsets %off into %init[%rows] {deterministic}
      : (tensor<?x6xf32>, tensor<?xi64>, tensor<?x6x8xf32>, tensor<?xi64>, tensor<?x8xf32>)
      -> tensor<?x8xf32>
  return %out : tensor<?x8xf32>
}

// Memref form: accumulates into init in place, no result and no outs(...).
// CHECK-LABEL: func.func @memref_expert_choice
// CHECK-SAME:    %[[INIT:[a-z0-9]+]]: memref<2x16x8xf32>, %[[S:[a-z0-9]+]]: memref<2x4x3xf32>)
// CHECK:         egs.matmul_scatter %{{.*}} * %{{.*}} into %[[INIT]][%{{.*}}] scale %[[S]] {deterministic} : (memref<2x4x3x6xbf16>, memref<2x4x3xi32>, memref<4x6x8xbf16>, memref<2x16x8xf32>, memref<2x4x3xf32>) -> ()
func.func @memref_expert_choice(%y: memref<2x4x3x6xbf16>, %ind: memref<2x4x3xi32>,
                                %w: memref<4x6x8xbf16>, %init: memref<2x16x8xf32>,
                                %s: memref<2x4x3xf32>) {
  egs.matmul_scatter %y * %w into %init[%ind] scale %s {deterministic}
      : (memref<2x4x3x6xbf16>, memref<2x4x3xi32>, memref<4x6x8xbf16>, memref<2x16x8xf32>, memref<2x4x3xf32>) -> ()
  return
}

// CHECK-LABEL: func.func @memref_ragged
// CHECK:         egs.matmul_scatter %{{.*}} * %{{.*}} offsets %{{.*}} into %{{.*}}[%{{.*}}] : (memref<?x6xf16>, memref<?xi32>, memref<4x6x8xf16>, memref<5xi32>, memref<?x8xf16, strided<[?, 1], offset: ?>>) -> ()
func.func @memref_ragged(%y: memref<?x6xf16>, %rows: memref<?xi32>, %w: memref<4x6x8xf16>,
                         %off: memref<5xi32>, %init: memref<?x8xf16, strided<[?, 1], offset: ?>>) {
  egs.matmul_scatter %y * %w offsets %off into %init[%rows]
      : (memref<?x6xf16>, memref<?xi32>, memref<4x6x8xf16>, memref<5xi32>, memref<?x8xf16, strided<[?, 1], offset: ?>>) -> ()
  return
}
