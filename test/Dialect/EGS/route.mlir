// RUN: egs-opt %s | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | egs-opt | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// topk_ids [T,k] -> rows [T*k], expert_offsets [E+1], row_id_map [k*T], all i32.
// CHECK-LABEL: func.func @route
// CHECK-SAME:    (%[[IDS:[a-z0-9]+]]: tensor<16x2xi32>)
// CHECK:         %[[R:[a-z0-9_]+]]:3 = egs.route %[[IDS]] experts = 8 : (tensor<16x2xi32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>)
// CHECK:         return %[[R]]#0, %[[R]]#1, %[[R]]#2
// GENERIC-LABEL: sym_name = "route"
// GENERIC:       "egs.route"(%{{.*}}) <{num_experts = 8 : i64, operandSegmentSizes = array<i32: 1, 0, 0>}>
func.func @route(%ids: tensor<16x2xi32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>) {
  %rows, %off, %map = egs.route %ids experts = 8
      : (tensor<16x2xi32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>)
  return %rows, %off, %map : tensor<32xi32>, tensor<9xi32>, tensor<32xi32>
}

// i64 ids, one expert, dynamic T.
// CHECK-LABEL: func.func @dynamic
// CHECK:         egs.route %{{.*}} experts = 1 : (tensor<?x4xi64>) -> (tensor<?xi32>, tensor<2xi32>, tensor<?xi32>)
func.func @dynamic(%ids: tensor<?x4xi64>) -> (tensor<?xi32>, tensor<2xi32>, tensor<?xi32>) {
  %rows, %off, %map = egs.route %ids experts = 1
      : (tensor<?x4xi64>) -> (tensor<?xi32>, tensor<2xi32>, tensor<?xi32>)
  return %rows, %off, %map : tensor<?xi32>, tensor<2xi32>, tensor<?xi32>
}

// route feeds the ragged matmul forms.
// CHECK-LABEL: func.func @route_then_ragged
// CHECK:         %[[R:[a-z0-9_]+]]:3 = egs.route
// CHECK:         %[[Y:[a-z0-9_]+]] = egs.gather_matmul %{{.*}}[%[[R]]#0] * %{{.*}} offsets %[[R]]#1
// CHECK:         egs.matmul_scatter %[[Y]] * %{{.*}} offsets %[[R]]#1 into %{{.*}}[%[[R]]#0]
func.func @route_then_ragged(%x: tensor<16x8xbf16>, %ids: tensor<16x2xi32>, %w1: tensor<4x8x6xbf16>,
                             %w2: tensor<4x6x8xbf16>, %init: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %rows, %off, %map = egs.route %ids experts = 4
      : (tensor<16x2xi32>) -> (tensor<32xi32>, tensor<5xi32>, tensor<32xi32>)
  %y = egs.gather_matmul %x[%rows] * %w1 offsets %off
      : (tensor<16x8xbf16>, tensor<32xi32>, tensor<4x8x6xbf16>, tensor<5xi32>) -> tensor<32x6xbf16>
  %out = egs.matmul_scatter %y * %w2 offsets %off into %init[%rows]
      : (tensor<32x6xbf16>, tensor<32xi32>, tensor<4x6x8xbf16>, tensor<5xi32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return %out : tensor<16x8xf32>
}

// CHECK-LABEL: func.func @memref
// CHECK-SAME:    %[[ROWS:[a-z0-9]+]]: memref<32xi32>, %[[OFF:[a-z0-9]+]]: memref<9xi32>, %[[MAP:[a-z0-9]+]]: memref<32xi32>)
// CHECK:         egs.route %{{.*}} experts = 8 outs(%[[ROWS]], %[[OFF]], %[[MAP]]) : (memref<16x2xi32>, memref<32xi32>, memref<9xi32>, memref<32xi32>) -> ()
func.func @memref(%ids: memref<16x2xi32>, %rows: memref<32xi32>, %off: memref<9xi32>, %map: memref<32xi32>) {
  egs.route %ids experts = 8 outs(%rows, %off, %map)
      : (memref<16x2xi32>, memref<32xi32>, memref<9xi32>, memref<32xi32>) -> ()
  return
}

// With the routing weights [T,k]: a fourth output, the weights in slot order
// (the scale of the ragged matmul_scatter), here bf16 weights into f32.
// CHECK-LABEL: func.func @route_weights
// CHECK:         egs.route %{{.*}} experts = 8 weights %{{.*}} : (tensor<16x2xi32>, tensor<16x2xbf16>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>, tensor<32xf32>)
// GENERIC-LABEL: sym_name = "route_weights"
// GENERIC:       "egs.route"(%{{.*}}, %{{.*}}) <{num_experts = 8 : i64, operandSegmentSizes = array<i32: 1, 1, 0>}>
func.func @route_weights(%ids: tensor<16x2xi32>, %w: tensor<16x2xbf16>) -> tensor<32xf32> {
  %rows, %off, %map, %s = egs.route %ids experts = 8 weights %w
      : (tensor<16x2xi32>, tensor<16x2xbf16>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>, tensor<32xf32>)
  return %s : tensor<32xf32>
}
