// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device" | FileCheck %s --enable-var-scope
// REQUIRES: ptxas
// RUN: egs-opt %s --egs-lower-to-nvvm="format=isa" -o %t.mlir
// RUN: %python %S/../../Pipelines/Inputs/extract_ptx.py %t.mlir > %t.ptx
// RUN: %ptxas -arch=sm_90a %t.ptx -o %t.cubin

// Five kernels: K = exp(logits - row max) with c = 1 and the flag cleared,
// then per iteration (a host loop, no host read of the flag) the row pass, the
// column pass (shared-memory partial sums in a fixed order) and the delta
// pass that sets the flag; the scale p = r * K * c last. The tolerance is a
// constant of the delta kernel (its f32 bits in the name).
// CHECK-LABEL: gpu.func @egs_sinkhorn_init_bf16_f32
// CHECK:         gpu.shuffle {{ *}}xor
// CHECK:         math.exp
// CHECK-LABEL: gpu.func @egs_sinkhorn_rows_bf16_f32
// CHECK:         gpu.shuffle {{ *}}xor
// CHECK-LABEL: gpu.func @egs_sinkhorn_cols_bf16_f32
// CHECK:         gpu.barrier
// CHECK-LABEL: gpu.func @egs_sinkhorn_delta_bf16_f32_tol38D1B717
// CHECK:         arith.cmpf ole
// CHECK-LABEL: gpu.func @egs_sinkhorn_scale_bf16_f32
// CHECK-LABEL: func.func @sinkhorn
// CHECK:         gpu.launch_func {{.*}}@egs_sinkhorn_init_bf16_f32
// CHECK:         scf.for
// CHECK:           gpu.launch_func {{.*}}@egs_sinkhorn_rows_bf16_f32
// CHECK:           gpu.launch_func {{.*}}@egs_sinkhorn_cols_bf16_f32
// CHECK:           gpu.launch_func {{.*}}@egs_sinkhorn_delta_bf16_f32_tol38D1B717
// CHECK:         gpu.launch_func {{.*}}@egs_sinkhorn_scale_bf16_f32
// CHECK-NOT:     memref.load
func.func @sinkhorn(%l: memref<?x64xbf16>, %p: memref<?x64xf32>) {
  egs.sinkhorn %l iterations = 20 tolerance = 1.0e-4 outs(%p) : (memref<?x64xbf16>, memref<?x64xf32>) -> ()
  return
}
