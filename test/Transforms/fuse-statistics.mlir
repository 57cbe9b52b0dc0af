// Statistics exist only where LLVM keeps them (see lit.local.cfg); the
// remarks test covers the same counts on every build.
// REQUIRES: pass-statistics
// RUN: egs-opt --egs-fuse -mlir-pass-statistics -mlir-pass-statistics-display=list %s \
// RUN:   -o /dev/null 2>&1 | FileCheck %s --enable-var-scope
// RUN: egs-opt --egs-fuse="gather-contraction=false epilogue=false" -mlir-pass-statistics \
// RUN:   -mlir-pass-statistics-display=list %s -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=OFF --enable-var-scope

// CHECK:      EGSFuse
// CHECK-NEXT:   (S) 1 contraction-scatter - contraction + scatter-add fused into egs.matmul_scatter
// CHECK-NEXT:   (S) 2 epilogue - bias adds, roundings and row scales folded into fused matmul ops
// CHECK-NEXT:   (S) 2 gather-contraction - gather + contraction fused into egs.gather_matmul
// CHECK-NEXT:   (S) 1 gather-transpose - gather + transpose (+ concat) fused into egs.gather / egs.gather_concat
// CHECK-NEXT:   (S) 2 routing - permute/unpermute fused into ragged matmul ops
// CHECK-NEXT:   (S) 0 weight-grad - gather + outer-product sum fused into egs.weight_grad

// OFF:        EGSFuse
// OFF-NEXT:     (S) 0 contraction-scatter
// OFF-NEXT:     (S) 0 epilogue
// OFF-NEXT:     (S) 0 gather-contraction
// OFF-NEXT:     (S) 1 gather-transpose
// OFF-NEXT:     (S) 2 routing
// OFF-NEXT:     (S) 0 weight-grad

func.func @gather_matmul_with_bias(%x: tensor<16x8xf32>, %ind: tensor<2x4xi32>,
                                   %w: tensor<2x8x32xf32>, %bias: tensor<2x32xf32>)
    -> tensor<2x4x32xf32> {
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

func.func @single_expert(%x: tensor<16x8xf32>, %ind: tensor<4xi32>, %w: tensor<8x32xf32>)
    -> tensor<4x32xf32> {
  %g = egs.gather %x[%ind] axis = 0 : (tensor<16x8xf32>, tensor<4xi32>) -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x32xf32>) -> tensor<4x32xf32>
  %y = linalg.matmul ins(%g, %w : tensor<4x8xf32>, tensor<8x32xf32>)
                     outs(%f : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

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
  %out = egs.scatter_add %sc into %init[%ind] axis = 0
      : (tensor<2x4x16xf32>, tensor<2x4xi32>, tensor<6x16xf32>) -> tensor<6x16xf32>
  return %out : tensor<6x16xf32>
}

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

func.func @gather_transpose(%a: tensor<10x4xf32>, %ic: tensor<2xi64>) -> tensor<4x2xf32> {
  %gc = egs.gather %a[%ic] axis = 0 : (tensor<10x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  %ec = tensor.empty() : tensor<4x2xf32>
  %tc = linalg.transpose ins(%gc : tensor<2x4xf32>) outs(%ec : tensor<4x2xf32>) permutation = [1, 0]
  return %tc : tensor<4x2xf32>
}
