// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device" --split-input-file | FileCheck %s --enable-var-scope

// bf16 gather_matmul: a tensor-core kernel (16-byte cp.async staging into
// workgroup memory, ldmatrix, mma.sync m16n8k16 bf16 -> f32) and the general
// fallback, chosen on the host at run time.

// CHECK: module attributes {gpu.container_module}
// CHECK: gpu.module @egs_kernels
// CHECK: memref.global "public" @egs_dsmem : memref<0xi8, #gpu.address_space<workgroup>> {alignment = 1024 : i64}
// CHECK-LABEL: gpu.func @egs_gemm_ec_batched_gather_store_tc_128x64x32_s3_w8_bf16_i32_bf16_bf16(
// CHECK-SAME: memref<?x?x?xbf16, strided<[?, ?, ?], offset: ?>>
// CHECK-SAME: kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: memref.get_global @egs_dsmem
// CHECK: memref.view {{.*}} to memref<3x128x40xbf16, #gpu.address_space<workgroup>>
// CHECK: memref.view {{.*}} to memref<3x32x72xbf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy {{.*}}, 8, %{{.*}} {bypassL1} : memref<?xbf16, strided<[1], offset: ?>> to memref<3x128x40xbf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_create_group
// Slice 0 is waited for and its first fragments loaded before the loop; the
// loop carries the accumulators, the stages, the copy group and the next
// fragments (double-buffered in registers).
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// CHECK: gpu.barrier
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<3x128x40xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true} : memref<3x32x72xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> ({{.*}}!nvgpu.device.async.token, vector<4x2xbf16>
// k-step 0: the next k-step's fragments, the copies of a later slice, MMAs.
// CHECK: nvgpu.ldmatrix
// CHECK: nvgpu.device_async_copy
// CHECK: llvm.bitcast {{.*}} : vector<2xbf16> to i32
// CHECK: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// Last k-step: wait for the next slice, then its first fragments, then MMAs.
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// CHECK: gpu.barrier
// CHECK: nvgpu.ldmatrix
// CHECK: nvvm.mma.sync
// CHECK: scf.yield
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// The epilogue goes through an f32 tile in shared memory, 4 columns a thread.
// CHECK: vector.store {{.*}} : memref<128x72xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK: vector.store {{.*}} {alignment = 8 : i64} : memref<?xbf16, strided<[1], offset: ?>>, vector<4xbf16>
// CHECK-LABEL: gpu.func @egs_gemm_ec_batched_gather_store_gen_64x64x16_s1_w4_bf16_i32_bf16_bf16(
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: gpu.return

// The host checks the fast path's preconditions and launches one kernel.
// CHECK-LABEL: func.func @gather_matmul_bf16(
// CHECK: memref.extract_aligned_pointer_as_index %{{.*}}
// CHECK: %[[FAST:.*]] = arith.andi
// CHECK: scf.if
// CHECK: %[[S:.*]] = gpu.wait async
// CHECK: gpu.launch_func async [%[[S]]] @egs_kernels::@egs_gemm_ec_batched_gather_store_tc_128x64x32_s3_w8_bf16_i32_bf16_bf16 blocks in ({{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) dynamic_shared_memory_size %{{.*}} args(
// CHECK: gpu.wait [
// CHECK: scf.if
// CHECK: gpu.launch_func async [%{{.*}}] @egs_kernels::@egs_gemm_ec_batched_gather_store_gen_64x64x16_s1_w4_bf16_i32_bf16_bf16
// CHECK-NOT: egs.gather_matmul
func.func @gather_matmul_bf16(%x: memref<64x256x128xbf16>, %ind: memref<64x32x32xi32>,
                              %w: memref<32x128x64xbf16>, %y: memref<64x32x32x64xbf16>) {
  egs.gather_matmul %x[%ind] * %w outs(%y) {tile = #egs.tile<bm = 128, bn = 64, bk = 32, stages = 3, warps = 8>}
      : (memref<64x256x128xbf16>, memref<64x32x32xi32>, memref<32x128x64xbf16>, memref<64x32x32x64xbf16>) -> ()
  return
}

// -----

// f16 operands go to mma.sync as vector<2xf16> registers.
// CHECK-LABEL: gpu.func @egs_gemm_ec_gather_store_tc_
// CHECK: nvgpu.ldmatrix {{.*}} -> vector<4x2xf16>
// CHECK: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-LABEL: func.func @gather_matmul_f16_unbatched(
func.func @gather_matmul_f16_unbatched(%x: memref<?x?xf16>, %ind: memref<?x?xi64>,
                                       %w: memref<?x?x?xf16>, %y: memref<?x?x?xf32>) {
  egs.gather_matmul %x[%ind] * %w outs(%y)
      : (memref<?x?xf16>, memref<?x?xi64>, memref<?x?x?xf16>, memref<?x?x?xf32>) -> ()
  return
}

// -----

// With dynamic shapes the host picks among the fast strategies by the sizes
// at run time: wide tiles for large GEMMs, tall tiles for many rows and a
// short reduction, the default otherwise.
// CHECK-LABEL: func.func @gather_matmul_dynamic(
// CHECK: gpu.launch_func {{.*}}@egs_gemm_ec_batched_gather_store_tc_128x256x32_s3_w8_
// CHECK: gpu.launch_func {{.*}}@egs_gemm_ec_batched_gather_store_tc_256x64x32_s3_w8_
// CHECK: gpu.launch_func {{.*}}@egs_gemm_ec_batched_gather_store_tc_128x64x32_s3_w8_
// CHECK: gpu.launch_func {{.*}}@egs_gemm_ec_batched_gather_store_gen_64x64x16_s1_w4_
func.func @gather_matmul_dynamic(%x: memref<?x?x?xbf16>, %ind: memref<?x?x?xi32>,
                                 %w: memref<?x?x?xbf16>, %y: memref<?x?x?x?xbf16>) {
  egs.gather_matmul %x[%ind] * %w outs(%y)
      : (memref<?x?x?xbf16>, memref<?x?x?xi32>, memref<?x?x?xbf16>, memref<?x?x?x?xbf16>) -> ()
  return
}
