// RUN: egs-opt %s -cse -canonicalize -split-input-file | FileCheck %s --enable-var-scope

// The tensor form has no memory effects: an unused op is erased and two
// identical ops are merged. The memref form writes its outs(...) buffer (or
// init), so nothing is erased or merged.

// CHECK-LABEL: func.func @tensor_form_is_pure
// CHECK-COUNT-1: egs.gather_matmul
// CHECK-NOT:     egs.gather_matmul
// CHECK:         return %[[Y:[a-z0-9_]+]], %[[Y]]
func.func @tensor_form_is_pure(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>)
    -> (tensor<4x3x6xf32>, tensor<4x3x6xf32>) {
  %dead = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  %a = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  %b = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return %a, %b : tensor<4x3x6xf32>, tensor<4x3x6xf32>
}

// -----

// CHECK-LABEL: func.func @unused_tensor_ops_erased
// CHECK-NOT:     egs.
// CHECK:         return
func.func @unused_tensor_ops_erased(%x: tensor<16x64xf32>, %ids: tensor<16x2xi32>, %p: tensor<16x2xf32>,
                                    %src: tensor<8x64xf32>, %i8: tensor<8xi32>, %init: tensor<100x64xf32>) {
  %xs, %map, %off = egs.permute %x by %ids experts = 8
      : (tensor<16x64xf32>, tensor<16x2xi32>) -> (tensor<32x64xf32>, tensor<32xi32>, tensor<9xi32>)
  %u = egs.unpermute %xs[%map] * %p : (tensor<32x64xf32>, tensor<32xi32>, tensor<16x2xf32>) -> tensor<16x64xf32>
  %r:3 = egs.route %ids experts = 8 : (tensor<16x2xi32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>)
  %g = egs.gather %init[%i8] axis = 0 : (tensor<100x64xf32>, tensor<8xi32>) -> tensor<8x64xf32>
  %s = egs.scatter_add %src into %init[%i8] axis = 0 : (tensor<8x64xf32>, tensor<8xi32>, tensor<100x64xf32>) -> tensor<100x64xf32>
  %c = egs.gather_concat (%x, %x)[%i8, %i8] axis = 0 dim = 0 : (tensor<16x64xf32>, tensor<16x64xf32>, tensor<8xi32>, tensor<8xi32>) -> tensor<16x64xf32>
  return
}

// -----

// CHECK-LABEL: func.func @memref_form_has_effects
// CHECK-COUNT-2: egs.gather_matmul {{.*}} outs(
// CHECK-COUNT-2: egs.matmul_scatter
// CHECK-COUNT-2: egs.scatter_add
// CHECK:         return
func.func @memref_form_has_effects(%x: memref<16x8xf32>, %ind: memref<4x3xi32>, %w: memref<4x8x6xf32>,
                                   %out: memref<4x3x6xf32>, %w2: memref<4x6x8xf32>, %init: memref<16x8xf32>,
                                   %src: memref<4x3x8xf32>) {
  egs.gather_matmul %x[%ind] * %w outs(%out) : (memref<16x8xf32>, memref<4x3xi32>, memref<4x8x6xf32>, memref<4x3x6xf32>) -> ()
  egs.gather_matmul %x[%ind] * %w outs(%out) : (memref<16x8xf32>, memref<4x3xi32>, memref<4x8x6xf32>, memref<4x3x6xf32>) -> ()
  egs.matmul_scatter %out * %w2 into %init[%ind] : (memref<4x3x6xf32>, memref<4x3xi32>, memref<4x6x8xf32>, memref<16x8xf32>) -> ()
  egs.matmul_scatter %out * %w2 into %init[%ind] : (memref<4x3x6xf32>, memref<4x3xi32>, memref<4x6x8xf32>, memref<16x8xf32>) -> ()
  egs.scatter_add %src into %init[%ind] axis = 0 : (memref<4x3x8xf32>, memref<4x3xi32>, memref<16x8xf32>) -> ()
  egs.scatter_add %src into %init[%ind] axis = 0 : (memref<4x3x8xf32>, memref<4x3xi32>, memref<16x8xf32>) -> ()
  return
}
