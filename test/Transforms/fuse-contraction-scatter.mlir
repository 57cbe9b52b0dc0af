// RUN: egs-opt --egs-fuse --split-input-file %s | FileCheck %s --enable-var-scope
// RUN: egs-opt --egs-fuse="contraction-scatter=false" --split-input-file %s \
// RUN:   | FileCheck %s --check-prefix=OFF --enable-var-scope

// Contraction (+ per-row scale) + scatter-add -> egs.matmul_scatter, for
// each scatter form (egs.scatter_add, tensor.scatter into zeros) and
// contraction form.

// linalg.batch_matmul over experts + egs.scatter_add into the tokens.
// CHECK-LABEL: func.func @batch_matmul_scatter_add(
// CHECK-SAME:    %[[Y:.*]]: tensor<2x4x8xf32>, %[[W:.*]]: tensor<2x8x16xf32>, %[[IND:.*]]: tensor<2x4xi32>, %[[INIT:.*]]: tensor<6x16xf32>)
// CHECK:         %[[OUT:.*]] = egs.matmul_scatter %[[Y]] * %[[W]] into %[[INIT]][%[[IND]]] : (tensor<2x4x8xf32>, tensor<2x4xi32>, tensor<2x8x16xf32>, tensor<6x16xf32>) -> tensor<6x16xf32>
// CHECK-NEXT:    return %[[OUT]]
// OFF-LABEL: func.func @batch_matmul_scatter_add(
// OFF:         linalg.batch_matmul
// OFF:         egs.scatter_add
// OFF-NOT:     egs.matmul_scatter
func.func @batch_matmul_scatter_add(%y: tensor<2x4x8xf32>, %w: tensor<2x8x16xf32>,
                                    %ind: tensor<2x4xi32>, %init: tensor<6x16xf32>)
    -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %c = linalg.batch_matmul ins(%y, %w : tensor<2x4x8xf32>, tensor<2x8x16xf32>)
                           outs(%f : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %out = egs.scatter_add %c into %init[%ind] axis = 0
      : (tensor<2x4x16xf32>, tensor<2x4xi32>, tensor<6x16xf32>) -> tensor<6x16xf32>
  return %out : tensor<6x16xf32>
}

// -----

// One weight matrix and rows [R]: the single-expert form (E = 1 reshapes).
// CHECK-LABEL: func.func @matmul_scatter_add_single_expert(
// CHECK-SAME:    %[[Y:.*]]: tensor<5x8xf32>, %[[W:.*]]: tensor<8x16xf32>, %[[IND:.*]]: tensor<5xi64>, %[[INIT:.*]]: tensor<6x16xf32>)
// CHECK-DAG:     %[[IND1:.*]] = tensor.expand_shape %[[IND]] {{\[\[}}0, 1]] output_shape [1, 5]
// CHECK-DAG:     %[[Y1:.*]] = tensor.expand_shape %[[Y]] {{\[\[}}0, 1], [2]] output_shape [1, 5, 8]
// CHECK-DAG:     %[[W1:.*]] = tensor.expand_shape %[[W]] {{\[\[}}0, 1], [2]] output_shape [1, 8, 16]
// CHECK:         %[[OUT:.*]] = egs.matmul_scatter %[[Y1]] * %[[W1]] into %[[INIT]][%[[IND1]]] : (tensor<1x5x8xf32>, tensor<1x5xi64>, tensor<1x8x16xf32>, tensor<6x16xf32>) -> tensor<6x16xf32>
// CHECK-NEXT:    return %[[OUT]]
func.func @matmul_scatter_add_single_expert(%y: tensor<5x8xf32>, %w: tensor<8x16xf32>,
                                            %ind: tensor<5xi64>, %init: tensor<6x16xf32>)
    -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<5x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<5x16xf32>) -> tensor<5x16xf32>
  %c = linalg.matmul ins(%y, %w : tensor<5x8xf32>, tensor<8x16xf32>)
                     outs(%f : tensor<5x16xf32>) -> tensor<5x16xf32>
  %out = egs.scatter_add %c into %init[%ind] axis = 0
      : (tensor<5x16xf32>, tensor<5xi64>, tensor<6x16xf32>) -> tensor<6x16xf32>
  return %out : tensor<6x16xf32>
}

