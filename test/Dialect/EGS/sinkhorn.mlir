// RUN: egs-opt %s | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | egs-opt | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// logits [T,E] -> p [T,E] f32; tolerance defaults to 0 (not printed).
// CHECK-LABEL: func.func @sinkhorn
// CHECK:         %[[P:[a-z0-9_]+]] = egs.sinkhorn %{{.*}} iterations = 20 : (tensor<4096x64xf32>) -> tensor<4096x64xf32>
// CHECK:         return %[[P]]
// GENERIC-LABEL: sym_name = "sinkhorn"
// GENERIC:       "egs.sinkhorn"(%{{.*}}) <{iterations = 20 : i64, tolerance = 0.000000e+00 : f32}> : (tensor<4096x64xf32>) -> tensor<4096x64xf32>
func.func @sinkhorn(%l: tensor<4096x64xf32>) -> tensor<4096x64xf32> {
  %p = egs.sinkhorn %l iterations = 20 : (tensor<4096x64xf32>) -> tensor<4096x64xf32>
  return %p : tensor<4096x64xf32>
}

// bf16 logits, a tolerance, dynamic T.
// CHECK-LABEL: func.func @tolerance
// CHECK:         egs.sinkhorn %{{.*}} iterations = 50 tolerance = 9.99999974E-5 : (tensor<?x8xbf16>) -> tensor<?x8xf32>
func.func @tolerance(%l: tensor<?x8xbf16>) -> tensor<?x8xf32> {
  %p = egs.sinkhorn %l iterations = 50 tolerance = 1.0e-4 : (tensor<?x8xbf16>) -> tensor<?x8xf32>
  return %p : tensor<?x8xf32>
}

// The memref form writes its outs buffer.
// CHECK-LABEL: func.func @memref_form
// CHECK:         egs.sinkhorn %{{.*}} iterations = 3 outs(%{{.*}}) : (memref<?x?xf16>, memref<?x?xf32>) -> ()
func.func @memref_form(%l: memref<?x?xf16>, %p: memref<?x?xf32>) {
  egs.sinkhorn %l iterations = 3 outs(%p) : (memref<?x?xf16>, memref<?x?xf32>) -> ()
  return
}
