// REQUIRES: ptxas
// The kernels that read a transposed weight in place (wgmma with a K-major
// B, mma.sync with ldmatrix without .trans for B, CUDA cores, the general
// fallback) are accepted by CUDA's ptxas for sm_90a and sm_80.

// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_90a format=isa" -o %t.sm90a.mlir
// RUN: %python %S/../../Pipelines/Inputs/extract_ptx.py %t.sm90a.mlir > %t.sm90a.ptx
// RUN: %ptxas -arch=sm_90a %t.sm90a.ptx -o %t.sm90a.cubin
// RUN: FileCheck %s --check-prefix=SM90 --input-file=%t.sm90a.ptx
// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_80 format=isa" -o %t.sm80.mlir
// RUN: %python %S/../../Pipelines/Inputs/extract_ptx.py %t.sm80.mlir > %t.sm80.ptx
// RUN: %ptxas -arch=sm_80 %t.sm80.ptx -o %t.sm80.cubin
// RUN: FileCheck %s --check-prefix=SM80 --input-file=%t.sm80.ptx

// SM90: .entry egs_gemm_ragged_gather_store_wg_128x256x64_s4_w8_wt_bf16_i32_bf16_i32_i32_bf16(
// SM90: cp.async.cg.shared.global
// SM90: wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 {{.*}}, 1, 1, 0, 0;
// SM90: .entry egs_gemm_ragged_gather_store_gen_64x64x16_s1_w4_wt_bf16_
// SM90: .entry egs_gemm_ragged_slots_atomic_{{[a-z]+}}_{{.*}}_wt_bf16_
// SM90: .entry egs_gemm_ec_slots_atomic_simt_{{.*}}_wt_f32_
// SM90: fma.rn.f32

// SM80: .entry egs_gemm_ragged_gather_store_tc_128x256x32_s3_w8_wt_bf16_i32_bf16_i32_i32_bf16(
// SM80: cp.async.cg.shared.global
// SM80-NOT: .trans
// SM80: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// SM80-NOT: .trans
// SM80: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// SM80-NOT: .trans
// SM80: .entry egs_gemm_ragged_gather_store_gen_64x64x16_s1_w4_wt_bf16_
func.func @ragged_up(%x: memref<?x1024xbf16>, %rows: memref<?xi32>, %w: memref<8x2048x1024xbf16>,
                     %off: memref<9xi32>, %y: memref<?x2048xbf16>) {
  egs.gather_matmul %x[%rows] * %w transposed offsets %off outs(%y)
      : (memref<?x1024xbf16>, memref<?xi32>, memref<8x2048x1024xbf16>, memref<9xi32>, memref<?x2048xbf16>) -> ()
  return
}

func.func @ragged_down(%y: memref<?x768xbf16>, %rows: memref<?xi32>, %w: memref<8x2048x768xbf16>,
                       %off: memref<9xi32>, %init: memref<?x2048xf32>, %s: memref<?xf32>) {
  egs.matmul_scatter %y * %w transposed offsets %off into %init[%rows] scale %s
      : (memref<?x768xbf16>, memref<?xi32>, memref<8x2048x768xbf16>, memref<9xi32>, memref<?x2048xf32>, memref<?xf32>) -> ()
  return
}

func.func @scatter_f32(%y: memref<4x30x72xf32>, %ind: memref<4x30xi32>, %w: memref<4x40x72xf32>,
                       %init: memref<50x40xf32>) {
  egs.matmul_scatter %y * %w transposed into %init[%ind]
      : (memref<4x30x72xf32>, memref<4x30xi32>, memref<4x40x72xf32>, memref<50x40xf32>) -> ()
  return
}
