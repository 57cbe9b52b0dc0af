// RUN: egs-opt %s --egs-select-gpu-strategy="warpgroup-mma=true" --split-input-file | FileCheck %s --check-prefix=SM90A
// RUN: egs-opt %s --egs-select-gpu-strategy --split-input-file | FileCheck %s --check-prefix=SYNC
// RUN: egs-opt %s --egs-select-gpu-strategy="tile=64,128,32,4,4" --split-input-file | FileCheck %s --check-prefix=OPT
// RUN: egs-opt %s --egs-select-gpu-strategy="max-shared-memory=101376" --split-input-file | FileCheck %s --check-prefix=SMEM
// The strategy pass alone: what it records on each op (no kernels emitted),
// and that the recorded attribute parses back (round trip).
// RUN: egs-opt %s --egs-select-gpu-strategy="warpgroup-mma=true" --split-input-file | egs-opt --split-input-file | FileCheck %s --check-prefix=SM90A

// A large ragged GEMM (the Mixtral up-projection): 128x256 tiles, through
// warpgroup MMA on sm_90a, mma.sync below. The static sizes satisfy the
// large tile's bounds (K >= 512, N >= 1024), so it is the only fast variant.
// SM90A-LABEL: func.func @ragged_large
// SM90A: egs.gather_matmul
// SM90A-SAME: egs.gpu_strategy = #egs.gpu_strategy<fast = [<tile = <bm = 128, bn = 256, bk = 64, stages = 4, warps = 8, mma = warpgroup>>], general = <bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>
// SYNC-LABEL: func.func @ragged_large
// SYNC: egs.gather_matmul
// SYNC-SAME: egs.gpu_strategy = #egs.gpu_strategy<fast = [<tile = <bm = 128, bn = 256, bk = 32, stages = 3, warps = 8>>], general = <bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>
// The pass option replaces the heuristic of the fast kernel, not the general one.
// OPT-LABEL: func.func @ragged_large
// OPT: egs.gather_matmul
// OPT-SAME: egs.gpu_strategy = #egs.gpu_strategy<fast = [<tile = <bm = 64, bn = 128, bk = 32, stages = 4, warps = 4>>], general = <bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>
// With the 99 KiB of sm_86/sm_89 the 128x256 tile (its f32 output tile alone
// is 132 KiB) does not fit: the default tile takes its place.
// SMEM-LABEL: func.func @ragged_large
// SMEM: egs.gather_matmul
// SMEM-SAME: egs.gpu_strategy = #egs.gpu_strategy<fast = [<tile = <bm = 128, bn = 64, bk = 32, stages = 3, warps = 8>>]
func.func @ragged_large(%x: memref<?x4096xbf16>, %rows: memref<?xi32>, %w: memref<8x4096x14336xbf16>, %off: memref<9xi32>, %y: memref<?x14336xbf16>) {
  egs.gather_matmul %x[%rows] * %w offsets %off outs(%y) : (memref<?x4096xbf16>, memref<?xi32>, memref<8x4096x14336xbf16>, memref<9xi32>, memref<?x14336xbf16>) -> ()
  return
}

// -----

// Dynamic sizes: the large tile is a run-time variant (bounds checked by the
// host code), the default tile serves the rest.
// SM90A-LABEL: func.func @ragged_dynamic
// SM90A: egs.gather_matmul
// SM90A-SAME: egs.gpu_strategy = #egs.gpu_strategy<fast = [<tile = <bm = 128, bn = 256, bk = 64, stages = 4, warps = 8, mma = warpgroup>, min_reduce = 512, min_cols = 1024>, <tile = <bm = 128, bn = 64, bk = 64, stages = 4, warps = 8, mma = warpgroup>, min_rows = 256, max_reduce = 512>, <tile = <bm = 128, bn = 64, bk = 32, stages = 3, warps = 8>>]
// SMEM-LABEL: func.func @ragged_dynamic
// SMEM: egs.gather_matmul
// SMEM-SAME: fast = [<tile = <bm = 256, bn = 64, bk = 32, stages = 3, warps = 8>, min_rows = 256, max_reduce = 512>, <tile = <bm = 128, bn = 64, bk = 32, stages = 3, warps = 8>>]
// SYNC-LABEL: func.func @ragged_dynamic
// SYNC: egs.gather_matmul
// SYNC-SAME: fast = [<tile = <bm = 128, bn = 256, bk = 32, stages = 3, warps = 8>, min_reduce = 512, min_cols = 1024>, <tile = <bm = 256, bn = 64, bk = 32, stages = 3, warps = 8>, min_rows = 256, max_reduce = 512>, <tile = <bm = 128, bn = 64, bk = 32, stages = 3, warps = 8>>]
func.func @ragged_dynamic(%x: memref<?x?xbf16>, %rows: memref<?xi32>, %w: memref<?x?x?xbf16>, %off: memref<?xi32>, %y: memref<?x?xbf16>) {
  egs.gather_matmul %x[%rows] * %w offsets %off outs(%y) : (memref<?x?xbf16>, memref<?xi32>, memref<?x?x?xbf16>, memref<?xi32>, memref<?x?xbf16>) -> ()
  return
}

