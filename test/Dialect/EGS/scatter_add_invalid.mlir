// RUN: egs-opt %s -split-input-file -verify-diagnostics

func.func @ind_float(%src: tensor<8x64xf32>, %ind: tensor<8xf16>, %init: tensor<100x64xf32>) {
  // expected-error @+1 {{operand 'ind' must have i32 or i64 elements, got 'f16'}}
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8x64xf32>, tensor<8xf16>, tensor<100x64xf32>) -> tensor<100x64xf32>
  return
}

// -----

func.func @axis_out_of_range(%src: tensor<8x64xf32>, %ind: tensor<8xi32>, %init: tensor<100x64xf32>) {
  // expected-error @+1 {{axis = 2 must be in [0, 2) for operand 'init' of type 'tensor<100x64xf32>'}}
  %o = egs.scatter_add %src into %init[%ind] axis = 2 : (tensor<8x64xf32>, tensor<8xi32>, tensor<100x64xf32>) -> tensor<100x64xf32>
  return
}

// -----

func.func @batch_dims_too_large(%src: tensor<2x8x64xf32>, %ind: tensor<2x8xi32>, %init: tensor<2x100x64xf32>) {
  // expected-error @+1 {{batch_dims = 4 must be in [0, 2]}}
  %o = egs.scatter_add %src into %init[%ind] axis = 1 {batch_dims = 4} : (tensor<2x8x64xf32>, tensor<2x8xi32>, tensor<2x100x64xf32>) -> tensor<2x100x64xf32>
  return
}

// -----

func.func @batch_dim_mismatch(%src: tensor<2x8x64xf32>, %ind: tensor<3x8xi32>, %init: tensor<2x100x64xf32>) {
  // expected-error @+1 {{batch dim 0 of operand 'init' (2) and operand 'ind' (3) differ}}
  %o = egs.scatter_add %src into %init[%ind] axis = 1 {batch_dims = 1} : (tensor<2x8x64xf32>, tensor<3x8xi32>, tensor<2x100x64xf32>) -> tensor<2x100x64xf32>
  return
}

// -----

func.func @src_shape(%src: tensor<8x32xf32>, %ind: tensor<8xi32>, %init: tensor<100x64xf32>) {
  // expected-error @+1 {{operand 'src' has type 'tensor<8x32xf32>' but its shape must be [8, 64]}}
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8x32xf32>, tensor<8xi32>, tensor<100x64xf32>) -> tensor<100x64xf32>
  return
}

// -----

func.func @src_rank(%src: tensor<8xf32>, %ind: tensor<8xi32>, %init: tensor<100x64xf32>) {
  // expected-error @+1 {{operand 'src' has type 'tensor<8xf32>' but its shape must be [8, 64]}}
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8xf32>, tensor<8xi32>, tensor<100x64xf32>) -> tensor<100x64xf32>
  return
}

// -----

func.func @src_element_type(%src: tensor<8x64xf16>, %ind: tensor<8xi32>, %init: tensor<100x64xf32>) {
  // expected-error @+1 {{operand 'src' element type 'f16' must match operand 'init' ('f32')}}
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8x64xf16>, tensor<8xi32>, tensor<100x64xf32>) -> tensor<100x64xf32>
  return
}

// -----

func.func @init_complex(%src: tensor<8x64xcomplex<f32>>, %ind: tensor<8xi32>, %init: tensor<100x64xcomplex<f32>>) {
  // expected-error @+1 {{operand 'init' element type 'complex<f32>' is not supported; expected f16, bf16, f32, f64, i32 or i64}}
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8x64xcomplex<f32>>, tensor<8xi32>, tensor<100x64xcomplex<f32>>) -> tensor<100x64xcomplex<f32>>
  return
}

// -----

func.func @result_type(%src: tensor<8x64xf32>, %ind: tensor<8xi32>, %init: tensor<100x64xf32>) {
  // expected-error @+1 {{result type 'tensor<100x64xf16>' must equal operand 'init' type 'tensor<100x64xf32>'}}
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8x64xf32>, tensor<8xi32>, tensor<100x64xf32>) -> tensor<100x64xf16>
  return
}

// -----

func.func @tensor_memref_mix(%src: tensor<8x64xf32>, %ind: tensor<8xi32>, %init: memref<100x64xf32>) {
  // expected-error @+1 {{mixes tensors and memrefs: operand #0 has type 'tensor<8x64xf32>' but the memref form needs memrefs only}}
  egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8x64xf32>, tensor<8xi32>, memref<100x64xf32>) -> ()
  return
}

