// RUN: egs-opt --egs-fuse --split-input-file %s | FileCheck %s --enable-var-scope
// RUN: egs-opt --egs-fuse="gather-contraction=false" --split-input-file %s \
// RUN:   | FileCheck %s --check-prefix=OFF --enable-var-scope

// Gather + contraction -> egs.gather_matmul, for each gather form (torch-mlir
// and StableHLO linalg.generic, tensor.gather, egs.gather) and each
// contraction form (linalg.matmul, batch_matmul, contract, generic).

// torch-mlir index_select + linalg.matmul: one weight matrix, so the
// expert-choice form with a single expert.
// CHECK-LABEL: func.func @torch_index_select_matmul(
// CHECK-SAME:    %[[X:.*]]: tensor<16x8xf32>, %[[IND:.*]]: tensor<4xi64>, %[[W:.*]]: tensor<8x32xf32>)
// CHECK-DAG:     %[[IND1:.*]] = tensor.expand_shape %[[IND]] {{\[\[}}0, 1]] output_shape [1, 4] : tensor<4xi64> into tensor<1x4xi64>
// CHECK-DAG:     %[[W1:.*]] = tensor.expand_shape %[[W]] {{\[\[}}0, 1], [2]] output_shape [1, 8, 32] : tensor<8x32xf32> into tensor<1x8x32xf32>
// CHECK:         %[[Y:.*]] = egs.gather_matmul %[[X]][%[[IND1]]] * %[[W1]] : (tensor<16x8xf32>, tensor<1x4xi64>, tensor<1x8x32xf32>) -> tensor<1x4x32xf32>
// CHECK:         %[[R:.*]] = tensor.collapse_shape %[[Y]] {{\[\[}}0, 1], [2]] : tensor<1x4x32xf32> into tensor<4x32xf32>
// CHECK-NOT:     linalg.
// CHECK:         return %[[R]]
// OFF-LABEL: func.func @torch_index_select_matmul(
// OFF:         linalg.generic
// OFF:         linalg.matmul
// OFF-NOT:     egs.gather_matmul
func.func @torch_index_select_matmul(%x: tensor<16x8xf32>, %ind: tensor<4xi64>,
                                     %w: tensor<8x32xf32>) -> tensor<4x32xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%ind : tensor<4xi64>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%i: i64, %o: f32):
    %c = arith.index_cast %i : i64 to index
    %j = linalg.index 1 : index
    %v = tensor.extract %x[%c, %j] : tensor<16x8xf32>
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y = linalg.matmul ins(%g, %w : tensor<4x8xf32>, tensor<8x32xf32>)
                     outs(%f : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// StableHLO gather (outs-only generic, index read and clamped in the body)
// + linalg.batch_matmul over experts: the expert-choice form. The clamp is
// kept as an explicit clamp of the index tensor.
// CHECK-LABEL: func.func @stablehlo_gather_batch_matmul(
// CHECK-SAME:    %[[X:.*]]: tensor<16x8xf32>, %[[IND:.*]]: tensor<2x4x1xi32>, %[[W:.*]]: tensor<2x8x32xf32>)
// CHECK:         %[[C:.*]] = tensor.collapse_shape %[[IND]] {{\[\[}}0], [1, 2]] : tensor<2x4x1xi32> into tensor<2x4xi32>
// CHECK:         %[[CL:.*]] = linalg.generic
// CHECK-SAME:      ins(%[[C]] : tensor<2x4xi32>)
// CHECK:           arith.maxsi
// CHECK:           arith.minsi
// CHECK:         } -> tensor<2x4xi32>
// CHECK:         %[[Y:.*]] = egs.gather_matmul %[[X]][%[[CL]]] * %[[W]] : (tensor<16x8xf32>, tensor<2x4xi32>, tensor<2x8x32xf32>) -> tensor<2x4x32xf32>
// CHECK-NOT:     linalg.batch_matmul
// CHECK:         return %[[Y]]
func.func @stablehlo_gather_batch_matmul(%x: tensor<16x8xf32>, %ind: tensor<2x4x1xi32>,
                                         %w: tensor<2x8x32xf32>) -> tensor<2x4x32xf32> {
  %c0 = arith.constant 0 : index
  %c15 = arith.constant 15 : index
  %e = tensor.empty() : tensor<2x4x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      outs(%e : tensor<2x4x8xf32>) {
  ^bb0(%o: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %s = tensor.extract %ind[%i0, %i1, %c0] : tensor<2x4x1xi32>
    %si = arith.index_cast %s : i32 to index
    %lo = arith.maxsi %si, %c0 : index
    %r = arith.minsi %lo, %c15 : index
    %v = tensor.extract %x[%r, %i2] : tensor<16x8xf32>
    linalg.yield %v : f32
  } -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<2x4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %y = linalg.batch_matmul ins(%g, %w : tensor<2x4x8xf32>, tensor<2x8x32xf32>)
                           outs(%f : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  return %y : tensor<2x4x32xf32>
}

// -----

// tensor.gather (rank-reduced, index elements cast to i64) + linalg.matmul.
// CHECK-LABEL: func.func @tensor_gather_matmul(
// CHECK-SAME:    %[[X:.*]]: tensor<16x8xf32>, %[[IND:.*]]: tensor<4x1xindex>, %[[W:.*]]: tensor<8x32xf32>)
// CHECK:         %[[C:.*]] = tensor.collapse_shape %[[IND]] {{\[\[}}0, 1]] : tensor<4x1xindex> into tensor<4xindex>
// CHECK:         %[[I64:.*]] = linalg.generic
// CHECK:           arith.index_cast %{{.*}} : index to i64
// CHECK:         } -> tensor<4xi64>
// CHECK:         %[[IND1:.*]] = tensor.expand_shape %[[I64]]
// CHECK:         egs.gather_matmul %[[X]][%[[IND1]]] * %{{.*}} : (tensor<16x8xf32>, tensor<1x4xi64>, tensor<1x8x32xf32>) -> tensor<1x4x32xf32>
// CHECK-NOT:     tensor.gather
func.func @tensor_gather_matmul(%x: tensor<16x8xf32>, %ind: tensor<4x1xindex>,
                                %w: tensor<8x32xf32>) -> tensor<4x32xf32> {
  %g = tensor.gather %x[%ind] gather_dims([0])
      : (tensor<16x8xf32>, tensor<4x1xindex>) -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y = linalg.matmul ins(%g, %w : tensor<4x8xf32>, tensor<8x32xf32>)
                     outs(%f : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// egs.gather with a batch dim + einsum beki,eij->bekj as linalg.generic:
// the batched expert-choice form.
// CHECK-LABEL: func.func @egs_gather_einsum(
// CHECK-SAME:    %[[X:.*]]: tensor<2x16x8xf32>, %[[IND:.*]]: tensor<2x3x4xi32>, %[[W:.*]]: tensor<3x8x32xf32>)
// CHECK:         %[[Y:.*]] = egs.gather_matmul %[[X]][%[[IND]]] * %[[W]] : (tensor<2x16x8xf32>, tensor<2x3x4xi32>, tensor<3x8x32xf32>) -> tensor<2x3x4x32xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @egs_gather_einsum(%x: tensor<2x16x8xf32>, %ind: tensor<2x3x4xi32>,
                             %w: tensor<3x8x32xf32>) -> tensor<2x3x4x32xf32> {
  %g = egs.gather %x[%ind] axis = 1 {batch_dims = 1}
      : (tensor<2x16x8xf32>, tensor<2x3x4xi32>) -> tensor<2x3x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3x4x32xf32>) -> tensor<2x3x4x32xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(b, e, k, j, i) -> (b, e, k, i)>,
                                        affine_map<(b, e, k, j, i) -> (e, i, j)>,
                                        affine_map<(b, e, k, j, i) -> (b, e, k, j)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%g, %w : tensor<2x3x4x8xf32>, tensor<3x8x32xf32>) outs(%f : tensor<2x3x4x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x3x4x32xf32>
  return %y : tensor<2x3x4x32xf32>
}

// -----

// The einsum operands in the other order (eij,eki->ekj): the gathered rows
// are the second input.
// CHECK-LABEL: func.func @einsum_weight_first(
// CHECK-SAME:    %[[X:.*]]: tensor<16x8xf32>, %[[IND:.*]]: tensor<2x4xi32>, %[[W:.*]]: tensor<2x8x32xf32>)
// CHECK:         %[[Y:.*]] = egs.gather_matmul %[[X]][%[[IND]]] * %[[W]] : (tensor<16x8xf32>, tensor<2x4xi32>, tensor<2x8x32xf32>) -> tensor<2x4x32xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @einsum_weight_first(%x: tensor<16x8xf32>, %ind: tensor<2x4xi32>,
                               %w: tensor<2x8x32xf32>) -> tensor<2x4x32xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(e, k, j, i) -> (e, i, j)>,
                                        affine_map<(e, k, j, i) -> (e, k, i)>,
                                        affine_map<(e, k, j, i) -> (e, k, j)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%w, %g : tensor<2x8x32xf32>, tensor<2x4x8xf32>) outs(%f : tensor<2x4x32xf32>) {
  ^bb0(%b: f32, %a: f32, %acc: f32):
    %m = arith.mulf %b, %a : f32
    %s = arith.addf %m, %acc : f32
    linalg.yield %s : f32
  } -> tensor<2x4x32xf32>
  return %y : tensor<2x4x32xf32>
}

