// RUN: egs-opt %s | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | egs-opt | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Two gathers along axis 0 concatenated along dim 1: [3,4] ++ [3,4] -> [3,8].
// CHECK-LABEL: func.func @concat
// CHECK-SAME:    (%[[A:[a-z0-9]+]]: tensor<10x4xf32>, %[[B:[a-z0-9]+]]: tensor<12x4xf32>, %[[IA:[a-z0-9]+]]: tensor<3xi32>, %[[IB:[a-z0-9]+]]: tensor<3xi64>)
// CHECK:         %[[C:[a-z0-9_]+]] = egs.gather_concat(%[[A]], %[[B]]) [%[[IA]], %[[IB]]] axis = 0 dim = 1 : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi32>, tensor<3xi64>) -> tensor<3x8xf32>
// CHECK:         return %[[C]]
// GENERIC-LABEL: sym_name = "concat"
// GENERIC:       "egs.gather_concat"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{axis = 0 : i64, dim = 1 : i64, operandSegmentSizes = array<i32: 2, 2, 0>}>
func.func @concat(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>, %ia: tensor<3xi32>, %ib: tensor<3xi64>) -> tensor<3x8xf32> {
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1
      : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi32>, tensor<3xi64>) -> tensor<3x8xf32>
  return %c : tensor<3x8xf32>
}

// Concatenated along the gathered dim: the index lengths add up, 3 + 5 -> 8.
// CHECK-LABEL: func.func @concat_gathered_dim
// CHECK:         egs.gather_concat(%{{.*}}, %{{.*}}) [%{{.*}}, %{{.*}}] axis = 0 dim = 0 : (tensor<10x4xbf16>, tensor<12x4xbf16>, tensor<3xi32>, tensor<5xi32>) -> tensor<8x4xbf16>
func.func @concat_gathered_dim(%a: tensor<10x4xbf16>, %b: tensor<12x4xbf16>, %ia: tensor<3xi32>, %ib: tensor<5xi32>) -> tensor<8x4xbf16> {
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 0
      : (tensor<10x4xbf16>, tensor<12x4xbf16>, tensor<3xi32>, tensor<5xi32>) -> tensor<8x4xbf16>
  return %c : tensor<8x4xbf16>
}

// Each piece transposed before the concat: [3,4]^T ++ [5,4]^T -> [4,8].
// CHECK-LABEL: func.func @permutations
// CHECK:         egs.gather_concat(%{{.*}}, %{{.*}}) [%{{.*}}, %{{.*}}] axis = 0 dim = 1 permutations = [array<i64: 1, 0>, array<i64: 1, 0>] : (tensor<10x4xf16>, tensor<12x4xf16>, tensor<3xi32>, tensor<5xi32>) -> tensor<4x8xf16>
// GENERIC-LABEL: sym_name = "permutations"
// GENERIC:       permutations = [array<i64: 1, 0>, array<i64: 1, 0>]
func.func @permutations(%a: tensor<10x4xf16>, %b: tensor<12x4xf16>, %ia: tensor<3xi32>, %ib: tensor<5xi32>) -> tensor<4x8xf16> {
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1
      permutations = [array<i64: 1, 0>, array<i64: 1, 0>]
      : (tensor<10x4xf16>, tensor<12x4xf16>, tensor<3xi32>, tensor<5xi32>) -> tensor<4x8xf16>
  return %c : tensor<4x8xf16>
}

// Mixed: identity for one source, a transpose for the other, so both pieces are [3,4].
// CHECK-LABEL: func.func @mixed_permutations
// CHECK:         permutations = [array<i64: 0, 1>, array<i64: 1, 0>] : (tensor<10x4xf32>, tensor<12x3xf32>, tensor<3xi32>, tensor<4xi32>) -> tensor<3x8xf32>
func.func @mixed_permutations(%a: tensor<10x4xf32>, %b: tensor<12x3xf32>, %ia: tensor<3xi32>, %ib: tensor<4xi32>) -> tensor<3x8xf32> {
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1
      permutations = [array<i64: 0, 1>, array<i64: 1, 0>]
      : (tensor<10x4xf32>, tensor<12x3xf32>, tensor<3xi32>, tensor<4xi32>) -> tensor<3x8xf32>
  return %c : tensor<3x8xf32>
}

// A single source, three sources, and dynamic sizes.
// CHECK-LABEL: func.func @arity_and_dynamic
// CHECK:         egs.gather_concat(%{{.*}}) [%{{.*}}] axis = 1 dim = 0 : (tensor<4x10xf32>, tensor<3xi32>) -> tensor<4x3xf32>
// CHECK:         egs.gather_concat(%{{.*}}, %{{.*}}, %{{.*}}) [%{{.*}}, %{{.*}}, %{{.*}}] axis = 1 dim = 0 : (tensor<4x10xf32>, tensor<?x10xf32>, tensor<4x10xf32>, tensor<3xi32>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x?xf32>
func.func @arity_and_dynamic(%a: tensor<4x10xf32>, %b: tensor<?x10xf32>, %ia: tensor<3xi32>, %ib: tensor<?xi32>)
    -> (tensor<4x3xf32>, tensor<?x?xf32>) {
  %c = egs.gather_concat (%a)[%ia] axis = 1 dim = 0 : (tensor<4x10xf32>, tensor<3xi32>) -> tensor<4x3xf32>
  %d = egs.gather_concat (%a, %b, %a)[%ia, %ia, %ib] axis = 1 dim = 0
      : (tensor<4x10xf32>, tensor<?x10xf32>, tensor<4x10xf32>, tensor<3xi32>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x?xf32>
  return %c, %d : tensor<4x3xf32>, tensor<?x?xf32>
}

// CHECK-LABEL: func.func @memref
// CHECK-SAME:    %[[OUT:[a-z0-9]+]]: memref<4x8xf32>)
// CHECK:         egs.gather_concat(%{{.*}}, %{{.*}}) [%{{.*}}, %{{.*}}] axis = 0 dim = 1 permutations = [array<i64: 1, 0>, array<i64: 1, 0>] outs(%[[OUT]]) : (memref<10x4xf32>, memref<12x4xf32>, memref<3xi32>, memref<5xi32>, memref<4x8xf32>) -> ()
// GENERIC-LABEL: sym_name = "memref"
// GENERIC:       operandSegmentSizes = array<i32: 2, 2, 1>
func.func @memref(%a: memref<10x4xf32>, %b: memref<12x4xf32>, %ia: memref<3xi32>, %ib: memref<5xi32>, %out: memref<4x8xf32>) {
  egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 permutations = [array<i64: 1, 0>, array<i64: 1, 0>] outs(%out)
      : (memref<10x4xf32>, memref<12x4xf32>, memref<3xi32>, memref<5xi32>, memref<4x8xf32>) -> ()
  return
}
