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

// expected-error @+1 {{tile parameter 'mma' = "wgmma" must be "sync" or "warpgroup"}}
func.func @bad_mma() attributes {t = #egs.tile<bm = 128, bn = 256, bk = 64, stages = 4, warps = 8, mma = "wgmma">} {
  return
}
