// RUN: egs-opt %s -split-input-file -verify-diagnostics

func.func @zero_iterations(%l: tensor<16x8xf32>) {
  // expected-error @+1 {{iterations must be at least 1, got 0}}
  %p = egs.sinkhorn %l iterations = 0 : (tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @negative_tolerance(%l: tensor<16x8xf32>) {
  // expected-error @+1 {{tolerance must be a finite value >= 0, got -1}}
  %p = egs.sinkhorn %l iterations = 3 tolerance = -1.0 : (tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @nan_tolerance(%l: tensor<16x8xf32>) {
  // expected-error @+1 {{tolerance must be a finite value >= 0, got nan}}
  %p = egs.sinkhorn %l iterations = 3 tolerance = 0x7FC00000 : (tensor<16x8xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @logits_rank(%l: tensor<16xf32>) {
  // expected-error @+1 {{operand 'logits' must have rank 2 [T,E] but has type 'tensor<16xf32>'}}
  %p = egs.sinkhorn %l iterations = 3 : (tensor<16xf32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @result_shape(%l: tensor<16x8xf32>) {
  // expected-error @+1 {{result 'p' dim 1 is 4, expected 8}}
  %p = egs.sinkhorn %l iterations = 3 : (tensor<16x8xf32>) -> tensor<16x4xf32>
  return
}

// -----

func.func @result_type(%l: tensor<16x8xbf16>) {
  // expected-error @+1 {{result 'p' element type 'bf16' must be f32}}
  %p = egs.sinkhorn %l iterations = 3 : (tensor<16x8xbf16>) -> tensor<16x8xbf16>
  return
}

// -----

func.func @integer_logits(%l: tensor<16x8xi32>) {
  // expected-error @+1 {{operand 'logits' must have f32, f16 or bf16 elements, got 'i32'}}
  %p = egs.sinkhorn %l iterations = 3 : (tensor<16x8xi32>) -> tensor<16x8xf32>
  return
}

// -----

func.func @memref_needs_outs(%l: memref<16x8xf32>) {
  // expected-error @+1 {{memref form needs 1 outs(...) buffer(s), got 0}}
  egs.sinkhorn %l iterations = 3 : (memref<16x8xf32>) -> ()
  return
}
