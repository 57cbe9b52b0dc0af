// RUN: egs-opt %s --egs-select-gpu-strategy="warpgroup-mma=true" --convert-egs-to-gpu="host-buffers=device" --split-input-file | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device" --split-input-file | FileCheck %s --check-prefix=SYNC

// Large bf16 GEMMs with warpgroup-mma (set by --egs-lower-to-nvvm for
// sm_90a): 128x256x64 tiles, 4 stages of 128-byte swizzled A [128][64] and
// B slabs [4][64][64] filled by cp.async, wgmma m64n256k16 on shared-memory
// descriptors, one wgmma group in flight; the general kernel stays the
// fallback. Without the option the same op gets the mma.sync kernel.

// CHECK: memref.global "public" @egs_dsmem : memref<0xi8, #gpu.address_space<workgroup>> {alignment = 1024 : i64}
// CHECK-LABEL: gpu.func @egs_gemm_ragged_gather_store_wg_128x256x64_s4_w8_bf16_i32_bf16_i32_i32_bf16(
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK: memref.view {{.*}} to memref<4x128x64xbf16, #gpu.address_space<workgroup>>
// CHECK: memref.view {{.*}} to memref<4x4x64x64xbf16, #gpu.address_space<workgroup>>
// CHECK: arith.xori
// CHECK: nvgpu.device_async_copy {{.*}} : memref<?xbf16{{.*}}> to memref<4x128x64xbf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy {{.*}} : memref<?xbf16{{.*}}> to memref<4x4x64x64xbf16, #gpu.address_space<workgroup>>
// CHECK: memref.extract_aligned_pointer_as_index
// CHECK: scf.for
// CHECK: nvgpu.device_async_wait
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 256, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: scf.yield
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NEXT: nvgpu.device_async_wait {{.*}} {numGroups = 0 : i32}
// CHECK-LABEL: gpu.func @egs_gemm_ragged_gather_store_gen_64x64x16_s1_w4
// CHECK-NOT: nvvm.wgmma
// CHECK-LABEL: func.func @ragged_big

// SYNC-LABEL: gpu.func @egs_gemm_ragged_gather_store_tc_128x256x32_s3_w8
// SYNC-NOT: nvvm.wgmma
// SYNC: nvvm.mma.sync
// SYNC-LABEL: func.func @ragged_big
func.func @ragged_big(%x: memref<?x1024xbf16>, %rows: memref<?xi32>, %w: memref<8x1024x2048xbf16>,
                      %off: memref<9xi32>, %y: memref<?x2048xbf16>) {
  egs.gather_matmul %x[%rows] * %w offsets %off outs(%y)
      : (memref<?x1024xbf16>, memref<?xi32>, memref<8x1024x2048xbf16>, memref<9xi32>, memref<?x2048xbf16>) -> ()
  return
}

// -----

// Small GEMMs keep mma.sync even with the option.
// CHECK-LABEL: gpu.func @egs_gemm_ragged_gather_store_tc_128x64x32_s3_w8
// CHECK-NOT: nvvm.wgmma
// CHECK: nvvm.mma.sync
// CHECK-LABEL: func.func @ragged_small
func.func @ragged_small(%x: memref<?x128xbf16>, %rows: memref<?xi32>, %w: memref<8x128x64xbf16>,
                        %off: memref<9xi32>, %y: memref<?x64xbf16>) {
  egs.gather_matmul %x[%rows] * %w offsets %off outs(%y)
      : (memref<?x128xbf16>, memref<?xi32>, memref<8x128x64xbf16>, memref<9xi32>, memref<?x64xbf16>) -> ()
  return
}


// -----

// Many rows per expert and a short reduction (the expert-choice seed shape):
// 128x64x64 warpgroup tiles. A reduction of at most two 64-wide slices known
// at compile time (I = 128) is staged whole ("r2": one buffer per slice, all
// copies waited for once, the 8 wgmmas in one group); a longer one (I = 256)
// takes the 4-stage pipeline.
// CHECK-LABEL: gpu.func @egs_gemm_ec_batched_gather_store_wg_128x64x64_r2_w8_bf16_i32_bf16_bf16(
// CHECK: memref.view {{.*}} to memref<2x128x64xbf16, #gpu.address_space<workgroup>>
// CHECK-NOT: scf.for
// CHECK: nvgpu.device_async_wait {{.*}} {numGroups = 0 : i32}
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-8: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-LABEL: gpu.func @egs_gemm_ec_batched_gather_store_wg_128x64x64_s4_w8_bf16_i32_bf16_bf16(
// CHECK: memref.view {{.*}} to memref<4x128x64xbf16, #gpu.address_space<workgroup>>
// CHECK: scf.for
// CHECK-LABEL: func.func @seed_i128
func.func @seed_i128(%x: memref<64x256x128xbf16>, %ind: memref<64x32x32xi32>, %w: memref<32x128x64xbf16>,
                     %y: memref<64x32x32x64xbf16>) {
  egs.gather_matmul %x[%ind] * %w outs(%y)
      : (memref<64x256x128xbf16>, memref<64x32x32xi32>, memref<32x128x64xbf16>, memref<64x32x32x64xbf16>) -> ()
  return
}
func.func @seed_i256(%x: memref<64x256x256xbf16>, %ind: memref<64x32x32xi32>, %w: memref<32x256x64xbf16>,
                     %y: memref<64x32x32x64xbf16>) {
  egs.gather_matmul %x[%ind] * %w outs(%y)
      : (memref<64x256x256xbf16>, memref<64x32x32xi32>, memref<32x256x64xbf16>, memref<64x32x32x64xbf16>) -> ()
  return
}