// -----

// torch-mlir gather with a broadcast index (x[b, ind[b, r], i], as from
// torch.gather of an expanded index) + linalg.contract with one weight: the
// batched single-expert form.
// CHECK-LABEL: func.func @torch_batched_gather_contract(
// CHECK-SAME:    %[[X:.*]]: tensor<2x16x8xf32>, %[[IND:.*]]: tensor<2x4xi64>, %[[W:.*]]: tensor<8x32xf32>)
// CHECK-DAG:     %[[IND1:.*]] = tensor.expand_shape %[[IND]] {{\[\[}}0], [1, 2]] output_shape [2, 1, 4] : tensor<2x4xi64> into tensor<2x1x4xi64>
// CHECK-DAG:     %[[W1:.*]] = tensor.expand_shape %[[W]] {{\[\[}}0, 1], [2]] output_shape [1, 8, 32]
// CHECK:         %[[Y:.*]] = egs.gather_matmul %[[X]][%[[IND1]]] * %[[W1]] : (tensor<2x16x8xf32>, tensor<2x1x4xi64>, tensor<1x8x32xf32>) -> tensor<2x1x4x32xf32>
// CHECK:         tensor.collapse_shape %[[Y]] {{\[\[}}0], [1, 2], [3]] : tensor<2x1x4x32xf32> into tensor<2x4x32xf32>
func.func @torch_batched_gather_contract(%x: tensor<2x16x8xf32>, %ind: tensor<2x4xi64>,
                                         %w: tensor<8x32xf32>) -> tensor<2x4x32xf32> {
  %e = tensor.empty() : tensor<2x4x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ind : tensor<2x4xi64>) outs(%e : tensor<2x4x8xf32>) {
  ^bb0(%i: i64, %o: f32):
    %b = linalg.index 0 : index
    %c = arith.index_cast %i : i64 to index
    %j = linalg.index 2 : index
    %v = tensor.extract %x[%b, %c, %j] : tensor<2x16x8xf32>
    linalg.yield %v : f32
  } -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<2x4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %y = linalg.contract
      indexing_maps = [affine_map<(b, r, j, i) -> (b, r, i)>,
                       affine_map<(b, r, j, i) -> (i, j)>,
                       affine_map<(b, r, j, i) -> (b, r, j)>]
      ins(%g, %w : tensor<2x4x8xf32>, tensor<8x32xf32>)
      outs(%f : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  return %y : tensor<2x4x32xf32>
}