// -----

func.func @memref_with_result(%src: memref<8x64xf32>, %ind: memref<8xi32>, %init: memref<100x64xf32>) {
  // expected-error @+1 {{memref form must not have results}}
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (memref<8x64xf32>, memref<8xi32>, memref<100x64xf32>) -> tensor<100x64xf32>
  return
}

// -----

func.func @tensor_no_result(%src: tensor<8x64xf32>, %ind: tensor<8xi32>, %init: tensor<100x64xf32>) {
  // expected-error @+1 {{tensor form must have 1 result(s), got 0}}
  egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8x64xf32>, tensor<8xi32>, tensor<100x64xf32>) -> ()
  return
}

// -----

// Types one of the lowerings cannot add: unsigned/signed integers, integers
// narrower than 32 bits (a GPU atomic on them would be a compare-and-swap on
// the enclosing word, past the end of the buffer), f8 and f80.
func.func @init_ui32(%src: tensor<8x4xui32>, %ind: tensor<8xi32>, %init: tensor<10x4xui32>) {
  // expected-error @+1 {{operand 'init' element type 'ui32' is not supported; expected f16, bf16, f32, f64, i32 or i64}}
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8x4xui32>, tensor<8xi32>, tensor<10x4xui32>) -> tensor<10x4xui32>
  return
}

// -----

func.func @init_si8(%src: memref<8x4xsi8>, %ind: memref<8xi32>, %init: memref<10x4xsi8>) {
  // expected-error @+1 {{operand 'init' element type 'si8' is not supported}}
  egs.scatter_add %src into %init[%ind] axis = 0 : (memref<8x4xsi8>, memref<8xi32>, memref<10x4xsi8>) -> ()
  return
}

// -----

func.func @init_i1(%src: tensor<8x4xi1>, %ind: tensor<8xi32>, %init: tensor<10x4xi1>) {
  // expected-error @+1 {{operand 'init' element type 'i1' is not supported}}
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8x4xi1>, tensor<8xi32>, tensor<10x4xi1>) -> tensor<10x4xi1>
  return
}

// -----

func.func @init_f8(%src: tensor<8x4xf8E4M3FN>, %ind: tensor<8xi32>, %init: tensor<10x4xf8E4M3FN>) {
  // expected-error @+1 {{operand 'init' element type 'f8E4M3FN' is not supported}}
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8x4xf8E4M3FN>, tensor<8xi32>, tensor<10x4xf8E4M3FN>) -> tensor<10x4xf8E4M3FN>
  return
}

// -----

func.func @init_f80(%src: tensor<8x4xf80>, %ind: tensor<8xi32>, %init: tensor<10x4xf80>) {
  // expected-error @+1 {{operand 'init' element type 'f80' is not supported}}
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8x4xf80>, tensor<8xi32>, tensor<10x4xf80>) -> tensor<10x4xf80>
  return
}

// -----

func.func @init_vector(%src: tensor<8x4xvector<4xf32>>, %ind: tensor<8xi32>, %init: tensor<10x4xvector<4xf32>>) {
  // expected-error @+1 {{operand 'init' element type 'vector<4xf32>' is not supported}}
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8x4xvector<4xf32>>, tensor<8xi32>, tensor<10x4xvector<4xf32>>) -> tensor<10x4xvector<4xf32>>
  return
}

// -----

func.func @init_i16(%src: tensor<8x4xi16>, %ind: tensor<8xi32>, %init: tensor<10x4xi16>) {
  // expected-error @+1 {{operand 'init' element type 'i16' is not supported; expected f16, bf16, f32, f64, i32 or i64}}
  %o = egs.scatter_add %src into %init[%ind] axis = 0 : (tensor<8x4xi16>, tensor<8xi32>, tensor<10x4xi16>) -> tensor<10x4xi16>
  return
}

// -----

func.func @init_i8(%src: memref<8x4xi8>, %ind: memref<8xi32>, %init: memref<10x4xi8>) {
  // expected-error @+1 {{operand 'init' element type 'i8' is not supported}}
  egs.scatter_add %src into %init[%ind] axis = 0 : (memref<8x4xi8>, memref<8xi32>, memref<10x4xi8>) -> ()
  return
}