// -----

// One weight matrix with [B,S] rows: flattened into the single expert's R.
// CHECK-LABEL: func.func @single_expert_2d_rows(
// CHECK-SAME:    %[[Y:.*]]: tensor<2x3x8xf32>, %[[W:.*]]: tensor<8x16xf32>, %[[IND:.*]]: tensor<2x3xi32>, %[[INIT:.*]]: tensor<6x16xf32>)
// CHECK-DAG:     %[[YF:.*]] = tensor.collapse_shape %[[Y]] {{\[\[}}0, 1], [2]] : tensor<2x3x8xf32> into tensor<6x8xf32>
// CHECK-DAG:     %[[IF:.*]] = tensor.collapse_shape %[[IND]] {{\[\[}}0, 1]] : tensor<2x3xi32> into tensor<6xi32>
// CHECK:         egs.matmul_scatter %{{.*}} * %{{.*}} into %[[INIT]][%{{.*}}] : (tensor<1x6x8xf32>, tensor<1x6xi32>, tensor<1x8x16xf32>, tensor<6x16xf32>) -> tensor<6x16xf32>
func.func @single_expert_2d_rows(%y: tensor<2x3x8xf32>, %w: tensor<8x16xf32>,
                                 %ind: tensor<2x3xi32>, %init: tensor<6x16xf32>) -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3x16xf32>) -> tensor<2x3x16xf32>
  %c = linalg.generic {indexing_maps = [affine_map<(b, s, i, j) -> (b, s, j)>,
                                        affine_map<(b, s, i, j) -> (j, i)>,
                                        affine_map<(b, s, i, j) -> (b, s, i)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%y, %w : tensor<2x3x8xf32>, tensor<8x16xf32>) outs(%f : tensor<2x3x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x3x16xf32>
  %out = egs.scatter_add %c into %init[%ind] axis = 0
      : (tensor<2x3x16xf32>, tensor<2x3xi32>, tensor<6x16xf32>) -> tensor<6x16xf32>
  return %out : tensor<6x16xf32>
}

// -----

// Dynamic rows and tokens: the unit expert dim is added with sizes taken by
// tensor.dim.
// CHECK-LABEL: func.func @dynamic_single_expert(
// CHECK-SAME:    %[[Y:.*]]: tensor<?x8xf32>, %[[W:.*]]: tensor<8x16xf32>, %[[IND:.*]]: tensor<?xi32>, %[[INIT:.*]]: tensor<?x16xf32>)
// CHECK-DAG:     %[[Y1:.*]] = tensor.expand_shape %[[Y]] {{\[\[}}0, 1], [2]] output_shape [1, %{{.*}}, 8] : tensor<?x8xf32> into tensor<1x?x8xf32>
// CHECK-DAG:     %[[IND1:.*]] = tensor.expand_shape %[[IND]] {{\[\[}}0, 1]] output_shape [1, %{{.*}}] : tensor<?xi32> into tensor<1x?xi32>
// CHECK:         egs.matmul_scatter %[[Y1]] * %{{.*}} into %[[INIT]][%[[IND1]]] : (tensor<1x?x8xf32>, tensor<1x?xi32>, tensor<1x8x16xf32>, tensor<?x16xf32>) -> tensor<?x16xf32>
func.func @dynamic_single_expert(%y: tensor<?x8xf32>, %w: tensor<8x16xf32>,
                                 %ind: tensor<?xi32>, %init: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %c0 = arith.constant 0 : index
  %r = tensor.dim %y, %c0 : tensor<?x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%r) : tensor<?x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x16xf32>) -> tensor<?x16xf32>
  %c = linalg.matmul ins(%y, %w : tensor<?x8xf32>, tensor<8x16xf32>)
                     outs(%f : tensor<?x16xf32>) -> tensor<?x16xf32>
  %out = egs.scatter_add %c into %init[%ind] axis = 0
      : (tensor<?x16xf32>, tensor<?xi32>, tensor<?x16xf32>) -> tensor<?x16xf32>
  return %out : tensor<?x16xf32>
}

// -----

