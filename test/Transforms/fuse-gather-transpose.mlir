// RUN: egs-opt --egs-fuse --split-input-file %s | FileCheck %s --enable-var-scope
// RUN: egs-opt --egs-fuse="gather-transpose=false" --split-input-file %s \
// RUN:   | FileCheck %s --check-prefix=OFF --enable-var-scope

// gather + transpose -> egs.gather {permutation}; gathers (+ transposes)
// feeding one tensor.concat -> egs.gather_concat.

// torch-mlir index_select + linalg.transpose.
// CHECK-LABEL: func.func @torch_gather_transpose(
// CHECK-SAME:    %[[X:.*]]: tensor<10x4xf32>, %[[IND:.*]]: tensor<3xi64>)
// CHECK:         %[[G:.*]] = egs.gather %[[X]][%[[IND]]] axis = 0 permutation = [1, 0] : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<4x3xf32>
// CHECK-NEXT:    return %[[G]]
// OFF-LABEL: func.func @torch_gather_transpose(
// OFF:         linalg.generic
// OFF:         linalg.transpose
func.func @torch_gather_transpose(%x: tensor<10x4xf32>, %ind: tensor<3xi64>) -> tensor<4x3xf32> {
  %e = tensor.empty() : tensor<3x4xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%ind : tensor<3xi64>) outs(%e : tensor<3x4xf32>) {
  ^bb0(%i: i64, %o: f32):
    %c = arith.index_cast %i : i64 to index
    %j = linalg.index 1 : index
    %v = tensor.extract %x[%c, %j] : tensor<10x4xf32>
    linalg.yield %v : f32
  } -> tensor<3x4xf32>
  %e2 = tensor.empty() : tensor<4x3xf32>
  %t = linalg.transpose ins(%g : tensor<3x4xf32>) outs(%e2 : tensor<4x3xf32>) permutation = [1, 0]
  return %t : tensor<4x3xf32>
}

// -----

// egs.gather with a 2-D index + a transpose written as linalg.generic.
// CHECK-LABEL: func.func @egs_gather_generic_transpose(
// CHECK-SAME:    %[[X:.*]]: tensor<10x4xf32>, %[[IND:.*]]: tensor<2x3xi32>)
// CHECK:         %[[G:.*]] = egs.gather %[[X]][%[[IND]]] axis = 0 permutation = [2, 0, 1] : (tensor<10x4xf32>, tensor<2x3xi32>) -> tensor<4x2x3xf32>
// CHECK-NEXT:    return %[[G]]
func.func @egs_gather_generic_transpose(%x: tensor<10x4xf32>, %ind: tensor<2x3xi32>) -> tensor<4x2x3xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<10x4xf32>, tensor<2x3xi32>) -> tensor<2x3x4xf32>
  %e = tensor.empty() : tensor<4x2x3xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d2, d0)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%g : tensor<2x3x4xf32>) outs(%e : tensor<4x2x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<4x2x3xf32>
  return %t : tensor<4x2x3xf32>
}

// -----

// tensor.gather along dim 1 puts the index dim first; transposing it back
// gives the plain egs.gather layout (the permutations compose to identity).
// CHECK-LABEL: func.func @tensor_gather_transpose_back(
// CHECK-SAME:    %[[X:.*]]: tensor<4x10xf32>, %[[IND:.*]]: tensor<3x1xi32>)
// CHECK:         %[[C:.*]] = tensor.collapse_shape %[[IND]] {{\[\[}}0, 1]] : tensor<3x1xi32> into tensor<3xi32>
// CHECK:         %[[G:.*]] = egs.gather %[[X]][%[[C]]] axis = 1 : (tensor<4x10xf32>, tensor<3xi32>) -> tensor<4x3xf32>
// CHECK-NEXT:    return %[[G]]
func.func @tensor_gather_transpose_back(%x: tensor<4x10xf32>, %ind: tensor<3x1xi32>) -> tensor<4x3xf32> {
  %g = tensor.gather %x[%ind] gather_dims([1])
      : (tensor<4x10xf32>, tensor<3x1xi32>) -> tensor<3x4xf32>
  %e = tensor.empty() : tensor<4x3xf32>
  %t = linalg.transpose ins(%g : tensor<3x4xf32>) outs(%e : tensor<4x3xf32>) permutation = [1, 0]
  return %t : tensor<4x3xf32>
}

// -----

