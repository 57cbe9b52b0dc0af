// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu="host-buffers=device" --split-input-file | FileCheck %s --enable-var-scope
// RUN: egs-opt %s --egs-select-gpu-strategy --convert-egs-to-gpu --split-input-file | FileCheck %s --check-prefix=COPY
// RUN: egs-opt %s --egs-select-gpu-strategy="warpgroup-mma=true" --convert-egs-to-gpu="host-buffers=device" --split-input-file | FileCheck %s --check-prefix=WGMMA

// weight_grad lowers to kernels, never to host loops over the buffers: one
// block per (expert, I-tile, J-tile) of dw, the expert's slot range read from
// expert_offsets on the device, both operands staged as K-rows tiles by
// 16-byte cp.async and read by ldmatrix.trans into mma.sync m16n8k16; the
// general kernel (any layout) is launched where the fast one's
// preconditions fail.

// CHECK-LABEL: gpu.func @egs_weight_grad_ragged_glhs_srhs_tc_128x128x32_s4_w8_bf16_i32_bf16_i32_f32(
// CHECK-SAME: kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: memref.view {{.*}} to memref<4x32x136xbf16, #gpu.address_space<workgroup>>
// CHECK: memref.view {{.*}} to memref<4x32x136xbf16, #gpu.address_space<workgroup>>
// The expert's slots [offsets[e], offsets[e+1]), clamped to [0, R).
// CHECK: gpu.block_id x
// CHECK: memref.load {{.*}} : memref<?xi32, strided<[1], offset: ?>>
// CHECK: nvgpu.device_async_copy {{.*}}, 8, %{{.*}} {bypassL1} : memref<?xbf16, strided<[1], offset: ?>> to memref<4x32x136xbf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_create_group
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true} : memref<4x32x136xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
// The lhs fragment is the transposed A operand: registers 0, 2, 1, 3.
// CHECK: vector.shuffle {{.*}} [0, 2, 1, 3] : vector<4x2xbf16>, vector<4x2xbf16>
// CHECK: scf.for
// CHECK: nvvm.mma.sync {{.*}} shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK: scf.yield
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// Each block owns its tile: plain stores, no atomics.
// CHECK-NOT: atomic
// CHECK: vector.store {{.*}} : memref<?xf32, strided<[1], offset: ?>>, vector<2xf32>
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @egs_weight_grad_ragged_glhs_srhs_gen_64x64x16_s1_w4_bf16_i32_bf16_i32_f32(
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: gpu.return

// CHECK-LABEL: func.func @ragged_gather_lhs(
// CHECK-NOT: scf.for
// CHECK: scf.if
// CHECK: gpu.launch_func async [%{{.*}}] @egs_kernels::@egs_weight_grad_ragged_glhs_srhs_tc_128x128x32_s4_w8_bf16_i32_bf16_i32_f32
// CHECK: scf.if
// CHECK: gpu.launch_func async [%{{.*}}] @egs_kernels::@egs_weight_grad_ragged_glhs_srhs_gen_64x64x16_s1_w4_bf16_i32_bf16_i32_f32
// CHECK-NOT: egs.weight_grad
// CHECK-NOT: scf.for
// CHECK: return

// host-buffers=copy: the operands are copied to the device and dw back; no
// host loop reads them.
// COPY-LABEL: func.func @ragged_gather_lhs(
// COPY-NOT: scf.for
// COPY: gpu.memcpy
// COPY: gpu.launch_func
// COPY-NOT: scf.for
// COPY: return
func.func @ragged_gather_lhs(%x: memref<?x256xbf16>, %rows: memref<?xi32>, %dy: memref<?x128xbf16>,
                             %off: memref<9xi32>, %dw: memref<8x256x128xf32>) {
  egs.weight_grad %x[%rows] * %dy offsets %off outs(%dw)
      : (memref<?x256xbf16>, memref<?xi32>, memref<?x128xbf16>, memref<9xi32>, memref<8x256x128xf32>) -> ()
  return
}

// -----

// Large outputs (the Mixtral / Qwen3 dW shapes): 128x256 tiles, 8 warps of
// 64x64. The slot order lhs with a gathered rhs and a scale: each lhs
// fragment pair is multiplied by its two slots' scales (staged per slice).
// CHECK-LABEL: gpu.func @egs_weight_grad_ragged_slhs_grhs_scale_tc_128x256x32_s4_w8_bf16_bf16_i64_i64_f32_bf16(
// CHECK: memref.view {{.*}} to memref<4x32x136xbf16, #gpu.address_space<workgroup>>
// CHECK: memref.view {{.*}} to memref<4x32x264xbf16, #gpu.address_space<workgroup>>
// CHECK: memref.view {{.*}} to memref<4x32xf32, #gpu.address_space<workgroup>>
// CHECK: memref.store {{.*}} : memref<4x32xf32, #gpu.address_space<workgroup>>
// CHECK: vector.load {{.*}} : memref<4x32xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK: arith.mulf {{.*}} : vector<2xf32>
// CHECK: nvvm.mma.sync
// CHECK: vector.store {{.*}} : memref<?xbf16, strided<[1], offset: ?>>, vector<2xbf16>
// CHECK-LABEL: func.func @ragged_gather_rhs_scale(
// CHECK: gpu.launch_func
// With warpgroup MMA (sm_90a) the tiles are 128-byte-swizzled slabs of 64
// columns ([stage][slab][k][64]) read by wgmma through descriptors: lhs as
// the M-major A operand (layout col), rhs N-major (layout row). wgmma
// cannot scale an operand: the landed lhs chunks are rescaled in shared
// memory, then fenced for the async proxy again.
// WGMMA-LABEL: gpu.func @egs_weight_grad_ragged_slhs_grhs_scale_wg_128x256x64_s4_w8_bf16_bf16_i64_i64_f32_bf16(
// WGMMA: memref.view {{.*}} to memref<4x2x64x64xbf16, #gpu.address_space<workgroup>>
// WGMMA: memref.view {{.*}} to memref<4x4x64x64xbf16, #gpu.address_space<workgroup>>
// WGMMA: arith.xori
// WGMMA: scf.for
// WGMMA: nvvm.fence.proxy
// WGMMA: gpu.barrier
// WGMMA: vector.load {{.*}} : memref<4x2x64x64xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// WGMMA: arith.mulf {{.*}} : vector<8xf32>
// WGMMA: vector.store {{.*}} : memref<4x2x64x64xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// WGMMA: nvvm.fence.proxy
// WGMMA: gpu.barrier
// WGMMA: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 256, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// WGMMA: nvvm.wgmma.wait.group.sync.aligned 1
// WGMMA: nvvm.wgmma.wait.group.sync.aligned 0
func.func @ragged_gather_rhs_scale(%y: memref<?x2048xbf16>, %dout: memref<?x4096xbf16>, %rows: memref<?xi64>,
                                   %off: memref<129xi64>, %s: memref<?xf32>, %dw: memref<128x2048x4096xbf16>) {
  egs.weight_grad %y * %dout[%rows] offsets %off scale %s outs(%dw)
      : (memref<?x2048xbf16>, memref<?x4096xbf16>, memref<?xi64>, memref<129xi64>, memref<?xf32>,
         memref<128x2048x4096xbf16>) -> ()
  return
}

// -----

// Expert choice, batched, both sides gathered, f32: CUDA cores behind the
// same cp.async pipeline (the scale multiplies the lhs element in f32, as on
// the CPU). Slot m of expert e is (b, k) = (m / K, m % K).
// CHECK-LABEL: gpu.func @egs_weight_grad_ec_batched_glhs_grhs_scale_simt_64x64x16_s3_w4_f32_i32_f32_i32_f32_f32(
// CHECK: nvgpu.device_async_copy {{.*}}, 4, %{{.*}} {bypassL1} : memref<?xf32, strided<[1], offset: ?>> to memref<3x16x68xf32, #gpu.address_space<workgroup>>
// CHECK: arith.divui
// CHECK: vector.fma
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return
// CHECK-LABEL: func.func @ec_batched_f32(
func.func @ec_batched_f32(%a: memref<2x10x96xf32>, %ia: memref<2x4x3xi32>, %b: memref<2x10x80xf32>,
                          %ib: memref<2x4x3xi32>, %s: memref<2x4x3xf32>, %dw: memref<4x96x80xf32>) {
  egs.weight_grad %a[%ia] * %b[%ib] scale %s outs(%dw)
      : (memref<2x10x96xf32>, memref<2x4x3xi32>, memref<2x10x80xf32>, memref<2x4x3xi32>, memref<2x4x3xf32>,
         memref<4x96x80xf32>) -> ()
  return
}

// -----

// Expert choice, unbatched, both in slot order, f16 into f16: narrow
// outputs take 64x64 tiles with 4 warps.
// CHECK-LABEL: gpu.func @egs_weight_grad_ec_slhs_srhs_tc_64x64x32_s4_w4_f16_f16_f16(
// CHECK: nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32)
// CHECK-LABEL: func.func @ec_slot_order_f16(
func.func @ec_slot_order_f16(%a: memref<4x3x64xf16>, %b: memref<4x3x40xf16>, %dw: memref<4x64x40xf16>) {
  egs.weight_grad %a * %b outs(%dw) : (memref<4x3x64xf16>, memref<4x3x40xf16>, memref<4x64x40xf16>) -> ()
  return
}
