// RUN: egs-opt %s --convert-egs-to-gpu --split-input-file --verify-diagnostics

// The GPU kernels do not read a transposed weight yet: a clear error at the op,
// never a kernel that reads w in the wrong layout.
func.func @gather_matmul(%x: memref<?x64xbf16>, %rows: memref<?xi32>, %w: memref<8x96x64xbf16>,
                         %off: memref<9xi32>, %y: memref<?x96xbf16>) {
  // expected-error @+1 {{'egs.gather_matmul' op with a transposed weight ('transposed') has no GPU lowering yet; pass w in the untransposed layout}}
  egs.gather_matmul %x[%rows] * %w transposed offsets %off outs(%y)
      : (memref<?x64xbf16>, memref<?xi32>, memref<8x96x64xbf16>, memref<9xi32>, memref<?x96xbf16>) -> ()
  return
}

// -----

func.func @matmul_scatter(%y: memref<4x3x6xf32>, %ind: memref<4x3xi32>, %w: memref<4x8x6xf32>, %init: memref<16x8xf32>) {
  // expected-error @+1 {{'egs.matmul_scatter' op with a transposed weight ('transposed') has no GPU lowering yet; pass w in the untransposed layout}}
  egs.matmul_scatter %y * %w transposed into %init[%ind]
      : (memref<4x3x6xf32>, memref<4x3xi32>, memref<4x8x6xf32>, memref<16x8xf32>) -> ()
  return
}
