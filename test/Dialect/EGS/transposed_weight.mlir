// RUN: egs-opt %s -split-input-file -verify-diagnostics | FileCheck %s --enable-var-scope

// A transposed weight ('transposed', the w_transposed unit attribute) is read in place.
// CHECK-LABEL: func.func @gather_matmul_transposed
// CHECK:         egs.gather_matmul %{{.*}}[%{{.*}}] * %{{.*}} transposed offsets %{{.*}} : (tensor<?x64xbf16>, tensor<?xi32>, tensor<8x96x64xbf16>, tensor<9xi32>) -> tensor<?x96xbf16>
func.func @gather_matmul_transposed(%x: tensor<?x64xbf16>, %rows: tensor<?xi32>, %w: tensor<8x96x64xbf16>,
                                    %off: tensor<9xi32>) -> tensor<?x96xbf16> {
  %y = egs.gather_matmul %x[%rows] * %w transposed offsets %off
      : (tensor<?x64xbf16>, tensor<?xi32>, tensor<8x96x64xbf16>, tensor<9xi32>) -> tensor<?x96xbf16>
  return %y : tensor<?x96xbf16>
}

// -----

// CHECK-LABEL: func.func @matmul_scatter_transposed
// CHECK:         egs.matmul_scatter %{{.*}} * %{{.*}} transposed into %{{.*}}[%{{.*}}] scale %{{.*}} : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>, tensor<16x8xf32>, tensor<4x3xf32>) -> tensor<16x8xf32>
func.func @matmul_scatter_transposed(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>,
                                     %init: tensor<16x8xf32>, %s: tensor<4x3xf32>) -> tensor<16x8xf32> {
  %o = egs.matmul_scatter %y * %w transposed into %init[%ind] scale %s
      : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>, tensor<16x8xf32>, tensor<4x3xf32>) -> tensor<16x8xf32>
  return %o : tensor<16x8xf32>
}

// -----

func.func @gather_matmul_untransposed_marked(%x: tensor<10x6xf32>, %ind: tensor<3x4xi32>, %w: tensor<3x6x5xf32>) {
  // expected-error @+1 {{operand 'w' has type 'tensor<3x6x5xf32>' but must be [E,J,I] with I = 6 at dim 2; it looks untransposed (drop 'transposed')}}
  %y = egs.gather_matmul %x[%ind] * %w transposed : (tensor<10x6xf32>, tensor<3x4xi32>, tensor<3x6x5xf32>) -> tensor<3x4x5xf32>
  return
}

// -----

func.func @gather_matmul_transposed_unmarked(%x: tensor<10x6xf32>, %ind: tensor<3x4xi32>, %w: tensor<3x5x6xf32>) {
  // expected-error @+1 {{operand 'w' has type 'tensor<3x5x6xf32>' but must be [E,I,J] with I = 6 at dim 1; it looks transposed (swapped dims 1 and 2; mark it 'transposed' to read it in place)}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<10x6xf32>, tensor<3x4xi32>, tensor<3x5x6xf32>) -> tensor<3x4x5xf32>
  return
}

// -----

func.func @gather_matmul_transposed_result(%x: tensor<10x6xf32>, %ind: tensor<3x4xi32>, %w: tensor<3x5x6xf32>) {
  // expected-error @+1 {{result 'y' dim 2 is 6, expected 5 (J = 5 from operand 'w' dim 1 [E,J,I]); result 'y' must be [E,K,J]}}
  %y = egs.gather_matmul %x[%ind] * %w transposed : (tensor<10x6xf32>, tensor<3x4xi32>, tensor<3x5x6xf32>) -> tensor<3x4x6xf32>
  return
}

// -----

func.func @matmul_scatter_transposed_unmarked(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'w' has type 'tensor<4x8x6xf32>' but must be [E,J,I] with J = 6 at dim 1; it looks transposed (swapped dims 1 and 2; mark it 'transposed' to read it in place)}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}
