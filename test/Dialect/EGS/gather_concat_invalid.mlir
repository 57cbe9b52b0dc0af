// RUN: egs-opt %s -split-input-file -verify-diagnostics

func.func @no_sources() {
  // expected-error @+1 {{needs at least one source}}
  %c = egs.gather_concat () [] axis = 0 dim = 0 : () -> tensor<3x4xf32>
  return
}

// -----

func.func @index_count(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>, %ia: tensor<3xi32>) {
  // expected-error @+1 {{has 2 sources but 1 index operands}}
  %c = egs.gather_concat (%a, %b)[%ia] axis = 0 dim = 1 : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi32>) -> tensor<3x8xf32>
  return
}

// -----

func.func @permutation_count(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>, %ia: tensor<3xi32>, %ib: tensor<3xi32>) {
  // expected-error @+1 {{has 2 sources but 1 permutations}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 permutations = [array<i64: 1, 0>] : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi32>, tensor<3xi32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @permutations_not_arrays(%a: tensor<10x4xf32>, %ia: tensor<3xi32>) {
  // expected-error @+1 {{attribute 'permutations' failed to satisfy constraint: one permutation per source}}
  %c = egs.gather_concat (%a)[%ia] axis = 0 dim = 1 permutations = [[1, 0]] : (tensor<10x4xf32>, tensor<3xi32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @index_float(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>, %ia: tensor<3xi32>, %ib: tensor<3xf32>) {
  // expected-error @+1 {{index operand #1 must have i32 or i64 elements, got 'f32'}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi32>, tensor<3xf32>) -> tensor<3x8xf32>
  return
}

// -----

func.func @source_element_type(%a: tensor<10x4xf32>, %b: tensor<12x4xf16>, %ia: tensor<3xi32>, %ib: tensor<3xi32>) {
  // expected-error @+1 {{source #1 element type 'f16' must match source #0 ('f32')}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 : (tensor<10x4xf32>, tensor<12x4xf16>, tensor<3xi32>, tensor<3xi32>) -> tensor<3x8xf32>
  return
}

// -----

func.func @axis_out_of_range(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>, %ia: tensor<3xi32>, %ib: tensor<3xi32>) {
  // expected-error @+1 {{axis = 2 must be in [0, 2) for source #0 of type 'tensor<10x4xf32>'}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 2 dim = 1 : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi32>, tensor<3xi32>) -> tensor<3x8xf32>
  return
}

// -----

func.func @axis_out_of_range_second(%a: tensor<10x4x2xf32>, %b: tensor<12x4xf32>, %ia: tensor<3xi32>, %ib: tensor<3xi32>) {
  // expected-error @+1 {{axis = 2 must be in [0, 2) for source #1 of type 'tensor<12x4xf32>'}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 2 dim = 1 : (tensor<10x4x2xf32>, tensor<12x4xf32>, tensor<3xi32>, tensor<3xi32>) -> tensor<10x8x3xf32>
  return
}

// -----

func.func @permutation_invalid(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>, %ia: tensor<3xi32>, %ib: tensor<3xi32>) {
  // expected-error @+1 {{permutation #1 [0, 0] is not a permutation of [0, 2)}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 permutations = [array<i64: 1, 0>, array<i64: 0, 0>] : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi32>, tensor<3xi32>) -> tensor<4x6xf32>
  return
}

// -----

func.func @permutation_length(%a: tensor<10x4xf32>, %ia: tensor<3xi32>) {
  // expected-error @+1 {{permutation #0 has 3 entries but the gathered value has rank 2}}
  %c = egs.gather_concat (%a)[%ia] axis = 0 dim = 1 permutations = [array<i64: 2, 1, 0>] : (tensor<10x4xf32>, tensor<3xi32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @dim_out_of_range(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>, %ia: tensor<3xi32>, %ib: tensor<3xi32>) {
  // expected-error @+1 {{dim = 2 must be in [0, 2)}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 2 : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi32>, tensor<3xi32>) -> tensor<3x8xf32>
  return
}

// -----

func.func @dim_negative(%a: tensor<10x4xf32>, %ia: tensor<3xi32>) {
  // expected-error @+1 {{dim = -1 must be in [0, 2)}}
  %c = egs.gather_concat (%a)[%ia] axis = 0 dim = -1 : (tensor<10x4xf32>, tensor<3xi32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @piece_rank(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>, %ia: tensor<3xi32>, %ib: tensor<3x2xi32>) {
  // expected-error @+1 {{gathered source #1 has rank 3, source #0 has rank 2}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi32>, tensor<3x2xi32>) -> tensor<3x8xf32>
  return
}

// -----

func.func @piece_size(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>, %ia: tensor<3xi32>, %ib: tensor<5xi32>) {
  // expected-error @+1 {{gathered source #1 has size 5 in dim 0 but source #0 has 3 (only dim 1 may differ)}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi32>, tensor<5xi32>) -> tensor<3x8xf32>
  return
}

// -----

func.func @result_element_type(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>, %ia: tensor<3xi32>, %ib: tensor<3xi32>) {
  // expected-error @+1 {{result element type 'bf16' must match the sources ('f32')}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi32>, tensor<3xi32>) -> tensor<3x8xbf16>
  return
}

// -----

func.func @result_shape(%a: tensor<10x4xf32>, %b: tensor<12x4xf32>, %ia: tensor<3xi32>, %ib: tensor<3xi32>) {
  // expected-error @+1 {{result has type 'tensor<6x4xf32>' but its shape must be [3, 8]}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi32>, tensor<3xi32>) -> tensor<6x4xf32>
  return
}

// -----

func.func @tensor_memref_mix(%a: tensor<10x4xf32>, %b: memref<12x4xf32>, %ia: tensor<3xi32>, %ib: tensor<3xi32>) {
  // expected-error @+1 {{mixes tensors and memrefs: operand #0 has type 'tensor<10x4xf32>' but the memref form needs memrefs only}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 : (tensor<10x4xf32>, memref<12x4xf32>, tensor<3xi32>, tensor<3xi32>) -> tensor<3x8xf32>
  return
}

// -----

func.func @memref_missing_outs(%a: memref<10x4xf32>, %ia: memref<3xi32>) {
  // expected-error @+1 {{memref form needs 1 outs(...) buffer(s), got 0}}
  egs.gather_concat (%a)[%ia] axis = 0 dim = 1 : (memref<10x4xf32>, memref<3xi32>) -> ()
  return
}

// -----

func.func @memref_outs_shape(%a: memref<10x4xf32>, %ia: memref<3xi32>, %out: memref<4x3xf32>) {
  // expected-error @+1 {{outs buffer has type 'memref<4x3xf32>' but its shape must be [3, 4]}}
  egs.gather_concat (%a)[%ia] axis = 0 dim = 1 outs(%out) : (memref<10x4xf32>, memref<3xi32>, memref<4x3xf32>) -> ()
  return
}

// -----

func.func @tensor_no_result(%a: tensor<10x4xf32>, %ia: tensor<3xi32>) {
  // expected-error @+1 {{tensor form must have 1 result(s), got 0}}
  egs.gather_concat (%a)[%ia] axis = 0 dim = 1 : (tensor<10x4xf32>, tensor<3xi32>) -> ()
  return
}

// -----

func.func @source_complex_f32(%a: tensor<10x4xcomplex<f32>>, %b: tensor<12x4xcomplex<f32>>, %ia: tensor<3xi32>, %ib: tensor<3xi32>) {
  // expected-error @+1 {{source #0 element type 'complex<f32>' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 : (tensor<10x4xcomplex<f32>>, tensor<12x4xcomplex<f32>>, tensor<3xi32>, tensor<3xi32>) -> tensor<3x8xcomplex<f32>>
  return
}

// -----

func.func @source_vector_4xf32(%a: tensor<10x4xvector<4xf32>>, %b: tensor<12x4xvector<4xf32>>, %ia: tensor<3xi32>, %ib: tensor<3xi32>) {
  // expected-error @+1 {{source #0 element type 'vector<4xf32>' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 : (tensor<10x4xvector<4xf32>>, tensor<12x4xvector<4xf32>>, tensor<3xi32>, tensor<3xi32>) -> tensor<3x8xvector<4xf32>>
  return
}

// -----

func.func @source_f80(%a: tensor<10x4xf80>, %b: tensor<12x4xf80>, %ia: tensor<3xi32>, %ib: tensor<3xi32>) {
  // expected-error @+1 {{source #0 element type 'f80' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 : (tensor<10x4xf80>, tensor<12x4xf80>, tensor<3xi32>, tensor<3xi32>) -> tensor<3x8xf80>
  return
}

// -----

func.func @source_ui32(%a: tensor<10x4xui32>, %b: tensor<12x4xui32>, %ia: tensor<3xi32>, %ib: tensor<3xi32>) {
  // expected-error @+1 {{source #0 element type 'ui32' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1 : (tensor<10x4xui32>, tensor<12x4xui32>, tensor<3xi32>, tensor<3xi32>) -> tensor<3x8xui32>
  return
}
