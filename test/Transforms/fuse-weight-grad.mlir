// RUN: egs-opt --egs-fuse --split-input-file %s | FileCheck %s --enable-var-scope
// RUN: egs-opt --egs-fuse="weight-grad=false" --split-input-file %s \
// RUN:   | FileCheck %s --check-prefix=OFF --enable-var-scope
// RUN: egs-opt --egs-fuse="remarks=true" --split-input-file %s -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REMARK --enable-var-scope

// The weight gradient of gather + contraction (dW = x[ind]^T dy) and of
// contraction + scatter (dW = y^T dout[ind]), einsum (b)eki,(b)ekj->eij
// over a row gather -> expert-choice egs.weight_grad.
// OFF-NOT: egs.weight_grad

// egs.gather + einsum eki,ekj->eij as linalg.generic [e, i, j, k].
// CHECK-LABEL: func.func @egs_gather_einsum(
// CHECK-SAME:    %[[X:.*]]: tensor<16x8xf32>, %[[IND:.*]]: tensor<2x4xi32>, %[[DY:.*]]: tensor<2x4x32xf32>)
// CHECK:         %[[DW:.*]] = egs.weight_grad %[[X]][%[[IND]]] * %[[DY]] : (tensor<16x8xf32>, tensor<2x4xi32>, tensor<2x4x32xf32>) -> tensor<2x8x32xf32>
// CHECK-NEXT:    return %[[DW]]
// REMARK: remark: fused gather (egs.gather) + linalg.generic into egs.weight_grad (expert-choice, lhs gathered)
func.func @egs_gather_einsum(%x: tensor<16x8xf32>, %ind: tensor<2x4xi32>,
                             %dy: tensor<2x4x32xf32>) -> tensor<2x8x32xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x8x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  %dw = linalg.generic {indexing_maps = [affine_map<(e, i, j, k) -> (e, k, i)>,
                                         affine_map<(e, i, j, k) -> (e, k, j)>,
                                         affine_map<(e, i, j, k) -> (e, i, j)>],
                        iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%g, %dy : tensor<2x4x8xf32>, tensor<2x4x32xf32>) outs(%f : tensor<2x8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x8x32xf32>
  return %dw : tensor<2x8x32xf32>
}

// -----

// torch-mlir index_select + linalg.transpose + linalg.batch_matmul (the
// autograd form: x[ind]^T @ dy per expert).
// CHECK-LABEL: func.func @torch_gather_transpose_batch_matmul(
// CHECK-SAME:    %[[X:.*]]: tensor<16x8xf32>, %[[IND:.*]]: tensor<2x4xi64>, %[[DY:.*]]: tensor<2x4x32xf32>)
// CHECK:         %[[DW:.*]] = egs.weight_grad %[[X]][%[[IND]]] * %[[DY]] : (tensor<16x8xf32>, tensor<2x4xi64>, tensor<2x4x32xf32>) -> tensor<2x8x32xf32>
// CHECK-NOT:     linalg.
// CHECK:         return %[[DW]]
// REMARK: remark: fused gather (linalg.generic (torch-mlir form)) + linalg.batch_matmul into egs.weight_grad (expert-choice, lhs gathered)
func.func @torch_gather_transpose_batch_matmul(%x: tensor<16x8xf32>, %ind: tensor<2x4xi64>,
                                               %dy: tensor<2x4x32xf32>) -> tensor<2x8x32xf32> {
  %e0 = tensor.empty() : tensor<2x4x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ind : tensor<2x4xi64>) outs(%e0 : tensor<2x4x8xf32>) {
  ^bb0(%i: i64, %o: f32):
    %c = arith.index_cast %i : i64 to index
    %j = linalg.index 2 : index
    %v = tensor.extract %x[%c, %j] : tensor<16x8xf32>
    linalg.yield %v : f32
  } -> tensor<2x4x8xf32>
  %e1 = tensor.empty() : tensor<2x8x4xf32>
  %t = linalg.transpose ins(%g : tensor<2x4x8xf32>) outs(%e1 : tensor<2x8x4xf32>) permutation = [0, 2, 1]
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x8x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  %dw = linalg.batch_matmul ins(%t, %dy : tensor<2x8x4xf32>, tensor<2x4x32xf32>)
                            outs(%f : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  return %dw : tensor<2x8x32xf32>
}

// -----

