// REQUIRES: ptxas
// The weight-gradient kernels (wgmma on sm_90a and mma.sync on sm_80 for
// bf16, CUDA cores for f32, the general fallback) are accepted by CUDA's ptxas for sm_80 and sm_90a, and
// the GPU pipeline leaves no host loop over the op's buffers.

// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_90a format=isa" -o %t.sm90a.mlir
// RUN: %python %S/../../Pipelines/Inputs/extract_ptx.py %t.sm90a.mlir > %t.sm90a.ptx
// RUN: %ptxas -arch=sm_90a %t.sm90a.ptx -o %t.sm90a.cubin
// RUN: FileCheck %s --check-prefixes=PTX,PTX90 --input-file=%t.sm90a.ptx
// RUN: FileCheck %s --check-prefix=HOST --input-file=%t.sm90a.mlir
// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_80 format=isa" -o %t.sm80.mlir
// RUN: %python %S/../../Pipelines/Inputs/extract_ptx.py %t.sm80.mlir > %t.sm80.ptx
// RUN: %ptxas -arch=sm_80 %t.sm80.ptx -o %t.sm80.cubin
// RUN: FileCheck %s --check-prefixes=PTX,PTX80 --input-file=%t.sm80.ptx

// sm_90a: warpgroup MMA on 128-byte-swizzled K-rows tiles, lhs as the
// transposed (M-major) A operand, rhs as the N-major B operand (both
// transpose immediates 1).
// PTX90: .entry egs_weight_grad_ragged_glhs_srhs_wg_128x128x64_s4_w8_bf16_i32_bf16_i32_f32(
// PTX90-DAG: cp.async.cg.shared.global
// PTX90-DAG: fence.proxy.async.shared::cta;
// PTX90-DAG: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}, p, 1, 1, 1, 1;
// PTX90-DAG: wgmma.wait_group.sync.aligned 1;
// sm_80: ldmatrix.trans of both K-rows tiles, mma.sync.
// PTX80: .entry egs_weight_grad_ragged_glhs_srhs_tc_128x128x32_s4_w8_bf16_i32_bf16_i32_f32(
// PTX80: cp.async.cg.shared.global
// PTX80: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PTX80: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-NOT: atom.global.add
// PTX-NOT: red.global.add
// PTX: .entry egs_weight_grad_ragged_glhs_srhs_gen_64x64x16_s1_w4_bf16_i32_bf16_i32_f32(
// PTX: .entry egs_weight_grad_ec_batched_glhs_srhs_scale_simt_64x64x16_s3_w4_f32_i32_f32_f32_f32(
// PTX: cp.async.cg.shared.global
// PTX: fma.rn.f32

// The host only copies and launches: it never loads an element of the op's
// buffers (the CPU lowering's loops would load bf16/f32 data and i32 rows).
// HOST-LABEL: llvm.func @dw(
// HOST-NOT: llvm.load {{.*}} -> {{(bf16|f32|i32)$}}
// HOST: gpu.launch_func {{.*}} @egs_kernels::@egs_weight_grad_ragged_glhs_srhs_wg_128x128x64_s4_w8_bf16_i32_bf16_i32_f32
// HOST: gpu.launch_func {{.*}} @egs_kernels::@egs_weight_grad_ragged_glhs_srhs_gen_64x64x16_s1_w4_bf16_i32_bf16_i32_f32
// HOST-LABEL: llvm.func @dw_ec_f32(
// HOST-NOT: llvm.load {{.*}} -> {{(bf16|f32|i32)$}}
// HOST: gpu.launch_func {{.*}} @egs_kernels::@egs_weight_grad_ec_batched_glhs_srhs_scale_simt_64x64x16_s3_w4_f32_i32_f32_f32_f32
// HOST: llvm.func @mgpuStreamCreate
func.func @dw(%x: memref<?x256xbf16>, %rows: memref<?xi32>, %dy: memref<?x128xbf16>, %off: memref<9xi32>,
              %dw: memref<8x256x128xf32>) {
  egs.weight_grad %x[%rows] * %dy offsets %off outs(%dw)
      : (memref<?x256xbf16>, memref<?xi32>, memref<?x128xbf16>, memref<9xi32>, memref<8x256x128xf32>) -> ()
  return
}

func.func @dw_ec_f32(%x: memref<2x10x96xf32>, %ind: memref<2x4x3xi32>, %dy: memref<2x4x3x80xf32>,
                     %s: memref<2x4x3xf32>, %dw: memref<4x96x80xf32>) {
  egs.weight_grad %x[%ind] * %dy scale %s outs(%dw)
      : (memref<2x10x96xf32>, memref<2x4x3xi32>, memref<2x4x3x80xf32>, memref<2x4x3xf32>, memref<4x96x80xf32>) -> ()
  return
}
