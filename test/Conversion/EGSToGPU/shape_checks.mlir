// The host code checks the dims an op's layouts tie together before it
// launches anything (check-indices, the default); static dims get no code.
// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device" | FileCheck %s
// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device check-indices=false" | FileCheck %s --check-prefix=OFF

// CHECK-LABEL: func.func @ms(
// CHECK: %[[W:.*]] = memref.dim %arg2, %c2
// CHECK: %[[INIT:.*]] = memref.dim %arg3, %c1
// CHECK: %[[BAD:.*]] = arith.cmpi ne, %[[W]], %[[INIT]]
// CHECK: scf.if %[[BAD]] {
// CHECK: call @egsReportShapeError
// CHECK: }
// CHECK: gpu.launch_func
// OFF-LABEL: func.func @ms(
// OFF-NOT: egsReportShapeError
// OFF: gpu.launch_func
func.func @ms(%y: memref<?x?x?xf32>, %ind: memref<?x?xi32>, %w: memref<?x?x?xf32>, %init: memref<?x?xf32>) {
  egs.matmul_scatter %y * %w into %init[%ind]
      : (memref<?x?x?xf32>, memref<?x?xi32>, memref<?x?x?xf32>, memref<?x?xf32>) -> ()
  return
}

// CHECK-LABEL: func.func @static_ms(
// CHECK-NOT: egsReportShapeError
// CHECK: gpu.launch_func
func.func @static_ms(%y: memref<2x3x4xf32>, %ind: memref<2x3xi32>, %w: memref<2x4x8xf32>, %init: memref<5x8xf32>) {
  egs.matmul_scatter %y * %w into %init[%ind]
      : (memref<2x3x4xf32>, memref<2x3xi32>, memref<2x4x8xf32>, memref<5x8xf32>) -> ()
  return
}