// Batched einsum bekj,eji->beki (linalg.generic, bf16 extended to f32) +
// scatter_add along axis 1 with batch_dims 1.
// CHECK-LABEL: func.func @batched_einsum_scatter_add(
// CHECK-SAME:    %[[Y:.*]]: tensor<2x3x4x8xbf16>, %[[W:.*]]: tensor<3x8x16xbf16>, %[[IND:.*]]: tensor<2x3x4xi32>, %[[INIT:.*]]: tensor<2x6x16xf32>)
// CHECK:         %[[OUT:.*]] = egs.matmul_scatter %[[Y]] * %[[W]] into %[[INIT]][%[[IND]]] : (tensor<2x3x4x8xbf16>, tensor<2x3x4xi32>, tensor<3x8x16xbf16>, tensor<2x6x16xf32>) -> tensor<2x6x16xf32>
// CHECK-NEXT:    return %[[OUT]]
func.func @batched_einsum_scatter_add(%y: tensor<2x3x4x8xbf16>, %w: tensor<3x8x16xbf16>,
                                      %ind: tensor<2x3x4xi32>, %init: tensor<2x6x16xf32>)
    -> tensor<2x6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3x4x16xf32>) -> tensor<2x3x4x16xf32>
  %c = linalg.generic {indexing_maps = [affine_map<(b, e, k, i, j) -> (b, e, k, j)>,
                                        affine_map<(b, e, k, i, j) -> (e, j, i)>,
                                        affine_map<(b, e, k, i, j) -> (b, e, k, i)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%y, %w : tensor<2x3x4x8xbf16>, tensor<3x8x16xbf16>) outs(%f : tensor<2x3x4x16xf32>) {
  ^bb0(%a: bf16, %b: bf16, %acc: f32):
    %a32 = arith.extf %a : bf16 to f32
    %b32 = arith.extf %b : bf16 to f32
    %m = arith.mulf %a32, %b32 : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x3x4x16xf32>
  %out = egs.scatter_add %c into %init[%ind] axis = 1 {batch_dims = 1}
      : (tensor<2x3x4x16xf32>, tensor<2x3x4xi32>, tensor<2x6x16xf32>) -> tensor<2x6x16xf32>
  return %out : tensor<2x6x16xf32>
}

// -----

// tensor.scatter of unique rows into zeros is an accumulation into zeros.
// CHECK-LABEL: func.func @tensor_scatter_into_zeros(
// CHECK-SAME:    %[[Y:.*]]: tensor<2x4x8xf32>, %[[W:.*]]: tensor<2x8x16xf32>, %[[IND:.*]]: tensor<2x4x1xindex>)
// CHECK:         %[[ZEROS:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<6x16xf32>)
// CHECK:         %[[C:.*]] = tensor.collapse_shape %[[IND]] {{\[\[}}0], [1, 2]] : tensor<2x4x1xindex> into tensor<2x4xindex>
// CHECK:         %[[I64:.*]] = linalg.generic {{.*}} ins(%[[C]] : tensor<2x4xindex>)
// CHECK:         %[[OUT:.*]] = egs.matmul_scatter %[[Y]] * %[[W]] into %[[ZEROS]][%[[I64]]] : (tensor<2x4x8xf32>, tensor<2x4xi64>, tensor<2x8x16xf32>, tensor<6x16xf32>) -> tensor<6x16xf32>
// CHECK-NOT:     tensor.scatter
// CHECK:         return %[[OUT]]
func.func @tensor_scatter_into_zeros(%y: tensor<2x4x8xf32>, %w: tensor<2x8x16xf32>,
                                     %ind: tensor<2x4x1xindex>) -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %c = linalg.batch_matmul ins(%y, %w : tensor<2x4x8xf32>, tensor<2x8x16xf32>)
                           outs(%f : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %e2 = tensor.empty() : tensor<6x16xf32>
  %zeros = linalg.fill ins(%zero : f32) outs(%e2 : tensor<6x16xf32>) -> tensor<6x16xf32>
  %out = tensor.scatter %c into %zeros[%ind] scatter_dims([0]) unique
      : (tensor<2x4x16xf32>, tensor<6x16xf32>, tensor<2x4x1xindex>) -> tensor<6x16xf32>
  return %out : tensor<6x16xf32>
}

// -----
// Negative cases.

// The contraction result has another user.
// CHECK-LABEL: func.func @contraction_has_other_users(
// CHECK:         linalg.batch_matmul
// CHECK:         egs.scatter_add
// CHECK-NOT:     egs.matmul_scatter
func.func @contraction_has_other_users(%y: tensor<2x4x8xf32>, %w: tensor<2x8x16xf32>,
                                       %ind: tensor<2x4xi32>, %init: tensor<6x16xf32>)
    -> (tensor<6x16xf32>, tensor<2x4x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %c = linalg.batch_matmul ins(%y, %w : tensor<2x4x8xf32>, tensor<2x8x16xf32>)
                           outs(%f : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %out = egs.scatter_add %c into %init[%ind] axis = 0
      : (tensor<2x4x16xf32>, tensor<2x4xi32>, tensor<6x16xf32>) -> tensor<6x16xf32>
  return %out, %c : tensor<6x16xf32>, tensor<2x4x16xf32>
}

// -----

// tensor.scatter into a non-zero dest overwrites rows: not an accumulation.
// CHECK-LABEL: func.func @tensor_scatter_overwrites(
// CHECK:         tensor.scatter
// CHECK-NOT:     egs.matmul_scatter
func.func @tensor_scatter_overwrites(%y: tensor<2x4x8xf32>, %w: tensor<2x8x16xf32>,
                                     %ind: tensor<2x4x1xindex>, %dest: tensor<6x16xf32>)
    -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %c = linalg.batch_matmul ins(%y, %w : tensor<2x4x8xf32>, tensor<2x8x16xf32>)
                           outs(%f : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %out = tensor.scatter %c into %dest[%ind] scatter_dims([0]) unique
      : (tensor<2x4x16xf32>, tensor<6x16xf32>, tensor<2x4x1xindex>) -> tensor<6x16xf32>
  return %out : tensor<6x16xf32>
}

// -----

// A bf16 contraction result (bf16 accumulation) would round differently.
// CHECK-LABEL: func.func @bf16_accumulator(
// CHECK:         linalg.batch_matmul
// CHECK-NOT:     egs.matmul_scatter
func.func @bf16_accumulator(%y: tensor<2x4x8xbf16>, %w: tensor<2x8x16xbf16>,
                            %ind: tensor<2x4xi32>, %init: tensor<6x16xbf16>)
    -> tensor<6x16xbf16> {
  %zero = arith.constant 0.0 : bf16
  %e = tensor.empty() : tensor<2x4x16xbf16>
  %f = linalg.fill ins(%zero : bf16) outs(%e : tensor<2x4x16xbf16>) -> tensor<2x4x16xbf16>
  %c = linalg.batch_matmul ins(%y, %w : tensor<2x4x8xbf16>, tensor<2x8x16xbf16>)
                           outs(%f : tensor<2x4x16xbf16>) -> tensor<2x4x16xbf16>
  %out = egs.scatter_add %c into %init[%ind] axis = 0
      : (tensor<2x4x16xbf16>, tensor<2x4xi32>, tensor<6x16xbf16>) -> tensor<6x16xbf16>
  return %out : tensor<6x16xbf16>
}

// -----

// A scatter along the feature axis (columns) is not a combine of rows.
// CHECK-LABEL: func.func @column_scatter(
// CHECK:         linalg.matmul
// CHECK-NOT:     egs.matmul_scatter
func.func @column_scatter(%y: tensor<16x8xf32>, %w: tensor<8x5xf32>,
                          %ind: tensor<5xi32>, %init: tensor<16x6xf32>) -> tensor<16x6xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x5xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<16x5xf32>) -> tensor<16x5xf32>
  %c = linalg.matmul ins(%y, %w : tensor<16x8xf32>, tensor<8x5xf32>)
                     outs(%f : tensor<16x5xf32>) -> tensor<16x5xf32>
  %out = egs.scatter_add %c into %init[%ind] axis = 1
      : (tensor<16x5xf32>, tensor<5xi32>, tensor<16x6xf32>) -> tensor<16x6xf32>
  return %out : tensor<16x6xf32>
}
