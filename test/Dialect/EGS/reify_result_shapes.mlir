// RUN: egs-opt %s --resolve-ranked-shaped-type-result-dims -canonicalize -cse -split-input-file | FileCheck %s --enable-var-scope

// tensor.dim of an egs result resolves to sizes of the operands
// (ReifyRankedShapedTypeOpInterface); the then-unused tensor-form op is pure
// and disappears.

// gather_matmul y [B,E,K,J]: B, K from ind, J from w.
// CHECK-LABEL: func.func @gather_matmul
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: tensor<?x?x8xbf16>, %[[IND:[a-z0-9]+]]: tensor<?x4x?xi32>, %[[W:[a-z0-9]+]]: tensor<4x8x?xbf16>)
// CHECK-NOT:     egs.
// CHECK-DAG:     %[[C0:[a-z0-9_]+]] = arith.constant 0 : index
// CHECK-DAG:     %[[C2:[a-z0-9_]+]] = arith.constant 2 : index
// CHECK-DAG:     %[[B:[a-z0-9_]+]] = tensor.dim %[[IND]], %[[C0]]
// CHECK-DAG:     %[[K:[a-z0-9_]+]] = tensor.dim %[[IND]], %[[C2]]
// CHECK-DAG:     %[[J:[a-z0-9_]+]] = tensor.dim %[[W]], %[[C2]]
// CHECK:         return %[[B]], %[[K]], %[[J]]
func.func @gather_matmul(%x: tensor<?x?x8xbf16>, %ind: tensor<?x4x?xi32>, %w: tensor<4x8x?xbf16>) -> (index, index, index) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<?x?x8xbf16>, tensor<?x4x?xi32>, tensor<4x8x?xbf16>) -> tensor<?x4x?x?xf32>
  %b = tensor.dim %y, %c0 : tensor<?x4x?x?xf32>
  %k = tensor.dim %y, %c2 : tensor<?x4x?x?xf32>
  %j = tensor.dim %y, %c3 : tensor<?x4x?x?xf32>
  return %b, %k, %j : index, index, index
}

// -----

// Ragged y [R,J/2] with swiglu: R from rows, J/2 from w.
// CHECK-LABEL: func.func @gather_matmul_ragged_swiglu
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: tensor<16x8xf32>, %[[ROWS:[a-z0-9]+]]: tensor<?xi32>, %[[W:[a-z0-9]+]]: tensor<4x8x?xf32>, %[[OFF:[a-z0-9]+]]: tensor<5xi32>)
// CHECK-DAG:     %[[R:[a-z0-9_]+]] = tensor.dim %[[ROWS]], %{{.+}}
// CHECK-DAG:     %[[J:[a-z0-9_]+]] = tensor.dim %[[W]], %{{.+}}
// CHECK-DAG:     %[[JH:[a-z0-9_]+]] = arith.divui %[[J]], %{{.+}}
// CHECK:         return %[[R]], %[[JH]]
func.func @gather_matmul_ragged_swiglu(%x: tensor<16x8xf32>, %rows: tensor<?xi32>, %w: tensor<4x8x?xf32>, %off: tensor<5xi32>) -> (index, index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %y = egs.gather_matmul %x[%rows] * %w offsets %off {activation = #egs.activation<swiglu>}
      : (tensor<16x8xf32>, tensor<?xi32>, tensor<4x8x?xf32>, tensor<5xi32>) -> tensor<?x?xf32>
  %r = tensor.dim %y, %c0 : tensor<?x?xf32>
  %j = tensor.dim %y, %c1 : tensor<?x?xf32>
  return %r, %j : index, index
}

// -----

// matmul_scatter out has init's shape.
// CHECK-LABEL: func.func @matmul_scatter
// CHECK-SAME:    %[[INIT:[a-z0-9]+]]: tensor<?x8xf32>)
// CHECK:         %[[T:[a-z0-9_]+]] = tensor.dim %[[INIT]], %{{.+}}
// CHECK:         return %[[T]]
func.func @matmul_scatter(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xf32>, %init: tensor<?x8xf32>) -> index {
  %c0 = arith.constant 0 : index
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<4x6x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  %t = tensor.dim %o, %c0 : tensor<?x8xf32>
  return %t : index
}

// -----

// permute: x_sorted [T*k, H], row_id_map [k*T], expert_offsets [num_experts + 1].
// CHECK-LABEL: func.func @permute
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: tensor<?x?xf32>, %[[IDS:[a-z0-9]+]]: tensor<?x2xi32>)
// CHECK-DAG:     %[[C9:[a-z0-9_]+]] = arith.constant 9 : index
// CHECK-DAG:     %[[C0:[a-z0-9_]+]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:[a-z0-9_]+]] = arith.constant 1 : index
// CHECK-DAG:     %[[C2:[a-z0-9_]+]] = arith.constant 2 : index
// CHECK-DAG:     %[[T:[a-z0-9_]+]] = tensor.dim %[[IDS]], %[[C0]]
// CHECK-DAG:     %[[TK:[a-z0-9_]+]] = arith.muli %[[T]], %[[C2]]
// CHECK-DAG:     %[[H:[a-z0-9_]+]] = tensor.dim %[[X]], %[[C1]]
// CHECK:         return %[[TK]], %[[H]], %[[TK]], %[[C9]]
func.func @permute(%x: tensor<?x?xf32>, %ids: tensor<?x2xi32>) -> (index, index, index, index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %xs, %map, %off = egs.permute %x by %ids experts = 8
      : (tensor<?x?xf32>, tensor<?x2xi32>) -> (tensor<?x?xf32>, tensor<?xi32>, tensor<?xi32>)
  %r = tensor.dim %xs, %c0 : tensor<?x?xf32>
  %h = tensor.dim %xs, %c1 : tensor<?x?xf32>
  %m = tensor.dim %map, %c0 : tensor<?xi32>
  %e = tensor.dim %off, %c0 : tensor<?xi32>
  return %r, %h, %m, %e : index, index, index, index
}

