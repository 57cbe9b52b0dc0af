// RUN: egs-opt %s | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | egs-opt | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// x [T,H], topk_ids [T,k] -> x_sorted [T*k,H], row_id_map [k*T] i32, expert_offsets [E+1] i32.
// CHECK-LABEL: func.func @permute
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: tensor<16x64xbf16>, %[[IDS:[a-z0-9]+]]: tensor<16x2xi32>)
// CHECK:         %[[XS:[a-z0-9_]+]]:3 = egs.permute %[[X]] by %[[IDS]] experts = 8 : (tensor<16x64xbf16>, tensor<16x2xi32>) -> (tensor<32x64xbf16>, tensor<32xi32>, tensor<9xi32>)
// CHECK:         return %[[XS]]#0, %[[XS]]#1, %[[XS]]#2
// GENERIC-LABEL: sym_name = "permute"
// GENERIC:       "egs.permute"({{.*}}) <{num_experts = 8 : i64}>
func.func @permute(%x: tensor<16x64xbf16>, %ids: tensor<16x2xi32>)
    -> (tensor<32x64xbf16>, tensor<32xi32>, tensor<9xi32>) {
  %xs, %map, %off = egs.permute %x by %ids experts = 8
      : (tensor<16x64xbf16>, tensor<16x2xi32>) -> (tensor<32x64xbf16>, tensor<32xi32>, tensor<9xi32>)
  return %xs, %map, %off : tensor<32x64xbf16>, tensor<32xi32>, tensor<9xi32>
}

// num_out_tokens < T*k keeps the first rows: x_sorted has num_out_tokens rows, row_id_map still k*T.
// CHECK-LABEL: func.func @num_out_tokens
// CHECK:         egs.permute %{{.*}} by %{{.*}} experts = 4 out_tokens = 20 : (tensor<16x64xf32>, tensor<16x2xi64>) -> (tensor<20x64xf32>, tensor<32xi32>, tensor<5xi32>)
// GENERIC-LABEL: sym_name = "num_out_tokens"
// GENERIC:       "egs.permute"({{.*}}) <{num_experts = 4 : i64, num_out_tokens = 20 : i64}>
func.func @num_out_tokens(%x: tensor<16x64xf32>, %ids: tensor<16x2xi64>)
    -> (tensor<20x64xf32>, tensor<32xi32>, tensor<5xi32>) {
  %xs, %map, %off = egs.permute %x by %ids experts = 4 out_tokens = 20
      : (tensor<16x64xf32>, tensor<16x2xi64>) -> (tensor<20x64xf32>, tensor<32xi32>, tensor<5xi32>)
  return %xs, %map, %off : tensor<20x64xf32>, tensor<32xi32>, tensor<5xi32>
}

// The edges of num_out_tokens: 0 and T*k.
// CHECK-LABEL: func.func @num_out_tokens_bounds
// CHECK:         egs.permute {{.*}} experts = 2 out_tokens = 0 : (tensor<4x16xf16>, tensor<4x2xi32>) -> (tensor<0x16xf16>, tensor<8xi32>, tensor<3xi32>)
// CHECK:         egs.permute {{.*}} experts = 2 out_tokens = 8 : (tensor<4x16xf16>, tensor<4x2xi32>) -> (tensor<8x16xf16>, tensor<8xi32>, tensor<3xi32>)
func.func @num_out_tokens_bounds(%x: tensor<4x16xf16>, %ids: tensor<4x2xi32>) {
  %a:3 = egs.permute %x by %ids experts = 2 out_tokens = 0
      : (tensor<4x16xf16>, tensor<4x2xi32>) -> (tensor<0x16xf16>, tensor<8xi32>, tensor<3xi32>)
  %b:3 = egs.permute %x by %ids experts = 2 out_tokens = 8
      : (tensor<4x16xf16>, tensor<4x2xi32>) -> (tensor<8x16xf16>, tensor<8xi32>, tensor<3xi32>)
  return
}

// Dynamic T: R is unknown unless num_out_tokens gives it.
// CHECK-LABEL: func.func @dynamic
// CHECK:         egs.permute {{.*}} experts = 8 : (tensor<?x64xbf16>, tensor<?x2xi32>) -> (tensor<?x64xbf16>, tensor<?xi32>, tensor<9xi32>)
// CHECK:         egs.permute {{.*}} experts = 8 out_tokens = 12 : (tensor<?x?xbf16>, tensor<?x?xi32>) -> (tensor<12x?xbf16>, tensor<?xi32>, tensor<?xi32>)
func.func @dynamic(%x: tensor<?x64xbf16>, %ids: tensor<?x2xi32>, %xd: tensor<?x?xbf16>, %idsd: tensor<?x?xi32>) {
  %a:3 = egs.permute %x by %ids experts = 8
      : (tensor<?x64xbf16>, tensor<?x2xi32>) -> (tensor<?x64xbf16>, tensor<?xi32>, tensor<9xi32>)
  %b:3 = egs.permute %xd by %idsd experts = 8 out_tokens = 12
      : (tensor<?x?xbf16>, tensor<?x?xi32>) -> (tensor<12x?xbf16>, tensor<?xi32>, tensor<?xi32>)
  return
}

// Memref form: the three results are written into outs(...).
// CHECK-LABEL: func.func @memref
// CHECK-SAME:    %[[XS:[a-z0-9]+]]: memref<32x64xf32>, %[[MAP:[a-z0-9]+]]: memref<32xi32>, %[[OFF:[a-z0-9]+]]: memref<9xi32>)
// CHECK:         egs.permute %{{.*}} by %{{.*}} experts = 8 outs(%[[XS]], %[[MAP]], %[[OFF]]) : (memref<16x64xf32>, memref<16x2xi32>, memref<32x64xf32>, memref<32xi32>, memref<9xi32>) -> ()
func.func @memref(%x: memref<16x64xf32>, %ids: memref<16x2xi32>, %xs: memref<32x64xf32>,
                  %map: memref<32xi32>, %off: memref<9xi32>) {
  egs.permute %x by %ids experts = 8 outs(%xs, %map, %off)
      : (memref<16x64xf32>, memref<16x2xi32>, memref<32x64xf32>, memref<32xi32>, memref<9xi32>) -> ()
  return
}

// CHECK-LABEL: func.func @memref_dynamic_out_tokens
// CHECK:         egs.permute {{.*}} experts = 8 out_tokens = 24 outs({{.*}}) : (memref<?x64xbf16>, memref<?x2xi64>, memref<24x64xbf16>, memref<?xi32>, memref<9xi32>) -> ()
func.func @memref_dynamic_out_tokens(%x: memref<?x64xbf16>, %ids: memref<?x2xi64>, %xs: memref<24x64xbf16>,
                                     %map: memref<?xi32>, %off: memref<9xi32>) {
  egs.permute %x by %ids experts = 8 out_tokens = 24 outs(%xs, %map, %off)
      : (memref<?x64xbf16>, memref<?x2xi64>, memref<24x64xbf16>, memref<?xi32>, memref<9xi32>) -> ()
  return
}
