// RUN: egs-opt --egs-fuse --split-input-file %s | FileCheck %s --enable-var-scope
// RUN: egs-opt --egs-fuse="epilogue=false" --split-input-file %s \
// RUN:   | FileCheck %s --check-prefix=OFF --enable-var-scope

// Bias adds after the contraction fold into egs.gather_matmul; per-row
// scales between contraction and scatter fold into egs.matmul_scatter.

// Per-expert bias [E,J] (torch-mlir broadcast add ins(%y, %bias)).
// CHECK-LABEL: func.func @expert_bias(
// CHECK-SAME:    %[[X:.*]]: tensor<16x8xf32>, %[[IND:.*]]: tensor<2x4xi32>, %[[W:.*]]: tensor<2x8x32xf32>, %[[B:.*]]: tensor<2x32xf32>)
// CHECK:         %[[Y:.*]] = egs.gather_matmul %[[X]][%[[IND]]] * %[[W]] + %[[B]] : (tensor<16x8xf32>, tensor<2x4xi32>, tensor<2x8x32xf32>, tensor<2x32xf32>) -> tensor<2x4x32xf32>
// CHECK-NEXT:    return %[[Y]]
// Without the epilogue family the add stays after the fused op.
// OFF-LABEL: func.func @expert_bias(
// OFF:         %[[Y:.*]] = egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} : (tensor<16x8xf32>, tensor<2x4xi32>, tensor<2x8x32xf32>) -> tensor<2x4x32xf32>
// OFF:         linalg.generic {{.*}} ins(%[[Y]], %{{.*}} : tensor<2x4x32xf32>, tensor<2x32xf32>)
func.func @expert_bias(%x: tensor<16x8xf32>, %ind: tensor<2x4xi32>, %w: tensor<2x8x32xf32>,
                       %bias: tensor<2x32xf32>) -> tensor<2x4x32xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %y = linalg.batch_matmul ins(%g, %w : tensor<2x4x8xf32>, tensor<2x8x32xf32>)
                           outs(%f : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(e, k, j) -> (e, k, j)>,
                                        affine_map<(e, k, j) -> (e, j)>,
                                        affine_map<(e, k, j) -> (e, k, j)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y, %bias : tensor<2x4x32xf32>, tensor<2x32xf32>) outs(%e : tensor<2x4x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x4x32xf32>
  return %r : tensor<2x4x32xf32>
}

// -----

