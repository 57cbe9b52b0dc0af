// RUN: egs-opt %s --one-shot-bufferize="bufferize-function-boundaries" -split-input-file | FileCheck %s --enable-var-scope

// Bufferization gives every op its memref form: results become outs(...)
// buffers allocated with the sizes from reifyResultShapes; matmul_scatter and
// scatter_add accumulate into init in place.

// Static result: a plain alloc that becomes the outs(...) buffer and is returned.
// CHECK-LABEL: func.func @gather_matmul_static
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: memref<2x16x8xbf16{{.*}}>, %[[IND:[a-z0-9]+]]: memref<2x4x3xi32{{.*}}>, %[[W:[a-z0-9]+]]: memref<4x8x6xbf16{{.*}}>)
// CHECK-NOT:     tensor
// CHECK:         %[[Y:[a-z0-9_]+]] = memref.alloc() {{.*}} : memref<2x4x3x6xf32>
// CHECK-NEXT:    egs.gather_matmul %[[X]][%[[IND]]] * %[[W]] outs(%[[Y]]) : ({{.*}}, memref<2x4x3x6xf32>) -> ()
// CHECK:         return %[[Y]] : memref<2x4x3x6xf32>
func.func @gather_matmul_static(%x: tensor<2x16x8xbf16>, %ind: tensor<2x4x3xi32>, %w: tensor<4x8x6xbf16>) -> tensor<2x4x3x6xf32> {
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<2x16x8xbf16>, tensor<2x4x3xi32>, tensor<4x8x6xbf16>) -> tensor<2x4x3x6xf32>
  return %y : tensor<2x4x3x6xf32>
}

// -----

// y [B,E,K,J]: B and K come from ind, J from w (reifyResultShapes).
// CHECK-LABEL: func.func @gather_matmul_dynamic
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: memref<?x?x8xbf16{{.*}}>, %[[IND:[a-z0-9]+]]: memref<?x4x?xi32{{.*}}>, %[[W:[a-z0-9]+]]: memref<4x8x?xbf16{{.*}}>)
// CHECK:         %[[C2:[a-z0-9_]+]] = arith.constant 2 : index
// CHECK-NEXT:    %[[J:[a-z0-9_]+]] = memref.dim %[[W]], %[[C2]]
// CHECK-NEXT:    %[[C0:[a-z0-9_]+]] = arith.constant 0 : index
// CHECK-NEXT:    %[[B:[a-z0-9_]+]] = memref.dim %[[IND]], %[[C0]]
// CHECK-NEXT:    %[[C2B:[a-z0-9_]+]] = arith.constant 2 : index
// CHECK-NEXT:    %[[K:[a-z0-9_]+]] = memref.dim %[[IND]], %[[C2B]]
// CHECK-NEXT:    %[[Y:[a-z0-9_]+]] = memref.alloc(%[[B]], %[[K]], %[[J]]) {{.*}} : memref<?x4x?x?xf32>
// CHECK-NEXT:    egs.gather_matmul %[[X]][%[[IND]]] * %[[W]] outs(%[[Y]])
// CHECK:         return %[[Y]] : memref<?x4x?x?xf32>
func.func @gather_matmul_dynamic(%x: tensor<?x?x8xbf16>, %ind: tensor<?x4x?xi32>, %w: tensor<4x8x?xbf16>) -> tensor<?x4x?x?xf32> {
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<?x?x8xbf16>, tensor<?x4x?xi32>, tensor<4x8x?xbf16>) -> tensor<?x4x?x?xf32>
  return %y : tensor<?x4x?x?xf32>
}

// -----

