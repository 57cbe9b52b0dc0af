// RUN: egs-opt --egs-fuse --split-input-file %s | FileCheck %s --enable-var-scope
// RUN: egs-opt --egs-fuse="routing=false" --split-input-file %s \
// RUN:   | FileCheck %s --check-prefix=OFF --enable-var-scope

// Token-choice routing: egs.permute + grouped gather_matmul -> ragged
// gather_matmul reading tokens in place; grouped matmul + egs.unpermute ->
// ragged matmul_scatter with the routing probabilities as scale.

// permute + grouped GEMM over x_sorted (identity rows): x is read in place
// through egs.route's rows; permute's other results move to the route.
// CHECK-LABEL: func.func @permute_grouped_gemm(
// CHECK-SAME:    %[[X:.*]]: tensor<4x8xf32>, %[[IDS:.*]]: tensor<4x2xi32>, %[[W:.*]]: tensor<3x8x16xf32>)
// CHECK:         %[[R:.*]]:3 = egs.route %[[IDS]] experts = 3 : (tensor<4x2xi32>) -> (tensor<8xi32>, tensor<4xi32>, tensor<8xi32>)
// CHECK:         %[[Y:.*]] = egs.gather_matmul %[[X]][%[[R]]#0] * %[[W]] offsets %[[R]]#1 : (tensor<4x8xf32>, tensor<8xi32>, tensor<3x8x16xf32>, tensor<4xi32>) -> tensor<8x16xf32>
// CHECK-NOT:     egs.permute
// CHECK:         return %[[Y]], %[[R]]#2, %[[R]]#1
// OFF-LABEL: func.func @permute_grouped_gemm(
// OFF:         egs.permute
func.func @permute_grouped_gemm(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>, %w: tensor<3x8x16xf32>)
    -> (tensor<8x16xf32>, tensor<8xi32>, tensor<4xi32>) {
  %xs, %map, %off = egs.permute %x by %ids experts = 3
      : (tensor<4x8xf32>, tensor<4x2xi32>) -> (tensor<8x8xf32>, tensor<8xi32>, tensor<4xi32>)
  %iota = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : tensor<8xi32>
  %y = egs.gather_matmul %xs[%iota] * %w offsets %off
      : (tensor<8x8xf32>, tensor<8xi32>, tensor<3x8x16xf32>, tensor<4xi32>) -> tensor<8x16xf32>
  return %y, %map, %off : tensor<8x16xf32>, tensor<8xi32>, tensor<4xi32>
}

// -----

