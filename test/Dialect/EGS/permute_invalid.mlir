// RUN: egs-opt %s -split-input-file -verify-diagnostics

func.func @num_experts_zero(%x: tensor<16x64xf32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{num_experts must be in [1, 16777216], got 0}}
  %a:3 = egs.permute %x by %ids experts = 0 : (tensor<16x64xf32>, tensor<16x2xi32>) -> (tensor<32x64xf32>, tensor<32xi32>, tensor<1xi32>)
  return
}

// -----

func.func @topk_ids_rank(%x: tensor<16x64xf32>, %ids: tensor<32xi32>) {
  // expected-error @+1 {{operand 'topk_ids' must have rank 2 [T,k] but has type 'tensor<32xi32>'}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xf32>, tensor<32xi32>) -> (tensor<32x64xf32>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @topk_ids_float(%x: tensor<16x64xf32>, %ids: tensor<16x2xf32>) {
  // expected-error @+1 {{operand 'topk_ids' must have i32 or i64 elements, got 'f32'}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xf32>, tensor<16x2xf32>) -> (tensor<32x64xf32>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @x_tokens(%x: tensor<8x64xf32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{operand 'x' dim 0 is 8, expected 16 (T = 16 from operand 'topk_ids' dim 0 [T,k]); operand 'x' must be [T,H]}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<8x64xf32>, tensor<16x2xi32>) -> (tensor<16x64xf32>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @x_rank(%x: tensor<16x4x16xf32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{operand 'x' must have rank 2 [T,H] but has type 'tensor<16x4x16xf32>'}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x4x16xf32>, tensor<16x2xi32>) -> (tensor<32x64xf32>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @num_out_tokens_too_large(%x: tensor<16x64xf32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{num_out_tokens = 40 must be in [0, T*k] = [0, 32]}}
  %a:3 = egs.permute %x by %ids experts = 8 out_tokens = 40 : (tensor<16x64xf32>, tensor<16x2xi32>) -> (tensor<40x64xf32>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @num_out_tokens_negative(%x: tensor<?x64xf32>, %ids: tensor<?x2xi32>) {
  // expected-error @+1 {{num_out_tokens = -1 must be in [0, T*k]}}
  %a:3 = egs.permute %x by %ids experts = 8 out_tokens = -1 : (tensor<?x64xf32>, tensor<?x2xi32>) -> (tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
  return
}

// -----

func.func @x_sorted_rows(%x: tensor<16x64xf32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{result 'x_sorted' dim 0 is 30, expected 32 (R = 32 from T*k of operand 'topk_ids'); result 'x_sorted' must be [R,H]}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xf32>, tensor<16x2xi32>) -> (tensor<30x64xf32>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @x_sorted_rows_out_tokens(%x: tensor<16x64xf32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{result 'x_sorted' dim 0 is 32, expected 20 (R = 20 from attribute 'num_out_tokens'); result 'x_sorted' must be [R,H]}}
  %a:3 = egs.permute %x by %ids experts = 8 out_tokens = 20 : (tensor<16x64xf32>, tensor<16x2xi32>) -> (tensor<32x64xf32>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @x_sorted_hidden(%x: tensor<16x64xf32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{result 'x_sorted' dim 1 is 32, expected 64 (H = 64 from operand 'x' dim 1 [T,H]); result 'x_sorted' must be [R,H]}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xf32>, tensor<16x2xi32>) -> (tensor<32x32xf32>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @x_sorted_element_type(%x: tensor<16x64xbf16>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{result 'x_sorted' element type 'f32' must match operand 'x' ('bf16')}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xbf16>, tensor<16x2xi32>) -> (tensor<32x64xf32>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @row_id_map_length(%x: tensor<16x64xf32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{result 'row_id_map' dim 0 is 16, expected 32 (k*T = 32 from T*k of operand 'topk_ids'); result 'row_id_map' must be [k*T]}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xf32>, tensor<16x2xi32>) -> (tensor<32x64xf32>, tensor<16xi32>, tensor<9xi32>)
  return
}

// -----

// row_id_map has k*T entries even when num_out_tokens drops rows.
func.func @row_id_map_out_tokens(%x: tensor<16x64xf32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{result 'row_id_map' dim 0 is 20, expected 32 (k*T = 32 from T*k of operand 'topk_ids'); result 'row_id_map' must be [k*T]}}
  %a:3 = egs.permute %x by %ids experts = 8 out_tokens = 20 : (tensor<16x64xf32>, tensor<16x2xi32>) -> (tensor<20x64xf32>, tensor<20xi32>, tensor<9xi32>)
  return
}

// -----

func.func @row_id_map_i64(%x: tensor<16x64xf32>, %ids: tensor<16x2xi64>) {
  // expected-error @+1 {{result 'row_id_map' must have i32 elements, got 'i64'}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xf32>, tensor<16x2xi64>) -> (tensor<32x64xf32>, tensor<32xi64>, tensor<9xi32>)
  return
}

// -----

// num_experts = 8 is smaller than the 9 experts that 10 offsets describe.
func.func @expert_offsets_too_long(%x: tensor<16x64xf32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{result 'expert_offsets' dim 0 is 10, expected 9 (E = 8 from attribute 'num_experts'); result 'expert_offsets' must be [E+1]}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xf32>, tensor<16x2xi32>) -> (tensor<32x64xf32>, tensor<32xi32>, tensor<10xi32>)
  return
}

// -----

func.func @expert_offsets_too_short(%x: tensor<16x64xf32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{result 'expert_offsets' dim 0 is 8, expected 9 (E = 8 from attribute 'num_experts'); result 'expert_offsets' must be [E+1]}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xf32>, tensor<16x2xi32>) -> (tensor<32x64xf32>, tensor<32xi32>, tensor<8xi32>)
  return
}

// -----

func.func @expert_offsets_i64(%x: tensor<16x64xf32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{result 'expert_offsets' must have i32 elements, got 'i64'}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xf32>, tensor<16x2xi32>) -> (tensor<32x64xf32>, tensor<32xi32>, tensor<9xi64>)
  return
}

// -----

func.func @two_results(%x: tensor<16x64xf32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{tensor form must have 3 result(s), got 2}}
  %a:2 = egs.permute %x by %ids experts = 8 : (tensor<16x64xf32>, tensor<16x2xi32>) -> (tensor<32x64xf32>, tensor<32xi32>)
  return
}

// -----

func.func @tensor_memref_mix(%x: tensor<16x64xf32>, %ids: memref<16x2xi32>) {
  // expected-error @+1 {{mixes tensors and memrefs: operand #0 has type 'tensor<16x64xf32>' but the memref form needs memrefs only}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xf32>, memref<16x2xi32>) -> (tensor<32x64xf32>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @memref_missing_outs(%x: memref<16x64xf32>, %ids: memref<16x2xi32>, %xs: memref<32x64xf32>, %map: memref<32xi32>) {
  // expected-error @+1 {{memref form needs 3 outs(...) buffer(s), got 2}}
  egs.permute %x by %ids experts = 8 outs(%xs, %map) : (memref<16x64xf32>, memref<16x2xi32>, memref<32x64xf32>, memref<32xi32>) -> ()
  return
}

// -----

func.func @memref_with_results(%x: memref<16x64xf32>, %ids: memref<16x2xi32>) {
  // expected-error @+1 {{memref form must not have results}}
  %a:3 = egs.permute %x by %ids experts = 8 : (memref<16x64xf32>, memref<16x2xi32>) -> (tensor<32x64xf32>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @memref_outs_shape(%x: memref<16x64xf32>, %ids: memref<16x2xi32>, %xs: memref<32x64xf32>, %map: memref<32xi32>, %off: memref<4xi32>) {
  // expected-error @+1 {{outs buffer 'expert_offsets' dim 0 is 4, expected 9 (E = 8 from attribute 'num_experts'); outs buffer 'expert_offsets' must be [E+1]}}
  egs.permute %x by %ids experts = 8 outs(%xs, %map, %off) : (memref<16x64xf32>, memref<16x2xi32>, memref<32x64xf32>, memref<32xi32>, memref<4xi32>) -> ()
  return
}

// -----

func.func @missing_num_experts(%x: tensor<16x64xf32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{requires attribute 'num_experts'}}
  %a:3 = "egs.permute"(%x, %ids) : (tensor<16x64xf32>, tensor<16x2xi32>) -> (tensor<32x64xf32>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @too_many_experts(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>) {
  // expected-error @+1 {{num_experts must be in [1, 16777216], got 9223372036854775807}}
  %a, %b, %c = egs.permute %x by %ids experts = 9223372036854775807 : (tensor<4x8xf32>, tensor<4x2xi32>) -> (tensor<8x8xf32>, tensor<8xi32>, tensor<?xi32>)
  return
}

// -----

func.func @x_complex_f32(%x: tensor<16x64xcomplex<f32>>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{operand 'x' element type 'complex<f32>' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xcomplex<f32>>, tensor<16x2xi32>) -> (tensor<32x64xcomplex<f32>>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @x_vector_4xf32(%x: tensor<16x64xvector<4xf32>>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{operand 'x' element type 'vector<4xf32>' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xvector<4xf32>>, tensor<16x2xi32>) -> (tensor<32x64xvector<4xf32>>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @x_f80(%x: tensor<16x64xf80>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{operand 'x' element type 'f80' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xf80>, tensor<16x2xi32>) -> (tensor<32x64xf80>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @x_index(%x: tensor<16x64xindex>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{operand 'x' element type 'index' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xindex>, tensor<16x2xi32>) -> (tensor<32x64xindex>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @x_i1(%x: tensor<16x64xi1>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{operand 'x' element type 'i1' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xi1>, tensor<16x2xi32>) -> (tensor<32x64xi1>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @x_ui32(%x: tensor<16x64xui32>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{operand 'x' element type 'ui32' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xui32>, tensor<16x2xi32>) -> (tensor<32x64xui32>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @x_si8(%x: tensor<16x64xsi8>, %ids: tensor<16x2xi32>) {
  // expected-error @+1 {{operand 'x' element type 'si8' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  %a:3 = egs.permute %x by %ids experts = 8 : (tensor<16x64xsi8>, tensor<16x2xi32>) -> (tensor<32x64xsi8>, tensor<32xi32>, tensor<9xi32>)
  return
}

// -----

func.func @x_memref_vector(%x: memref<16x64xvector<2xf16>>, %ids: memref<16x2xi32>, %xs: memref<32x64xvector<2xf16>>, %map: memref<32xi32>, %off: memref<9xi32>) {
  // expected-error @+1 {{operand 'x' element type 'vector<2xf16>' is not supported; expected a signless integer or float of 8, 16, 32 or 64 bits}}
  egs.permute %x by %ids experts = 8 outs(%xs, %map, %off) : (memref<16x64xvector<2xf16>>, memref<16x2xi32>, memref<32x64xvector<2xf16>>, memref<32xi32>, memref<9xi32>) -> ()
  return
}
