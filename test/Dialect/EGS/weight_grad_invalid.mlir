// RUN: egs-opt %s -split-input-file -verify-diagnostics

func.func @lhs_rank(%a: tensor<12x6xf32>, %b: tensor<4x3x5xf32>) {
  // expected-error @+1 {{operand 'lhs' must have rank 4 [B,E,K,I] or 3 [E,K,I] (expert-choice form), got 'tensor<12x6xf32>'}}
  %dw = egs.weight_grad %a * %b : (tensor<12x6xf32>, tensor<4x3x5xf32>) -> tensor<4x6x5xf32>
  return
}

// -----

func.func @ind_rank(%a: tensor<10x6xf32>, %i: tensor<12xi32>, %b: tensor<4x3x5xf32>) {
  // expected-error @+1 {{operand 'lhs_ind' must have rank 3 [B,E,K] or 2 [E,K] (expert-choice form), got 'tensor<12xi32>'}}
  %dw = egs.weight_grad %a[%i] * %b : (tensor<10x6xf32>, tensor<12xi32>, tensor<4x3x5xf32>) -> tensor<4x6x5xf32>
  return
}

// -----

func.func @slot_mismatch(%a: tensor<10x6xf32>, %i: tensor<4x3xi32>, %b: tensor<4x2x5xf32>) {
  // expected-error @+1 {{operand 'rhs' dim 1 is 2, expected 3 (K = 3 from operand 'lhs_ind' dim 1 [E,K]); operand 'rhs' must be [E,K,J]}}
  %dw = egs.weight_grad %a[%i] * %b : (tensor<10x6xf32>, tensor<4x3xi32>, tensor<4x2x5xf32>) -> tensor<4x6x5xf32>
  return
}

// -----

func.func @ragged_rows_mismatch(%x: tensor<10x6xf32>, %rows: tensor<7xi32>, %dy: tensor<8x5xf32>, %off: tensor<3xi32>) {
  // expected-error @+1 {{operand 'rhs' dim 0 is 8, expected 7 (R = 7 from operand 'lhs_ind' dim 0 [R]); operand 'rhs' must be [R,J]}}
  %dw = egs.weight_grad %x[%rows] * %dy offsets %off : (tensor<10x6xf32>, tensor<7xi32>, tensor<8x5xf32>, tensor<3xi32>) -> tensor<2x6x5xf32>
  return
}

// -----

func.func @tokens_mismatch(%x: tensor<10x6xf32>, %ix: tensor<7xi32>, %d: tensor<9x5xf32>, %id: tensor<7xi32>, %off: tensor<3xi32>) {
  // expected-error @+1 {{operand 'rhs' dim 0 is 9, expected 10 (T = 10 from operand 'lhs' dim 0 [T,I]); operand 'rhs' must be [T,J]}}
  %dw = egs.weight_grad %x[%ix] * %d[%id] offsets %off : (tensor<10x6xf32>, tensor<7xi32>, tensor<9x5xf32>, tensor<7xi32>, tensor<3xi32>) -> tensor<2x6x5xf32>
  return
}

// -----

func.func @offsets_length(%x: tensor<10x6xf32>, %rows: tensor<7xi32>, %dy: tensor<7x5xf32>, %off: tensor<4xi32>) {
  // expected-error @+1 {{operand 'expert_offsets' dim 0 is 4, expected 3 (E = 2 from result 'dw' dim 0 [E,I,J]); operand 'expert_offsets' must be [E+1]}}
  %dw = egs.weight_grad %x[%rows] * %dy offsets %off : (tensor<10x6xf32>, tensor<7xi32>, tensor<7x5xf32>, tensor<4xi32>) -> tensor<2x6x5xf32>
  return
}

// -----

func.func @dw_shape(%x: tensor<10x6xf32>, %rows: tensor<7xi32>, %dy: tensor<7x5xf32>, %off: tensor<3xi32>) {
  // expected-error @+1 {{result 'dw' dim 1 is 5, expected 6 (I = 6 from operand 'lhs' dim 1 [T,I]); result 'dw' must be [E,I,J]}}
  %dw = egs.weight_grad %x[%rows] * %dy offsets %off : (tensor<10x6xf32>, tensor<7xi32>, tensor<7x5xf32>, tensor<3xi32>) -> tensor<2x5x5xf32>
  return
}

// -----