// Grouped matmul_scatter into zeros (identity rows written as a generic
// iota) + unpermute: the combine scatters into the tokens, scaled by
// probs[t, j] moved to its slot by a scatter_add through row_id_map.
// CHECK-LABEL: func.func @grouped_matmul_scatter_unpermute(
// CHECK-SAME:    %[[H:.*]]: tensor<8x16xf32>, %[[IDS:.*]]: tensor<4x2xi32>, %[[W2:.*]]: tensor<3x16x8xf32>, %[[P:.*]]: tensor<4x2xf32>)
// CHECK:         %[[R:.*]]:3 = egs.route %[[IDS]] experts = 3
// CHECK:         %[[PT:.*]] = linalg.transpose ins(%[[P]] : tensor<4x2xf32>) outs(%{{.*}} : tensor<2x4xf32>) permutation = [1, 0]
// CHECK:         %[[PF:.*]] = tensor.collapse_shape %[[PT]] {{\[\[}}0, 1]] : tensor<2x4xf32> into tensor<8xf32>
// CHECK:         %[[SZ:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<8xf32>)
// CHECK:         %[[S:.*]] = egs.scatter_add %[[PF]] into %[[SZ]][%[[R]]#2] axis = 0
// CHECK:         %[[TZ:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK:         %[[OUT:.*]] = egs.matmul_scatter %[[H]] * %[[W2]] offsets %[[R]]#1 into %[[TZ]][%[[R]]#0] scale %[[S]] : (tensor<8x16xf32>, tensor<8xi32>, tensor<3x16x8xf32>, tensor<4xi32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
// CHECK-NOT:     egs.unpermute
// CHECK:         return %[[OUT]]
// OFF-LABEL: func.func @grouped_matmul_scatter_unpermute(
// OFF:         egs.unpermute
func.func @grouped_matmul_scatter_unpermute(%h: tensor<8x16xf32>, %ids: tensor<4x2xi32>,
                                            %w2: tensor<3x16x8xf32>, %probs: tensor<4x2xf32>)
    -> tensor<4x8xf32> {
  %rows, %off, %map = egs.route %ids experts = 3
      : (tensor<4x2xi32>) -> (tensor<8xi32>, tensor<4xi32>, tensor<8xi32>)
  %e = tensor.empty() : tensor<8xi32>
  %iota = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>],
                          iterator_types = ["parallel"]} outs(%e : tensor<8xi32>) {
  ^bb0(%o: i32):
    %i = linalg.index 0 : index
    %c = arith.index_cast %i : index to i32
    linalg.yield %c : i32
  } -> tensor<8xi32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<8x8xf32>
  %zeros = linalg.fill ins(%zero : f32) outs(%e2 : tensor<8x8xf32>) -> tensor<8x8xf32>
  %z = egs.matmul_scatter %h * %w2 offsets %off into %zeros[%iota]
      : (tensor<8x16xf32>, tensor<8xi32>, tensor<3x16x8xf32>, tensor<4xi32>, tensor<8x8xf32>)
      -> tensor<8x8xf32>
  %out = egs.unpermute %z[%map] * %probs
      : (tensor<8x8xf32>, tensor<8xi32>, tensor<4x2xf32>) -> tensor<4x8xf32>
  return %out : tensor<4x8xf32>
}

// -----

// The whole grouped-GEMM MoE layer: permute, grouped up-projection, grouped
// down-projection (a gather_matmul with identity rows), unpermute. Neither
// permuted copy survives.
// CHECK-LABEL: func.func @grouped_moe_layer(
// CHECK-SAME:    %[[X:.*]]: tensor<4x8xf32>, %[[IDS:.*]]: tensor<4x2xi32>, %[[W1:.*]]: tensor<3x8x16xf32>, %[[W2:.*]]: tensor<3x16x8xf32>, %[[P:.*]]: tensor<4x2xf32>)
// CHECK:         %[[R:.*]]:3 = egs.route %[[IDS]] experts = 3
// CHECK:         %[[H:.*]] = egs.gather_matmul %[[X]][%[[R]]#0] * %[[W1]] offsets %[[R]]#1
// CHECK:         egs.matmul_scatter %[[H]] * %[[W2]] offsets %[[R]]#1 into %{{.*}}[%[[R]]#0] scale
// CHECK-NOT:     egs.permute
// CHECK-NOT:     egs.unpermute
func.func @grouped_moe_layer(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>, %w1: tensor<3x8x16xf32>,
                             %w2: tensor<3x16x8xf32>, %probs: tensor<4x2xf32>) -> tensor<4x8xf32> {
  %xs, %map, %off = egs.permute %x by %ids experts = 3
      : (tensor<4x8xf32>, tensor<4x2xi32>) -> (tensor<8x8xf32>, tensor<8xi32>, tensor<4xi32>)
  %iota = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : tensor<8xi32>
  %h = egs.gather_matmul %xs[%iota] * %w1 offsets %off
      : (tensor<8x8xf32>, tensor<8xi32>, tensor<3x8x16xf32>, tensor<4xi32>) -> tensor<8x16xf32>
  %z = egs.gather_matmul %h[%iota] * %w2 offsets %off
      : (tensor<8x16xf32>, tensor<8xi32>, tensor<3x16x8xf32>, tensor<4xi32>) -> tensor<8x8xf32>
  %out = egs.unpermute %z[%map] * %probs
      : (tensor<8x8xf32>, tensor<8xi32>, tensor<4x2xf32>) -> tensor<4x8xf32>
  return %out : tensor<4x8xf32>
}