// bf16 data accumulated in f32, bias added in f32, then rounded to bf16
// (torch-mlir's bf16 matmul): egs.gather_matmul writes y in bf16, rounding
// once after the bias, exactly as the unfused chain does.
// CHECK-LABEL: func.func @bias_then_rounding(
// CHECK-SAME:    %[[X:.*]]: tensor<16x8xbf16>, %[[IND:.*]]: tensor<2x4xi32>, %[[W:.*]]: tensor<2x8x32xbf16>, %[[B:.*]]: tensor<2x32xf32>)
// CHECK:         %[[Y:.*]] = egs.gather_matmul %[[X]][%[[IND]]] * %[[W]] + %[[B]] : (tensor<16x8xbf16>, tensor<2x4xi32>, tensor<2x8x32xbf16>, tensor<2x32xf32>) -> tensor<2x4x32xbf16>
// CHECK-NEXT:    return %[[Y]]
func.func @bias_then_rounding(%x: tensor<16x8xbf16>, %ind: tensor<2x4xi32>, %w: tensor<2x8x32xbf16>,
                              %bias: tensor<2x32xf32>) -> tensor<2x4x32xbf16> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xbf16>, tensor<2x4xi32>) -> tensor<2x4x8xbf16>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %y = linalg.batch_matmul ins(%g, %w : tensor<2x4x8xbf16>, tensor<2x8x32xbf16>)
                           outs(%f : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(e, k, j) -> (e, k, j)>,
                                        affine_map<(e, k, j) -> (e, j)>,
                                        affine_map<(e, k, j) -> (e, k, j)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y, %bias : tensor<2x4x32xf32>, tensor<2x32xf32>) outs(%e : tensor<2x4x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x4x32xf32>
  %eh = tensor.empty() : tensor<2x4x32xbf16>
  %h = linalg.generic {indexing_maps = [affine_map<(e, k, j) -> (e, k, j)>,
                                        affine_map<(e, k, j) -> (e, k, j)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%r : tensor<2x4x32xf32>) outs(%eh : tensor<2x4x32xbf16>) {
  ^bb0(%a: f32, %o: bf16):
    %t = arith.truncf %a : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<2x4x32xbf16>
  return %h : tensor<2x4x32xbf16>
}

// -----

// Rounded before the bias: the bias add runs in bf16 and stays unfused;
// only the rounding folds (y in bf16).
// CHECK-LABEL: func.func @rounding_then_bias(
// CHECK:         %[[Y:.*]] = egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} : (tensor<16x8xbf16>, tensor<2x4xi32>, tensor<2x8x32xbf16>) -> tensor<2x4x32xbf16>
// CHECK:         linalg.generic {{.*}} ins(%[[Y]], %{{.*}} : tensor<2x4x32xbf16>, tensor<2x32xbf16>)
// CHECK:           arith.addf {{.*}} : bf16
func.func @rounding_then_bias(%x: tensor<16x8xbf16>, %ind: tensor<2x4xi32>, %w: tensor<2x8x32xbf16>,
                              %bias: tensor<2x32xbf16>) -> tensor<2x4x32xbf16> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xbf16>, tensor<2x4xi32>) -> tensor<2x4x8xbf16>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %y = linalg.batch_matmul ins(%g, %w : tensor<2x4x8xbf16>, tensor<2x8x32xbf16>)
                           outs(%f : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %eh = tensor.empty() : tensor<2x4x32xbf16>
  %h = linalg.generic {indexing_maps = [affine_map<(e, k, j) -> (e, k, j)>,
                                        affine_map<(e, k, j) -> (e, k, j)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y : tensor<2x4x32xf32>) outs(%eh : tensor<2x4x32xbf16>) {
  ^bb0(%a: f32, %o: bf16):
    %t = arith.truncf %a : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<2x4x32xbf16>
  %r = linalg.generic {indexing_maps = [affine_map<(e, k, j) -> (e, k, j)>,
                                        affine_map<(e, k, j) -> (e, j)>,
                                        affine_map<(e, k, j) -> (e, k, j)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%h, %bias : tensor<2x4x32xbf16>, tensor<2x32xbf16>) outs(%eh : tensor<2x4x32xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %s = arith.addf %a, %b : bf16
    linalg.yield %s : bf16
  } -> tensor<2x4x32xbf16>
  return %r : tensor<2x4x32xbf16>
}

// -----

// Single expert, bias [J] with a size-1 leading dim pinned to 0 (torch's
// broadcast of a [1,J] bias): its unit dim is the unit E (the collapse and
// expand fold away).
// CHECK-LABEL: func.func @single_expert_bias(
// CHECK-SAME:    %[[X:.*]]: tensor<16x8xf32>, %[[IND:.*]]: tensor<4xi64>, %[[W:.*]]: tensor<8x32xf32>, %[[B:.*]]: tensor<1x32xf32>)
// CHECK:         egs.gather_matmul %[[X]][%{{.*}}] * %{{.*}} + %[[B]] : (tensor<16x8xf32>, tensor<1x4xi64>, tensor<1x8x32xf32>, tensor<1x32xf32>) -> tensor<1x4x32xf32>
// CHECK-NOT:     linalg.generic
func.func @single_expert_bias(%x: tensor<16x8xf32>, %ind: tensor<4xi64>, %w: tensor<8x32xf32>,
                              %bias: tensor<1x32xf32>) -> tensor<4x32xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xf32>, tensor<4xi64>) -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y = linalg.matmul ins(%g, %w : tensor<4x8xf32>, tensor<8x32xf32>)
                     outs(%f : tensor<4x32xf32>) -> tensor<4x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(r, j) -> (0, j)>,
                                        affine_map<(r, j) -> (r, j)>,
                                        affine_map<(r, j) -> (r, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%bias, %y : tensor<1x32xf32>, tensor<4x32xf32>) outs(%e : tensor<4x32xf32>) {
  ^bb0(%b: f32, %a: f32, %o: f32):
    %s = arith.addf %b, %a : f32
    linalg.yield %s : f32
  } -> tensor<4x32xf32>
  return %r : tensor<4x32xf32>
}

// -----

// One bias row shared by every expert is broadcast to [E,J].
// CHECK-LABEL: func.func @shared_bias_row(
// CHECK-SAME:    %{{.*}}: tensor<16x8xf32>, %{{.*}}: tensor<2x4xi32>, %{{.*}}: tensor<2x8x32xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK:         %[[BB:.*]] = linalg.broadcast ins(%[[B]] : tensor<32xf32>) outs(%{{.*}} : tensor<2x32xf32>) dimensions = [0]
// CHECK:         egs.gather_matmul {{.*}} + %[[BB]] : (tensor<16x8xf32>, tensor<2x4xi32>, tensor<2x8x32xf32>, tensor<2x32xf32>) -> tensor<2x4x32xf32>
func.func @shared_bias_row(%x: tensor<16x8xf32>, %ind: tensor<2x4xi32>, %w: tensor<2x8x32xf32>,
                           %bias: tensor<32xf32>) -> tensor<2x4x32xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %y = linalg.batch_matmul ins(%g, %w : tensor<2x4x8xf32>, tensor<2x8x32xf32>)
                           outs(%f : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(e, k, j) -> (j)>,
                                        affine_map<(e, k, j) -> (e, k, j)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%bias : tensor<32xf32>) outs(%y : tensor<2x4x32xf32>) {
  ^bb0(%b: f32, %a: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x4x32xf32>
  return %r : tensor<2x4x32xf32>
}

// -----

// A bias row after an existing ragged egs.gather_matmul over routed rows
// (broadcast to [E,J], since a row's expert is only known from the
// offsets). egs.route's offsets cover every row, so no row misses the bias.
// CHECK-LABEL: func.func @bias_after_routed_gather_matmul(
// CHECK-SAME:    %[[X:.*]]: tensor<16x8xf32>, %[[IDS:.*]]: tensor<3x2xi32>, %[[W:.*]]: tensor<2x8x32xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK:         %[[R:.*]]:3 = egs.route %[[IDS]]
// CHECK:         %[[BB:.*]] = linalg.broadcast ins(%[[B]] : tensor<32xf32>)
// CHECK:         %[[Y:.*]] = egs.gather_matmul %[[X]][%[[R]]#0] * %[[W]] offsets %[[R]]#1 + %[[BB]] : (tensor<16x8xf32>, tensor<6xi32>, tensor<2x8x32xf32>, tensor<3xi32>, tensor<2x32xf32>) -> tensor<6x32xf32>
// CHECK-NEXT:    return %[[Y]]
// OFF-LABEL: func.func @bias_after_routed_gather_matmul(
// OFF:         linalg.generic
func.func @bias_after_routed_gather_matmul(%x: tensor<16x8xf32>, %ids: tensor<3x2xi32>,
                                           %w: tensor<2x8x32xf32>, %bias: tensor<32xf32>)
    -> tensor<6x32xf32> {
  %rows, %off, %map = egs.route %ids experts = 2
      : (tensor<3x2xi32>) -> (tensor<6xi32>, tensor<3xi32>, tensor<6xi32>)
  %y = egs.gather_matmul %x[%rows] * %w offsets %off
      : (tensor<16x8xf32>, tensor<6xi32>, tensor<2x8x32xf32>, tensor<3xi32>) -> tensor<6x32xf32>
  %e = tensor.empty() : tensor<6x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(r, j) -> (r, j)>,
                                        affine_map<(r, j) -> (j)>,
                                        affine_map<(r, j) -> (r, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%y, %bias : tensor<6x32xf32>, tensor<32xf32>) outs(%e : tensor<6x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<6x32xf32>
  return %r : tensor<6x32xf32>
}

// -----

// Per-row scale [E,K] between batch_matmul and scatter_add: the MoE combine
// weight becomes matmul_scatter's scale.
// CHECK-LABEL: func.func @row_scale(
// CHECK-SAME:    %[[Y:.*]]: tensor<2x4x8xf32>, %[[W:.*]]: tensor<2x8x16xf32>, %[[IND:.*]]: tensor<2x4xi32>, %[[S:.*]]: tensor<2x4xf32>, %[[INIT:.*]]: tensor<6x16xf32>)
// CHECK:         %[[OUT:.*]] = egs.matmul_scatter %[[Y]] * %[[W]] into %[[INIT]][%[[IND]]] scale %[[S]] : (tensor<2x4x8xf32>, tensor<2x4xi32>, tensor<2x8x16xf32>, tensor<6x16xf32>, tensor<2x4xf32>) -> tensor<6x16xf32>
// CHECK-NEXT:    return %[[OUT]]
// Without the epilogue family the scale blocks the whole fusion.
// OFF-LABEL: func.func @row_scale(
// OFF:         linalg.batch_matmul
// OFF:         egs.scatter_add
func.func @row_scale(%y: tensor<2x4x8xf32>, %w: tensor<2x8x16xf32>, %ind: tensor<2x4xi32>,
                     %scale: tensor<2x4xf32>, %init: tensor<6x16xf32>) -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %c = linalg.batch_matmul ins(%y, %w : tensor<2x4x8xf32>, tensor<2x8x16xf32>)
                           outs(%f : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %sc = linalg.generic {indexing_maps = [affine_map<(e, k, i) -> (e, k, i)>,
                                         affine_map<(e, k, i) -> (e, k)>,
                                         affine_map<(e, k, i) -> (e, k, i)>],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c, %scale : tensor<2x4x16xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4x16xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %m = arith.mulf %a, %s : f32
    linalg.yield %m : f32
  } -> tensor<2x4x16xf32>
  %out = egs.scatter_add %sc into %init[%ind] axis = 0
      : (tensor<2x4x16xf32>, tensor<2x4xi32>, tensor<6x16xf32>) -> tensor<6x16xf32>
  return %out : tensor<6x16xf32>
}

// -----

// Single-expert scale [R,1] (torch keepdim) broadcast through a 0 map.
// CHECK-LABEL: func.func @single_expert_keepdim_scale(
// CHECK-SAME:    %{{.*}}: tensor<5x8xf32>, %{{.*}}: tensor<8x16xf32>, %{{.*}}: tensor<5xi32>, %[[S:.*]]: tensor<5x1xf32>, %{{.*}}: tensor<6x16xf32>)
// CHECK:         %[[S1:.*]] = tensor.collapse_shape %[[S]] {{\[\[}}0, 1]] : tensor<5x1xf32> into tensor<5xf32>
// CHECK:         %[[S2:.*]] = tensor.expand_shape %[[S1]] {{\[\[}}0, 1]] output_shape [1, 5] : tensor<5xf32> into tensor<1x5xf32>
// CHECK:         egs.matmul_scatter {{.*}} scale %[[S2]] : (tensor<1x5x8xf32>, tensor<1x5xi32>, tensor<1x8x16xf32>, tensor<6x16xf32>, tensor<1x5xf32>) -> tensor<6x16xf32>
func.func @single_expert_keepdim_scale(%y: tensor<5x8xf32>, %w: tensor<8x16xf32>,
                                       %ind: tensor<5xi32>, %scale: tensor<5x1xf32>,
                                       %init: tensor<6x16xf32>) -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<5x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<5x16xf32>) -> tensor<5x16xf32>
  %c = linalg.matmul ins(%y, %w : tensor<5x8xf32>, tensor<8x16xf32>)
                     outs(%f : tensor<5x16xf32>) -> tensor<5x16xf32>
  %sc = linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, 0)>,
                                         affine_map<(r, i) -> (r, i)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%scale : tensor<5x1xf32>) outs(%c : tensor<5x16xf32>) {
  ^bb0(%s: f32, %a: f32):
    %m = arith.mulf %s, %a : f32
    linalg.yield %m : f32
  } -> tensor<5x16xf32>
  %out = egs.scatter_add %sc into %init[%ind] axis = 0
      : (tensor<5x16xf32>, tensor<5xi32>, tensor<6x16xf32>) -> tensor<6x16xf32>
  return %out : tensor<6x16xf32>
}

