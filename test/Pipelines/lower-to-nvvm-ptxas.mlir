// REQUIRES: ptxas
// The kernels of every op family are accepted by CUDA's ptxas for sm_80 and
// sm_90a: as cubins and fatbins built inside the pipeline, and as PTX that
// ptxas assembles on its own.

// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_90a" | FileCheck %s --check-prefix=FATBIN
// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_80 format=bin" | FileCheck %s --check-prefix=SM80
// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_90a format=isa" -o %t.sm90a.mlir
// RUN: %python %S/Inputs/extract_ptx.py %t.sm90a.mlir > %t.sm90a.ptx
// RUN: %ptxas -arch=sm_90a %t.sm90a.ptx -o %t.sm90a.cubin
// RUN: FileCheck %s --check-prefix=PTX90 --input-file=%t.sm90a.ptx
// RUN: FileCheck %s --check-prefix=WGMMA --input-file=%t.sm90a.ptx
// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_80 format=isa" -o %t.sm80.mlir
// RUN: %python %S/Inputs/extract_ptx.py %t.sm80.mlir > %t.sm80.ptx
// RUN: %ptxas -arch=sm_80 %t.sm80.ptx -o %t.sm80.cubin
// RUN: FileCheck %s --check-prefix=PTX80 --input-file=%t.sm80.ptx
// RUN: not grep -q wgmma %t.sm80.ptx

// FATBIN: gpu.binary @egs_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx81">, properties =
// FATBIN: llvm.func @moe(
// FATBIN: gpu.launch_func
// SM80: gpu.binary @egs_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">
// PTX90: .version 8.1
// PTX90: .target sm_90a
// PTX90: .extern .shared .align 1024 .b8 egs_dsmem[];
// PTX90: cp.async.cg.shared.global
// PTX90: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX90: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PTX90: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX90: red.global.add.v4.f32
// sm_90a: the wide strategy of the large GEMMs is warpgroup MMA, fed by
// cp.async into swizzled tiles (fenced for the async proxy).
// WGMMA: cp.async.wait_group
// WGMMA-NEXT: fence.proxy.async.shared::cta;
// WGMMA: wgmma.fence.sync.aligned;
// WGMMA: wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16
// WGMMA: wgmma.commit_group.sync.aligned;
// WGMMA-NEXT: wgmma.wait_group.sync.aligned 1;
// PTX80: .target sm_80
// PTX80: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX80-NOT: red.global.add.v4.f32

func.func @moe(%x: tensor<?x?xbf16>, %ids: tensor<?x2xi32>, %w1: tensor<?x?x?xbf16>,
               %w2: tensor<?x?x?xbf16>, %probs: tensor<?x2xf32>, %init: tensor<?x?xf32>)
    -> (tensor<?x?xbf16>, tensor<?x?xf32>, tensor<?x?xbf16>) {
  %rows, %off, %map = egs.route %ids experts = 8
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<9xi32>, tensor<?xi32>)
  %h = egs.gather_matmul %x[%rows] * %w1 offsets %off {activation = #egs.activation<swiglu>}
      : (tensor<?x?xbf16>, tensor<?xi32>, tensor<?x?x?xbf16>, tensor<9xi32>) -> tensor<?x?xbf16>
  %o = egs.matmul_scatter %h * %w2 offsets %off into %init[%rows]
      : (tensor<?x?xbf16>, tensor<?xi32>, tensor<?x?x?xbf16>, tensor<9xi32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %xs, %map2, %off2 = egs.permute %x by %ids experts = 8
      : (tensor<?x?xbf16>, tensor<?x2xi32>) -> (tensor<?x?xbf16>, tensor<?xi32>, tensor<9xi32>)
  %u = egs.unpermute %xs[%map2] * %probs : (tensor<?x?xbf16>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x?xbf16>
  return %h, %o, %u : tensor<?x?xbf16>, tensor<?x?xf32>, tensor<?x?xbf16>
}
