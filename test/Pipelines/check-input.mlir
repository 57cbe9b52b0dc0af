// egs-check-input, the first pass of both pipelines, rejects a dim op whose
// constant index is out of range. The upstream verifier accepts a negative
// index, and the canonicalizer of --egs-lower-to-nvvm then crashed on it
// (issue 16); the error names the op, the index and the type.

// RUN: not egs-opt %s --split-input-file --egs-lower-to-nvvm="format=isa" 2>&1 | FileCheck %s
// RUN: not egs-opt %s --split-input-file --egs-lower-to-cpu 2>&1 | FileCheck %s
// RUN: not egs-opt %s --split-input-file --egs-check-input 2>&1 | FileCheck %s
// RUN: egs-opt %S/Inputs/dim_in_range.mlir --egs-check-input | FileCheck %s --check-prefix=OK
// RUN: egs-opt %S/Inputs/dim_in_range.mlir --egs-lower-to-nvvm="format=isa" | FileCheck %s --check-prefix=NVVM

// CHECK-NOT: PLEASE submit a bug report
// CHECK: error: 'memref.dim' op index -1 is out of range [0, 2) for 'memref<?x4xf32>'
func.func @memref_dim(%m: memref<?x4xf32>) -> index {
  %c = arith.constant -1 : index
  %d = memref.dim %m, %c : memref<?x4xf32>
  return %d : index
}

// -----

// An index that folds to a constant: -5 + 1.
// CHECK: error: 'memref.dim' op index -4 is out of range [0, 2) for 'memref<?x4xf32>'
func.func @folded_index(%m: memref<?x4xf32>) -> index {
  %c = arith.constant -5 : index
  %c1 = arith.constant 1 : index
  %i = arith.addi %c, %c1 : index
  %d = memref.dim %m, %i : memref<?x4xf32>
  return %d : index
}

// -----

// CHECK: error: 'memref.dim' op index -1 is out of range [0, 2) for 'memref<?x4xf32>'
func.func @dim_of_alloc(%n: index) -> index {
  %m = memref.alloc(%n) : memref<?x4xf32>
  %c = arith.constant -1 : index
  %d = memref.dim %m, %c : memref<?x4xf32>
  memref.dealloc %m : memref<?x4xf32>
  return %d : index
}

// -----

// CHECK: error: 'tensor.dim' op index -9223372036854775808 is out of range [0, 2) for 'tensor<?x4xf32>'
func.func @tensor_dim(%t: tensor<?x4xf32>) -> index {
  %c = arith.constant -9223372036854775808 : index
  %d = tensor.dim %t, %c : tensor<?x4xf32>
  return %d : index
}

// -----

// CHECK: error: 'memref.dim' op index -2 is out of range for 'memref<*xf32>'
func.func @unranked(%m: memref<*xf32>) -> index {
  %c = arith.constant -2 : index
  %d = memref.dim %m, %c : memref<*xf32>
  return %d : index
}
// CHECK-NOT: PLEASE submit a bug report

// OK-LABEL: func.func @in_range(
// OK: memref.dim
// OK: memref.dim
// NVVM-LABEL: llvm.func @in_range(
