// egs.gather_matmul on dynamic memrefs whose reduction dims disagree (x has
// I = 4, w has I = 6): with check-indices (the default) the runner reports
// both operands and sizes and exits 1 before the op reads anything.
// RUN: not egs-runner %s -e main --entry-point-result=void 2>&1 | FileCheck %s

func.func @mm(%x: memref<?x?xf32>, %ind: memref<?x?xi32>, %w: memref<?x?x?xf32>,
              %y: memref<?x?x?xf32>) {
  egs.gather_matmul %x[%ind] * %w outs(%y)
      : (memref<?x?xf32>, memref<?x?xi32>, memref<?x?x?xf32>, memref<?x?x?xf32>) -> ()
  return
}

func.func @main() {
  %x = memref.alloc() : memref<5x4xf32>
  %ind = memref.alloc() : memref<2x2xi32>
  %w = memref.alloc() : memref<2x6x3xf32>
  %y = memref.alloc() : memref<2x2x3xf32>
  %xd = memref.cast %x : memref<5x4xf32> to memref<?x?xf32>
  %id = memref.cast %ind : memref<2x2xi32> to memref<?x?xi32>
  %wd = memref.cast %w : memref<2x6x3xf32> to memref<?x?x?xf32>
  %yd = memref.cast %y : memref<2x2x3xf32> to memref<?x?x?xf32>
  vector.print str "before\n"
  call @mm(%xd, %id, %wd, %yd) : (memref<?x?xf32>, memref<?x?xi32>, memref<?x?x?xf32>, memref<?x?x?xf32>) -> ()
  vector.print str "after\n"
  return
}

// CHECK: before
// CHECK-NEXT: egs: shape error: egs.gather_matmul at loc("{{.*}}gather_matmul_reduce_dim.mlir":8:3): dim 1 of operand 'w' is 6 but dim 1 of operand 'x' is 4
// CHECK-NOT: after