// -----

// Dynamic token count: the scale and the zero init take their sizes with
// tensor.dim.
// CHECK-LABEL: func.func @dynamic_tokens_unpermute(
// CHECK:         %[[R:.*]]:3 = egs.route %{{.*}} experts = 3 : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<4xi32>, tensor<?xi32>)
// CHECK:         linalg.transpose ins(%{{.*}} : tensor<?x2xf32>) outs(%{{.*}} : tensor<2x?xf32>)
// CHECK:         egs.scatter_add %{{.*}} into %{{.*}}[%[[R]]#2] axis = 0 : (tensor<?xf32>, tensor<?xi32>, tensor<?xf32>) -> tensor<?xf32>
// CHECK:         egs.matmul_scatter %{{.*}} * %{{.*}} offsets %[[R]]#1 into %{{.*}}[%[[R]]#0] scale %{{.*}} : (tensor<?x16xf32>, tensor<?xi32>, tensor<3x16x8xf32>, tensor<4xi32>, tensor<?x8xf32>, tensor<?xf32>) -> tensor<?x8xf32>
func.func @dynamic_tokens_unpermute(%h: tensor<?x16xf32>, %ids: tensor<?x2xi32>,
                                    %w2: tensor<3x16x8xf32>, %probs: tensor<?x2xf32>)
    -> tensor<?x8xf32> {
  %rows, %off, %map = egs.route %ids experts = 3
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<4xi32>, tensor<?xi32>)
  %c0 = arith.constant 0 : index
  %n = tensor.dim %h, %c0 : tensor<?x16xf32>
  %e = tensor.empty(%n) : tensor<?xi32>
  %iota = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>],
                          iterator_types = ["parallel"]} outs(%e : tensor<?xi32>) {
  ^bb0(%o: i32):
    %i = linalg.index 0 : index
    %c = arith.index_cast %i : index to i32
    linalg.yield %c : i32
  } -> tensor<?xi32>
  %z = egs.gather_matmul %h[%iota] * %w2 offsets %off
      : (tensor<?x16xf32>, tensor<?xi32>, tensor<3x16x8xf32>, tensor<4xi32>) -> tensor<?x8xf32>
  %out = egs.unpermute %z[%map] * %probs
      : (tensor<?x8xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x8xf32>
  return %out : tensor<?x8xf32>
}

// -----
// Negative cases.

// x_sorted has another user: the permuted copy stays, nothing to gain.
// CHECK-LABEL: func.func @sorted_copy_has_other_users(
// CHECK:         egs.permute
// CHECK:         egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} offsets
// CHECK-NOT:     egs.route
func.func @sorted_copy_has_other_users(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>,
                                       %w: tensor<3x8x16xf32>) -> (tensor<8x16xf32>, tensor<8x8xf32>) {
  %xs, %map, %off = egs.permute %x by %ids experts = 3
      : (tensor<4x8xf32>, tensor<4x2xi32>) -> (tensor<8x8xf32>, tensor<8xi32>, tensor<4xi32>)
  %iota = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : tensor<8xi32>
  %y = egs.gather_matmul %xs[%iota] * %w offsets %off
      : (tensor<8x8xf32>, tensor<8xi32>, tensor<3x8x16xf32>, tensor<4xi32>) -> tensor<8x16xf32>
  return %y, %xs : tensor<8x16xf32>, tensor<8x8xf32>
}

// -----