// The same after gather-transpose fused the transpose: a permuted egs.gather.
// CHECK-LABEL: func.func @permuted_egs_gather_batch_matmul(
// CHECK-SAME:    %[[X:.*]]: tensor<16x8xf32>, %[[IND:.*]]: tensor<2x4xi32>, %[[DY:.*]]: tensor<2x4x32xf32>)
// CHECK:         %[[DW:.*]] = egs.weight_grad %[[X]][%[[IND]]] * %[[DY]] : (tensor<16x8xf32>, tensor<2x4xi32>, tensor<2x4x32xf32>) -> tensor<2x8x32xf32>
// CHECK-NEXT:    return %[[DW]]
func.func @permuted_egs_gather_batch_matmul(%x: tensor<16x8xf32>, %ind: tensor<2x4xi32>,
                                            %dy: tensor<2x4x32xf32>) -> tensor<2x8x32xf32> {
  %t = egs.gather %x[%ind] axis = 0 permutation = [0, 2, 1]
      : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x8x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x8x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  %dw = linalg.batch_matmul ins(%t, %dy : tensor<2x8x4xf32>, tensor<2x4x32xf32>)
                            outs(%f : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  return %dw : tensor<2x8x32xf32>
}

// -----

// tensor.gather (bf16) + transposing generic + batch_matmul extended to f32
// + rounding to bf16: the rounding folds into dw's type (epilogue).
// CHECK-LABEL: func.func @tensor_gather_bf16_rounded(
// CHECK-SAME:    %[[X:.*]]: tensor<16x8xbf16>, %[[IND:.*]]: tensor<2x4x1xi32>, %[[DY:.*]]: tensor<2x4x32xbf16>)
// CHECK:         %[[C:.*]] = tensor.collapse_shape %[[IND]] {{\[\[}}0], [1, 2]] : tensor<2x4x1xi32> into tensor<2x4xi32>
// CHECK:         %[[DW:.*]] = egs.weight_grad %[[X]][%[[C]]] * %[[DY]] : (tensor<16x8xbf16>, tensor<2x4xi32>, tensor<2x4x32xbf16>) -> tensor<2x8x32xbf16>
// CHECK-NOT:     linalg.
// CHECK:         return %[[DW]]
// REMARK: remark: fused gather (tensor.gather) + linalg.batch_matmul into egs.weight_grad (expert-choice, lhs gathered)
// REMARK: remark: folded rounding to the data type into egs.weight_grad
func.func @tensor_gather_bf16_rounded(%x: tensor<16x8xbf16>, %ind: tensor<2x4x1xi32>,
                                      %dy: tensor<2x4x32xbf16>) -> tensor<2x8x32xbf16> {
  %g = tensor.gather %x[%ind] gather_dims([0])
      : (tensor<16x8xbf16>, tensor<2x4x1xi32>) -> tensor<2x4x8xbf16>
  %e1 = tensor.empty() : tensor<2x8x4xbf16>
  %t = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2, d1)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%g : tensor<2x4x8xbf16>) outs(%e1 : tensor<2x8x4xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    linalg.yield %a : bf16
  } -> tensor<2x8x4xbf16>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x8x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  %acc = linalg.batch_matmul ins(%t, %dy : tensor<2x8x4xbf16>, tensor<2x4x32xbf16>)
                             outs(%f : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  %eb = tensor.empty() : tensor<2x8x32xbf16>
  %dw = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                                         affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%acc : tensor<2x8x32xf32>) outs(%eb : tensor<2x8x32xbf16>) {
  ^bb0(%a: f32, %o: bf16):
    %r = arith.truncf %a : f32 to bf16
    linalg.yield %r : bf16
  } -> tensor<2x8x32xbf16>
  return %dw : tensor<2x8x32xbf16>
}

// -----

