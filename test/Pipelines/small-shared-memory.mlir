// Chips with less shared memory than Hopper (99 KiB on sm_86/sm_89/sm_120)
// lower large GEMMs with the tiles that fit them: the 128x256 tile (its f32
// output tile alone is 132 KiB) gives way to 128x64x32.
// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_89 format=isa" | FileCheck %s --check-prefix=SM89
// RUN: egs-opt %s --egs-lower-to-nvvm="chip=sm_90a format=isa" | FileCheck %s --check-prefix=SM90A

// SM89: .entry egs_gemm_ragged_gather_store_tc_128x64x32_s3_w8_
// SM89-NOT: 128x256
// SM90A: .entry egs_gemm_ragged_gather_store_wg_128x256x64_s4_w8_
func.func @large(%x: tensor<64x4096xbf16>, %rows: tensor<128xi32>, %w: tensor<8x4096x14336xbf16>, %off: tensor<9xi32>) -> tensor<128x14336xbf16> {
  %y = egs.gather_matmul %x[%rows] * %w offsets %off : (tensor<64x4096xbf16>, tensor<128xi32>, tensor<8x4096x14336xbf16>, tensor<9xi32>) -> tensor<128x14336xbf16>
  return %y : tensor<128x14336xbf16>
}
