// RUN: egs-opt %s -split-input-file -verify-diagnostics

func.func @num_experts_negative(%ids: tensor<16x2xi32>) {
  // expected-error @+1 {{num_experts must be in [1, 16777216], got -2}}
  %r:3 = egs.route %ids experts = -2 : (tensor<16x2xi32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>)
  return
}

// -----

func.func @topk_ids_rank(%ids: tensor<2x16x2xi32>) {
  // expected-error @+1 {{operand 'topk_ids' must have rank 2 [T,k] but has type 'tensor<2x16x2xi32>'}}
  %r:3 = egs.route %ids experts = 8 : (tensor<2x16x2xi32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>)
  return
}

// -----

func.func @topk_ids_float(%ids: tensor<16x2xbf16>) {
  // expected-error @+1 {{operand 'topk_ids' must have i32 or i64 elements, got 'bf16'}}
  %r:3 = egs.route %ids experts = 8 : (tensor<16x2xbf16>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>)
  return
}

// -----

func.func @rows_length(%ids: tensor<16x2xi32>) {
  // expected-error @+1 {{result 'rows' dim 0 is 16, expected 32 (k*T = 32 from T*k of operand 'topk_ids'); result 'rows' must be [k*T]}}
  %r:3 = egs.route %ids experts = 8 : (tensor<16x2xi32>) -> (tensor<16xi32>, tensor<9xi32>, tensor<32xi32>)
  return
}

// -----

// num_experts = 4 is smaller than the 8 experts that 9 offsets describe.
func.func @expert_offsets_too_long(%ids: tensor<16x2xi32>) {
  // expected-error @+1 {{result 'expert_offsets' dim 0 is 9, expected 5 (E = 4 from attribute 'num_experts'); result 'expert_offsets' must be [E+1]}}
  %r:3 = egs.route %ids experts = 4 : (tensor<16x2xi32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>)
  return
}

// -----

func.func @row_id_map_length(%ids: tensor<16x2xi32>) {
  // expected-error @+1 {{result 'row_id_map' dim 0 is 2, expected 32 (k*T = 32 from T*k of operand 'topk_ids'); result 'row_id_map' must be [k*T]}}
  %r:3 = egs.route %ids experts = 8 : (tensor<16x2xi32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<2xi32>)
  return
}

// -----

func.func @rows_i64(%ids: tensor<16x2xi64>) {
  // expected-error @+1 {{result 'rows' must have i32 elements, got 'i64'}}
  %r:3 = egs.route %ids experts = 8 : (tensor<16x2xi64>) -> (tensor<32xi64>, tensor<9xi32>, tensor<32xi32>)
  return
}

// -----

func.func @expert_offsets_index(%ids: tensor<16x2xi32>) {
  // expected-error @+1 {{result 'expert_offsets' must have i32 elements, got 'index'}}
  %r:3 = egs.route %ids experts = 8 : (tensor<16x2xi32>) -> (tensor<32xi32>, tensor<9xindex>, tensor<32xi32>)
  return
}

// -----

func.func @row_id_map_f32(%ids: tensor<16x2xi32>) {
  // expected-error @+1 {{result 'row_id_map' must have i32 elements, got 'f32'}}
  %r:3 = egs.route %ids experts = 8 : (tensor<16x2xi32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xf32>)
  return
}

// -----

func.func @one_result(%ids: tensor<16x2xi32>) {
  // expected-error @+1 {{tensor form must have 3 result(s), got 1}}
  %r = egs.route %ids experts = 8 : (tensor<16x2xi32>) -> tensor<32xi32>
  return
}

// -----

func.func @memref_with_tensor_outs(%ids: memref<16x2xi32>) {
  // expected-error @+1 {{memref form must not have results}}
  %r:3 = egs.route %ids experts = 8 : (memref<16x2xi32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>)
  return
}

// -----

func.func @memref_missing_outs(%ids: memref<16x2xi32>, %rows: memref<32xi32>) {
  // expected-error @+1 {{memref form needs 3 outs(...) buffer(s), got 1}}
  egs.route %ids experts = 8 outs(%rows) : (memref<16x2xi32>, memref<32xi32>) -> ()
  return
}

// -----

func.func @tensor_with_outs(%ids: tensor<16x2xi32>, %rows: memref<32xi32>, %off: memref<9xi32>, %map: memref<32xi32>) {
  // expected-error @+1 {{mixes tensors and memrefs: operand #0 has type 'tensor<16x2xi32>' but the memref form needs memrefs only}}
  egs.route %ids experts = 8 outs(%rows, %off, %map) : (tensor<16x2xi32>, memref<32xi32>, memref<9xi32>, memref<32xi32>) -> ()
  return
}

// -----

func.func @memref_outs_length(%ids: memref<16x2xi32>, %rows: memref<32xi32>, %off: memref<9xi32>, %map: memref<31xi32>) {
  // expected-error @+1 {{outs buffer 'row_id_map' dim 0 is 31, expected 32 (k*T = 32 from T*k of operand 'topk_ids'); outs buffer 'row_id_map' must be [k*T]}}
  egs.route %ids experts = 8 outs(%rows, %off, %map) : (memref<16x2xi32>, memref<32xi32>, memref<9xi32>, memref<31xi32>) -> ()
  return
}

// -----

func.func @weights_without_scale(%ids: tensor<16x2xi32>, %w: tensor<16x2xf32>) {
  // expected-error @+1 {{tensor form must have 4 result(s), got 3}}
  %r:3 = egs.route %ids experts = 8 weights %w : (tensor<16x2xi32>, tensor<16x2xf32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>)
  return
}

// -----

func.func @scale_without_weights(%ids: tensor<16x2xi32>) {
  // expected-error @+1 {{tensor form must have 3 result(s), got 4}}
  %r:4 = egs.route %ids experts = 8 : (tensor<16x2xi32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>, tensor<32xf32>)
  return
}

// -----

func.func @weights_shape(%ids: tensor<16x2xi32>, %w: tensor<16x3xf32>) {
  // expected-error @+1 {{operand 'weights' dim 1 is 3, expected 2}}
  %r:4 = egs.route %ids experts = 8 weights %w : (tensor<16x2xi32>, tensor<16x3xf32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>, tensor<32xf32>)
  return
}

// -----

func.func @weights_integer(%ids: tensor<16x2xi32>, %w: tensor<16x2xi32>) {
  // expected-error @+1 {{operand 'weights' must have f32, f16 or bf16 elements, got 'i32'}}
  %r:4 = egs.route %ids experts = 8 weights %w : (tensor<16x2xi32>, tensor<16x2xi32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>, tensor<32xi32>)
  return
}

// -----

func.func @scale_type(%ids: tensor<16x2xi32>, %w: tensor<16x2xf32>) {
  // expected-error @+1 {{result 'scale' element type 'bf16' must be f32 or match operand 'weights' ('f32')}}
  %r:4 = egs.route %ids experts = 8 weights %w : (tensor<16x2xi32>, tensor<16x2xf32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>, tensor<32xbf16>)
  return
}

// -----

func.func @scale_length(%ids: tensor<16x2xi32>, %w: tensor<16x2xf32>) {
  // expected-error @+1 {{result 'scale' dim 0 is 16, expected 32}}
  %r:4 = egs.route %ids experts = 8 weights %w : (tensor<16x2xi32>, tensor<16x2xf32>) -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>, tensor<16xf32>)
  return
}