// Batched expert-choice: beki,bekj->eij reduced over b and k, x [B,T,I].
// CHECK-LABEL: func.func @batched_einsum(
// CHECK-SAME:    %[[X:.*]]: tensor<2x16x8xf32>, %[[IND:.*]]: tensor<2x2x4xi32>, %[[DY:.*]]: tensor<2x2x4x32xf32>)
// CHECK:         %[[DW:.*]] = egs.weight_grad %[[X]][%[[IND]]] * %[[DY]] : (tensor<2x16x8xf32>, tensor<2x2x4xi32>, tensor<2x2x4x32xf32>) -> tensor<2x8x32xf32>
// CHECK-NEXT:    return %[[DW]]
// REMARK: remark: fused gather (egs.gather) + linalg.generic into egs.weight_grad (expert-choice, batched, lhs gathered)
func.func @batched_einsum(%x: tensor<2x16x8xf32>, %ind: tensor<2x2x4xi32>,
                          %dy: tensor<2x2x4x32xf32>) -> tensor<2x8x32xf32> {
  %g = egs.gather %x[%ind] axis = 1 {batch_dims = 1}
      : (tensor<2x16x8xf32>, tensor<2x2x4xi32>) -> tensor<2x2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x8x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  %dw = linalg.generic {indexing_maps = [affine_map<(e, i, j, b, k) -> (b, e, k, i)>,
                                         affine_map<(e, i, j, b, k) -> (b, e, k, j)>,
                                         affine_map<(e, i, j, b, k) -> (e, i, j)>],
                        iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%g, %dy : tensor<2x2x4x8xf32>, tensor<2x2x4x32xf32>) outs(%f : tensor<2x8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x8x32xf32>
  return %dw : tensor<2x8x32xf32>
}

// -----

// dW of matmul_scatter: ekj,eki->eji with the dout rows gathered (rhs), the
// gathered operand first in the einsum.
// CHECK-LABEL: func.func @rhs_gathered(
// CHECK-SAME:    %[[Y:.*]]: tensor<2x4x32xf32>, %[[DOUT:.*]]: tensor<16x8xf32>, %[[IND:.*]]: tensor<2x4xi64>)
// CHECK:         %[[DW:.*]] = egs.weight_grad %[[Y]] * %[[DOUT]][%[[IND]]] : (tensor<2x4x32xf32>, tensor<16x8xf32>, tensor<2x4xi64>) -> tensor<2x32x8xf32>
// CHECK-NOT:     linalg.
// CHECK:         return %[[DW]]
// REMARK: remark: fused gather (linalg.generic (torch-mlir form)) + linalg.generic into egs.weight_grad (expert-choice, rhs gathered)
func.func @rhs_gathered(%y: tensor<2x4x32xf32>, %dout: tensor<16x8xf32>,
                        %ind: tensor<2x4xi64>) -> tensor<2x32x8xf32> {
  %e0 = tensor.empty() : tensor<2x4x8xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ind : tensor<2x4xi64>) outs(%e0 : tensor<2x4x8xf32>) {
  ^bb0(%i: i64, %o: f32):
    %c = arith.index_cast %i : i64 to index
    %j = linalg.index 2 : index
    %v = tensor.extract %dout[%c, %j] : tensor<16x8xf32>
    linalg.yield %v : f32
  } -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x32x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x32x8xf32>) -> tensor<2x32x8xf32>
  %dw = linalg.generic {indexing_maps = [affine_map<(e, j, i, k) -> (e, k, i)>,
                                         affine_map<(e, j, i, k) -> (e, k, j)>,
                                         affine_map<(e, j, i, k) -> (e, j, i)>],
                        iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%g, %y : tensor<2x4x8xf32>, tensor<2x4x32xf32>) outs(%f : tensor<2x32x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %b, %a : f32
    %s = arith.addf %m, %acc : f32
    linalg.yield %s : f32
  } -> tensor<2x32x8xf32>
  return %dw : tensor<2x32x8xf32>
}

// -----

