// RUN: egs-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{tile parameter 'bm' = 48 must be a power of two in [16, 256]}}
func.func @bm_not_pow2() attributes {t = #egs.tile<bm = 48, bn = 64, bk = 32, stages = 3, warps = 4>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'bm' = 8 must be a power of two in [16, 256]}}
func.func @bm_too_small() attributes {t = #egs.tile<bm = 8, bn = 64, bk = 32, stages = 3, warps = 4>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'bm' = 512 must be a power of two in [16, 256]}}
func.func @bm_too_large() attributes {t = #egs.tile<bm = 512, bn = 64, bk = 32, stages = 3, warps = 4>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'bn' = 4 must be a power of two in [8, 256]}}
func.func @bn_too_small() attributes {t = #egs.tile<bm = 64, bn = 4, bk = 32, stages = 3, warps = 4>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'bn' = 96 must be a power of two in [8, 256]}}
func.func @bn_not_pow2() attributes {t = #egs.tile<bm = 64, bn = 96, bk = 32, stages = 3, warps = 4>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'bk' = 8 must be a power of two in [16, 128]}}
func.func @bk_too_small() attributes {t = #egs.tile<bm = 64, bn = 64, bk = 8, stages = 3, warps = 4>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'bk' = 256 must be a power of two in [16, 128]}}
func.func @bk_too_large() attributes {t = #egs.tile<bm = 64, bn = 64, bk = 256, stages = 3, warps = 4>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'warps' = 0 must be a power of two in [1, 16]}}
func.func @warps_zero() attributes {t = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 3, warps = 0>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'warps' = 6 must be a power of two in [1, 16]}}
func.func @warps_not_pow2() attributes {t = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 3, warps = 6>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'warps' = 32 must be a power of two in [1, 16]}}
func.func @warps_too_large() attributes {t = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 3, warps = 32>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'warps' = 6 must be a multiple of 4 in [4, 20] for mma = warpgroup}}
func.func @warpgroup_warps_not_multiple_of_4() attributes {t = #egs.tile<bm = 128, bn = 128, bk = 64, stages = 4, warps = 6, mma = warpgroup>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'warps' = 24 must be a multiple of 4 in [4, 20] for mma = warpgroup}}
func.func @warpgroup_warps_too_many() attributes {t = #egs.tile<bm = 256, bn = 128, bk = 64, stages = 4, warps = 24, mma = warpgroup>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'stages' = 0 must be in [1, 8]}}
func.func @stages_zero() attributes {t = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 0, warps = 4>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'stages' = 9 must be in [1, 8]}}
func.func @stages_too_large() attributes {t = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 9, warps = 4>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'bm' = -64 must be a power of two in [16, 256]}}
func.func @negative() attributes {t = #egs.tile<bm = -64, bn = 64, bk = 32, stages = 3, warps = 4>} {
  return
}

// -----

// All five parameters are required.
// expected-error @+1 {{struct is missing required parameter: warps}}
func.func @missing_parameter() attributes {t = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 3>} {
  return
}

// -----

// expected-error @+2 {{failed to parse EGS_ActivationAttr parameter 'value'}}
// expected-error @+1 {{Activation to be one of: none, silu, gelu, swiglu}}
func.func @unknown_activation() attributes {a = #egs.activation<relu>} {
  return
}

// -----

func.func @tile_wrong_attribute(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{attribute 'tile' failed to satisfy constraint}}
  %y = egs.gather_matmul %x[%ind] * %w {tile = #egs.activation<silu>} : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

func.func @activation_wrong_attribute(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x6xf32>) {
  // expected-error @+1 {{attribute 'activation' failed to satisfy constraint}}
  %y = egs.gather_matmul %x[%ind] * %w {activation = "silu"} : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x6xf32>) -> tensor<4x3x6xf32>
  return
}

// -----

// expected-error @+2 {{tile parameter 'mma' = "wgmma" must be sync, warpgroup, fma or general}}
// expected-error @+1 {{failed to parse EGS_TileConfigAttr parameter 'mma'}}
func.func @bad_mma() attributes {t = #egs.tile<bm = 128, bn = 256, bk = 64, stages = 4, warps = 8, mma = "wgmma">} {
  return
}

// -----

// egs.gpu_strategy: the attribute's own checks.

// expected-error @+1 {{the last fast variant of a gpu_strategy must have no bounds (it serves every size)}}
func.func @strategy_bounded_last() attributes {s = #egs.gpu_strategy<fast = [#egs.variant<tile = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 3, warps = 4>, min_rows = 256>], general = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>} {
  return
}

// -----

// expected-error @+1 {{the general tile of a gpu_strategy must have mma = general}}
func.func @strategy_general_kind() attributes {s = #egs.gpu_strategy<fast = [#egs.variant<tile = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 3, warps = 4>>], general = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 1, warps = 4>>} {
  return
}

// -----

// expected-error @+1 {{a fast variant cannot use mma = general}}
func.func @variant_general() attributes {v = #egs.variant<tile = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>} {
  return
}

// -----

// expected-error @+1 {{variant bounds: max_reduce = 64 is below min_reduce = 128}}
func.func @variant_bounds() attributes {v = #egs.variant<tile = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 3, warps = 4>, min_reduce = 128, max_reduce = 64>} {
  return
}

// -----

// expected-error @+1 {{variant bound 'min_rows' = -1 must be at least 0 (0: no bound)}}
func.func @variant_negative() attributes {v = #egs.variant<tile = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 3, warps = 4>, min_rows = -1>} {
  return
}

// -----

// expected-error @+1 {{tile parameter 'resident' needs mma = warpgroup}}
func.func @resident_sync() attributes {t = #egs.tile<bm = 64, bn = 64, bk = 32, stages = 2, warps = 4, resident = true>} {
  return
}

// -----

// egs.gpu_strategy on an op: the dialect checks it against the op.

func.func @strategy_on_permute(%x: tensor<4x8xf32>, %ids: tensor<4x2xi32>) {
  // expected-error @+1 {{'egs.gpu_strategy' belongs on egs.gather_matmul, egs.matmul_scatter or egs.weight_grad}}
  %xs, %map, %off = egs.permute %x by %ids experts = 4 {egs.gpu_strategy = #egs.gpu_strategy<fast = [#egs.variant<tile = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 3, warps = 4, mma = fma>>], general = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>}
      : (tensor<4x8xf32>, tensor<4x2xi32>) -> (tensor<8x8xf32>, tensor<8xi32>, tensor<5xi32>)
  return
}

// -----

func.func @strategy_kind_mismatch(%x: tensor<16x8xbf16>, %ind: tensor<4x3xi32>, %w: tensor<4x8x64xbf16>) {
  // expected-error @+1 {{'egs.gpu_strategy' variant 0: mma = fma does not fit 'bf16' operands (f16/bf16 need mma = sync or warpgroup)}}
  %y = egs.gather_matmul %x[%ind] * %w {egs.gpu_strategy = #egs.gpu_strategy<fast = [#egs.variant<tile = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 3, warps = 4, mma = fma>>], general = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>}
      : (tensor<16x8xbf16>, tensor<4x3xi32>, tensor<4x8x64xbf16>) -> tensor<4x3x64xbf16>
  return
}

// -----

func.func @strategy_slots_on_matmul(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x64xf32>) {
  // expected-error @+1 {{'egs.gpu_strategy' variant 0: egs.gather_matmul variants are bounded by min_rows, min_reduce, max_reduce and min_cols only}}
  %y = egs.gather_matmul %x[%ind] * %w {egs.gpu_strategy = #egs.gpu_strategy<fast = [#egs.variant<tile = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 3, warps = 4, mma = fma>, min_slots = 64>, #egs.variant<tile = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 3, warps = 4, mma = fma>>], general = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>}
      : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x64xf32>) -> tensor<4x3x64xf32>
  return
}

// -----

func.func @unknown_egs_attribute(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x64xf32>) {
  // expected-error @+1 {{unknown egs attribute 'egs.strategy' (egs defines 'egs.gpu_strategy')}}
  %y = egs.gather_matmul %x[%ind] * %w {egs.strategy = 1 : i64}
      : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x64xf32>) -> tensor<4x3x64xf32>
  return
}

// -----

func.func @strategy_wrong_attribute(%x: tensor<16x8xf32>, %ind: tensor<4x3xi32>, %w: tensor<4x8x64xf32>) {
  // expected-error @+1 {{'egs.gpu_strategy' must be a #egs.gpu_strategy}}
  %y = egs.gather_matmul %x[%ind] * %w {egs.gpu_strategy = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 3, warps = 4>}
      : (tensor<16x8xf32>, tensor<4x3xi32>, tensor<4x8x64xf32>) -> tensor<4x3x64xf32>
  return
}