// swiglu: y has J/2 columns.
// CHECK-LABEL: func.func @gather_matmul_swiglu
// CHECK-SAME:    %[[W:[a-z0-9]+]]: memref<4x8x?xf32{{.*}}>)
// CHECK:         %[[J:[a-z0-9_]+]] = memref.dim %[[W]], %{{.+}}
// CHECK-NEXT:    %[[TWO:[a-z0-9_]+]] = arith.constant 2 : index
// CHECK-NEXT:    %[[JH:[a-z0-9_]+]] = arith.divui %[[J]], %[[TWO]] : index
// CHECK-NEXT:    %[[Y:[a-z0-9_]+]] = memref.alloc(%[[JH]]) {{.*}} : memref<4x3x?xf32>
// CHECK-NEXT:    egs.gather_matmul {{.*}} outs(%[[Y]]) {activation = #egs.activation<swiglu>}
func.func @gather_matmul_swiglu(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x?xf32>) -> tensor<4x3x?xf32> {
  %y = egs.gather_matmul %x[%ind] * %w {activation = #egs.activation<swiglu>} : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x?xf32>) -> tensor<4x3x?xf32>
  return %y : tensor<4x3x?xf32>
}

// -----

// Ragged: y [R,J] with R from rows; expert_offsets and bias stay inputs.
// CHECK-LABEL: func.func @gather_matmul_ragged
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: memref<16x8xf16{{.*}}>, %[[ROWS:[a-z0-9]+]]: memref<?xi32{{.*}}>, %[[W:[a-z0-9]+]]: memref<4x8x6xf16{{.*}}>, %[[OFF:[a-z0-9]+]]: memref<5xi32{{.*}}>, %[[BIAS:[a-z0-9]+]]: memref<4x6xf16{{.*}}>)
// CHECK:         %[[R:[a-z0-9_]+]] = memref.dim %[[ROWS]], %{{.+}}
// CHECK-NEXT:    %[[Y:[a-z0-9_]+]] = memref.alloc(%[[R]]) {{.*}} : memref<?x6xf16>
// CHECK-NEXT:    egs.gather_matmul %[[X]][%[[ROWS]]] * %[[W]] offsets %[[OFF]] + %[[BIAS]] outs(%[[Y]])
func.func @gather_matmul_ragged(%x: tensor<16x8xf16>, %rows: tensor<?xi32>, %w: tensor<4x8x6xf16>, %off: tensor<5xi32>, %b: tensor<4x6xf16>) -> tensor<?x6xf16> {
  %y = egs.gather_matmul %x[%rows] * %w offsets %off + %b : (tensor<16x8xf16>, tensor<?xi32>, tensor<4x8x6xf16>, tensor<5xi32>, tensor<4x6xf16>) -> tensor<?x6xf16>
  return %y : tensor<?x6xf16>
}

// -----

// matmul_scatter accumulates into init in place: no allocation, init is returned.
// CHECK-LABEL: func.func @matmul_scatter_in_place
// CHECK-SAME:    (%[[Y:[a-z0-9]+]]: memref<4x3x6xf32{{.*}}>, %[[IND:[a-z0-9]+]]: memref<4x3xi32{{.*}}>, %[[W:[a-z0-9]+]]: memref<4x6x8xf32{{.*}}>, %[[INIT:[a-z0-9]+]]: memref<?x8xf32{{.*}}>)
// CHECK-NOT:     memref.alloc
// CHECK-NOT:     memref.copy
// CHECK:         egs.matmul_scatter %[[Y]] * %[[W]] into %[[INIT]][%[[IND]]] : ({{.*}}) -> ()
// CHECK-NEXT:    return %[[INIT]]
func.func @matmul_scatter_in_place(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xf32>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<4x6x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return %o : tensor<?x8xf32>
}

// -----