// -----

// torch-mlir embedding ([B,S] token ids) + a linear layer as an einsum: one
// weight matrix; the [B,S] rows are flattened into the single expert's R.
// CHECK-LABEL: func.func @torch_embedding_linear(
// CHECK-SAME:    %[[X:.*]]: tensor<16x8xf32>, %[[IND:.*]]: tensor<2x3xi64>, %[[W:.*]]: tensor<8x32xf32>)
// CHECK:         %[[FLAT:.*]] = tensor.collapse_shape %[[IND]] {{\[\[}}0, 1]] : tensor<2x3xi64> into tensor<6xi64>
// CHECK:         %[[IND1:.*]] = tensor.expand_shape %[[FLAT]] {{\[\[}}0, 1]] output_shape [1, 6] : tensor<6xi64> into tensor<1x6xi64>
// CHECK:         %[[Y:.*]] = egs.gather_matmul %[[X]][%[[IND1]]] * %{{.*}} : (tensor<16x8xf32>, tensor<1x6xi64>, tensor<1x8x32xf32>) -> tensor<1x6x32xf32>
// CHECK:         %[[Y2:.*]] = tensor.collapse_shape %[[Y]] {{\[\[}}0, 1], [2]] : tensor<1x6x32xf32> into tensor<6x32xf32>
// CHECK:         %[[R:.*]] = tensor.expand_shape %[[Y2]] {{\[\[}}0, 1], [2]] output_shape [2, 3, 32] : tensor<6x32xf32> into tensor<2x3x32xf32>
// CHECK:         return %[[R]]
func.func @torch_embedding_linear(%x: tensor<16x8xf32>, %ind: tensor<2x3xi64>,
                                  %w: tensor<8x32xf32>) -> tensor<2x3x32xf32> {
  %e = tensor.empty() : tensor<2x3x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ind : tensor<2x3xi64>) outs(%e : tensor<2x3x8xf32>) {
  ^bb0(%i: i64, %o: f32):
    %c = arith.index_cast %i : i64 to index
    %j = linalg.index 2 : index
    %v = tensor.extract %x[%c, %j] : tensor<16x8xf32>
    linalg.yield %v : f32
  } -> tensor<2x3x8xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<2x3x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x3x32xf32>) -> tensor<2x3x32xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(b, s, j, i) -> (b, s, i)>,
                                        affine_map<(b, s, j, i) -> (i, j)>,
                                        affine_map<(b, s, j, i) -> (b, s, j)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%g, %w : tensor<2x3x8xf32>, tensor<8x32xf32>) outs(%f : tensor<2x3x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x3x32xf32>
  return %y : tensor<2x3x32xf32>
}

