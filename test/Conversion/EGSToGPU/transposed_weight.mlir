// RUN: egs-opt %s --egs-select-gpu-strategy="warpgroup-mma=true" --convert-egs-to-gpu="host-buffers=device" --split-input-file | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device" --split-input-file | FileCheck %s --check-prefix=SYNC

// A transposed weight (w [E, cols, reduce]) is read in place: its B tile is
// staged [bn][bk] like A (16-byte copies along the reduction), loaded with
// ldmatrix without .trans for mma.sync, and given to wgmma as a K-major B
// (128-byte swizzled like A). The general kernel indexes w[e][c][r].

// CHECK-LABEL: gpu.func @egs_gemm_ragged_gather_store_wg_128x256x64_s4_w8_wt_bf16_i32_bf16_i32_i32_bf16(
// CHECK: memref.view {{.*}} to memref<4x128x64xbf16, #gpu.address_space<workgroup>>
// CHECK: memref.view {{.*}} to memref<4x256x64xbf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy {{.*}} : memref<?xbf16{{.*}}> to memref<4x128x64xbf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy {{.*}} : memref<?xbf16{{.*}}> to memref<4x256x64xbf16, #gpu.address_space<workgroup>>
// CHECK: scf.for
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 256, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-LABEL: gpu.func @egs_gemm_ragged_gather_store_gen_64x64x16_s1_w4_wt_bf16
// CHECK-LABEL: func.func @ragged_up

// SYNC-LABEL: gpu.func @egs_gemm_ragged_gather_store_tc_128x256x32_s3_w8_wt_bf16_i32_bf16_i32_i32_bf16(
// SYNC: memref.view {{.*}} to memref<3x128x40xbf16, #gpu.address_space<workgroup>>
// SYNC: memref.view {{.*}} to memref<3x256x40xbf16, #gpu.address_space<workgroup>>
// SYNC-NOT: transpose = true
// SYNC: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<3x128x40xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
// SYNC: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<3x256x40xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
// SYNC-NOT: transpose = true
// SYNC: nvvm.mma.sync
// SYNC-LABEL: gpu.func @egs_gemm_ragged_gather_store_gen_64x64x16_s1_w4_wt_bf16
// SYNC-LABEL: func.func @ragged_up
func.func @ragged_up(%x: memref<?x1024xbf16>, %rows: memref<?xi32>, %w: memref<8x2048x1024xbf16>,
                     %off: memref<9xi32>, %y: memref<?x2048xbf16>) {
  egs.gather_matmul %x[%rows] * %w transposed offsets %off outs(%y)
      : (memref<?x1024xbf16>, memref<?xi32>, memref<8x2048x1024xbf16>, memref<9xi32>, memref<?x2048xbf16>) -> ()
  return
}

// -----

// swiglu's paired halves with a transposed w: the up half starts J/2 rows
// down w's dim 1. The untransposed kernel of the same op is a different one.
// CHECK-LABEL: gpu.func @egs_gemm_ec_gather_store_tc_64x64x32_s3_w4_swiglu_wt_f16_
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<3x64x40xf16, #gpu.address_space<workgroup>>
// CHECK-NOT: transpose = true
// CHECK: nvvm.mma.sync
// CHECK-LABEL: func.func @swiglu
func.func @swiglu(%x: memref<30x96xf16>, %ind: memref<4x20xi64>, %w: memref<4x80x96xf16>,
                  %b: memref<4x80xf16>, %y: memref<4x20x40xf16>) {
  egs.gather_matmul %x[%ind] * %w transposed + %b outs(%y) {activation = #egs.activation<swiglu>}
      : (memref<30x96xf16>, memref<4x20xi64>, memref<4x80x96xf16>, memref<4x80xf16>, memref<4x20x40xf16>) -> ()
  return
}

// -----

// f32 on CUDA cores: the B tile [bn][bk + 4] holds 4 k of a column per
// vector. matmul_scatter's transposed w is [E, I, J] (J the reduction).
// CHECK-LABEL: gpu.func @egs_gemm_ec_slots_atomic_simt_{{.*}}_wt_f32_
// CHECK-LABEL: gpu.func @egs_gemm_ec_slots_atomic_gen_{{.*}}_wt_f32_
// CHECK-LABEL: func.func @scatter_f32
func.func @scatter_f32(%y: memref<4x30x72xf32>, %ind: memref<4x30xi32>, %w: memref<4x40x72xf32>,
                       %init: memref<50x40xf32>) {
  egs.matmul_scatter %y * %w transposed into %init[%ind]
      : (memref<4x30x72xf32>, memref<4x30xi32>, memref<4x40x72xf32>, memref<50x40xf32>) -> ()
  return
}
