// The tile option is parsed and checked in one place: egs-select-gpu-strategy.
// RUN: not egs-opt %s --egs-select-gpu-strategy="tile=64,64,32,3" 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not egs-opt %s --egs-select-gpu-strategy="tile=64,64,32,3,4,2" 2>&1 | FileCheck %s --check-prefix=SIXTH
// RUN: not egs-opt %s --egs-select-gpu-strategy="tile=48,64,32,3,4" 2>&1 | FileCheck %s --check-prefix=POW2
// RUN: not egs-opt %s --egs-select-gpu-strategy="max-shared-memory=0" 2>&1 | FileCheck %s --check-prefix=SMEM
// An op without a recorded strategy is an error of the conversion, at the op.
// RUN: not egs-opt %s --convert-egs-to-gpu 2>&1 | FileCheck %s --check-prefix=MISSING

// COUNT: error: egs-select-gpu-strategy: option tile: needs 5 values (bm,bn,bk,stages,warps) and optionally a 6th (1: warpgroup MMA), got 4
// SIXTH: error: egs-select-gpu-strategy: option tile: the 6th value must be 0 (mma.sync) or 1 (warpgroup MMA), got 2
// POW2: error: egs-select-gpu-strategy: option tile: tile parameter 'bm' = 48 must be a power of two in [16, 256]
// SMEM: error: egs-select-gpu-strategy: max-shared-memory = 0 must be positive
// MISSING: error: 'egs.gather_matmul' op has no 'egs.gpu_strategy' attribute: run egs-select-gpu-strategy before convert-egs-to-gpu
func.func @f(%x: memref<?x64xbf16>, %ind: memref<4x?xi32>, %w: memref<4x64x128xbf16>, %y: memref<4x?x128xbf16>) {
  egs.gather_matmul %x[%ind] * %w outs(%y) : (memref<?x64xbf16>, memref<4x?xi32>, memref<4x64x128xbf16>, memref<4x?x128xbf16>) -> ()
  return
}
