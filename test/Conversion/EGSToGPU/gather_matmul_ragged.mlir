// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device" | FileCheck %s

// Ragged gather_matmul: one block scans expert_offsets into a tile -> (expert,
// tile) map on the device (no host synchronisation); GEMM blocks past the
// number of tiles do nothing; rows outside [offsets[0], offsets[E]) are zeroed.

// CHECK-LABEL: gpu.func @egs_ragged_tile_map_bm128_i32(
// CHECK: gpu.shuffle up
// CHECK: gpu.barrier
// CHECK-LABEL: gpu.func @egs_gemm_ragged_gather_store_tc_128x64x32_s3_w8_swiglu_bf16_i32_bf16_i32_i32_bf16_bf16(
// CHECK: %[[COUNT:.*]] = memref.load %{{.*}}[%{{.*}}] : memref<?xi32, strided<[1], offset: ?>>
// CHECK: scf.if
// CHECK: nvvm.mma.sync
// swiglu: silu of the gate half times the up half, with the bias.
// CHECK: math.exp
// CHECK-LABEL: gpu.func @egs_zero_uncovered_rows_i32_bf16(
// CHECK-LABEL: func.func @ragged(
// CHECK: %[[MAP:.*]], %{{.*}} = gpu.alloc async [%{{.*}}] (%{{.*}}) : memref<?xi32>
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_ragged_tile_map_bm128_i32 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}})
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_gemm_ragged_gather_store_tc_128x64x32_s3_w8_swiglu_
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_zero_uncovered_rows_i32_bf16
// CHECK: gpu.dealloc async [%{{.*}}] %[[MAP]]
func.func @ragged(%x: memref<?x?xbf16>, %rows: memref<?xi32>, %w: memref<?x?x?xbf16>,
                  %off: memref<?xi32>, %b: memref<?x?xbf16>, %y: memref<?x?xbf16>) {
  egs.gather_matmul %x[%rows] * %w offsets %off + %b outs(%y)
      {activation = #egs.activation<swiglu>, tile = #egs.tile<bm = 128, bn = 64, bk = 32, stages = 3, warps = 8>}
      : (memref<?x?xbf16>, memref<?xi32>, memref<?x?x?xbf16>, memref<?xi32>, memref<?x?xbf16>, memref<?x?xbf16>) -> ()
  return
}
