// RUN: egs-opt %s -split-input-file -verify-diagnostics

func.func @y_rank(%y: tensor<12x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xf32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'y' must have rank 4 [B,E,K,J] or 3 [E,K,J] (expert-choice form), got 'tensor<12x6xf32>'}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<12x6xf32>, tensor<4x3xi32>, tensor<4x6x8xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @ind_rank(%y: tensor<2x4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xf32>, %init: tensor<2x16x8xf32>) {
  // expected-error @+1 {{operand 'ind' must have rank 3 [B,E,K] but has type 'tensor<4x3xi32>'}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<2x4x3x6xf32>, tensor<4x3xi32>, tensor<4x6x8xf32>, tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  return
}

// -----

func.func @ind_shape(%y: tensor<4x3x6xf32>, %ind: tensor<4x2xi32>, %w: tensor<4x6x8xf32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'ind' dim 1 is 2, expected 3 (K = 3 from operand 'y' dim 1 [E,K,J]); operand 'ind' must be [E,K]}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xf32>, tensor<4x2xi32>, tensor<4x6x8xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @batch_mismatch(%y: tensor<2x4x3x6xf32>, %ind: tensor<2x4x3xi32>, %w: tensor<4x6x8xf32>, %init: tensor<3x16x8xf32>) {
  // expected-error @+1 {{operand 'init' dim 0 is 3, expected 2 (B = 2 from operand 'y' dim 0 [B,E,K,J]); operand 'init' must be [B,T,I]}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<2x4x3x6xf32>, tensor<2x4x3xi32>, tensor<4x6x8xf32>, tensor<3x16x8xf32>) -> tensor<3x16x8xf32>
  return
}

// -----

func.func @init_rank(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xf32>, %init: tensor<1x16x8xf32>) {
  // expected-error @+1 {{operand 'init' must have rank 2 [T,I] but has type 'tensor<1x16x8xf32>'}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<4x6x8xf32>, tensor<1x16x8xf32>) -> tensor<1x16x8xf32>
  return
}

// -----

// w is [E,I,J] (the gather_matmul layout) instead of [E,J,I].
func.func @w_transposed(%y: tensor<4x3x6xbf16>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xbf16>, %init: tensor<16x8xbf16>) {
  // expected-error @+1 {{operand 'w' has type 'tensor<4x8x6xbf16>' but must be [E,J,I] with J = 6 at dim 1; it looks transposed (swapped dims 1 and 2; mark it 'transposed' to read it in place)}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xbf16>, tensor<4x3xi32>, tensor<4x8x6xbf16>, tensor<16x8xbf16>) -> tensor<16x8xbf16>
  return
}

// -----

func.func @w_wrong_e(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<2x6x8xf32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'w' dim 0 is 2, expected 4 (E = 4 from operand 'y' dim 0 [E,K,J]); operand 'w' must be [E,J,I]}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<2x6x8xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @w_wrong_i(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x6x7xf32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'w' dim 2 is 7, expected 8 (I = 8 from operand 'init' dim 1 [T,I]); operand 'w' must be [E,J,I]}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<4x6x7xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @scale_shape(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xf32>, %init: tensor<16x8xf32>, %s: tensor<3x4xf32>) {
  // expected-error @+1 {{operand 'scale' dim 0 is 3, expected 4 (E = 4 from operand 'y' dim 0 [E,K,J]); operand 'scale' must be [E,K]}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] scale %s : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<4x6x8xf32>, tensor<16x8xf32>, tensor<3x4xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @result_type(%y: tensor<4x3x6xbf16>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xbf16>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{result type 'tensor<16x8xbf16>' must equal operand 'init' type 'tensor<16x8xf32>'}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xbf16>, tensor<4x3xi32>, tensor<4x6x8xbf16>, tensor<16x8xf32>) -> tensor<16x8xbf16>
  return
}

// -----

