// RUN: egs-opt %s -split-input-file -verify-diagnostics

func.func @probs_rank(%xs: tensor<32x64xf32>, %map: tensor<32xi32>, %p: tensor<32xf32>) {
  // expected-error @+1 {{operand 'probs' must have rank 2 [T,k] but has type 'tensor<32xf32>'}}
  %o = egs.unpermute %xs[%map] * %p : (tensor<32x64xf32>, tensor<32xi32>, tensor<32xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @x_sorted_rank(%xs: tensor<32xf32>, %map: tensor<32xi32>, %p: tensor<16x2xf32>) {
  // expected-error @+1 {{operand 'x_sorted' must have rank 2 [R,H] but has type 'tensor<32xf32>'}}
  %o = egs.unpermute %xs[%map] * %p : (tensor<32xf32>, tensor<32xi32>, tensor<16x2xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @row_id_map_length(%xs: tensor<32x64xf32>, %map: tensor<16xi32>, %p: tensor<16x2xf32>) {
  // expected-error @+1 {{operand 'row_id_map' dim 0 is 16, expected 32 (k*T = 32 from T*k of operand 'probs'); operand 'row_id_map' must be [k*T]}}
  %o = egs.unpermute %xs[%map] * %p : (tensor<32x64xf32>, tensor<16xi32>, tensor<16x2xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @out_tokens(%xs: tensor<32x64xf32>, %map: tensor<32xi32>, %p: tensor<16x2xf32>) {
  // expected-error @+1 {{result 'out' dim 0 is 32, expected 16 (T = 16 from operand 'probs' dim 0 [T,k]); result 'out' must be [T,H]}}
  %o = egs.unpermute %xs[%map] * %p : (tensor<32x64xf32>, tensor<32xi32>, tensor<16x2xf32>) -> tensor<32x64xf32>
  return
}

// -----

func.func @out_hidden(%xs: tensor<32x64xf32>, %map: tensor<32xi32>, %p: tensor<16x2xf32>) {
  // expected-error @+1 {{result 'out' dim 1 is 32, expected 64 (H = 64 from operand 'x_sorted' dim 1 [R,H]); result 'out' must be [T,H]}}
  %o = egs.unpermute %xs[%map] * %p : (tensor<32x64xf32>, tensor<32xi32>, tensor<16x2xf32>) -> tensor<16x32xf32>
  return
}

// -----

func.func @row_id_map_float(%xs: tensor<32x64xf32>, %map: tensor<32xf32>, %p: tensor<16x2xf32>) {
  // expected-error @+1 {{operand 'row_id_map' must have i32 or i64 elements, got 'f32'}}
  %o = egs.unpermute %xs[%map] * %p : (tensor<32x64xf32>, tensor<32xf32>, tensor<16x2xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @x_sorted_integer(%xs: tensor<32x64xi8>, %map: tensor<32xi32>, %p: tensor<16x2xf32>) {
  // expected-error @+1 {{operand 'x_sorted' must have f32, f16 or bf16 elements, got 'i8'}}
  %o = egs.unpermute %xs[%map] * %p : (tensor<32x64xi8>, tensor<32xi32>, tensor<16x2xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @probs_integer(%xs: tensor<32x64xf32>, %map: tensor<32xi32>, %p: tensor<16x2xi32>) {
  // expected-error @+1 {{operand 'probs' must have f32, f16 or bf16 elements, got 'i32'}}
  %o = egs.unpermute %xs[%map] * %p : (tensor<32x64xf32>, tensor<32xi32>, tensor<16x2xi32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @out_element_type(%xs: tensor<32x64xbf16>, %map: tensor<32xi32>, %p: tensor<16x2xf32>) {
  // expected-error @+1 {{result 'out' element type 'f16' must be f32 or match operand 'x_sorted' ('bf16')}}
  %o = egs.unpermute %xs[%map] * %p : (tensor<32x64xbf16>, tensor<32xi32>, tensor<16x2xf32>) -> tensor<16x64xf16>
  return
}

// -----

func.func @tensor_memref_mix(%xs: tensor<32x64xf32>, %map: tensor<32xi32>, %p: memref<16x2xf32>) {
  // expected-error @+1 {{mixes tensors and memrefs: operand #0 has type 'tensor<32x64xf32>' but the memref form needs memrefs only}}
  %o = egs.unpermute %xs[%map] * %p : (tensor<32x64xf32>, tensor<32xi32>, memref<16x2xf32>) -> tensor<16x64xf32>
  return
}

// -----

func.func @memref_missing_outs(%xs: memref<32x64xf32>, %map: memref<32xi32>, %p: memref<16x2xf32>) {
  // expected-error @+1 {{memref form needs 1 outs(...) buffer(s), got 0}}
  egs.unpermute %xs[%map] * %p : (memref<32x64xf32>, memref<32xi32>, memref<16x2xf32>) -> ()
  return
}

// -----

func.func @memref_outs_shape(%xs: memref<32x64xf32>, %map: memref<32xi32>, %p: memref<16x2xf32>, %out: memref<16x32xf32>) {
  // expected-error @+1 {{outs buffer 'out' dim 1 is 32, expected 64 (H = 64 from operand 'x_sorted' dim 1 [R,H]); outs buffer 'out' must be [T,H]}}
  egs.unpermute %xs[%map] * %p outs(%out) : (memref<32x64xf32>, memref<32xi32>, memref<16x2xf32>, memref<16x32xf32>) -> ()
  return
}

// -----

func.func @tensor_no_result(%xs: tensor<32x64xf32>, %map: tensor<32xi32>, %p: tensor<16x2xf32>) {
  // expected-error @+1 {{tensor form must have 1 result(s), got 0}}
  egs.unpermute %xs[%map] * %p : (tensor<32x64xf32>, tensor<32xi32>, tensor<16x2xf32>) -> ()
  return
}