// init is still read after the op, so it is copied first and the copy updated.
// CHECK-LABEL: func.func @matmul_scatter_copy
// CHECK-SAME:    %[[INIT:[a-z0-9]+]]: memref<?x8xf32{{.*}}>)
// CHECK:         %[[T:[a-z0-9_]+]] = memref.dim %[[INIT]], %{{.+}}
// CHECK-NEXT:    %[[COPY:[a-z0-9_]+]] = memref.alloc(%[[T]]) {{.*}} : memref<?x8xf32>
// CHECK-NEXT:    memref.copy %[[INIT]], %[[COPY]]
// CHECK-NEXT:    egs.matmul_scatter %{{.*}} * %{{.*}} into %[[COPY]][%{{.*}}]
// CHECK:         return %[[COPY]], %[[INIT]]
func.func @matmul_scatter_copy(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xf32>, %init: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<4x6x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return %o, %init : tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// A constant init is read-only, so it is copied into a new buffer that is updated.
// CHECK-LABEL: func.func @matmul_scatter_constant_init
// CHECK:         %[[CST:[a-z0-9_]+]] = memref.get_global
// CHECK:         %[[BUF:[a-z0-9_]+]] = memref.alloc() {{.*}} : memref<16x8xf32>
// CHECK-NEXT:    memref.copy %[[CST]], %[[BUF]]
// CHECK-NEXT:    egs.matmul_scatter %{{.*}} * %{{.*}} into %[[BUF]][%{{.*}}]
// CHECK:         return %[[BUF]]
func.func @matmul_scatter_constant_init(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xf32>) -> tensor<16x8xf32> {
  %zero = arith.constant dense<0.0> : tensor<16x8xf32>
  %o = egs.matmul_scatter %y * %w into %zero[%ind] : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<4x6x8xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return %o : tensor<16x8xf32>
}

// -----

// scatter_add updates init in place as well.
// CHECK-LABEL: func.func @scatter_add_in_place
// CHECK-SAME:    %[[INIT:[a-z0-9]+]]: memref<16x8xf32{{.*}}>)
// CHECK-NOT:     memref.alloc
// CHECK:         egs.scatter_add %{{.*}} into %[[INIT]][%{{.*}}] axis = 0 : ({{.*}}) -> ()
// CHECK-NEXT:    return %[[INIT]]
func.func @scatter_add_in_place(%src: tensor<3x8xf32>, %ind: tensor<3xi64>, %init: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<3x8xf32>, tensor<3xi64>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return %o : tensor<16x8xf32>
}

// -----

// permute: three outs buffers; R = T*k and k*T from topk_ids, E+1 static.
// CHECK-LABEL: func.func @permute
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: memref<?x64xf32{{.*}}>, %[[IDS:[a-z0-9]+]]: memref<?x2xi32{{.*}}>)
// CHECK:         %[[T:[a-z0-9_]+]] = memref.dim %[[IDS]], %{{.+}}
// CHECK-NEXT:    %[[K:[a-z0-9_]+]] = arith.constant 2 : index
// CHECK-NEXT:    %[[R:[a-z0-9_]+]] = arith.muli %[[T]], %[[K]] : index
// CHECK-NEXT:    %[[XS:[a-z0-9_]+]] = memref.alloc(%[[R]]) {{.*}} : memref<?x64xf32>
// CHECK:         %[[KT:[a-z0-9_]+]] = arith.muli
// CHECK-NEXT:    %[[MAP:[a-z0-9_]+]] = memref.alloc(%[[KT]]) {{.*}} : memref<?xi32>
// CHECK:         %[[OFF:[a-z0-9_]+]] = memref.alloc() {{.*}} : memref<9xi32>
// CHECK-NEXT:    egs.permute %[[X]] by %[[IDS]] experts = 8 outs(%[[XS]], %[[MAP]], %[[OFF]])
// CHECK:         return %[[XS]], %[[MAP]], %[[OFF]]
func.func @permute(%x: tensor<?x64xf32>, %ids: tensor<?x2xi32>) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>) {
  %xs, %map, %off = egs.permute %x by %ids experts = 8 : (tensor<?x64xf32>, tensor<?x2xi32>) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
  return %xs, %map, %off : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>
}

// -----

// num_out_tokens sizes x_sorted; a dynamic expert_offsets type still gets E+1 = 9.
// CHECK-LABEL: func.func @permute_out_tokens
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: memref<?x?xf32{{.*}}>, %[[IDS:[a-z0-9]+]]: memref<?x2xi32{{.*}}>)
// CHECK:         %[[H:[a-z0-9_]+]] = memref.dim %[[X]], %{{.+}}
// CHECK-NEXT:    %[[R:[a-z0-9_]+]] = arith.constant 20 : index
// CHECK-NEXT:    %[[XS:[a-z0-9_]+]] = memref.alloc(%[[R]], %[[H]]) {{.*}} : memref<?x?xf32>
// CHECK:         %[[E1:[a-z0-9_]+]] = arith.constant 9 : index
// CHECK-NEXT:    %[[OFF:[a-z0-9_]+]] = memref.alloc(%[[E1]]) {{.*}} : memref<?xi32>
// CHECK-NEXT:    egs.permute {{.*}} experts = 8 out_tokens = 20 outs(%[[XS]], %{{.+}}, %[[OFF]])
func.func @permute_out_tokens(%x: tensor<?x?xf32>, %ids: tensor<?x2xi32>) -> (tensor<?x?xf32>, tensor<?xi32>, tensor<?xi32>) {
  %xs, %map, %off = egs.permute %x by %ids experts = 8 out_tokens = 20 : (tensor<?x?xf32>, tensor<?x2xi32>) -> (tensor<?x?xf32>, tensor<?xi32>, tensor<?xi32>)
  return %xs, %map, %off : tensor<?x?xf32>, tensor<?xi32>, tensor<?xi32>
}

// -----