func.func @result_shape(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xf32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{result type 'tensor<?x8xf32>' must equal operand 'init' type 'tensor<16x8xf32>'}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<4x6x8xf32>, tensor<16x8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @y_integer(%y: tensor<4x3x6xi32>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xi32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'y' must have f32, f16 or bf16 elements, got 'i32'}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xi32>, tensor<4x3xi32>, tensor<4x6x8xi32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @ind_float(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xf16>, %w: tensor<4x6x8xf32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'ind' must have i32 or i64 elements, got 'f16'}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xf32>, tensor<4x3xf16>, tensor<4x6x8xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @init_integer(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xf32>, %init: tensor<16x8xi32>) {
  // expected-error @+1 {{operand 'init' must have f32, f16 or bf16 elements, got 'i32'}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<4x6x8xf32>, tensor<16x8xi32>) -> tensor<16x8xi32>
  return
}

// -----

func.func @scale_integer(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xf32>, %init: tensor<16x8xf32>, %s: tensor<4x3xi32>) {
  // expected-error @+1 {{operand 'scale' must have f32, f16 or bf16 elements, got 'i32'}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] scale %s : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<4x6x8xf32>, tensor<16x8xf32>, tensor<4x3xi32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @w_element_type(%y: tensor<4x3x6xbf16>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xf16>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'w' element type 'f16' must match operand 'y' ('bf16')}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xbf16>, tensor<4x3xi32>, tensor<4x6x8xf16>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @init_element_type(%y: tensor<4x3x6xbf16>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xbf16>, %init: tensor<16x8xf16>) {
  // expected-error @+1 {{operand 'init' element type 'f16' must be f32 or match operand 'y' ('bf16')}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xbf16>, tensor<4x3xi32>, tensor<4x6x8xbf16>, tensor<16x8xf16>) -> tensor<16x8xf16>
  return
}

// -----

func.func @ragged_y_rank(%y: tensor<4x8x6xf32>, %rows: tensor<32xi32>, %w: tensor<4x6x8xf32>, %off: tensor<5xi32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'y' must have rank 2 [R,J] but has type 'tensor<4x8x6xf32>'}}
  %o = egs.matmul_scatter %y * %w offsets %off into %init[%rows] : (tensor<4x8x6xf32>, tensor<32xi32>, tensor<4x6x8xf32>, tensor<5xi32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @ragged_rows_length(%y: tensor<32x6xf32>, %rows: tensor<30xi32>, %w: tensor<4x6x8xf32>, %off: tensor<5xi32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'rows' dim 0 is 30, expected 32 (R = 32 from operand 'y' dim 0 [R,J]); operand 'rows' must be [R]}}
  %o = egs.matmul_scatter %y * %w offsets %off into %init[%rows] : (tensor<32x6xf32>, tensor<30xi32>, tensor<4x6x8xf32>, tensor<5xi32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @ragged_rows_float(%y: tensor<32x6xf32>, %rows: tensor<32xbf16>, %w: tensor<4x6x8xf32>, %off: tensor<5xi32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'rows' must have i32 or i64 elements, got 'bf16'}}
  %o = egs.matmul_scatter %y * %w offsets %off into %init[%rows] : (tensor<32x6xf32>, tensor<32xbf16>, tensor<4x6x8xf32>, tensor<5xi32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @ragged_offsets_length(%y: tensor<32x6xf32>, %rows: tensor<32xi32>, %w: tensor<8x6x8xf32>, %off: tensor<5xi32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'expert_offsets' dim 0 is 5, expected 9 (E = 8 from operand 'w' dim 0 [E,J,I]); operand 'expert_offsets' must be [E+1]}}
  %o = egs.matmul_scatter %y * %w offsets %off into %init[%rows] : (tensor<32x6xf32>, tensor<32xi32>, tensor<8x6x8xf32>, tensor<5xi32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @ragged_offsets_float(%y: tensor<32x6xf32>, %rows: tensor<32xi32>, %w: tensor<4x6x8xf32>, %off: tensor<5xf32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'expert_offsets' must have i32 or i64 elements, got 'f32'}}
  %o = egs.matmul_scatter %y * %w offsets %off into %init[%rows] : (tensor<32x6xf32>, tensor<32xi32>, tensor<4x6x8xf32>, tensor<5xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @ragged_init_rank(%y: tensor<32x6xf32>, %rows: tensor<32xi32>, %w: tensor<4x6x8xf32>, %off: tensor<5xi32>, %init: tensor<1x16x8xf32>) {
  // expected-error @+1 {{operand 'init' must have rank 2 [T,I] but has type 'tensor<1x16x8xf32>'}}
  %o = egs.matmul_scatter %y * %w offsets %off into %init[%rows] : (tensor<32x6xf32>, tensor<32xi32>, tensor<4x6x8xf32>, tensor<5xi32>, tensor<1x16x8xf32>) -> tensor<1x16x8xf32>
  return
}

// -----

func.func @ragged_scale_shape(%y: tensor<32x6xf32>, %rows: tensor<32xi32>, %w: tensor<4x6x8xf32>, %off: tensor<5xi32>, %init: tensor<16x8xf32>, %s: tensor<16xf32>) {
  // expected-error @+1 {{operand 'scale' dim 0 is 16, expected 32 (R = 32 from operand 'y' dim 0 [R,J]); operand 'scale' must be [R]}}
  %o = egs.matmul_scatter %y * %w offsets %off into %init[%rows] scale %s : (tensor<32x6xf32>, tensor<32xi32>, tensor<4x6x8xf32>, tensor<5xi32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @ragged_w_transposed(%y: tensor<32x6xf32>, %rows: tensor<32xi32>, %w: tensor<4x8x6xf32>, %off: tensor<5xi32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'w' has type 'tensor<4x8x6xf32>' but must be [E,J,I] with J = 6 at dim 1; it looks transposed (swapped dims 1 and 2; mark it 'transposed' to read it in place)}}
  %o = egs.matmul_scatter %y * %w offsets %off into %init[%rows] : (tensor<32x6xf32>, tensor<32xi32>, tensor<4x8x6xf32>, tensor<5xi32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @tensor_memref_mix(%y: memref<4x3x6xf32>, %ind: memref<4x3xi32>, %w: memref<4x6x8xf32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{mixes tensors and memrefs: operand #3 has type 'tensor<16x8xf32>' but the memref form needs memrefs only}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (memref<4x3x6xf32>, memref<4x3xi32>, memref<4x6x8xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @memref_with_result(%y: memref<4x3x6xf32>, %ind: memref<4x3xi32>, %w: memref<4x6x8xf32>, %init: memref<16x8xf32>) {
  // expected-error @+1 {{memref form must not have results}}
  %o = egs.matmul_scatter %y * %w into %init[%ind] : (memref<4x3x6xf32>, memref<4x3xi32>, memref<4x6x8xf32>, memref<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @tensor_no_result(%y: tensor<4x3x6xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x6x8xf32>, %init: tensor<16x8xf32>) {
  // expected-error @+1 {{tensor form must have 1 result(s), got 0}}
  egs.matmul_scatter %y * %w into %init[%ind] : (tensor<4x3x6xf32>, tensor<4x3xi32>, tensor<4x6x8xf32>, tensor<16x8xf32>) -> ()
  return
}
