// RUN: egs-opt %s -split-input-file -verify-diagnostics

func.func @x_rank(%x: tensor<1x2x16x8xf32>, %ind: tensor<2x4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{operand 'x' must have rank 3 [B,T,I] or 2 [T,I] (expert-choice form), got 'tensor<1x2x16x8xf32>'}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<1x2x16x8xf32>, tensor<2x4x3xi32>, tensor<4x8x6xf32>) -> tensor<2x4x3x6xf32>
  return
}

// -----

func.func @ind_rank_batched(%x: tensor<2x16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{operand 'ind' must have rank 3 [B,E,K] but has type 'tensor<4x3xi32>'}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<2x16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<2x4x3x6xf32>
  return
}

// -----

func.func @ind_rank_unbatched(%x: tensor<16x8xf32>, %ind: tensor<1x4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{operand 'ind' must have rank 2 [E,K] but has type 'tensor<1x4x3xi32>'}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf32>, tensor<1x4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @batch_mismatch(%x: tensor<2x16x8xf32>, %ind: tensor<3x4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{operand 'ind' dim 0 is 3, expected 2 (B = 2 from operand 'x' dim 0 [B,T,I]); operand 'ind' must be [B,E,K]}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<2x16x8xf32>, tensor<3x4x3xi32>, tensor<4x8x6xf32>) -> tensor<2x4x3x6xf32>
  return
}

// -----

// w is [E,J,I] instead of [E,I,J].
func.func @w_transposed(%x: tensor<2x16x8xbf16>, %ind: tensor<2x4x3xi32>, %w: tensor<4x6x8xbf16>) {
  // expected-error @+1 {{operand 'w' has type 'tensor<4x6x8xbf16>' but must be [E,I,J] with I = 8 at dim 1; it looks transposed (swapped dims 1 and 2; mark it 'transposed' to read it in place)}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<2x16x8xbf16>, tensor<2x4x3xi32>, tensor<4x6x8xbf16>) -> tensor<2x4x3x6xbf16>
  return
}

// -----

func.func @w_wrong_i(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x7x6xf32>) {
  // expected-error @+1 {{operand 'w' dim 1 is 7, expected 8 (I = 8 from operand 'x' dim 1 [T,I]); operand 'w' must be [E,I,J]}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x7x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @w_wrong_e(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<5x8x6xf32>) {
  // expected-error @+1 {{operand 'w' dim 0 is 5, expected 4 (E = 4 from operand 'ind' dim 0 [E,K]); operand 'w' must be [E,I,J]}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<5x8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @w_rank(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<8x6xf32>) {
  // expected-error @+1 {{operand 'w' must have rank 3 [E,I,J] but has type 'tensor<8x6xf32>'}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @y_wrong_k(%x: tensor<2x16x8xf32>, %ind: tensor<2x4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{result 'y' dim 2 is 5, expected 3 (K = 3 from operand 'ind' dim 2 [B,E,K]); result 'y' must be [B,E,K,J]}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<2x16x8xf32>, tensor<2x4x3xi32>, tensor<4x8x6xf32>) -> tensor<2x4x5x6xf32>
  return
}

// -----

func.func @y_wrong_j(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{result 'y' dim 2 is 7, expected 6 (J = 6 from operand 'w' dim 2 [E,I,J]); result 'y' must be [E,K,J]}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x7xf32>
  return
}

// -----

func.func @y_rank(%x: tensor<2x16x8xf32>, %ind: tensor<2x4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{result 'y' must have rank 4 [B,E,K,J] but has type 'tensor<8x3x6xf32>'}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<2x16x8xf32>, tensor<2x4x3xi32>, tensor<4x8x6xf32>) -> tensor<8x3x6xf32>
  return
}

// -----

