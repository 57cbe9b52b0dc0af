// RUN: egs-opt %s --egs-select-gpu-strategy="warpgroup-mma=true" --convert-egs-to-gpu="host-buffers=device" | FileCheck %s --enable-var-scope

// An explicit warpgroup tile: 128x128 with 3 stages (B in two 64-column slabs).
// CHECK-LABEL: gpu.func @egs_gemm_ragged_gather_store_wg_128x128x64_s3_w8
// CHECK: memref.view {{.*}} to memref<3x128x64xbf16, #gpu.address_space<workgroup>>
// CHECK: memref.view {{.*}} to memref<3x2x64x64xbf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_wait {{.*}} {numGroups = 0 : i32}
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 16>
// CHECK-LABEL: func.func @ragged_tile
func.func @ragged_tile(%x: memref<?x128xbf16>, %rows: memref<?xi32>, %w: memref<8x128x64xbf16>,
                       %off: memref<9xi32>, %y: memref<?x64xbf16>) {
  egs.gather_matmul %x[%rows] * %w offsets %off outs(%y)
      {tile = #egs.tile<bm = 128, bn = 128, bk = 64, stages = 3, warps = 8, mma = "warpgroup">}
      : (memref<?x128xbf16>, memref<?xi32>, memref<8x128x64xbf16>, memref<9xi32>, memref<?x64xbf16>) -> ()
  return
}