// Two gather + transpose pieces feeding one concat (the attention QKV
// pattern of MIGraphX).
// CHECK-LABEL: func.func @gathers_transposes_concat(
// CHECK-SAME:    %[[A:.*]]: tensor<10x4xf32>, %[[B:.*]]: tensor<12x4xf32>, %[[IA:.*]]: tensor<3xi32>, %[[IB:.*]]: tensor<5xi32>)
// CHECK:         %[[C:.*]] = egs.gather_concat(%[[A]], %[[B]]) {{\[}}%[[IA]], %[[IB]]] axis = 0 dim = 1 permutations = [array<i64: 1, 0>, array<i64: 1, 0>] : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi32>, tensor<5xi32>) -> tensor<4x8xf32>
// CHECK-NEXT:    return %[[C]]
// OFF-LABEL: func.func @gathers_transposes_concat(
// OFF:         tensor.concat
func.func @gathers_transposes_concat(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>,
                                     %ia: tensor<3xi32>, %ib: tensor<5xi32>) -> tensor<4x8xf32> {
  %ga = egs.gather %a[%ia] axis = 0 : (tensor<10x4xf32>, tensor<3xi32>) -> tensor<3x4xf32>
  %gb = egs.gather %b[%ib] axis = 0 : (tensor<12x4xf32>, tensor<5xi32>) -> tensor<5x4xf32>
  %ea = tensor.empty() : tensor<4x3xf32>
  %ta = linalg.transpose ins(%ga : tensor<3x4xf32>) outs(%ea : tensor<4x3xf32>) permutation = [1, 0]
  %eb = tensor.empty() : tensor<4x5xf32>
  %tb = linalg.transpose ins(%gb : tensor<5x4xf32>) outs(%eb : tensor<4x5xf32>) permutation = [1, 0]
  %c = tensor.concat dim(1) %ta, %tb : (tensor<4x3xf32>, tensor<4x5xf32>) -> tensor<4x8xf32>
  return %c : tensor<4x8xf32>
}

// -----

// A plain gather and a transposed one in one concat: the plain piece gets
// the identity permutation.
// CHECK-LABEL: func.func @plain_and_transposed_concat(
// CHECK:         egs.gather_concat{{.*}} axis = 0 dim = 0 permutations = [array<i64: 0, 1>, array<i64: 1, 0>] : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<4xi32>, tensor<4xi32>) -> tensor<8x4xf32>
func.func @plain_and_transposed_concat(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>,
                                       %ia: tensor<4xi32>, %ib: tensor<4xi32>) -> tensor<8x4xf32> {
  %ga = egs.gather %a[%ia] axis = 0 : (tensor<10x4xf32>, tensor<4xi32>) -> tensor<4x4xf32>
  %gb = egs.gather %b[%ib] axis = 0 : (tensor<12x4xf32>, tensor<4xi32>) -> tensor<4x4xf32>
  %eb = tensor.empty() : tensor<4x4xf32>
  %tb = linalg.transpose ins(%gb : tensor<4x4xf32>) outs(%eb : tensor<4x4xf32>) permutation = [1, 0]
  %c = tensor.concat dim(0) %ga, %tb : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<8x4xf32>
  return %c : tensor<8x4xf32>
}

// -----

// Plain gathers (one torch-mlir generic, one tensor.gather) concatenated:
// no permutations.
// CHECK-LABEL: func.func @plain_gathers_concat(
// CHECK-SAME:    %[[A:.*]]: tensor<10x4xf32>, %[[B:.*]]: tensor<12x4xf32>, %[[IA:.*]]: tensor<3xi64>, %[[IB:.*]]: tensor<2x1xi32>)
// CHECK:         %[[CB:.*]] = tensor.collapse_shape %[[IB]]
// CHECK:         egs.gather_concat(%[[A]], %[[B]]) {{\[}}%[[IA]], %[[CB]]] axis = 0 dim = 0 : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi64>, tensor<2xi32>) -> tensor<5x4xf32>
func.func @plain_gathers_concat(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>,
                                %ia: tensor<3xi64>, %ib: tensor<2x1xi32>) -> tensor<5x4xf32> {
  %e = tensor.empty() : tensor<3x4xf32>
  %ga = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>,
                                         affine_map<(d0, d1) -> (d0, d1)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%ia : tensor<3xi64>) outs(%e : tensor<3x4xf32>) {
  ^bb0(%i: i64, %o: f32):
    %c = arith.index_cast %i : i64 to index
    %j = linalg.index 1 : index
    %v = tensor.extract %a[%c, %j] : tensor<10x4xf32>
    linalg.yield %v : f32
  } -> tensor<3x4xf32>
  %gb = tensor.gather %b[%ib] gather_dims([0])
      : (tensor<12x4xf32>, tensor<2x1xi32>) -> tensor<2x4xf32>
  %c = tensor.concat dim(0) %ga, %gb : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<5x4xf32>
  return %c : tensor<5x4xf32>
}

// -----
// Negative cases.

// The gathered value has another user.
// CHECK-LABEL: func.func @gather_has_other_users(
// CHECK:         egs.gather %{{.*}}[%{{.*}}] axis = 0 :
// CHECK:         linalg.transpose
func.func @gather_has_other_users(%x: tensor<10x4xf32>, %ind: tensor<3xi32>)
    -> (tensor<4x3xf32>, tensor<3x4xf32>) {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<10x4xf32>, tensor<3xi32>) -> tensor<3x4xf32>
  %e = tensor.empty() : tensor<4x3xf32>
  %t = linalg.transpose ins(%g : tensor<3x4xf32>) outs(%e : tensor<4x3xf32>) permutation = [1, 0]
  return %t, %g : tensor<4x3xf32>, tensor<3x4xf32>
}

// -----

