// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device" --split-input-file | FileCheck %s

// gather: one thread per element of the (permuted) result; an index out of
// range reads zero.
// CHECK-LABEL: gpu.func @egs_gather_r2_i1_a0_b0_p10_d0_f32_i64(
// CHECK: gpu.grid_dim x
// CHECK: scf.for
// CHECK: scf.if
// CHECK: memref.load
// CHECK-LABEL: func.func @gather_transposed(
// CHECK: gpu.launch_func {{.*}}@egs_gather_r2_i1_a0_b0_p10_d0_f32_i64
func.func @gather_transposed(%x: memref<?x?xf32>, %ind: memref<?xi64>, %out: memref<?x?xf32>) {
  egs.gather %x[%ind] axis = 0 permutation = [1, 0] outs(%out)
      : (memref<?x?xf32>, memref<?xi64>, memref<?x?xf32>) -> ()
  return
}

// -----

// scatter_add: atomic adds (float and integer).
// CHECK-LABEL: gpu.func @egs_scatter_add_r2_i1_a0_b0_f16_i32(
// CHECK: memref.atomic_rmw addf {{.*}} : (f16, memref<?xf16, strided<[1], offset: ?>>) -> f16
// CHECK-LABEL: gpu.func @egs_scatter_add_r2_i1_a1_b0_i32_i32(
// CHECK: memref.atomic_rmw addi
func.func @scatter_add(%src: memref<?x?xf16>, %ind: memref<?xi32>, %init: memref<?x?xf16>,
                       %isrc: memref<?x?xi32>, %iinit: memref<?x?xi32>) {
  egs.scatter_add %src into %init[%ind] axis = 0
      : (memref<?x?xf16>, memref<?xi32>, memref<?x?xf16>) -> ()
  egs.scatter_add %isrc into %iinit[%ind] axis = 1
      : (memref<?x?xi32>, memref<?xi32>, memref<?x?xi32>) -> ()
  return
}

// -----

// gather_concat: one gather launch per source, writing at its offset along
// the concatenated dim.
// CHECK-LABEL: func.func @gather_concat(
// CHECK: gpu.launch_func {{.*}}@egs_gather_r2_i1_a0_b0_p_d1_f32_i32
// CHECK: gpu.launch_func {{.*}}@egs_gather_r2_i1_a0_b0_p_d1_f32_i32
func.func @gather_concat(%a: memref<10x4xf32>, %b: memref<12x4xf32>, %ia: memref<3xi32>,
                         %ib: memref<3xi32>, %out: memref<3x8xf32>) {
  egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 outs(%out)
      : (memref<10x4xf32>, memref<12x4xf32>, memref<3xi32>, memref<3xi32>, memref<3x8xf32>) -> ()
  return
}
