// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device" --split-input-file | FileCheck %s

// route: a stable counting sort in chunks of pairs: per-chunk expert counts
// (shared-memory atomics), an expert-major scan, then slots in order.
// The expert count sizes the shared memory, so each count gets its kernels.
// CHECK-LABEL: gpu.func @egs_route_count_e8_i32(
// CHECK: memref.atomic_rmw addi {{.*}} : (i32, memref<8xi32, #gpu.address_space<workgroup>>) -> i32
// CHECK-LABEL: gpu.func @egs_route_place_e8_i32(
// CHECK-LABEL: gpu.func @egs_route_count_e3_i64(
// CHECK: memref.atomic_rmw addi {{.*}} : (i32, memref<3xi32, #gpu.address_space<workgroup>>) -> i32
// CHECK-LABEL: gpu.func @egs_route_place_e3_i64(
// CHECK-LABEL: func.func @route(
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_route_count_e8_i32 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_scan_block_sums
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_scan_partials
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_scan_blocks
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_route_place_e8_i32
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_route_count_e3_i64
// CHECK: gpu.launch_func {{.*}}@egs_kernels::@egs_route_place_e3_i64
func.func @route(%ids: memref<?x?xi32>, %rows: memref<?xi32>, %off: memref<9xi32>, %map: memref<?xi32>,
                 %ids3: memref<?x?xi64>, %off3: memref<4xi32>) {
  egs.route %ids experts = 8 outs(%rows, %off, %map)
      : (memref<?x?xi32>, memref<?xi32>, memref<9xi32>, memref<?xi32>) -> ()
  egs.route %ids3 experts = 3 outs(%rows, %off3, %map)
      : (memref<?x?xi64>, memref<?xi32>, memref<4xi32>, memref<?xi32>) -> ()
  return
}

// -----

// permute: route into scratch rows (unrouted slots -1), then copy rows, 16
// bytes per lane where aligned.
// CHECK-LABEL: gpu.func @egs_row_gather_v_bf16_i32(
// CHECK: vector.load {{.*}} {alignment = 16 : i64} : memref<?xbf16, strided<[1], offset: ?>>, vector<8xbf16>
// CHECK-LABEL: gpu.func @egs_row_gather_s_bf16_i32(
// CHECK-LABEL: func.func @permute(
// CHECK: %[[ROWS:.*]], %{{.*}} = gpu.alloc async
// CHECK: gpu.memset async [%{{.*}}] %[[ROWS]], %{{.*}} : memref<?xi32>, i32
// CHECK: gpu.launch_func {{.*}}@egs_route_place_e4_i32
// CHECK: gpu.launch_func {{.*}}@egs_row_gather_v_bf16_i32
// CHECK: gpu.launch_func {{.*}}@egs_row_gather_s_bf16_i32
func.func @permute(%x: memref<?x?xbf16>, %ids: memref<?x2xi32>, %xs: memref<?x?xbf16>,
                   %map: memref<?xi32>, %off: memref<5xi32>) {
  egs.permute %x by %ids experts = 4 outs(%xs, %map, %off)
      : (memref<?x?xbf16>, memref<?x2xi32>, memref<?x?xbf16>, memref<?xi32>, memref<5xi32>) -> ()
  return
}

// -----

// unpermute: a block per token, 16 bytes a thread; with a static k all k
// rows are loaded before the first FMA.
// CHECK-LABEL: gpu.func @egs_unpermute_v_k4_bf16_i32_f32_bf16(
// CHECK-COUNT-4: vector.load {{.*}} {alignment = 16 : i64} : memref<?xbf16, strided<[1], offset: ?>>, vector<8xbf16>
// CHECK: vector.fma
// CHECK-LABEL: gpu.func @egs_unpermute_s_k4_bf16_i32_f32_bf16(
// CHECK-LABEL: func.func @unpermute(
// CHECK: gpu.launch_func {{.*}}@egs_unpermute_v_k4_bf16_i32_f32_bf16
// CHECK: gpu.launch_func {{.*}}@egs_unpermute_s_k4_bf16_i32_f32_bf16
func.func @unpermute(%xs: memref<?x?xbf16>, %map: memref<?xi32>, %p: memref<?x4xf32>, %out: memref<?x?xbf16>) {
  egs.unpermute %xs[%map] * %p outs(%out)
      : (memref<?x?xbf16>, memref<?xi32>, memref<?x4xf32>, memref<?x?xbf16>) -> ()
  return
}
