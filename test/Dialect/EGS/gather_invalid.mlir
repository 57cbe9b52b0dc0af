// RUN: egs-opt %s -split-input-file -verify-diagnostics

func.func @ind_float(%x: tensor<100x64xf32>, %ind: tensor<8xf32>) {
  // expected-error @+1 {{operand 'ind' must have i32 or i64 elements, got 'f32'}}
  %g = egs.gather %x[%ind] axis = 0 : (tensor<100x64xf32>, tensor<8xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @axis_too_large(%x: tensor<100x64xf32>, %ind: tensor<8xi32>) {
  // expected-error @+1 {{axis = 2 must be in [0, 2) for operand 'x' of type 'tensor<100x64xf32>'}}
  %g = egs.gather %x[%ind] axis = 2 : (tensor<100x64xf32>, tensor<8xi32>) -> tensor<100x64x8xf32>
  return
}

// -----

func.func @axis_negative(%x: tensor<100x64xf32>, %ind: tensor<8xi32>) {
  // expected-error @+1 {{axis = -1 must be in [0, 2) for operand 'x' of type 'tensor<100x64xf32>'}}
  %g = egs.gather %x[%ind] axis = -1 : (tensor<100x64xf32>, tensor<8xi32>) -> tensor<100x8xf32>
  return
}

// -----

// With batch_dims = 1 the gather axis cannot be the batch dimension.
func.func @axis_in_batch(%x: tensor<2x100x64xf32>, %ind: tensor<2x8xi32>) {
  // expected-error @+1 {{axis = 0 must be in [1, 3) for operand 'x' of type 'tensor<2x100x64xf32>'}}
  %g = egs.gather %x[%ind] axis = 0 {batch_dims = 1} : (tensor<2x100x64xf32>, tensor<2x8xi32>) -> tensor<2x8x64xf32>
  return
}

// -----

func.func @batch_dims_too_large(%x: tensor<2x100x64xf32>, %ind: tensor<2x8xi32>) {
  // expected-error @+1 {{batch_dims = 3 must be in [0, 2]}}
  %g = egs.gather %x[%ind] axis = 2 {batch_dims = 3} : (tensor<2x100x64xf32>, tensor<2x8xi32>) -> tensor<2x8x64xf32>
  return
}

// -----

func.func @batch_dims_negative(%x: tensor<2x100x64xf32>, %ind: tensor<2x8xi32>) {
  // expected-error @+1 {{batch_dims = -1 must be in [0, 2]}}
  %g = egs.gather %x[%ind] axis = 1 {batch_dims = -1} : (tensor<2x100x64xf32>, tensor<2x8xi32>) -> tensor<2x8x64xf32>
  return
}

// -----

func.func @batch_dim_mismatch(%x: tensor<2x100x64xf32>, %ind: tensor<3x8xi32>) {
  // expected-error @+1 {{batch dim 0 of operand 'x' (2) and operand 'ind' (3) differ}}
  %g = egs.gather %x[%ind] axis = 1 {batch_dims = 1} : (tensor<2x100x64xf32>, tensor<3x8xi32>) -> tensor<2x8x64xf32>
  return
}

// -----

func.func @permutation_length(%x: tensor<100x64xf32>, %ind: tensor<8xi32>) {
  // expected-error @+1 {{permutation has 3 entries but the gathered value has rank 2}}
  %g = egs.gather %x[%ind] axis = 0 permutation = [2, 1, 0] : (tensor<100x64xf32>, tensor<8xi32>) -> tensor<64x8xf32>
  return
}

// -----

func.func @permutation_repeat(%x: tensor<100x64xf32>, %ind: tensor<8xi32>) {
  // expected-error @+1 {{permutation [0, 0] is not a permutation of [0, 2)}}
  %g = egs.gather %x[%ind] axis = 0 permutation = [0, 0] : (tensor<100x64xf32>, tensor<8xi32>) -> tensor<8x8xf32>
  return
}

// -----

func.func @permutation_out_of_range(%x: tensor<100x64xf32>, %ind: tensor<8xi32>) {
  // expected-error @+1 {{permutation [1, 2] is not a permutation of [0, 2)}}
  %g = egs.gather %x[%ind] axis = 0 permutation = [1, 2] : (tensor<100x64xf32>, tensor<8xi32>) -> tensor<64x8xf32>
  return
}

// -----

func.func @result_element_type(%x: tensor<100x64xf32>, %ind: tensor<8xi32>) {
  // expected-error @+1 {{result element type 'bf16' must match operand 'x' ('f32')}}
  %g = egs.gather %x[%ind] axis = 0 : (tensor<100x64xf32>, tensor<8xi32>) -> tensor<8x64xbf16>
  return
}

// -----

// The permutation was not applied to the result type.
func.func @result_not_permuted(%x: tensor<100x64xf32>, %ind: tensor<8xi32>) {
  // expected-error @+1 {{result has type 'tensor<8x64xf32>' but its shape must be [64, 8]}}
  %g = egs.gather %x[%ind] axis = 0 permutation = [1, 0] : (tensor<100x64xf32>, tensor<8xi32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @result_dynamic_expected(%x: tensor<100x?xf32>, %ind: tensor<8xi32>) {
  // expected-error @+1 {{result has type 'tensor<9x?xf32>' but its shape must be [8, ?]}}
  %g = egs.gather %x[%ind] axis = 0 : (tensor<100x?xf32>, tensor<8xi32>) -> tensor<9x?xf32>
  return
}

// -----

func.func @result_rank(%x: tensor<100x64xf32>, %ind: tensor<2x4xi32>) {
  // expected-error @+1 {{result has type 'tensor<8x64xf32>' but its shape must be [2, 4, 64]}}
  %g = egs.gather %x[%ind] axis = 0 : (tensor<100x64xf32>, tensor<2x4xi32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @tensor_memref_mix(%x: memref<100x64xf32>, %ind: tensor<8xi32>) {
  // expected-error @+1 {{mixes tensors and memrefs: operand #1 has type 'tensor<8xi32>' but the memref form needs memrefs only}}
  %g = egs.gather %x[%ind] axis = 0 : (memref<100x64xf32>, tensor<8xi32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @memref_missing_outs(%x: memref<100x64xf32>, %ind: memref<8xi32>) {
  // expected-error @+1 {{memref form needs 1 outs(...) buffer(s), got 0}}
  egs.gather %x[%ind] axis = 0 : (memref<100x64xf32>, memref<8xi32>) -> ()
  return
}

// -----

func.func @memref_outs_shape(%x: memref<100x64xf32>, %ind: memref<8xi32>, %out: memref<8x64xf32>) {
  // expected-error @+1 {{outs buffer has type 'memref<8x64xf32>' but its shape must be [64, 8]}}
  egs.gather %x[%ind] axis = 0 permutation = [1, 0] outs(%out) : (memref<100x64xf32>, memref<8xi32>, memref<8x64xf32>) -> ()
  return
}

// -----

func.func @memref_outs_element_type(%x: memref<100x64xf32>, %ind: memref<8xi32>, %out: memref<8x64xf16>) {
  // expected-error @+1 {{outs buffer element type 'f16' must match operand 'x' ('f32')}}
  egs.gather %x[%ind] axis = 0 outs(%out) : (memref<100x64xf32>, memref<8xi32>, memref<8x64xf16>) -> ()
  return
}

// -----

func.func @tensor_no_result(%x: tensor<100x64xf32>, %ind: tensor<8xi32>) {
  // expected-error @+1 {{tensor form must have 1 result(s), got 0}}
  egs.gather %x[%ind] axis = 0 : (tensor<100x64xf32>, tensor<8xi32>) -> ()
  return
}

// -----

func.func @missing_axis(%x: tensor<100x64xf32>, %ind: tensor<8xi32>) {
  // expected-error @+1 {{requires attribute 'axis'}}
  %g = "egs.gather"(%x, %ind) : (tensor<100x64xf32>, tensor<8xi32>) -> tensor<8x64xf32>
  return
}

// -----

// Element types the lowerings cannot move (issue 16): complex, vector, f80,
// index, sub-byte and signed/unsigned integers. Data of 8, 16, 32 or 64 bits
// (f64, i32, f8, ...) is accepted (test/Integration/CPU/data_movement_types.mlir).
func.func @x_complex_f32(%x: tensor<10x4xcomplex<f32>>, %ind: tensor<3xi32>) {
  // expected-error @+1 {{operand 'x' element type 'complex<f32>' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %g = egs.gather %x[%ind] axis = 0 : (tensor<10x4xcomplex<f32>>, tensor<3xi32>) -> tensor<3x4xcomplex<f32>>
  return
}

// -----

func.func @x_vector_4xf32(%x: tensor<10x4xvector<4xf32>>, %ind: tensor<3xi32>) {
  // expected-error @+1 {{operand 'x' element type 'vector<4xf32>' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %g = egs.gather %x[%ind] axis = 0 : (tensor<10x4xvector<4xf32>>, tensor<3xi32>) -> tensor<3x4xvector<4xf32>>
  return
}

// -----

func.func @x_f80(%x: tensor<10x4xf80>, %ind: tensor<3xi32>) {
  // expected-error @+1 {{operand 'x' element type 'f80' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %g = egs.gather %x[%ind] axis = 0 : (tensor<10x4xf80>, tensor<3xi32>) -> tensor<3x4xf80>
  return
}

// -----

func.func @x_index(%x: tensor<10x4xindex>, %ind: tensor<3xi32>) {
  // expected-error @+1 {{operand 'x' element type 'index' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %g = egs.gather %x[%ind] axis = 0 : (tensor<10x4xindex>, tensor<3xi32>) -> tensor<3x4xindex>
  return
}

// -----

func.func @x_i1(%x: tensor<10x4xi1>, %ind: tensor<3xi32>) {
  // expected-error @+1 {{operand 'x' element type 'i1' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %g = egs.gather %x[%ind] axis = 0 : (tensor<10x4xi1>, tensor<3xi32>) -> tensor<3x4xi1>
  return
}

// -----

func.func @x_ui32(%x: tensor<10x4xui32>, %ind: tensor<3xi32>) {
  // expected-error @+1 {{operand 'x' element type 'ui32' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %g = egs.gather %x[%ind] axis = 0 : (tensor<10x4xui32>, tensor<3xi32>) -> tensor<3x4xui32>
  return
}

// -----

func.func @x_si8(%x: tensor<10x4xsi8>, %ind: tensor<3xi32>) {
  // expected-error @+1 {{operand 'x' element type 'si8' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %g = egs.gather %x[%ind] axis = 0 : (tensor<10x4xsi8>, tensor<3xi32>) -> tensor<3x4xsi8>
  return
}

// -----

func.func @x_f128(%x: tensor<10x4xf128>, %ind: tensor<3xi32>) {
  // expected-error @+1 {{operand 'x' element type 'f128' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %g = egs.gather %x[%ind] axis = 0 : (tensor<10x4xf128>, tensor<3xi32>) -> tensor<3x4xf128>
  return
}

// -----

func.func @x_memref_complex(%x: memref<10x4xcomplex<f32>>, %ind: memref<3xi32>, %out: memref<3x4xcomplex<f32>>) {
  // expected-error @+1 {{operand 'x' element type 'complex<f32>' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  egs.gather %x[%ind] axis = 0 outs(%out) : (memref<10x4xcomplex<f32>>, memref<3xi32>, memref<3x4xcomplex<f32>>) -> ()
  return
}