// -----

// bf16 operands extended to an f32 accumulator (linalg.matmul with bf16
// ins and f32 outs): egs.gather_matmul keeps bf16 x and w, y in f32.
// CHECK-LABEL: func.func @bf16_extended_to_f32(
// CHECK:         egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} : (tensor<16x8xbf16>, tensor<2x4xi32>, tensor<2x8x32xbf16>) -> tensor<2x4x32xf32>
// CHECK-NOT:     linalg.batch_matmul
func.func @bf16_extended_to_f32(%x: tensor<16x8xbf16>, %ind: tensor<2x4xi32>,
                                %w: tensor<2x8x32xbf16>) -> tensor<2x4x32xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xbf16>, tensor<2x4xi32>) -> tensor<2x4x8xbf16>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %y = linalg.batch_matmul ins(%g, %w : tensor<2x4x8xbf16>, tensor<2x8x32xbf16>)
                           outs(%f : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  return %y : tensor<2x4x32xf32>
}

// -----

// Dynamic token and row counts; `index` indices read without a cast.
// CHECK-LABEL: func.func @dynamic_index_typed(
// CHECK-SAME:    %[[X:.*]]: tensor<?x8xf32>, %[[IND:.*]]: tensor<?xindex>, %[[W:.*]]: tensor<8x32xf32>)
// CHECK:         %[[I64:.*]] = linalg.generic
// CHECK:         } -> tensor<?xi64>
// CHECK:         %[[IND1:.*]] = tensor.expand_shape %[[I64]] {{\[\[}}0, 1]] output_shape [1, %{{.*}}] : tensor<?xi64> into tensor<1x?xi64>
// CHECK:         egs.gather_matmul %[[X]][%[[IND1]]] * %{{.*}} : (tensor<?x8xf32>, tensor<1x?xi64>, tensor<1x8x32xf32>) -> tensor<1x?x32xf32>
func.func @dynamic_index_typed(%x: tensor<?x8xf32>, %ind: tensor<?xindex>,
                               %w: tensor<8x32xf32>) -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %ind, %c0 : tensor<?xindex>
  %e = tensor.empty(%n) : tensor<?x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%ind : tensor<?xindex>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%i: index, %o: f32):
    %j = linalg.index 1 : index
    %v = tensor.extract %x[%i, %j] : tensor<?x8xf32>
    linalg.yield %v : f32
  } -> tensor<?x8xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty(%n) : tensor<?x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?x32xf32>) -> tensor<?x32xf32>
  %y = linalg.matmul ins(%g, %w : tensor<?x8xf32>, tensor<8x32xf32>)
                     outs(%f : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----
// Negative cases: the IR is left as it is.

// The gathered rows have another user.
// CHECK-LABEL: func.func @gather_has_other_users(
// CHECK:         egs.gather
// CHECK:         linalg.matmul
// CHECK-NOT:     egs.gather_matmul
func.func @gather_has_other_users(%x: tensor<16x8xf32>, %ind: tensor<4xi32>,
                                  %w: tensor<8x32xf32>) -> (tensor<4x32xf32>, tensor<4x8xf32>) {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xf32>, tensor<4xi32>) -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y = linalg.matmul ins(%g, %w : tensor<4x8xf32>, tensor<8x32xf32>)
                     outs(%f : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y, %g : tensor<4x32xf32>, tensor<4x8xf32>
}

// -----

// A bf16 accumulator rounds every partial sum; egs accumulates in f32.
// CHECK-LABEL: func.func @bf16_accumulator(
// CHECK:         linalg.matmul
// CHECK-NOT:     egs.gather_matmul
func.func @bf16_accumulator(%x: tensor<16x8xbf16>, %ind: tensor<4xi32>,
                            %w: tensor<8x32xbf16>) -> tensor<4x32xbf16> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xbf16>, tensor<4xi32>) -> tensor<4x8xbf16>
  %zero = arith.constant 0.0 : bf16
  %e = tensor.empty() : tensor<4x32xbf16>
  %f = linalg.fill ins(%zero : bf16) outs(%e : tensor<4x32xbf16>) -> tensor<4x32xbf16>
  %y = linalg.matmul ins(%g, %w : tensor<4x8xbf16>, tensor<8x32xbf16>)
                     outs(%f : tensor<4x32xbf16>) -> tensor<4x32xbf16>
  return %y : tensor<4x32xbf16>
}