// A concat piece that is not a gather.
// CHECK-LABEL: func.func @concat_with_other_piece(
// CHECK:         tensor.concat
// CHECK-NOT:     egs.gather_concat
func.func @concat_with_other_piece(%a: tensor<10x4xf32>, %ia: tensor<3xi32>,
                                   %other: tensor<2x4xf32>) -> tensor<5x4xf32> {
  %ga = egs.gather %a[%ia] axis = 0 : (tensor<10x4xf32>, tensor<3xi32>) -> tensor<3x4xf32>
  %c = tensor.concat dim(0) %ga, %other : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<5x4xf32>
  return %c : tensor<5x4xf32>
}

// -----

// Pieces gathered along different axes (egs.gather_concat has one axis).
// CHECK-LABEL: func.func @concat_different_axes(
// CHECK:         tensor.concat
// CHECK-NOT:     egs.gather_concat
func.func @concat_different_axes(%a: tensor<10x4xf32>, %b: tensor<4x10xf32>,
                                 %ia: tensor<4xi32>, %ib: tensor<4xi32>) -> tensor<8x4xf32> {
  %ga = egs.gather %a[%ia] axis = 0 : (tensor<10x4xf32>, tensor<4xi32>) -> tensor<4x4xf32>
  %gb = egs.gather %b[%ib] axis = 1 : (tensor<4x10xf32>, tensor<4xi32>) -> tensor<4x4xf32>
  %c = tensor.concat dim(0) %ga, %gb : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<8x4xf32>
  return %c : tensor<8x4xf32>
}

// -----

// f64 data moves like any 8..64-bit element: fused.
// CHECK-LABEL: func.func @f64_gather_transpose(
// CHECK:         egs.gather %{{.*}}[%{{.*}}] axis = 0 permutation = [1, 0] : (tensor<10x4xf64>, tensor<3xi64>) -> tensor<4x3xf64>
// CHECK-NOT:     linalg.transpose
func.func @f64_gather_transpose(%x: tensor<10x4xf64>, %ind: tensor<3xi64>) -> tensor<4x3xf64> {
  %e = tensor.empty() : tensor<3x4xf64>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%ind : tensor<3xi64>) outs(%e : tensor<3x4xf64>) {
  ^bb0(%i: i64, %o: f64):
    %c = arith.index_cast %i : i64 to index
    %j = linalg.index 1 : index
    %v = tensor.extract %x[%c, %j] : tensor<10x4xf64>
    linalg.yield %v : f64
  } -> tensor<3x4xf64>
  %e2 = tensor.empty() : tensor<4x3xf64>
  %t = linalg.transpose ins(%g : tensor<3x4xf64>) outs(%e2 : tensor<4x3xf64>) permutation = [1, 0]
  return %t : tensor<4x3xf64>
}

// -----

// Complex (or index, vector, f80) data is not an egs.gather element type
// (issue 16): the fusion does not fire and the IR stays valid.
// CHECK-LABEL: func.func @complex_gather_transpose(
// CHECK-NOT:     egs.gather
// CHECK:         linalg.generic
// CHECK:         linalg.transpose
func.func @complex_gather_transpose(%x: tensor<10x4xcomplex<f32>>, %ind: tensor<3xi64>) -> tensor<4x3xcomplex<f32>> {
  %e = tensor.empty() : tensor<3x4xcomplex<f32>>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%ind : tensor<3xi64>) outs(%e : tensor<3x4xcomplex<f32>>) {
  ^bb0(%i: i64, %o: complex<f32>):
    %c = arith.index_cast %i : i64 to index
    %j = linalg.index 1 : index
    %v = tensor.extract %x[%c, %j] : tensor<10x4xcomplex<f32>>
    linalg.yield %v : complex<f32>
  } -> tensor<3x4xcomplex<f32>>
  %e2 = tensor.empty() : tensor<4x3xcomplex<f32>>
  %t = linalg.transpose ins(%g : tensor<3x4xcomplex<f32>>) outs(%e2 : tensor<4x3xcomplex<f32>>) permutation = [1, 0]
  return %t : tensor<4x3xcomplex<f32>>
}

// -----

// Index data: not fused either (tensor.gather form, into a concat).
// CHECK-LABEL: func.func @index_gathers_concat(
// CHECK-NOT:     egs.gather_concat
// CHECK:         tensor.concat
func.func @index_gathers_concat(%a: tensor<10x4xindex>, %b: tensor<12x4xindex>,
                                %ia: tensor<3x1xindex>, %ib: tensor<3x1xindex>) -> tensor<3x8xindex> {
  %ga = tensor.gather %a[%ia] gather_dims([0]) : (tensor<10x4xindex>, tensor<3x1xindex>) -> tensor<3x4xindex>
  %gb = tensor.gather %b[%ib] gather_dims([0]) : (tensor<12x4xindex>, tensor<3x1xindex>) -> tensor<3x4xindex>
  %c = tensor.concat dim(1) %ga, %gb : (tensor<3x4xindex>, tensor<3x4xindex>) -> tensor<3x8xindex>
  return %c : tensor<3x8xindex>
}