func.func @scale_shape(%y: tensor<7x6xf32>, %d: tensor<10x5xf32>, %rows: tensor<7xi32>, %off: tensor<3xi32>, %s: tensor<6xf32>) {
  // expected-error @+1 {{operand 'scale' dim 0 is 6, expected 7 (R = 7 from operand 'lhs' dim 0 [R,I]); operand 'scale' must be [R]}}
  %dw = egs.weight_grad %y * %d[%rows] offsets %off scale %s : (tensor<7x6xf32>, tensor<10x5xf32>, tensor<7xi32>, tensor<3xi32>, tensor<6xf32>) -> tensor<2x6x5xf32>
  return
}

// -----

func.func @index_type(%x: tensor<10x6xf32>, %rows: tensor<7xf32>, %dy: tensor<7x5xf32>, %off: tensor<3xi32>) {
  // expected-error @+1 {{operand 'lhs_ind' must have i32 or i64 elements, got 'f32'}}
  %dw = egs.weight_grad %x[%rows] * %dy offsets %off : (tensor<10x6xf32>, tensor<7xf32>, tensor<7x5xf32>, tensor<3xi32>) -> tensor<2x6x5xf32>
  return
}

// -----

func.func @offsets_type(%x: tensor<10x6xf32>, %rows: tensor<7xi32>, %dy: tensor<7x5xf32>, %off: tensor<3xf32>) {
  // expected-error @+1 {{operand 'expert_offsets' must have i32 or i64 elements, got 'f32'}}
  %dw = egs.weight_grad %x[%rows] * %dy offsets %off : (tensor<10x6xf32>, tensor<7xi32>, tensor<7x5xf32>, tensor<3xf32>) -> tensor<2x6x5xf32>
  return
}

// -----

func.func @data_type(%x: tensor<10x6xi8>, %rows: tensor<7xi32>, %dy: tensor<7x5xi8>, %off: tensor<3xi32>) {
  // expected-error @+1 {{operand 'lhs' must have f32, f16 or bf16 elements, got 'i8'}}
  %dw = egs.weight_grad %x[%rows] * %dy offsets %off : (tensor<10x6xi8>, tensor<7xi32>, tensor<7x5xi8>, tensor<3xi32>) -> tensor<2x6x5xf32>
  return
}

// -----

func.func @mixed_types(%x: tensor<10x6xbf16>, %rows: tensor<7xi32>, %dy: tensor<7x5xf16>, %off: tensor<3xi32>) {
  // expected-error @+1 {{operand 'rhs' element type 'f16' must match operand 'lhs' ('bf16')}}
  %dw = egs.weight_grad %x[%rows] * %dy offsets %off : (tensor<10x6xbf16>, tensor<7xi32>, tensor<7x5xf16>, tensor<3xi32>) -> tensor<2x6x5xf32>
  return
}

// -----

func.func @dw_type(%x: tensor<10x6xbf16>, %rows: tensor<7xi32>, %dy: tensor<7x5xbf16>, %off: tensor<3xi32>) {
  // expected-error @+1 {{result 'dw' element type 'f16' must be f32 or match operand 'lhs' ('bf16')}}
  %dw = egs.weight_grad %x[%rows] * %dy offsets %off : (tensor<10x6xbf16>, tensor<7xi32>, tensor<7x5xbf16>, tensor<3xi32>) -> tensor<2x6x5xf16>
  return
}

// -----

func.func @scale_type(%y: tensor<7x6xf32>, %d: tensor<10x5xf32>, %rows: tensor<7xi32>, %off: tensor<3xi32>, %s: tensor<7xi32>) {
  // expected-error @+1 {{operand 'scale' must have f32, f16 or bf16 elements, got 'i32'}}
  %dw = egs.weight_grad %y * %d[%rows] offsets %off scale %s : (tensor<7x6xf32>, tensor<10x5xf32>, tensor<7xi32>, tensor<3xi32>, tensor<7xi32>) -> tensor<2x6x5xf32>
  return
}

// -----

func.func @tensor_no_result(%x: tensor<10x6xf32>, %rows: tensor<7xi32>, %dy: tensor<7x5xf32>, %off: tensor<3xi32>) {
  // expected-error @+1 {{tensor form must have 1 result(s), got 0}}
  egs.weight_grad %x[%rows] * %dy offsets %off : (tensor<10x6xf32>, tensor<7xi32>, tensor<7x5xf32>, tensor<3xi32>) -> ()
  return
}

// -----

func.func @memref_no_outs(%x: memref<10x6xf32>, %rows: memref<7xi32>, %dy: memref<7x5xf32>, %off: memref<3xi32>) {
  // expected-error @+1 {{memref form needs 1 outs(...) buffer(s), got 0}}
  egs.weight_grad %x[%rows] * %dy offsets %off : (memref<10x6xf32>, memref<7xi32>, memref<7x5xf32>, memref<3xi32>) -> ()
  return
}