// -----
// Negative cases.

// An add of a full tensor (not a broadcast bias) stays after the fused op.
// CHECK-LABEL: func.func @add_of_full_tensor(
// CHECK:         %[[Y:.*]] = egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} : (tensor<16x8xf32>, tensor<2x4xi32>, tensor<2x8x32xf32>) -> tensor<2x4x32xf32>
// CHECK:         linalg.generic {{.*}} ins(%[[Y]], %{{.*}} : tensor<2x4x32xf32>, tensor<2x4x32xf32>)
func.func @add_of_full_tensor(%x: tensor<16x8xf32>, %ind: tensor<2x4xi32>, %w: tensor<2x8x32xf32>,
                              %res: tensor<2x4x32xf32>) -> tensor<2x4x32xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %y = linalg.batch_matmul ins(%g, %w : tensor<2x4x8xf32>, tensor<2x8x32xf32>)
                           outs(%f : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(e, k, j) -> (e, k, j)>,
                                        affine_map<(e, k, j) -> (e, k, j)>,
                                        affine_map<(e, k, j) -> (e, k, j)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y, %res : tensor<2x4x32xf32>, tensor<2x4x32xf32>) outs(%e : tensor<2x4x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x4x32xf32>
  return %r : tensor<2x4x32xf32>
}

