// REQUIRES: ptxas
// A weight_grad tile with one warpgroup more than bm / 64 is warp-specialised:
// the last warpgroup only stages the slices (cp.async, then, once its copies
// of a slice have landed, a proxy fence and an arrive on the stage's `full`
// mbarrier), the first ones only wait for `full`, issue wgmma and release
// the stage on its `empty` mbarrier. Registers move from the producer to the
// consumers (setmaxnreg). ptxas accepts both forms.

// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_90a format=isa" -o %t.mlir
// RUN: %python %S/../../Pipelines/Inputs/extract_ptx.py %t.mlir > %t.ptx
// RUN: %ptxas -arch=sm_90a %t.ptx -o %t.cubin
// RUN: FileCheck %s --input-file=%t.ptx

// CHECK-LABEL: .entry egs_weight_grad_ragged_glhs_srhs_wg_128x256x64_s4_w12_bf16_i32_bf16_i32_bf16(
// CHECK: .maxntid 384, 1, 1
// CHECK-DAG: mbarrier.init.shared.b64
// CHECK-DAG: setmaxnreg.inc.sync.aligned.u32 176;
// CHECK-DAG: setmaxnreg.dec.sync.aligned.u32 152;
// CHECK-DAG: mbarrier.try_wait.parity
// CHECK-DAG: wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16
// CHECK-DAG: wgmma.wait_group.sync.aligned 1;
// CHECK-DAG: cp.async.cg.shared.global
// CHECK-DAG: cp.async.wait_group 2;
// CHECK-DAG: fence.proxy.async.shared::cta;
// CHECK-DAG: mbarrier.arrive.shared.b64
// The scaled form: the producer warpgroup rescales its landed lhs chunks
// after a barrier of its own 128 threads.
// CHECK-LABEL: .entry egs_weight_grad_ragged_slhs_grhs_scale_wg_128x128x64_s6_w12_bf16_bf16_i32_i32_f32_bf16(
// CHECK-DAG: bar.sync {{.*}}1, {{.*}}128;
// CHECK-DAG: cp.async.wait_group 4;
// CHECK-DAG: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16

func.func @up(%x: memref<?x4096xbf16>, %rows: memref<?xi32>, %dy: memref<?x2048xbf16>,
              %off: memref<9xi32>, %dw: memref<8x4096x2048xbf16>) {
  egs.weight_grad %x[%rows] * %dy offsets %off outs(%dw)
      {tile = #egs.tile<bm = 128, bn = 256, bk = 64, stages = 4, warps = 12, mma = "warpgroup">}
      : (memref<?x4096xbf16>, memref<?xi32>, memref<?x2048xbf16>, memref<9xi32>, memref<8x4096x2048xbf16>) -> ()
  return
}

func.func @down(%a: memref<?x1024xbf16>, %dout: memref<?x2048xbf16>, %rows: memref<?xi32>, %off: memref<9xi32>,
                %s: memref<?xf32>, %dw: memref<8x1024x2048xbf16>) {
  egs.weight_grad %a * %dout[%rows] offsets %off scale %s outs(%dw)
      {tile = #egs.tile<bm = 128, bn = 128, bk = 64, stages = 6, warps = 12, mma = "warpgroup">}
      : (memref<?x1024xbf16>, memref<?x2048xbf16>, memref<?xi32>, memref<9xi32>, memref<?xf32>, memref<8x1024x2048xbf16>) -> ()
  return
}
