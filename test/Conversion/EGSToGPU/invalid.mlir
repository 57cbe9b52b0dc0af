// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu --split-input-file --verify-diagnostics

func.func @tensor_form(%x: tensor<4x8xf32>, %ind: tensor<2x3xi32>, %w: tensor<2x8x5xf32>) -> tensor<2x3x5xf32> {
  // expected-error @+1 {{could not lower to GPU kernels: egs ops must be bufferized (memref form) first}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<4x8xf32>, tensor<2x3xi32>, tensor<2x8x5xf32>) -> tensor<2x3x5xf32>
  return %y : tensor<2x3x5xf32>
}

// -----

func.func @one_stage(%x: memref<?x?xbf16>, %ind: memref<?x?xi32>, %w: memref<?x?x?xbf16>, %y: memref<?x?x?xbf16>) {
  // expected-error @+1 {{'egs.gather_matmul' op tile configuration tc_64x64x32_s1_w4 cannot be used: the asynchronous copy pipeline needs at least 2 stages}}
  egs.gather_matmul %x[%ind] * %w outs(%y) {tile = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 1, warps = 4>}
      : (memref<?x?xbf16>, memref<?x?xi32>, memref<?x?x?xbf16>, memref<?x?x?xbf16>) -> ()
  return
}

// -----

func.func @warps(%y: memref<?x?x?xbf16>, %ind: memref<?x?xi32>, %w: memref<?x?x?xbf16>, %init: memref<?x?xf32>) {
  // expected-error @+1 {{'egs.matmul_scatter' op tile configuration tc_16x16x16_s2_w16 cannot be used: no split of 16 warps into warp tiles that are multiples of 16}}
  egs.matmul_scatter %y * %w into %init[%ind] {tile = #egs.tile<bm = 16, bn = 16, bk = 16, stages = 2, warps = 16>}
      : (memref<?x?x?xbf16>, memref<?x?xi32>, memref<?x?x?xbf16>, memref<?x?xf32>) -> ()
  return
}

// -----

func.func @shared_memory(%x: memref<?x?xbf16>, %ind: memref<?x?xi32>, %w: memref<?x?x?xbf16>, %y: memref<?x?x?xbf16>) {
  // expected-error @+1 {{'egs.gather_matmul' op tile configuration tc_256x256x128_s8_w16 cannot be used: needs 1102848 bytes of shared memory, more than 232448}}
  egs.gather_matmul %x[%ind] * %w outs(%y) {tile = #egs.tile<bm = 256, bn = 256, bk = 128, stages = 8, warps = 16>}
      : (memref<?x?xbf16>, memref<?x?xi32>, memref<?x?x?xbf16>, memref<?x?x?xbf16>) -> ()
  return
}

// -----

// Warpgroup MMA is asked for but the lowering does not target sm_90a.
func.func @warpgroup_without_sm90a(%x: memref<?x?xbf16>, %ind: memref<?x?xi32>, %w: memref<?x?x?xbf16>, %y: memref<?x?x?xbf16>) {
  // expected-error @+1 {{'egs.gather_matmul' op tile mma = warpgroup needs warpgroup MMA (wgmma): lower with chip=sm_90a (egs-select-gpu-strategy: warpgroup-mma=true)}}
  egs.gather_matmul %x[%ind] * %w outs(%y) {tile = #egs.tile<bm = 128, bn = 256, bk = 64, stages = 4, warps = 8, mma = "warpgroup">}
      : (memref<?x?xbf16>, memref<?x?xi32>, memref<?x?x?xbf16>, memref<?x?x?xbf16>) -> ()
  return
}
