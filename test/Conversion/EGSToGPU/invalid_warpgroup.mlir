// RUN: egs-opt %s --egs-select-gpu-strategy="warpgroup-mma=true" --convert-egs-to-gpu --split-input-file --verify-diagnostics

// Tile overrides for warpgroup MMA are checked against what the kernel needs.

func.func @warpgroup_f32(%x: memref<?x?xf32>, %ind: memref<?x?xi32>, %w: memref<?x?x?xf32>, %y: memref<?x?x?xf32>) {
  // expected-error @+1 {{'egs.gather_matmul' op tile mma = warpgroup needs f16 or bf16 operands}}
  egs.gather_matmul %x[%ind] * %w outs(%y) {tile = #egs.tile<bm = 128, bn = 256, bk = 64, stages = 4, warps = 8, mma = "warpgroup">}
      : (memref<?x?xf32>, memref<?x?xi32>, memref<?x?x?xf32>, memref<?x?x?xf32>) -> ()
  return
}

// -----

func.func @warpgroup_bk(%x: memref<?x?xbf16>, %ind: memref<?x?xi32>, %w: memref<?x?x?xbf16>, %y: memref<?x?x?xbf16>) {
  // expected-error @+1 {{'egs.gather_matmul' op tile configuration wg_128x256x32_s4_w8 cannot be used: warpgroup MMA needs bk = 64, bm a multiple of 64 and bn a multiple of 64 up to 256}}
  egs.gather_matmul %x[%ind] * %w outs(%y) {tile = #egs.tile<bm = 128, bn = 256, bk = 32, stages = 4, warps = 8, mma = "warpgroup">}
      : (memref<?x?xbf16>, memref<?x?xi32>, memref<?x?x?xbf16>, memref<?x?x?xbf16>) -> ()
  return
}

// -----

func.func @warpgroup_warps(%x: memref<?x?xbf16>, %ind: memref<?x?xi32>, %w: memref<?x?x?xbf16>, %y: memref<?x?x?xbf16>) {
  // expected-error @+1 {{'egs.gather_matmul' op tile configuration wg_128x128x64_s3_w4 cannot be used: warpgroup MMA needs 4 warps per 64 rows (8 warps)}}
  egs.gather_matmul %x[%ind] * %w outs(%y) {tile = #egs.tile<bm = 128, bn = 128, bk = 64, stages = 3, warps = 4, mma = "warpgroup">}
      : (memref<?x?xbf16>, memref<?x?xi32>, memref<?x?x?xbf16>, memref<?x?x?xbf16>) -> ()
  return
}

// -----

func.func @warpgroup_stages(%x: memref<?x?xbf16>, %ind: memref<?x?xi32>, %w: memref<?x?x?xbf16>, %y: memref<?x?x?xbf16>) {
  // expected-error @+1 {{'egs.gather_matmul' op tile configuration wg_128x128x64_s2_w8 cannot be used: warpgroup MMA needs at least 3 stages}}
  egs.gather_matmul %x[%ind] * %w outs(%y) {tile = #egs.tile<bm = 128, bn = 128, bk = 64, stages = 2, warps = 8, mma = "warpgroup">}
      : (memref<?x?xbf16>, memref<?x?xi32>, memref<?x?x?xbf16>, memref<?x?x?xbf16>) -> ()
  return
}