// -----

// With num_out_tokens, x_sorted has exactly that many rows.
// CHECK-LABEL: func.func @permute_out_tokens
// CHECK:         %[[C20:[a-z0-9_]+]] = arith.constant 20 : index
// CHECK:         return %[[C20]]
func.func @permute_out_tokens(%x: tensor<?x?xf32>, %ids: tensor<?x2xi32>) -> index {
  %c0 = arith.constant 0 : index
  %xs, %map, %off = egs.permute %x by %ids experts = 8 out_tokens = 20
      : (tensor<?x?xf32>, tensor<?x2xi32>) -> (tensor<?x?xf32>, tensor<?xi32>, tensor<9xi32>)
  %r = tensor.dim %xs, %c0 : tensor<?x?xf32>
  return %r : index
}

// -----

// unpermute out [T,H]: T from probs, H from x_sorted.
// CHECK-LABEL: func.func @unpermute
// CHECK-SAME:    (%[[XS:[a-z0-9]+]]: tensor<?x?xf32>, %[[MAP:[a-z0-9]+]]: tensor<?xi32>, %[[P:[a-z0-9]+]]: tensor<?x?xf32>)
// CHECK-DAG:     %[[C0:[a-z0-9_]+]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:[a-z0-9_]+]] = arith.constant 1 : index
// CHECK-DAG:     %[[T:[a-z0-9_]+]] = tensor.dim %[[P]], %[[C0]]
// CHECK-DAG:     %[[H:[a-z0-9_]+]] = tensor.dim %[[XS]], %[[C1]]
// CHECK:         return %[[T]], %[[H]]
func.func @unpermute(%xs: tensor<?x?xf32>, %map: tensor<?xi32>, %p: tensor<?x?xf32>) -> (index, index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %o = egs.unpermute %xs[%map] * %p : (tensor<?x?xf32>, tensor<?xi32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %t = tensor.dim %o, %c0 : tensor<?x?xf32>
  %h = tensor.dim %o, %c1 : tensor<?x?xf32>
  return %t, %h : index, index
}

// -----

// route: rows [T*k] and expert_offsets [num_experts + 1].
// CHECK-LABEL: func.func @route
// CHECK-SAME:    (%[[IDS:[a-z0-9]+]]: tensor<?x?xi32>)
// CHECK-DAG:     %[[C5:[a-z0-9_]+]] = arith.constant 5 : index
// CHECK-DAG:     %[[C0:[a-z0-9_]+]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:[a-z0-9_]+]] = arith.constant 1 : index
// CHECK-DAG:     %[[T:[a-z0-9_]+]] = tensor.dim %[[IDS]], %[[C0]]
// CHECK-DAG:     %[[K:[a-z0-9_]+]] = tensor.dim %[[IDS]], %[[C1]]
// CHECK-DAG:     %[[TK:[a-z0-9_]+]] = arith.muli %[[T]], %[[K]]
// CHECK:         return %[[TK]], %[[C5]]
func.func @route(%ids: tensor<?x?xi32>) -> (index, index) {
  %c0 = arith.constant 0 : index
  %rows, %off, %map = egs.route %ids experts = 4 : (tensor<?x?xi32>) -> (tensor<?xi32>, tensor<?xi32>, tensor<?xi32>)
  %r = tensor.dim %rows, %c0 : tensor<?xi32>
  %e = tensor.dim %off, %c0 : tensor<?xi32>
  return %r, %e : index, index
}

// -----

// gather with batch_dims = 1 and a permutation: g = [B, K, H], result = [H, B, K].
// CHECK-LABEL: func.func @gather
// CHECK-SAME:    (%[[X:[a-z0-9]+]]: tensor<?x?x?xf32>, %[[IND:[a-z0-9]+]]: tensor<?x?xi32>)
// CHECK-DAG:     %[[C0:[a-z0-9_]+]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:[a-z0-9_]+]] = arith.constant 1 : index
// CHECK-DAG:     %[[C2:[a-z0-9_]+]] = arith.constant 2 : index
// CHECK-DAG:     %[[H:[a-z0-9_]+]] = tensor.dim %[[X]], %[[C2]]
// CHECK-DAG:     %[[B:[a-z0-9_]+]] = tensor.dim %[[X]], %[[C0]]
// CHECK-DAG:     %[[K:[a-z0-9_]+]] = tensor.dim %[[IND]], %[[C1]]
// CHECK:         return %[[H]], %[[B]], %[[K]]
func.func @gather(%x: tensor<?x?x?xf32>, %ind: tensor<?x?xi32>) -> (index, index, index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %g = egs.gather %x[%ind] axis = 1 permutation = [2, 0, 1] {batch_dims = 1}
      : (tensor<?x?x?xf32>, tensor<?x?xi32>) -> tensor<?x?x?xf32>
  %d0 = tensor.dim %g, %c0 : tensor<?x?x?xf32>
  %d1 = tensor.dim %g, %c1 : tensor<?x?x?xf32>
  %d2 = tensor.dim %g, %c2 : tensor<?x?x?xf32>
  return %d0, %d1, %d2 : index, index, index
}

// -----

// scatter_add out has init's shape.
// CHECK-LABEL: func.func @scatter_add
// CHECK-SAME:    %[[INIT:[a-z0-9]+]]: tensor<?x64xf32>)
// CHECK:         %[[N:[a-z0-9_]+]] = tensor.dim %[[INIT]], %{{.+}}
// CHECK:         return %[[N]]
func.func @scatter_add(%src: tensor<?x64xf32>, %ind: tensor<?xi32>, %init: tensor<?x64xf32>) -> index {
  %c0 = arith.constant 0 : index
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<?x64xf32>, tensor<?xi32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  %n = tensor.dim %o, %c0 : tensor<?x64xf32>
  return %n : index
}

// -----

// gather_concat: the concatenated dim sums the pieces, the others come from source #0.
// CHECK-LABEL: func.func @gather_concat
// CHECK-SAME:    (%[[A:[a-z0-9]+]]: tensor<10x?xf32>, %[[B:[a-z0-9]+]]: tensor<12x?xf32>, %[[IA:[a-z0-9]+]]: tensor<?xi32>, %[[IB:[a-z0-9]+]]: tensor<?xi32>)
// CHECK-DAG:     %[[N:[a-z0-9_]+]] = tensor.dim %[[IA]], %{{.+}}
// CHECK-DAG:     %[[DA:[a-z0-9_]+]] = tensor.dim %[[A]], %{{.+}}
// CHECK-DAG:     %[[DB:[a-z0-9_]+]] = tensor.dim %[[B]], %{{.+}}
// CHECK-DAG:     %[[SUM:[a-z0-9_]+]] = arith.addi %[[DA]], %[[DB]]
// CHECK:         return %[[N]], %[[SUM]]
func.func @gather_concat(%a: tensor<10x?xf32>, %b: tensor<12x?xf32>, %ia: tensor<?xi32>, %ib: tensor<?xi32>) -> (index, index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1
      : (tensor<10x?xf32>, tensor<12x?xf32>, tensor<?xi32>, tensor<?xi32>) -> tensor<?x?xf32>
  %d0 = tensor.dim %c, %c0 : tensor<?x?xf32>
  %d1 = tensor.dim %c, %c1 : tensor<?x?xf32>
  return %d0, %d1 : index, index
}
