// RUN: egs-opt %s --egs-select-gpu-strategy="warpgroup-mma=true" --convert-egs-to-gpu="host-buffers=device" --split-input-file --verify-diagnostics | FileCheck %s --enable-var-scope
// RUN: not egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device" --split-input-file 2>&1 | FileCheck %s --check-prefix=SM80

// weight_grad's `tile` replaces the heuristic's strategy: a 128x128
// warpgroup tile with 3 stages (two blocks fit on one SM) instead of the
// 128x256 one the heuristic picks for a dw this large.
// CHECK-LABEL: gpu.func @egs_weight_grad_ragged_glhs_srhs_wg_128x128x64_s3_w8
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 16>
// CHECK-NOT: wg_128x256
// CHECK-LABEL: func.func @tiled
// On sm_80 the warpgroup tile is an error at the op.
// SM80: error: 'egs.weight_grad' op weight-gradient tile configuration wg_128x128x64_s3_w8 cannot be used: warpgroup MMA needs sm_90a
func.func @tiled(%x: memref<?x4096xbf16>, %rows: memref<?xi32>, %dy: memref<?x2048xbf16>,
                 %off: memref<9xi32>, %dw: memref<8x4096x2048xbf16>) {
  egs.weight_grad %x[%rows] * %dy offsets %off outs(%dw)
      {tile = #egs.tile<bm = 128, bn = 128, bk = 64, stages = 3, warps = 8, mma = "warpgroup">}
      : (memref<?x4096xbf16>, memref<?xi32>, memref<?x2048xbf16>, memref<9xi32>, memref<8x4096x2048xbf16>) -> ()
  return
}

// -----

// mma.sync tiles are honoured too.
// CHECK-LABEL: gpu.func @egs_weight_grad_ec_slhs_srhs_tc_64x128x32_s3_w4
func.func @mma_sync(%a: memref<4x64x256xf16>, %b: memref<4x64x512xf16>, %dw: memref<4x256x512xf32>) {
  egs.weight_grad %a * %b outs(%dw) {tile = #egs.tile<bm = 64, bn = 128, bk = 32, stages = 3, warps = 4>}
      : (memref<4x64x256xf16>, memref<4x64x512xf16>, memref<4x256x512xf32>) -> ()
  return
}

// -----

func.func @bad_warpgroup_tile(%a: memref<4x64x256xbf16>, %b: memref<4x64x512xbf16>, %dw: memref<4x256x512xf32>) {
  // expected-error @+1 {{weight-gradient tile configuration wg_128x128x32_s3_w8 cannot be used: warpgroup MMA needs bk = 64, bm a multiple of 64 and bn a multiple of 64 up to 256}}
  egs.weight_grad %a * %b outs(%dw) {tile = #egs.tile<bm = 128, bn = 128, bk = 32, stages = 3, warps = 8, mma = "warpgroup">}
      : (memref<4x64x256xbf16>, memref<4x64x512xbf16>, memref<4x256x512xf32>) -> ()
  return
}

// -----

func.func @too_much_shared_memory(%a: memref<4x64x256xbf16>, %b: memref<4x64x512xbf16>, %dw: memref<4x256x512xf32>) {
  // expected-error @+1 {{weight-gradient tile configuration wg_256x256x64_s8_w16 cannot be used: needs}}
  egs.weight_grad %a * %b outs(%dw) {tile = #egs.tile<bm = 256, bn = 256, bk = 64, stages = 8, warps = 16, mma = "warpgroup">}
      : (memref<4x64x256xbf16>, memref<4x64x512xbf16>, memref<4x256x512xf32>) -> ()
  return
}

// -----

func.func @two_stages(%a: memref<4x64x256xbf16>, %b: memref<4x64x512xbf16>, %dw: memref<4x256x512xf32>) {
  // expected-error @+1 {{weight-gradient tile configuration wg_128x128x64_s2_w8 cannot be used: the pipeline needs at least 3 stages}}
  egs.weight_grad %a * %b outs(%dw) {tile = #egs.tile<bm = 128, bn = 128, bk = 64, stages = 2, warps = 8, mma = "warpgroup">}
      : (memref<4x64x256xbf16>, memref<4x64x512xbf16>, memref<4x256x512xf32>) -> ()
  return
}