// Dropped rows (num_out_tokens < T*k): egs.route cannot drop rows.
// CHECK-LABEL: func.func @permute_drops_rows(
// CHECK:         egs.permute {{.*}} out_tokens = 6
// CHECK-NOT:     egs.route
func.func @permute_drops_rows(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>,
                              %w: tensor<3x8x16xf32>) -> tensor<6x16xf32> {
  %xs, %map, %off = egs.permute %x by %ids experts = 3 out_tokens = 6
      : (tensor<4x8xf32>, tensor<4x2xi32>) -> (tensor<6x8xf32>, tensor<8xi32>, tensor<4xi32>)
  %iota = arith.constant dense<[0, 1, 2, 3, 4, 5]> : tensor<6xi32>
  %y = egs.gather_matmul %xs[%iota] * %w offsets %off
      : (tensor<6x8xf32>, tensor<6xi32>, tensor<3x8x16xf32>, tensor<4xi32>) -> tensor<6x16xf32>
  return %y : tensor<6x16xf32>
}

// -----

// Rows that are not the identity: not a grouped GEMM over x_sorted.
// CHECK-LABEL: func.func @rows_not_identity(
// CHECK:         egs.permute
// CHECK-NOT:     egs.route
func.func @rows_not_identity(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>,
                             %w: tensor<3x8x16xf32>) -> tensor<8x16xf32> {
  %xs, %map, %off = egs.permute %x by %ids experts = 3
      : (tensor<4x8xf32>, tensor<4x2xi32>) -> (tensor<8x8xf32>, tensor<8xi32>, tensor<4xi32>)
  %rows = arith.constant dense<[7, 6, 5, 4, 3, 2, 1, 0]> : tensor<8xi32>
  %y = egs.gather_matmul %xs[%rows] * %w offsets %off
      : (tensor<8x8xf32>, tensor<8xi32>, tensor<3x8x16xf32>, tensor<4xi32>) -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}

// -----

// A bf16 grouped result is rounded before the combine; the fused op would
// not round it.
// CHECK-LABEL: func.func @bf16_combine(
// CHECK:         egs.unpermute
func.func @bf16_combine(%h: tensor<8x16xbf16>, %ids: tensor<4x2xi32>,
                        %w2: tensor<3x16x8xbf16>, %probs: tensor<4x2xf32>) -> tensor<4x8xf32> {
  %rows, %off, %map = egs.route %ids experts = 3
      : (tensor<4x2xi32>) -> (tensor<8xi32>, tensor<4xi32>, tensor<8xi32>)
  %iota = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : tensor<8xi32>
  %z = egs.gather_matmul %h[%iota] * %w2 offsets %off
      : (tensor<8x16xbf16>, tensor<8xi32>, tensor<3x16x8xbf16>, tensor<4xi32>) -> tensor<8x8xbf16>
  %out = egs.unpermute %z[%map] * %probs
      : (tensor<8x8xbf16>, tensor<8xi32>, tensor<4x2xf32>) -> tensor<4x8xf32>
  return %out : tensor<4x8xf32>
}

// -----

// row_id_map and expert_offsets from different routing ops.
// CHECK-LABEL: func.func @mismatched_routing(
// CHECK:         egs.unpermute
func.func @mismatched_routing(%h: tensor<8x16xf32>, %ids: tensor<4x2xi32>, %ids2: tensor<4x2xi32>,
                              %w2: tensor<3x16x8xf32>, %probs: tensor<4x2xf32>) -> tensor<4x8xf32> {
  %rows, %off, %map = egs.route %ids experts = 3
      : (tensor<4x2xi32>) -> (tensor<8xi32>, tensor<4xi32>, tensor<8xi32>)
  %rows2, %off2, %map2 = egs.route %ids2 experts = 3
      : (tensor<4x2xi32>) -> (tensor<8xi32>, tensor<4xi32>, tensor<8xi32>)
  %iota = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : tensor<8xi32>
  %z = egs.gather_matmul %h[%iota] * %w2 offsets %off
      : (tensor<8x16xf32>, tensor<8xi32>, tensor<3x16x8xf32>, tensor<4xi32>) -> tensor<8x8xf32>
  %out = egs.unpermute %z[%map2] * %probs
      : (tensor<8x8xf32>, tensor<8xi32>, tensor<4x2xf32>) -> tensor<4x8xf32>
  return %out : tensor<4x8xf32>
}
