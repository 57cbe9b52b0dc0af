// RUN: egs-opt %s | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | egs-opt | FileCheck %s --enable-var-scope

// #egs.tile: every parameter at the low and the high end of its range.
// CHECK-LABEL: func.func @tile_bounds
// CHECK-SAME:    hi = #egs.tile<bm = 256, bn = 256, bk = 128, stages = 8, warps = 16>
// CHECK-SAME:    lo = #egs.tile<bm = 16, bn = 8, bk = 16, stages = 1, warps = 1>
func.func @tile_bounds() attributes {
    lo = #egs.tile<bm = 16, bn = 8, bk = 16, stages = 1, warps = 1>,
    hi = #egs.tile<bm = 256, bn = 256, bk = 128, stages = 8, warps = 16>} {
  return
}

// Parameters may be written in any order; they print in declaration order.
// CHECK-LABEL: func.func @tile_any_order
// CHECK-SAME:    t = #egs.tile<bm = 64, bn = 32, bk = 32, stages = 3, warps = 4>
func.func @tile_any_order() attributes {t = #egs.tile<warps = 4, stages = 3, bk = 32, bn = 32, bm = 64>} {
  return
}

// Non-power-of-two stages are fine (stages is a count, not a size).
// CHECK-LABEL: func.func @tile_stages
// CHECK-SAME:    t = #egs.tile<bm = 128, bn = 128, bk = 32, stages = 5, warps = 8>
func.func @tile_stages() attributes {t = #egs.tile<bm = 128, bn = 128, bk = 32, stages = 5, warps = 8>} {
  return
}

// mma: sync is the default (not printed), the other kinds print as keywords;
// the quoted spelling of earlier releases parses too. resident = false is
// the default.
// CHECK-LABEL: func.func @tile_mma
// CHECK-SAME:    f = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 3, warps = 4, mma = fma>
// CHECK-SAME:    g = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>
// CHECK-SAME:    q = #egs.tile<bm = 128, bn = 256, bk = 64, stages = 4, warps = 8, mma = warpgroup>
// CHECK-SAME:    r = #egs.tile<bm = 128, bn = 64, bk = 64, stages = 2, warps = 8, mma = warpgroup, resident = true>
// CHECK-SAME:    s = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 3, warps = 4>
// CHECK-SAME:    w = #egs.tile<bm = 128, bn = 256, bk = 64, stages = 4, warps = 8, mma = warpgroup>
func.func @tile_mma() attributes {
    f = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 3, warps = 4, mma = fma>,
    g = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general, resident = false>,
    q = #egs.tile<bm = 128, bn = 256, bk = 64, stages = 4, warps = 8, mma = "warpgroup">,
    r = #egs.tile<bm = 128, bn = 64, bk = 64, stages = 2, warps = 8, mma = warpgroup, resident = true>,
    s = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 3, warps = 4, mma = sync>,
    w = #egs.tile<bm = 128, bn = 256, bk = 64, stages = 4, warps = 8, mma = warpgroup>} {
  return
}

// #egs.activation: all four cases.
// CHECK-LABEL: func.func @activations
// CHECK-SAME:    a = #egs.activation<none>, b = #egs.activation<silu>, c = #egs.activation<gelu>, d = #egs.activation<swiglu>
func.func @activations() attributes {a = #egs.activation<none>, b = #egs.activation<silu>,
                                     c = #egs.activation<gelu>, d = #egs.activation<swiglu>} {
  return
}

// Both attributes on the ops that take them.
// CHECK-LABEL: func.func @on_ops
// CHECK:         egs.gather_matmul {{.*}} {activation = #egs.activation<silu>, tile = #egs.tile<bm = 128, bn = 128, bk = 64, stages = 4, warps = 8>}
// CHECK:         egs.matmul_scatter {{.*}} {deterministic, tile = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 2, warps = 4>}
func.func @on_ops(%x: tensor<16x8xbf16>, %ind: tensor<4x3xi32>, %w1: tensor<4x8x6xbf16>,
                  %w2: tensor<4x6x8xbf16>, %init: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %y = egs.gather_matmul %x[%ind] * %w1
      {activation = #egs.activation<silu>,
       tile = #egs.tile<bm = 128, bn = 128, bk = 64, stages = 4, warps = 8>}
      : (tensor<16x8xbf16>, tensor<4x3xi32>, tensor<4x8x6xbf16>) -> tensor<4x3x6xbf16>
  %o = egs.matmul_scatter %y * %w2 into %init[%ind]
      {deterministic, tile = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 2, warps = 4>}
      : (tensor<4x3x6xbf16>, tensor<4x3xi32>, tensor<4x6x8xbf16>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return %o : tensor<16x8xf32>
}