// A per-slot scale [E,K] multiplied into the gathered rhs becomes `scale`.
// CHECK-LABEL: func.func @rhs_gathered_scaled(
// CHECK-SAME:    %[[Y:.*]]: tensor<2x4x32xf32>, %[[DOUT:.*]]: tensor<16x8xf32>, %[[IND:.*]]: tensor<2x4xi32>, %[[S:.*]]: tensor<2x4xf32>)
// CHECK:         %[[DW:.*]] = egs.weight_grad %[[Y]] * %[[DOUT]][%[[IND]]] scale %[[S]] : (tensor<2x4x32xf32>, tensor<16x8xf32>, tensor<2x4xi32>, tensor<2x4xf32>) -> tensor<2x32x8xf32>
// CHECK-NEXT:    return %[[DW]]
// REMARK: remark: fused gather (egs.gather) + linalg.generic into egs.weight_grad (expert-choice, rhs gathered, scale)
func.func @rhs_gathered_scaled(%y: tensor<2x4x32xf32>, %dout: tensor<16x8xf32>,
                               %ind: tensor<2x4xi32>, %s: tensor<2x4xf32>) -> tensor<2x32x8xf32> {
  %g = egs.gather %dout[%ind] axis = 0 : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %e0 = tensor.empty() : tensor<2x4x8xf32>
  %gs = linalg.generic {indexing_maps = [affine_map<(e, k, i) -> (e, k, i)>,
                                         affine_map<(e, k, i) -> (e, k)>,
                                         affine_map<(e, k, i) -> (e, k, i)>],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%g, %s : tensor<2x4x8xf32>, tensor<2x4xf32>) outs(%e0 : tensor<2x4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x32x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x32x8xf32>) -> tensor<2x32x8xf32>
  %dw = linalg.generic {indexing_maps = [affine_map<(e, j, i, k) -> (e, k, j)>,
                                         affine_map<(e, j, i, k) -> (e, k, i)>,
                                         affine_map<(e, j, i, k) -> (e, j, i)>],
                        iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%y, %gs : tensor<2x4x32xf32>, tensor<2x4x8xf32>) outs(%f : tensor<2x32x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x32x8xf32>
  return %dw : tensor<2x32x8xf32>
}

// -----

// Both sides gathered, written as linalg.contract.
// CHECK-LABEL: func.func @both_gathered_contract(
// CHECK-SAME:    %[[X:.*]]: tensor<16x8xf32>, %[[IA:.*]]: tensor<2x4xi32>, %[[D:.*]]: tensor<16x32xf32>, %[[IB:.*]]: tensor<2x4xi32>)
// CHECK:         %[[DW:.*]] = egs.weight_grad %[[X]][%[[IA]]] * %[[D]][%[[IB]]] : (tensor<16x8xf32>, tensor<2x4xi32>, tensor<16x32xf32>, tensor<2x4xi32>) -> tensor<2x8x32xf32>
// CHECK-NEXT:    return %[[DW]]
// REMARK: remark: fused gather (egs.gather) + linalg.contract into egs.weight_grad (expert-choice, lhs and rhs gathered)
func.func @both_gathered_contract(%x: tensor<16x8xf32>, %ia: tensor<2x4xi32>,
                                  %d: tensor<16x32xf32>, %ib: tensor<2x4xi32>) -> tensor<2x8x32xf32> {
  %ga = egs.gather %x[%ia] axis = 0 : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %gb = egs.gather %d[%ib] axis = 0 : (tensor<16x32xf32>, tensor<2x4xi32>) -> tensor<2x4x32xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x8x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  %dw = linalg.contract
      indexing_maps = [affine_map<(e, i, j, k) -> (e, k, i)>,
                       affine_map<(e, i, j, k) -> (e, k, j)>,
                       affine_map<(e, i, j, k) -> (e, i, j)>]
      ins(%ga, %gb : tensor<2x4x8xf32>, tensor<2x4x32xf32>)
      outs(%f : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  return %dw : tensor<2x8x32xf32>
}

// -----

// Not fused: the gather has another user.
// CHECK-LABEL: func.func @gather_has_other_user(
// CHECK:         egs.gather
// CHECK:         linalg.generic
// CHECK-NOT:     egs.weight_grad
func.func @gather_has_other_user(%x: tensor<16x8xf32>, %ind: tensor<2x4xi32>, %dy: tensor<2x4x32xf32>)
    -> (tensor<2x8x32xf32>, tensor<2x4x8xf32>) {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x8x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  %dw = linalg.generic {indexing_maps = [affine_map<(e, i, j, k) -> (e, k, i)>,
                                         affine_map<(e, i, j, k) -> (e, k, j)>,
                                         affine_map<(e, i, j, k) -> (e, i, j)>],
                        iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%g, %dy : tensor<2x4x8xf32>, tensor<2x4x32xf32>) outs(%f : tensor<2x8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x8x32xf32>
  return %dw, %g : tensor<2x8x32xf32>, tensor<2x4x8xf32>
}

// -----

// Not fused: the sum runs over the experts (e reduced, k kept), not the slots.
// CHECK-LABEL: func.func @wrong_maps(
// CHECK:         egs.gather
// CHECK:         linalg.generic
// CHECK-NOT:     egs.weight_grad
func.func @wrong_maps(%x: tensor<16x8xf32>, %ind: tensor<2x4xi32>, %dy: tensor<2x4x32xf32>)
    -> tensor<4x8x32xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8x32xf32>) -> tensor<4x8x32xf32>
  %dw = linalg.generic {indexing_maps = [affine_map<(k, i, j, e) -> (e, k, i)>,
                                         affine_map<(k, i, j, e) -> (e, k, j)>,
                                         affine_map<(k, i, j, e) -> (k, i, j)>],
                        iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%g, %dy : tensor<2x4x8xf32>, tensor<2x4x32xf32>) outs(%f : tensor<4x8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x8x32xf32>
  return %dw : tensor<4x8x32xf32>
}

// -----

// Not fused: the two sides read different slots (dy's k and e swapped).
// CHECK-LABEL: func.func @sides_disagree(
// CHECK:         linalg.generic
// CHECK-NOT:     egs.weight_grad
func.func @sides_disagree(%x: tensor<16x8xf32>, %ind: tensor<4x4xi32>, %dy: tensor<4x4x32xf32>)
    -> tensor<4x8x32xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xf32>, tensor<4x4xi32>) -> tensor<4x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8x32xf32>) -> tensor<4x8x32xf32>
  %dw = linalg.generic {indexing_maps = [affine_map<(e, i, j, k) -> (e, k, i)>,
                                         affine_map<(e, i, j, k) -> (k, e, j)>,
                                         affine_map<(e, i, j, k) -> (e, i, j)>],
                        iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%g, %dy : tensor<4x4x8xf32>, tensor<4x4x32xf32>) outs(%f : tensor<4x8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x8x32xf32>
  return %dw : tensor<4x8x32xf32>
}