// -----

// Offsets of unknown origin may leave rows outside [offsets[0], offsets[E]):
// those are zero, and the unfused add gives them the bias.
// CHECK-LABEL: func.func @bias_after_ragged_uncovered_rows(
// CHECK:         egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} offsets %{{.*}} : (tensor<16x8xf32>, tensor<6xi32>, tensor<2x8x32xf32>, tensor<3xi32>) -> tensor<6x32xf32>
// CHECK:         linalg.generic
func.func @bias_after_ragged_uncovered_rows(%x: tensor<16x8xf32>, %rows: tensor<6xi32>,
                                            %w: tensor<2x8x32xf32>, %off: tensor<3xi32>,
                                            %bias: tensor<32xf32>) -> tensor<6x32xf32> {
  %y = egs.gather_matmul %x[%rows] * %w offsets %off
      : (tensor<16x8xf32>, tensor<6xi32>, tensor<2x8x32xf32>, tensor<3xi32>) -> tensor<6x32xf32>
  %e = tensor.empty() : tensor<6x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(r, j) -> (r, j)>,
                                        affine_map<(r, j) -> (j)>,
                                        affine_map<(r, j) -> (r, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%y, %bias : tensor<6x32xf32>, tensor<32xf32>) outs(%e : tensor<6x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<6x32xf32>
  return %r : tensor<6x32xf32>
}

// -----

// A bias after an activation is not a bias of the matmul.
// CHECK-LABEL: func.func @bias_after_activation(
// CHECK:         egs.gather_matmul {{.*}} {activation = #egs.activation<silu>}
// CHECK:         linalg.generic
func.func @bias_after_activation(%x: tensor<16x8xf32>, %ind: tensor<2x4xi32>,
                                 %w: tensor<2x8x32xf32>, %bias: tensor<2x32xf32>)
    -> tensor<2x4x32xf32> {
  %y = egs.gather_matmul %x[%ind] * %w {activation = #egs.activation<silu>}
      : (tensor<16x8xf32>, tensor<2x4xi32>, tensor<2x8x32xf32>) -> tensor<2x4x32xf32>
  %e = tensor.empty() : tensor<2x4x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(e, k, j) -> (e, k, j)>,
                                        affine_map<(e, k, j) -> (e, j)>,
                                        affine_map<(e, k, j) -> (e, k, j)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y, %bias : tensor<2x4x32xf32>, tensor<2x32xf32>) outs(%e : tensor<2x4x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x4x32xf32>
  return %r : tensor<2x4x32xf32>
}

// -----

// A subtraction is not a bias add.
// CHECK-LABEL: func.func @subtract_is_not_bias(
// CHECK:         egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} : (tensor<16x8xf32>, tensor<2x4xi32>, tensor<2x8x32xf32>) -> tensor<2x4x32xf32>
// CHECK:         arith.subf
func.func @subtract_is_not_bias(%x: tensor<16x8xf32>, %ind: tensor<2x4xi32>,
                                %w: tensor<2x8x32xf32>, %bias: tensor<2x32xf32>)
    -> tensor<2x4x32xf32> {
  %y = egs.gather_matmul %x[%ind] * %w
      : (tensor<16x8xf32>, tensor<2x4xi32>, tensor<2x8x32xf32>) -> tensor<2x4x32xf32>
  %e = tensor.empty() : tensor<2x4x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(e, k, j) -> (e, k, j)>,
                                        affine_map<(e, k, j) -> (e, j)>,
                                        affine_map<(e, k, j) -> (e, k, j)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y, %bias : tensor<2x4x32xf32>, tensor<2x32xf32>) outs(%e : tensor<2x4x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.subf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x4x32xf32>
  return %r : tensor<2x4x32xf32>
}

// -----

// A scale per output feature (not per row) between contraction and scatter
// blocks the fusion.
// CHECK-LABEL: func.func @column_scale(
// CHECK:         linalg.batch_matmul
// CHECK:         egs.scatter_add
// CHECK-NOT:     egs.matmul_scatter
func.func @column_scale(%y: tensor<2x4x8xf32>, %w: tensor<2x8x16xf32>, %ind: tensor<2x4xi32>,
                        %scale: tensor<16xf32>, %init: tensor<6x16xf32>) -> tensor<6x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %c = linalg.batch_matmul ins(%y, %w : tensor<2x4x8xf32>, tensor<2x8x16xf32>)
                           outs(%f : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %sc = linalg.generic {indexing_maps = [affine_map<(e, k, i) -> (e, k, i)>,
                                         affine_map<(e, k, i) -> (i)>,
                                         affine_map<(e, k, i) -> (e, k, i)>],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c, %scale : tensor<2x4x16xf32>, tensor<16xf32>) outs(%e : tensor<2x4x16xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %m = arith.mulf %a, %s : f32
    linalg.yield %m : f32
  } -> tensor<2x4x16xf32>
  %out = egs.scatter_add %sc into %init[%ind] axis = 0
      : (tensor<2x4x16xf32>, tensor<2x4xi32>, tensor<6x16xf32>) -> tensor<6x16xf32>
  return %out : tensor<6x16xf32>
}
