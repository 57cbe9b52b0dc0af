// Issue 16's reproducer: egs.matmul_scatter on dynamic memrefs whose sizes
// disagree used to write past init; now it stops with a shape error.
// (scripts/memcheck.sh runs it under valgrind.)
// RUN: not egs-runner %s -e main --entry-point-result=void 2>&1 | FileCheck %s

func.func @ms(%y: memref<?x?x?xf32>, %ind: memref<?x?xi32>, %w: memref<?x?x?xf32>, %init: memref<?x?xf32>) {
  egs.matmul_scatter %y * %w into %init[%ind]
      : (memref<?x?x?xf32>, memref<?x?xi32>, memref<?x?x?xf32>, memref<?x?xf32>) -> ()
  return
}
func.func @main() {
  %y = memref.alloc() : memref<2x3x4xf32>
  %ind = memref.alloc() : memref<2x3xi32>
  %w = memref.alloc() : memref<2x4x4096xf32>
  %init = memref.alloc() : memref<5x2xf32>
  %a = memref.cast %y : memref<2x3x4xf32> to memref<?x?x?xf32>
  %b = memref.cast %ind : memref<2x3xi32> to memref<?x?xi32>
  %c = memref.cast %w : memref<2x4x4096xf32> to memref<?x?x?xf32>
  %d = memref.cast %init : memref<5x2xf32> to memref<?x?xf32>
  call @ms(%a, %b, %c, %d) : (memref<?x?x?xf32>, memref<?x?xi32>, memref<?x?x?xf32>, memref<?x?xf32>) -> ()
  return
}

// CHECK: egs: shape error: egs.matmul_scatter at loc("{{.*}}matmul_scatter_issue16.mlir":7:3): dim 2 of operand 'w' is 4096 but dim 1 of operand 'init' is 2
