// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device" | FileCheck %s

// f32 runs on CUDA cores: 16-byte (4 x f32) cp.async staging, FMAs on
// vector<4xf32> rows of a per-thread 8x4 tile; no tensor-core ops.

// CHECK-LABEL: gpu.func @egs_gemm_ec_batched_gather_store_simt_64x64x16_s3_w4_f32_i32_f32_f32(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: nvgpu.device_async_copy {{.*}}, 4, %{{.*}} {bypassL1} : memref<?xf32, strided<[1], offset: ?>> to memref<3x64x20xf32, #gpu.address_space<workgroup>>
// CHECK: scf.for
// CHECK: vector.load {{.*}} : memref<3x64x20xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK: vector.fma {{.*}} : vector<4xf32>
// CHECK-NOT: nvvm.mma.sync
// CHECK-NOT: nvgpu.ldmatrix
// CHECK: gpu.return
// CHECK-LABEL: func.func @gather_matmul_f32(
// CHECK: gpu.launch_func {{.*}}@egs_gemm_ec_batched_gather_store_simt_64x64x16_s3_w4_f32_i32_f32_f32
// CHECK: gpu.launch_func {{.*}}@egs_gemm_ec_batched_gather_store_gen_64x64x16_s1_w4_f32_i32_f32_f32
func.func @gather_matmul_f32(%x: memref<?x?x?xf32>, %ind: memref<?x?x?xi32>,
                             %w: memref<?x?x?xf32>, %y: memref<?x?x?x?xf32>) {
  egs.gather_matmul %x[%ind] * %w outs(%y)
      : (memref<?x?x?xf32>, memref<?x?x?xi32>, memref<?x?x?xf32>, memref<?x?x?x?xf32>) -> ()
  return
}