// -----

// x and w of different element types (egs.gather_matmul needs one).
// CHECK-LABEL: func.func @mixed_element_types(
// CHECK:         linalg.matmul
// CHECK-NOT:     egs.gather_matmul
func.func @mixed_element_types(%x: tensor<16x8xbf16>, %ind: tensor<4xi32>,
                               %w: tensor<8x32xf32>) -> tensor<4x32xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xbf16>, tensor<4xi32>) -> tensor<4x8xbf16>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y = linalg.matmul ins(%g, %w : tensor<4x8xbf16>, tensor<8x32xf32>)
                     outs(%f : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// The weight is read transposed ([J,I] through the matmul's maps).
// CHECK-LABEL: func.func @transposed_weight_map(
// CHECK:         linalg.matmul
// CHECK-NOT:     egs.gather_matmul
func.func @transposed_weight_map(%x: tensor<16x8xf32>, %ind: tensor<4xi32>,
                                 %w: tensor<32x8xf32>) -> tensor<4x32xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xf32>, tensor<4xi32>) -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%g, %w : tensor<4x8xf32>, tensor<32x8xf32>)
      outs(%f : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// Accumulating into a non-zero tensor (a residual) is not a gather_matmul.
// CHECK-LABEL: func.func @nonzero_init(
// CHECK:         linalg.matmul
// CHECK-NOT:     egs.gather_matmul
func.func @nonzero_init(%x: tensor<16x8xf32>, %ind: tensor<4xi32>,
                        %w: tensor<8x32xf32>, %acc: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xf32>, tensor<4xi32>) -> tensor<4x8xf32>
  %y = linalg.matmul ins(%g, %w : tensor<4x8xf32>, tensor<8x32xf32>)
                     outs(%acc : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// torch.gather with a full index (one index per element, take_along_axis)
// is not a row gather.
// CHECK-LABEL: func.func @per_element_index(
// CHECK:         linalg.generic
// CHECK:         linalg.matmul
// CHECK-NOT:     egs.gather_matmul
func.func @per_element_index(%x: tensor<16x8xf32>, %ind: tensor<4x8xi64>,
                             %w: tensor<8x32xf32>) -> tensor<4x32xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%ind : tensor<4x8xi64>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%i: i64, %o: f32):
    %c = arith.index_cast %i : i64 to index
    %j = linalg.index 1 : index
    %v = tensor.extract %x[%c, %j] : tensor<16x8xf32>
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y = linalg.matmul ins(%g, %w : tensor<4x8xf32>, tensor<8x32xf32>)
                     outs(%f : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// i16 indices (egs indices are i32 or i64) and unsigned index casts.
// CHECK-LABEL: func.func @unsupported_index_types(
// CHECK-COUNT-2: linalg.matmul
// CHECK-NOT:     egs.gather_matmul
func.func @unsupported_index_types(%x: tensor<16x8xf32>, %ind16: tensor<4xi16>,
                                   %ind32: tensor<4xi32>, %w: tensor<8x32xf32>)
    -> (tensor<4x32xf32>, tensor<4x32xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %g0 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>,
                                         affine_map<(d0, d1) -> (d0, d1)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%ind16 : tensor<4xi16>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%i: i16, %o: f32):
    %c = arith.index_cast %i : i16 to index
    %j = linalg.index 1 : index
    %v = tensor.extract %x[%c, %j] : tensor<16x8xf32>
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  %g1 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>,
                                         affine_map<(d0, d1) -> (d0, d1)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%ind32 : tensor<4xi32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%i: i32, %o: f32):
    %c = arith.index_castui %i : i32 to index
    %j = linalg.index 1 : index
    %v = tensor.extract %x[%c, %j] : tensor<16x8xf32>
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y0 = linalg.matmul ins(%g0, %w : tensor<4x8xf32>, tensor<8x32xf32>)
                      outs(%f : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y1 = linalg.matmul ins(%g1, %w : tensor<4x8xf32>, tensor<8x32xf32>)
                      outs(%f : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y0, %y1 : tensor<4x32xf32>, tensor<4x32xf32>
}

// -----

// A StableHLO clamp to the wrong bound (not dim(x, 0) - 1) is not the
// clamp of a row gather.
// CHECK-LABEL: func.func @stablehlo_wrong_clamp(
// CHECK:         linalg.batch_matmul
// CHECK-NOT:     egs.gather_matmul
func.func @stablehlo_wrong_clamp(%x: tensor<16x8xf32>, %ind: tensor<2x4x1xi32>,
                                 %w: tensor<2x8x32xf32>) -> tensor<2x4x32xf32> {
  %c0 = arith.constant 0 : index
  %c14 = arith.constant 14 : index
  %e = tensor.empty() : tensor<2x4x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      outs(%e : tensor<2x4x8xf32>) {
  ^bb0(%o: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %s = tensor.extract %ind[%i0, %i1, %c0] : tensor<2x4x1xi32>
    %si = arith.index_cast %s : i32 to index
    %lo = arith.maxsi %si, %c0 : index
    %r = arith.minsi %lo, %c14 : index
    %v = tensor.extract %x[%r, %i2] : tensor<16x8xf32>
    linalg.yield %v : f32
  } -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<2x4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %y = linalg.batch_matmul ins(%g, %w : tensor<2x4x8xf32>, tensor<2x8x32xf32>)
                           outs(%f : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  return %y : tensor<2x4x32xf32>
}

// -----

// The weight is indexed by the batch dim of x (per-batch weights), not by
// an expert dim of the index.
// CHECK-LABEL: func.func @weight_indexed_by_batch(
// CHECK:         linalg.batch_matmul
// CHECK-NOT:     egs.gather_matmul
func.func @weight_indexed_by_batch(%x: tensor<2x16x8xf32>, %ind: tensor<2x4xi32>,
                                   %w: tensor<2x8x32xf32>) -> tensor<2x4x32xf32> {
  %g = egs.gather %x[%ind] axis = 1 {batch_dims = 1}
      : (tensor<2x16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %y = linalg.batch_matmul ins(%g, %w : tensor<2x4x8xf32>, tensor<2x8x32xf32>)
                           outs(%f : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  return %y : tensor<2x4x32xf32>
}

// -----

// A gather of columns (axis 1 of x [I,T]) does not gather the lhs rows.
// CHECK-LABEL: func.func @column_gather(
// CHECK:         linalg.matmul
// CHECK-NOT:     egs.gather_matmul
func.func @column_gather(%x: tensor<4x16xf32>, %ind: tensor<8xi32>,
                         %w: tensor<8x32xf32>) -> tensor<4x32xf32> {
  %g = egs.gather %x[%ind] axis = 1 : (tensor<4x16xf32>, tensor<8xi32>) -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y = linalg.matmul ins(%g, %w : tensor<4x8xf32>, tensor<8x32xf32>)
                     outs(%f : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// A dynamic feature dim whose size is not provably x's: the generic may
// read only part of each row, which egs.gather_matmul cannot express.
// CHECK-LABEL: func.func @dynamic_size_not_provable(
// CHECK:         linalg.generic
// CHECK:         linalg.matmul
// CHECK-NOT:     egs.gather_matmul
func.func @dynamic_size_not_provable(%x: tensor<16x?xf32>, %ind: tensor<4xi64>,
                                     %w: tensor<?x32xf32>, %n: index) -> tensor<4x32xf32> {
  %e = tensor.empty(%n) : tensor<4x?xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%ind : tensor<4xi64>) outs(%e : tensor<4x?xf32>) {
  ^bb0(%i: i64, %o: f32):
    %c = arith.index_cast %i : i64 to index
    %j = linalg.index 1 : index
    %v = tensor.extract %x[%c, %j] : tensor<16x?xf32>
    linalg.yield %v : f32
  } -> tensor<4x?xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y = linalg.matmul ins(%g, %w : tensor<4x?xf32>, tensor<?x32xf32>)
                     outs(%f : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// The same with the size stated as tensor.dim of x fuses.
// CHECK-LABEL: func.func @dynamic_size_from_x(
// CHECK:         egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} : (tensor<16x?xf32>, tensor<1x4xi64>, tensor<1x?x32xf32>) -> tensor<1x4x32xf32>
func.func @dynamic_size_from_x(%x: tensor<16x?xf32>, %ind: tensor<4xi64>,
                               %w: tensor<?x32xf32>) -> tensor<4x32xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %x, %c1 : tensor<16x?xf32>
  %e = tensor.empty(%n) : tensor<4x?xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%ind : tensor<4xi64>) outs(%e : tensor<4x?xf32>) {
  ^bb0(%i: i64, %o: f32):
    %c = arith.index_cast %i : i64 to index
    %j = linalg.index 1 : index
    %v = tensor.extract %x[%c, %j] : tensor<16x?xf32>
    linalg.yield %v : f32
  } -> tensor<4x?xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y = linalg.matmul ins(%g, %w : tensor<4x?xf32>, tensor<?x32xf32>)
                     outs(%f : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}
