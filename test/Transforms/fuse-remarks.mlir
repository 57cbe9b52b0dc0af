// RUN: egs-opt --egs-fuse="remarks=true" --split-input-file --verify-diagnostics %s -o /dev/null
// RUN: sed -e 's/expected-remark/expected-nothing/' %s \
// RUN:   | egs-opt --egs-fuse --split-input-file 2>&1 \
// RUN:   | FileCheck %s --check-prefix=QUIET --enable-var-scope

// With remarks=true every fusion is reported at the fused op's location
// (the op it replaced); without it the pass is silent (the annotations are
// defused first: egs-opt checks expected-* comments even without
// --verify-diagnostics).
// QUIET-NOT: remark
// QUIET: func.func @gather_matmul_with_bias
// QUIET-NOT: remark

func.func @gather_matmul_with_bias(%x: tensor<16x8xf32>, %ind: tensor<2x4xi32>,
                                   %w: tensor<2x8x32xf32>, %bias: tensor<2x32xf32>)
    -> tensor<2x4x32xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xf32>, tensor<2x4xi32>) -> tensor<2x4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  // expected-remark @below {{fused gather (egs.gather) + linalg.batch_matmul into egs.gather_matmul (expert-choice)}}
  // expected-remark @below {{folded bias add into egs.gather_matmul}}
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

func.func @matmul_scale_scatter(%y: tensor<2x4x8xf32>, %w: tensor<2x8x16xf32>, %ind: tensor<2x4xi32>,
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
  // expected-remark @below {{fused linalg.batch_matmul + egs.scatter_add into egs.matmul_scatter (expert-choice)}}
  // expected-remark @below {{folded per-row scale into egs.matmul_scatter}}
  %out = egs.scatter_add %sc into %init[%ind] axis = 0
      : (tensor<2x4x16xf32>, tensor<2x4xi32>, tensor<6x16xf32>) -> tensor<6x16xf32>
  return %out : tensor<6x16xf32>
}

// -----

func.func @grouped_moe_layer(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>, %w1: tensor<3x8x16xf32>,
                             %w2: tensor<3x16x8xf32>, %probs: tensor<4x2xf32>) -> tensor<4x8xf32> {
  %xs, %map, %off = egs.permute %x by %ids experts = 3
      : (tensor<4x8xf32>, tensor<4x2xi32>) -> (tensor<8x8xf32>, tensor<8xi32>, tensor<4xi32>)
  %iota = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : tensor<8xi32>
  // expected-remark @below {{fused egs.permute + grouped egs.gather_matmul into a ragged egs.gather_matmul reading tokens in place}}
  %h = egs.gather_matmul %xs[%iota] * %w1 offsets %off
      : (tensor<8x8xf32>, tensor<8xi32>, tensor<3x8x16xf32>, tensor<4xi32>) -> tensor<8x16xf32>
  %z = egs.gather_matmul %h[%iota] * %w2 offsets %off
      : (tensor<8x16xf32>, tensor<8xi32>, tensor<3x16x8xf32>, tensor<4xi32>) -> tensor<8x8xf32>
  // expected-remark @below {{fused grouped egs.gather_matmul + egs.unpermute into a ragged egs.matmul_scatter with scale}}
  %out = egs.unpermute %z[%map] * %probs
      : (tensor<8x8xf32>, tensor<8xi32>, tensor<4x2xf32>) -> tensor<4x8xf32>
  return %out : tensor<4x8xf32>
}

// -----

func.func @gather_transpose_concat(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>,
                                   %ia: tensor<3xi32>, %ib: tensor<5xi32>, %ic: tensor<2xi64>)
    -> (tensor<4x8xf32>, tensor<4x2xf32>) {
  %ga = egs.gather %a[%ia] axis = 0 : (tensor<10x4xf32>, tensor<3xi32>) -> tensor<3x4xf32>
  %gb = egs.gather %b[%ib] axis = 0 : (tensor<12x4xf32>, tensor<5xi32>) -> tensor<5x4xf32>
  %ea = tensor.empty() : tensor<4x3xf32>
  %ta = linalg.transpose ins(%ga : tensor<3x4xf32>) outs(%ea : tensor<4x3xf32>) permutation = [1, 0]
  %eb = tensor.empty() : tensor<4x5xf32>
  %tb = linalg.transpose ins(%gb : tensor<5x4xf32>) outs(%eb : tensor<4x5xf32>) permutation = [1, 0]
  // expected-remark @below {{fused 2 gathers (+ transposes) + tensor.concat into egs.gather_concat}}
  %c = tensor.concat dim(1) %ta, %tb : (tensor<4x3xf32>, tensor<4x5xf32>) -> tensor<4x8xf32>
  %gc = egs.gather %a[%ic] axis = 0 : (tensor<10x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  %ec = tensor.empty() : tensor<4x2xf32>
  // expected-remark @below {{fused gather (egs.gather) + linalg.transpose into egs.gather with permutation}}
  %tc = linalg.transpose ins(%gc : tensor<2x4xf32>) outs(%ec : tensor<4x2xf32>) permutation = [1, 0]
  return %c, %tc : tensor<4x8xf32>, tensor<4x2xf32>
}