// -----

// The expert-choice seed (512 rows per expert, I = 128): on sm_90a the whole
// reduction (two 64-wide slices) is resident; mma.sync takes 256x64 tiles.
// SM90A-LABEL: func.func @seed
// SM90A: egs.gather_matmul
// SM90A-SAME: fast = [<tile = <bm = 128, bn = 64, bk = 64, stages = 2, warps = 8, mma = warpgroup, resident = true>>]
// SYNC-LABEL: func.func @seed
// SYNC: egs.gather_matmul
// SYNC-SAME: fast = [<tile = <bm = 256, bn = 64, bk = 32, stages = 3, warps = 8>>]
func.func @seed(%x: memref<4096x128xbf16>, %ind: memref<64x512xi32>, %w: memref<64x128x256xbf16>, %y: memref<64x512x256xbf16>) {
  egs.gather_matmul %x[%ind] * %w outs(%y) : (memref<4096x128xbf16>, memref<64x512xi32>, memref<64x128x256xbf16>, memref<64x512x256xbf16>) -> ()
  return
}

// -----

// f32 runs on CUDA cores (mma = fma) whatever the chip; matmul_scatter and
// the tensor form get strategies too.
// SM90A-LABEL: func.func @f32_tensor_scatter
// SM90A: egs.matmul_scatter
// SM90A-SAME: egs.gpu_strategy = #egs.gpu_strategy<fast = [<tile = <bm = 64, bn = 64, bk = 16, stages = 3, warps = 4, mma = fma>>], general = <bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>
// SYNC-LABEL: func.func @f32_tensor_scatter
// SYNC: egs.matmul_scatter
// SYNC-SAME: mma = fma
func.func @f32_tensor_scatter(%y: tensor<4x8x32xf32>, %ind: tensor<4x8xi32>, %w: tensor<4x32x16xf32>, %init: tensor<20x16xf32>) -> tensor<20x16xf32> {
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x8x32xf32>, tensor<4x8xi32>, tensor<4x32x16xf32>, tensor<20x16xf32>) -> tensor<20x16xf32>
  return %o : tensor<20x16xf32>
}

// -----

// weight_grad: 128x256 where dw is at least 512x1024; the pass option's tile
// is for the matmul ops and leaves weight_grad alone.
// SM90A-LABEL: func.func @weight_grad
// SM90A: egs.weight_grad
// SM90A-SAME: egs.gpu_strategy = #egs.gpu_strategy<fast = [<tile = <bm = 128, bn = 256, bk = 64, stages = 4, warps = 8, mma = warpgroup>>], general = <bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>
// OPT-LABEL: func.func @weight_grad
// OPT: egs.weight_grad
// OPT-SAME: fast = [<tile = <bm = 128, bn = 256, bk = 32, stages = 4, warps = 8>>]
func.func @weight_grad(%x: memref<?x4096xbf16>, %rows: memref<?xi32>, %dy: memref<?x14336xbf16>, %off: memref<9xi32>, %dw: memref<8x4096x14336xf32>) {
  egs.weight_grad %x[%rows] * %dy offsets %off outs(%dw) : (memref<?x4096xbf16>, memref<?xi32>, memref<?x14336xbf16>, memref<9xi32>, memref<8x4096x14336xf32>) -> ()
  return
}

// -----

// An op's own tile beats the heuristic and the pass option; a strategy
// already recorded is left as it is.
// SM90A-LABEL: func.func @overrides
// SM90A: egs.gather_matmul
// SM90A-SAME: fast = [<tile = <bm = 128, bn = 128, bk = 32, stages = 3, warps = 8>>]
// SM90A: egs.gather_matmul
// SM90A-SAME: egs.gpu_strategy = #egs.gpu_strategy<fast = [<tile = <bm = 64, bn = 64, bk = 32, stages = 2, warps = 4>>], general = <bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>
// OPT-LABEL: func.func @overrides
// OPT: egs.gather_matmul
// OPT-SAME: fast = [<tile = <bm = 128, bn = 128, bk = 32, stages = 3, warps = 8>>]
func.func @overrides(%x: memref<?x256xbf16>, %rows: memref<?xi32>, %w: memref<8x256x512xbf16>, %off: memref<9xi32>, %y: memref<?x512xbf16>) {
  egs.gather_matmul %x[%rows] * %w offsets %off outs(%y)
      {tile = #egs.tile<bm = 128, bn = 128, bk = 32, stages = 3, warps = 8, mma = sync>}
      : (memref<?x256xbf16>, memref<?xi32>, memref<8x256x512xbf16>, memref<9xi32>, memref<?x512xbf16>) -> ()
  egs.gather_matmul %x[%rows] * %w offsets %off outs(%y)
      {egs.gpu_strategy = #egs.gpu_strategy<fast = [#egs.variant<tile = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 2, warps = 4>>],
                                            general = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>}
      : (memref<?x256xbf16>, memref<?xi32>, memref<8x256x512xbf16>, memref<9xi32>, memref<?x512xbf16>) -> ()
  return
}