func.func @swiglu_odd_j(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x7xf32>) {
  // expected-error @+1 {{activation swiglu needs an even J, got 7}}
  %y = egs.gather_matmul %x[%ind] * %w {activation = #egs.activation<swiglu>} : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x7xf32>) -> tensor<4x3x3xf32>
  return
}

// -----

// swiglu outputs J/2 columns, not J.
func.func @swiglu_not_halved(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{with activation swiglu result 'y' must have J/2 = 3 columns (J = 6 from operand 'w'), got 6}}
  %y = egs.gather_matmul %x[%ind] * %w {activation = #egs.activation<swiglu>} : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @bias_shape(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>, %b: tensor<4x8xf32>) {
  // expected-error @+1 {{operand 'bias' dim 1 is 8, expected 6 (J = 6 from operand 'w' dim 2 [E,I,J]); operand 'bias' must be [E,J]}}
  %y = egs.gather_matmul %x[%ind] * %w + %b : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>, tensor<4x8xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @bias_rank(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>, %b: tensor<6xf32>) {
  // expected-error @+1 {{operand 'bias' must have rank 2 [E,J] but has type 'tensor<6xf32>'}}
  %y = egs.gather_matmul %x[%ind] * %w + %b : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>, tensor<6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @bias_element_type(%x: tensor<16x8xbf16>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xbf16>, %b: tensor<4x6xf16>) {
  // expected-error @+1 {{operand 'bias' element type 'f16' must be f32 or match operand 'x' ('bf16')}}
  %y = egs.gather_matmul %x[%ind] * %w + %b : (tensor<16x8xbf16>, tensor<4x3xi32>, tensor<4x8x6xbf16>, tensor<4x6xf16>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @x_integer(%x: tensor<16x8xi32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xi32>) {
  // expected-error @+1 {{operand 'x' must have f32, f16 or bf16 elements, got 'i32'}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xi32>, tensor<4x3xi32>, tensor<4x8x6xi32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @x_f64(%x: tensor<16x8xf64>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf64>) {
  // expected-error @+1 {{operand 'x' must have f32, f16 or bf16 elements, got 'f64'}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf64>, tensor<4x3xi32>, tensor<4x8x6xf64>) -> tensor<4x3x6xf64>
  return
}

// -----

func.func @ind_float(%x: tensor<16x8xf32>, %ind: tensor<4x3xf32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{operand 'ind' must have i32 or i64 elements, got 'f32'}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf32>, tensor<4x3xf32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @ind_i16(%x: tensor<16x8xf32>, %ind: tensor<4x3xi16>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{operand 'ind' must have i32 or i64 elements, got 'i16'}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf32>, tensor<4x3xi16>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @ind_index(%x: tensor<16x8xf32>, %ind: tensor<4x3xindex>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{operand 'ind' must have i32 or i64 elements, got 'index'}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf32>, tensor<4x3xindex>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @y_integer(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{result 'y' must have f32, f16 or bf16 elements, got 'i32'}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xi32>
  return
}

// -----

func.func @y_wrong_element_type(%x: tensor<16x8xbf16>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xbf16>) {
  // expected-error @+1 {{result 'y' element type 'f16' must be f32 or match operand 'x' ('bf16')}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xbf16>, tensor<4x3xi32>, tensor<4x8x6xbf16>) -> tensor<4x3x6xf16>
  return
}

// -----

func.func @w_element_type(%x: tensor<16x8xbf16>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{operand 'w' element type 'f32' must match operand 'x' ('bf16')}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xbf16>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @ragged_x_rank(%x: tensor<2x16x8xf32>, %rows: tensor<32xi32>, %w: tensor<4x8x6xf32>, %off: tensor<5xi32>) {
  // expected-error @+1 {{operand 'x' must have rank 2 [T,I] but has type 'tensor<2x16x8xf32>'}}
  %y = egs.gather_matmul %x[%rows] * %w offsets %off : (tensor<2x16x8xf32>, tensor<32xi32>, tensor<4x8x6xf32>, tensor<5xi32>) -> tensor<32x6xf32>
  return
}

// -----

func.func @ragged_rows_rank(%x: tensor<16x8xf32>, %rows: tensor<4x8xi32>, %w: tensor<4x8x6xf32>, %off: tensor<5xi32>) {
  // expected-error @+1 {{operand 'rows' must have rank 1 [R] but has type 'tensor<4x8xi32>'}}
  %y = egs.gather_matmul %x[%rows] * %w offsets %off : (tensor<16x8xf32>, tensor<4x8xi32>, tensor<4x8x6xf32>, tensor<5xi32>) -> tensor<32x6xf32>
  return
}

// -----

func.func @ragged_rows_float(%x: tensor<16x8xf32>, %rows: tensor<32xf32>, %w: tensor<4x8x6xf32>, %off: tensor<5xi32>) {
  // expected-error @+1 {{operand 'rows' must have i32 or i64 elements, got 'f32'}}
  %y = egs.gather_matmul %x[%rows] * %w offsets %off : (tensor<16x8xf32>, tensor<32xf32>, tensor<4x8x6xf32>, tensor<5xi32>) -> tensor<32x6xf32>
  return
}

// -----

// expert_offsets must have E+1 = 5 entries for the 4 experts of w.
func.func @ragged_offsets_length(%x: tensor<16x8xf32>, %rows: tensor<32xi32>, %w: tensor<4x8x6xf32>, %off: tensor<4xi32>) {
  // expected-error @+1 {{operand 'expert_offsets' dim 0 is 4, expected 5 (E = 4 from operand 'w' dim 0 [E,I,J]); operand 'expert_offsets' must be [E+1]}}
  %y = egs.gather_matmul %x[%rows] * %w offsets %off : (tensor<16x8xf32>, tensor<32xi32>, tensor<4x8x6xf32>, tensor<4xi32>) -> tensor<32x6xf32>
  return
}

// -----

func.func @ragged_offsets_empty(%x: tensor<16x8xf32>, %rows: tensor<32xi32>, %w: tensor<?x8x6xf32>, %off: tensor<0xi32>) {
  // expected-error @+1 {{operand 'expert_offsets' dim 0 is 0 but must be at least 1}}
  %y = egs.gather_matmul %x[%rows] * %w offsets %off : (tensor<16x8xf32>, tensor<32xi32>, tensor<?x8x6xf32>, tensor<0xi32>) -> tensor<32x6xf32>
  return
}

// -----

func.func @ragged_offsets_rank(%x: tensor<16x8xf32>, %rows: tensor<32xi32>, %w: tensor<4x8x6xf32>, %off: tensor<1x5xi32>) {
  // expected-error @+1 {{operand 'expert_offsets' must have rank 1 [E+1] but has type 'tensor<1x5xi32>'}}
  %y = egs.gather_matmul %x[%rows] * %w offsets %off : (tensor<16x8xf32>, tensor<32xi32>, tensor<4x8x6xf32>, tensor<1x5xi32>) -> tensor<32x6xf32>
  return
}

// -----

func.func @ragged_offsets_float(%x: tensor<16x8xf32>, %rows: tensor<32xi32>, %w: tensor<4x8x6xf32>, %off: tensor<5xf32>) {
  // expected-error @+1 {{operand 'expert_offsets' must have i32 or i64 elements, got 'f32'}}
  %y = egs.gather_matmul %x[%rows] * %w offsets %off : (tensor<16x8xf32>, tensor<32xi32>, tensor<4x8x6xf32>, tensor<5xf32>) -> tensor<32x6xf32>
  return
}

// -----

func.func @ragged_y_rows(%x: tensor<16x8xf32>, %rows: tensor<32xi32>, %w: tensor<4x8x6xf32>, %off: tensor<5xi32>) {
  // expected-error @+1 {{result 'y' dim 0 is 16, expected 32 (R = 32 from operand 'rows' dim 0 [R]); result 'y' must be [R,J]}}
  %y = egs.gather_matmul %x[%rows] * %w offsets %off : (tensor<16x8xf32>, tensor<32xi32>, tensor<4x8x6xf32>, tensor<5xi32>) -> tensor<16x6xf32>
  return
}

// -----

func.func @ragged_w_transposed(%x: tensor<16x8xf16>, %rows: tensor<32xi32>, %w: tensor<4x6x8xf16>, %off: tensor<5xi32>) {
  // expected-error @+1 {{operand 'w' has type 'tensor<4x6x8xf16>' but must be [E,I,J] with I = 8 at dim 1; it looks transposed (swapped dims 1 and 2; mark it 'transposed' to read it in place)}}
  %y = egs.gather_matmul %x[%rows] * %w offsets %off : (tensor<16x8xf16>, tensor<32xi32>, tensor<4x6x8xf16>, tensor<5xi32>) -> tensor<32x6xf16>
  return
}

// -----

func.func @ragged_swiglu(%x: tensor<16x8xf32>, %rows: tensor<32xi32>, %w: tensor<4x8x12xf32>, %off: tensor<5xi32>) {
  // expected-error @+1 {{with activation swiglu result 'y' must have J/2 = 6 columns (J = 12 from operand 'w'), got 12}}
  %y = egs.gather_matmul %x[%rows] * %w offsets %off {activation = #egs.activation<swiglu>} : (tensor<16x8xf32>, tensor<32xi32>, tensor<4x8x12xf32>, tensor<5xi32>) -> tensor<32x12xf32>
  return
}

// -----

func.func @tensor_memref_mix(%x: tensor<16x8xf32>, %ind: memref<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{mixes tensors and memrefs: operand #0 has type 'tensor<16x8xf32>' but the memref form needs memrefs only}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf32>, memref<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

// A memref outs(...) buffer makes it the memref form, so the tensors are wrong.
func.func @tensor_with_outs(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>, %out: memref<4x3x6xf32>) {
  // expected-error @+1 {{mixes tensors and memrefs: operand #0 has type 'tensor<16x8xf32>' but the memref form needs memrefs only}}
  egs.gather_matmul %x[%ind] * %w outs(%out) : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>, memref<4x3x6xf32>) -> ()
  return
}

// -----

func.func @memref_missing_outs(%x: memref<16x8xf32>, %ind: memref<4x3xi32>, %w: memref<4x8x6xf32>) {
  // expected-error @+1 {{memref form needs 1 outs(...) buffer(s), got 0}}
  egs.gather_matmul %x[%ind] * %w : (memref<16x8xf32>, memref<4x3xi32>, memref<4x8x6xf32>) -> ()
  return
}

// -----

func.func @memref_with_result(%x: memref<16x8xf32>, %ind: memref<4x3xi32>, %w: memref<4x8x6xf32>, %out: memref<4x3x6xf32>) {
  // expected-error @+1 {{memref form must not have results}}
  %y = egs.gather_matmul %x[%ind] * %w outs(%out) : (memref<16x8xf32>, memref<4x3xi32>, memref<4x8x6xf32>, memref<4x3x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @memref_outs_shape(%x: memref<16x8xf32>, %ind: memref<4x3xi32>, %w: memref<4x8x6xf32>, %out: memref<4x3x8xf32>) {
  // expected-error @+1 {{outs buffer 'y' dim 2 is 8, expected 6 (J = 6 from operand 'w' dim 2 [E,I,J]); outs buffer 'y' must be [E,K,J]}}
  egs.gather_matmul %x[%ind] * %w outs(%out) : (memref<16x8xf32>, memref<4x3xi32>, memref<4x8x6xf32>, memref<4x3x8xf32>) -> ()
  return
}

// -----

func.func @memref_outs_element_type(%x: memref<16x8xbf16>, %ind: memref<4x3xi32>, %w: memref<4x8x6xbf16>, %out: memref<4x3x6xf16>) {
  // expected-error @+1 {{outs buffer 'y' element type 'f16' must be f32 or match operand 'x' ('bf16')}}
  egs.gather_matmul %x[%ind] * %w outs(%out) : (memref<16x8xbf16>, memref<4x3xi32>, memref<4x8x6xbf16>, memref<4x3x6xf16>) -> ()
  return
}

// -----

func.func @tensor_no_result(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{tensor form must have 1 result(s), got 0}}
  egs.gather_matmul %x[%ind] * %w : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> ()
  return
}

// -----

func.func @x_not_shaped(%x: f32, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor or memref, but got 'f32'}}
  %y = egs.gather_matmul %x[%ind] * %w : (f32, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @x_unranked(%x: tensor<*xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor or memref, but got 'tensor<*xf32>'}}
  %y = egs.gather_matmul %x[%ind] * %w : (tensor<*xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @interleaved_without_gate(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{'interleaved' needs a gated activation (swiglu or clamped_swiglu), got silu}}
  %y = egs.gather_matmul %x[%ind] * %w {activation = #egs.activation<silu>, interleaved} : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @alpha_on_swiglu(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{'alpha' and 'limit' belong to activation clamped_swiglu, got swiglu}}
  %y = egs.gather_matmul %x[%ind] * %w {activation = #egs.activation<swiglu>, alpha = 1.5 : f32} : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x3xf32>
  return
}

// -----

func.func @limit_without_activation(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{'alpha' and 'limit' belong to activation clamped_swiglu, got none}}
  %y = egs.gather_matmul %x[%ind] * %w {limit = 7.0 : f32} : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @clamped_limit_negative(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{'limit' must be positive and finite, got -1}}
  %y = egs.gather_matmul %x[%ind] * %w {activation = #egs.activation<clamped_swiglu>, limit = -1.0 : f32} : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x3xf32>
  return
}

// -----

func.func @clamped_alpha_nan(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{'alpha' must be finite, got nan}}
  %y = egs.gather_matmul %x[%ind] * %w {activation = #egs.activation<clamped_swiglu>, alpha = 0x7FC00000 : f32} : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x3xf32>
  return
}

// -----

func.func @clamped_not_halved(%x: tensor<16x8xf32>, %rows: tensor<32xi32>, %w: tensor<4x8x12xf32>, %off: tensor<5xi32>) {
  // expected-error @+1 {{with activation clamped_swiglu result 'y' must have J/2 = 6 columns (J = 12 from operand 'w'), got 12}}
  %y = egs.gather_matmul %x[%rows] * %w offsets %off {activation = #egs.activation<clamped_swiglu>, interleaved} : (tensor<16x8xf32>, tensor<32xi32>, tensor<4x8x12xf32>, tensor<5xi32>) -> tensor<32x12xf32>
  return
}