// -----

// Not fused: the accumulator starts at 1, not 0.
// CHECK-LABEL: func.func @nonzero_init(
// CHECK:         linalg.batch_matmul
// CHECK-NOT:     egs.weight_grad
func.func @nonzero_init(%x: tensor<16x8xf32>, %ind: tensor<2x4xi32>, %dy: tensor<2x4x32xf32>)
    -> tensor<2x8x32xf32> {
  %t = egs.gather %x[%ind] axis = 0 permutation = [0, 2, 1]
      : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x8x4xf32>
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<2x8x32xf32>
  %f = linalg.fill ins(%one : f32) outs(%e : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  %dw = linalg.batch_matmul ins(%t, %dy : tensor<2x8x4xf32>, tensor<2x4x32xf32>)
                            outs(%f : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  return %dw : tensor<2x8x32xf32>
}

// -----

// Not fused: the contraction accumulates in bf16 (rounding every step; egs
// accumulates in f32 and rounds once).
// CHECK-LABEL: func.func @bf16_accumulator(
// CHECK:         linalg.batch_matmul
// CHECK-NOT:     egs.weight_grad
func.func @bf16_accumulator(%x: tensor<16x8xbf16>, %ind: tensor<2x4xi32>, %dy: tensor<2x4x32xbf16>)
    -> tensor<2x8x32xbf16> {
  %t = egs.gather %x[%ind] axis = 0 permutation = [0, 2, 1]
      : (tensor<16x8xbf16>, tensor<2x4xi32>) -> tensor<2x8x4xbf16>
  %zero = arith.constant 0.0 : bf16
  %e = tensor.empty() : tensor<2x8x32xbf16>
  %f = linalg.fill ins(%zero : bf16) outs(%e : tensor<2x8x32xbf16>) -> tensor<2x8x32xbf16>
  %dw = linalg.batch_matmul ins(%t, %dy : tensor<2x8x4xbf16>, tensor<2x4x32xbf16>)
                            outs(%f : tensor<2x8x32xbf16>) -> tensor<2x8x32xbf16>
  return %dw : tensor<2x8x32xbf16>
}

// -----

// Not fused: the scale spans [E,I] (per column), not the slots [E,K].
// CHECK-LABEL: func.func @scale_not_per_slot(
// CHECK:         linalg.generic
// CHECK-NOT:     egs.weight_grad
func.func @scale_not_per_slot(%y: tensor<2x4x32xf32>, %dout: tensor<16x8xf32>,
                              %ind: tensor<2x4xi32>, %s: tensor<2x8xf32>) -> tensor<2x32x8xf32> {
  %g = egs.gather %dout[%ind] axis = 0 : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %e0 = tensor.empty() : tensor<2x4x8xf32>
  %gs = linalg.generic {indexing_maps = [affine_map<(e, k, i) -> (e, k, i)>,
                                         affine_map<(e, k, i) -> (e, i)>,
                                         affine_map<(e, k, i) -> (e, k, i)>],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%g, %s : tensor<2x4x8xf32>, tensor<2x8xf32>) outs(%e0 : tensor<2x4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x32x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x32x8xf32>) -> tensor<2x32x8xf32>
  %dw = linalg.generic {indexing_maps = [affine_map<(e, j, i, k) -> (e, k, j)>,
                                         affine_map<(e, j, i, k) -> (e, k, i)>,
                                         affine_map<(e, j, i, k) -> (e, j, i)>],
                        iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%y, %gs : tensor<2x4x32xf32>, tensor<2x4x8xf32>) outs(%f : tensor<2x32x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x32x8xf32>
  return %dw : tensor<2x32x8xf32>
}