// unpermute: out [T,H] with T from probs and H from x_sorted.
// CHECK-LABEL: func.func @unpermute
// CHECK-SAME:    (%[[XS:[a-z0-9]+]]: memref<?x?xf32{{.*}}>, %[[MAP:[a-z0-9]+]]: memref<?xi32{{.*}}>, %[[P:[a-z0-9]+]]: memref<?x2xf32{{.*}}>)
// CHECK:         %[[T:[a-z0-9_]+]] = memref.dim %[[P]], %{{.+}}
// CHECK:         %[[H:[a-z0-9_]+]] = memref.dim %[[XS]], %{{.+}}
// CHECK-NEXT:    %[[OUT:[a-z0-9_]+]] = memref.alloc(%[[T]], %[[H]]) {{.*}} : memref<?x?xf32>
// CHECK-NEXT:    egs.unpermute %[[XS]][%[[MAP]]] * %[[P]] outs(%[[OUT]])
// CHECK:         return %[[OUT]]
func.func @unpermute(%xs: tensor<?x?xf32>, %map: tensor<?xi32>, %p: tensor<?x2xf32>) -> tensor<?x?xf32> {
  %o = egs.unpermute %xs[%map] * %p : (tensor<?x?xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x?xf32>
  return %o : tensor<?x?xf32>
}

// -----

// route: rows and row_id_map [T*k], expert_offsets [E+1].
// CHECK-LABEL: func.func @route
// CHECK-SAME:    (%[[IDS:[a-z0-9]+]]: memref<?x?xi32{{.*}}>)
// CHECK:         %[[ROWS:[a-z0-9_]+]] = memref.alloc(%{{.+}}) {{.*}} : memref<?xi32>
// CHECK:         %[[OFF:[a-z0-9_]+]] = memref.alloc() {{.*}} : memref<5xi32>
// CHECK:         %[[MAP:[a-z0-9_]+]] = memref.alloc(%{{.+}}) {{.*}} : memref<?xi32>
// CHECK-NEXT:    egs.route %[[IDS]] experts = 4 outs(%[[ROWS]], %[[OFF]], %[[MAP]])
func.func @route(%ids: tensor<?x?xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?xi32>) {
  %r, %off, %map = egs.route %ids experts = 4 : (tensor<?x?xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?xi32>)
  return %r, %off, %map : tensor<?xi32>, tensor<5xi32>, tensor<?xi32>
}

// -----

// gather with a permutation: the result [64, len(ind)] is sized from ind.
// CHECK-LABEL: func.func @gather
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: memref<?x64xf32{{.*}}>, %[[IND:[a-z0-9]+]]: memref<?xi64{{.*}}>)
// CHECK:         %[[N:[a-z0-9_]+]] = memref.dim %[[IND]], %{{.+}}
// CHECK-NEXT:    %[[G:[a-z0-9_]+]] = memref.alloc(%[[N]]) {{.*}} : memref<64x?xf32>
// CHECK-NEXT:    egs.gather %[[X]][%[[IND]]] axis = 0 permutation = [1, 0] outs(%[[G]])
func.func @gather(%x: tensor<?x64xf32>, %ind: tensor<?xi64>) -> tensor<64x?xf32> {
  %g = egs.gather %x[%ind] axis = 0 permutation = [1, 0] : (tensor<?x64xf32>, tensor<?xi64>) -> tensor<64x?xf32>
  return %g : tensor<64x?xf32>
}

// -----

// gather_concat: the concatenated dim is the sum of the pieces.
// CHECK-LABEL: func.func @gather_concat
// CHECK-SAME:    (%[[A:[a-z0-9]+]]: memref<10x?xf32{{.*}}>, %[[B:[a-z0-9]+]]: memref<12x?xf32{{.*}}>
// CHECK:         %[[DA:[a-z0-9_]+]] = memref.dim %[[A]], %{{.+}}
// CHECK:         %[[DB:[a-z0-9_]+]] = memref.dim %[[B]], %{{.+}}
// CHECK-NEXT:    %[[SUM:[a-z0-9_]+]] = arith.addi %[[DA]], %[[DB]] : index
// CHECK-NEXT:    %[[C:[a-z0-9_]+]] = memref.alloc(%[[SUM]]) {{.*}} : memref<3x?xf32>
// CHECK-NEXT:    egs.gather_concat(%[[A]], %[[B]]) [%{{.+}}, %{{.+}}] axis = 0 dim = 1 outs(%[[C]])
func.func @gather_concat(%a: tensor<10x?xf32>, %b: tensor<12x?xf32>, %ia: tensor<3xi32>, %ib: tensor<3xi32>) -> tensor<3x?xf32> {
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 : (tensor<10x?xf32>, tensor<12x?xf32>, tensor<3xi32>, tensor<3xi32>) -> tensor<3x?xf32>
  return %c : tensor<3x?xf32>
}
