// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device" --split-input-file | FileCheck %s
// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device vector-atomics=true" --split-input-file | FileCheck %s --check-prefix=RED4

// f32 init: the GEMM adds its rows into the routed tokens with f32 atomics.
// CHECK-LABEL: gpu.func @egs_gemm_ec_batched_slots_atomic_tc_{{.*}}_bf16_i32_bf16_f32_f32(
// CHECK: nvvm.mma.sync
// CHECK: memref.atomic_rmw addf %{{.*}}, %{{.*}}[%{{.*}}] : (f32, memref<?xf32, strided<[1], offset: ?>>) -> f32
// CHECK-LABEL: func.func @scatter_f32_init(
// CHECK-NOT: gpu.alloc
// CHECK: gpu.launch_func
// RED4-LABEL: gpu.func @egs_gemm_ec_batched_slots_atomic_tc_{{.*}}_red4_bf16_i32_bf16_f32_f32(
// RED4: llvm.inline_asm has_side_effects {{.*}}red.global.add.v4.f32
func.func @scatter_f32_init(%y: memref<?x?x?x?xbf16>, %ind: memref<?x?x?xi32>, %w: memref<?x?x?xbf16>,
                            %init: memref<?x?x?xf32>, %s: memref<?x?x?xf32>) {
  egs.matmul_scatter %y * %w into %init[%ind] scale %s
      : (memref<?x?x?x?xbf16>, memref<?x?x?xi32>, memref<?x?x?xbf16>, memref<?x?x?xf32>, memref<?x?x?xf32>) -> ()
  return
}

// -----

// bf16 init: the whole sum is accumulated in f32 and rounded once: init is
// widened into an f32 scratch, the GEMM adds into it, the result is narrowed;
// all of init, or (fewer slots than token rows) only the routed rows.
// CHECK-LABEL: func.func @scatter_bf16_init(
// CHECK: %[[ACC:.*]], %{{.*}} = gpu.alloc async [%{{.*}}] (%{{.*}}, %{{.*}}) : memref<?x?xf32>
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_convert_flat_r2_bf16_f32
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_convert_r2_bf16_f32
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_combine_rowcopy_bf16_f32_i32
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_gemm_ec_slots_atomic_
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_convert_flat_r2_f32_bf16
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_combine_rowcopy_f32_bf16_i32
// CHECK: gpu.dealloc async [%{{.*}}] %[[ACC]]
func.func @scatter_bf16_init(%y: memref<?x?x?xbf16>, %ind: memref<?x?xi32>, %w: memref<?x?x?xbf16>,
                             %init: memref<?x?xbf16>) {
  egs.matmul_scatter %y * %w into %init[%ind]
      : (memref<?x?x?xbf16>, memref<?x?xi32>, memref<?x?x?xbf16>, memref<?x?xbf16>) -> ()
  return
}

// -----

// deterministic: per-slot rows go to scratch, the slots are grouped by token
// on the device (integer atomics only) and each token's rows are summed in
// slot order. No floating-point atomics anywhere.
// CHECK-NOT: atomic_rmw addf
// CHECK-LABEL: gpu.func @egs_combine_count_ragged_i32(
// CHECK: memref.atomic_rmw addi
// CHECK-LABEL: gpu.func @egs_scan_block_sums(
// CHECK-LABEL: gpu.func @egs_scan_partials(
// CHECK-LABEL: gpu.func @egs_scan_blocks(
// CHECK-LABEL: gpu.func @egs_combine_place_ragged_i32(
// CHECK-LABEL: gpu.func @egs_combine_sort(
// CHECK-LABEL: gpu.func @egs_combine_sum_f32(
// CHECK-NOT: atomic_rmw addf
// CHECK-LABEL: func.func @scatter_deterministic(
// CHECK: gpu.launch_func {{.*}}@egs_gemm_ragged_slots_store_
// CHECK: gpu.memset async
// CHECK: gpu.launch_func {{.*}}@egs_combine_count_ragged_i32
// CHECK: gpu.launch_func {{.*}}@egs_scan_block_sums
// CHECK: gpu.launch_func {{.*}}@egs_scan_partials
// CHECK: gpu.launch_func {{.*}}@egs_scan_blocks
// CHECK: gpu.launch_func {{.*}}@egs_combine_place_ragged_i32
// CHECK: gpu.launch_func {{.*}}@egs_combine_sort
// CHECK: gpu.launch_func {{.*}}@egs_combine_sum_f32
func.func @scatter_deterministic(%y: memref<?x?xf32>, %rows: memref<?xi32>, %w: memref<?x?x?xf32>,
                                 %off: memref<?xi32>, %init: memref<?x?xf32>) {
  egs.matmul_scatter %y * %w offsets %off into %init[%rows] {deterministic}
      : (memref<?x?xf32>, memref<?xi32>, memref<?x?x?xf32>, memref<?xi32>, memref<?x?xf32>) -> ()
  return
}
