// RUN: egs-opt %s --egs-select-gpu-strategy --split-input-file --verify-diagnostics
// Tiles the strategy pass cannot use, each reported at its op.

func.func @general_override(%x: memref<?x64xbf16>, %ind: memref<4x?xi32>, %w: memref<4x64x128xbf16>, %y: memref<4x?x128xbf16>) {
  // expected-error @+1 {{'egs.gather_matmul' op tile mma = general cannot be chosen: the general kernel is the fallback for operands the fast one cannot read; a tile sets the fast kernel}}
  egs.gather_matmul %x[%ind] * %w outs(%y) {tile = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>}
      : (memref<?x64xbf16>, memref<4x?xi32>, memref<4x64x128xbf16>, memref<4x?x128xbf16>) -> ()
  return
}

// -----

func.func @fma_on_bf16(%x: memref<?x64xbf16>, %ind: memref<4x?xi32>, %w: memref<4x64x128xbf16>, %y: memref<4x?x128xbf16>) {
  // expected-error @+1 {{'egs.gather_matmul' op tile mma = fma needs f32 operands (f16/bf16 use sync or warpgroup)}}
  egs.gather_matmul %x[%ind] * %w outs(%y) {tile = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 3, warps = 4, mma = fma>}
      : (memref<?x64xbf16>, memref<4x?xi32>, memref<4x64x128xbf16>, memref<4x?x128xbf16>) -> ()
  return
}

// -----

func.func @resident_override(%x: memref<?x128xbf16>, %ind: memref<4x?xi32>, %w: memref<4x128x128xbf16>, %y: memref<4x?x128xbf16>) {
  // expected-error @+1 {{'egs.gather_matmul' op tile resident = true is chosen by egs-select-gpu-strategy, not set by a tile override}}
  egs.gather_matmul %x[%ind] * %w outs(%y) {tile = #egs.tile<bm = 128, bn = 64, bk = 64, stages = 2, warps = 8, mma = warpgroup, resident = true>}
      : (memref<?x128xbf16>, memref<4x?xi32>, memref<4x128x128xbf16>, memref<4x?x128xbf16>) -> ()
  return
}

// -----

func.func @too_much_shared_memory(%dy: memref<4x?x256xbf16>, %ind: memref<4x?xi32>, %w: memref<4x256x64xbf16>, %init: memref<?x64xf32>) {
  // expected-error @+1 {{'egs.matmul_scatter' op tile configuration tc_256x256x128_s8_w16 cannot be used: needs}}
  egs.matmul_scatter %dy * %w into %init[%ind] {tile = #egs.tile<bm = 256, bn = 256, bk = 128, stages = 8, warps = 16>}
      : (memref<4x?x256xbf16>, memref<4x?xi32>, memref<4x256x64xbf16>, memref<?x64xf32>) -> ()
  return
}
