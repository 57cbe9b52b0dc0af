//===- MmaPipeline.h - the multistage cp.async + mma.sync loop --*- C++ -*-===//
//
// The pieces every tiled reduction kernel shares (the expert GEMM and the
// weight gradient): a STAGES-deep pipeline of 16-byte asynchronous copies
// feeding ldmatrix + mma.sync m16n8k16 (f16/bf16) or CUDA-core FMAs (f32),
// and the fragment loads of "K-rows" tiles (reduction rows, M or N
// contiguous), which is how both operands of the weight gradient and the
// weights of the GEMM are staged.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_MMAPIPELINE_H
#define EGS_LIB_CONVERSION_EGSTOGPU_MMAPIPELINE_H

#include "Kernels/KernelBuilder.h"
#include "Strategy/KernelConfig.h"

#include <functional>

namespace egs {

using FragmentSet = SmallVector<Value, 16>;

/// Issues the 16-byte copies of reduction slice `kt` into staging `stage`
/// (one cp.async group; its token).
using SliceCopier = std::function<Value(Value kt, Value stage)>;
/// The ldmatrix results of k-step `ks` (16 deep) of a staged slice.
using FragmentLoader = std::function<FragmentSet(Value stage, int64_t ks)>;
/// One k-step of MMAs over the warp tile.
using MmaStep =
    std::function<SmallVector<Value>(const FragmentSet &, ValueRange acc)>;
/// The FMAs of one staged slice (CUDA cores).
using SliceCompute =
    std::function<SmallVector<Value>(Value stage, ValueRange acc)>;

/// The staging buffer after `stage` (carried through the main loops instead
/// of kt % STAGES).
Value nextStage(KernelBuilder &kb, int64_t stages, Value stage);

/// One 16-byte (`vec`-element) cp.async of `n` valid elements (zero-filling
/// the rest; null `n`: all `vec`) from `src`[srcOff] to `dst`[at]. With
/// `active` (i1), only threads where it holds issue the copy: threads without
/// a chunk of their own must not zero-fill another's. The caller's next
/// commit group holds the copy (a group counts each thread's copies since
/// the last one, wherever they were issued: no token needs to reach it).
void asyncCopy(KernelBuilder &kb, Value dst, ValueRange at, Value src,
               Value srcOff, int64_t vec, Value n, Value active = {});

/// ldmatrix.trans x4 of a 16 x 16 block of a K-rows tile `tile`
/// [stage][k][col]: rows k0.., columns col0... Registers (0, 1) are the
/// mma.sync B operand (k 0-7, k 8-15) of columns col0..+7, (2, 3) of
/// col0+8..+15.
Value loadKRowsFragment(KernelBuilder &kb, Type dataType, Value tile,
                        Value stage, Value k0, Value col0);

/// ldmatrix x4 (no .trans) of a 16 x 16 block of a K-major tile `tile`
/// [stage][col][k] (a B operand stored like A): columns col0.., k k0...
/// Registers as loadKRowsFragment returns them.
Value loadKMajorFragment(KernelBuilder &kb, Type dataType, Value tile,
                         Value stage, Value col0, Value k0);

/// mma.sync m16n8k16 over a warp tile of (aFrags.size() * 16) rows x
/// (bFrags.size() * 16) columns: aFrags are A fragments (registers in
/// mma.sync order), bFrags as loadKRowsFragment returns them; `acc` holds
/// one vector<4xf32> per m16n8 tile, row-major over the tiles.
SmallVector<Value> mmaSyncStep(KernelBuilder &kb, Type dataType,
                               ArrayRef<Value> aFrags, ArrayRef<Value> bFrags,
                               ValueRange acc);

/// `n` zero vector<width x f32> accumulators.
SmallVector<Value> zeroAccumulators(KernelBuilder &kb, int64_t n,
                                    int64_t width);

/// The tensor-core main loop over `slices` in CUTLASS's multistage order:
/// the fragments of k-step ks+1 load while the MMAs of ks run, across slice
/// boundaries too; before the last k-step of slice kt one wait + barrier
/// makes slice kt+1 visible and frees slice kt-1's stage, which the copies
/// issued after the first k-step's ldmatrix overwrite. Returns `acc`'s
/// final values; every copy has landed.
SmallVector<Value> pipelinedMmaLoop(KernelBuilder &kb, const GemmConfig &c,
                                    Value slices, const SliceCopier &issue,
                                    const FragmentLoader &load,
                                    const MmaStep &mma,
                                    SmallVector<Value> acc);

/// The CUDA-core main loop: wait + barrier, issue slice kt+STAGES-1, compute
/// slice kt.
SmallVector<Value> pipelinedFmaLoop(KernelBuilder &kb, const GemmConfig &c,
                                    Value slices, const SliceCopier &issue,
                                    const SliceCompute &compute,
                                    SmallVector<Value> acc);

/// One wgmma operand staged in shared memory: its descriptor at stage 0,
/// k-step 0 (i64), what one stage adds (i64, descriptor units), what one
/// 16-deep k-step adds in bytes, and its layout (row: K-major A, N-major B;
/// col: M-major A).
struct WarpgroupOperand {
  Value desc, stageStep;
  int64_t kStepBytes;
  NVVM::MMALayout layout;
};

/// The descriptor of a 128-byte-swizzled tile `byteOffset` bytes after the
/// shared address `base` (i64): `lbo` bytes between 64-element slabs (or
/// k-halves), 8-row groups 1024 bytes apart (PTX ISA "Matrix Descriptor
/// Format").
Value swizzledDescriptor(KernelBuilder &kb, Value base, Value byteOffset,
                         int64_t lbo);

/// The m64nNk16 accumulator struct as the mma.sync layout of each warp:
/// vector<4xf32> per n8 tile.
SmallVector<Value> warpgroupAccumulators(KernelBuilder &kb, Value acc,
                                         int64_t n);

/// The warpgroup-MMA main loop over `slices` (sm_90a): copies run STAGES-2
/// slices ahead, one wgmma group stays in flight, so the stage refilled at
/// iteration kt is that of slice kt-2. After a slice has landed (wait, proxy
/// fence, barrier), `restage(stage)`, if given, may rewrite the thread's own
/// staged chunks; another fence and barrier then publish them. Returns the
/// accumulators in the mma.sync layout of each warp (m64nN: 16 rows per
/// warp, N/8 vector<4xf32>); every copy and wgmma has completed.
/// `operands` builds the (A, B) descriptors once the first copies are
/// issued (their address math then overlaps the copies). `copiesAfterMma`:
/// a slice's copies are issued after its wgmmas, so that copies whose
/// addresses wait on global loads (gathered rows) overlap the tensor cores.
using WarpgroupOperands =
    std::function<std::pair<WarpgroupOperand, WarpgroupOperand>()>;
SmallVector<Value> pipelinedWarpgroupLoop(
    KernelBuilder &kb, const GemmConfig &c, Type dataType, Value slices,
    const SliceCopier &issue, const WarpgroupOperands &operands,
    const std::function<void(Value stage)> &restage = nullptr,
    bool copiesAfterMma = false);

/// The warp-specialised warpgroup-MMA loop (sm_90a,
/// GemmConfig::warpSpecialized()): the first warpgroups (consumers) only
/// issue wgmma, the last one (producer) only copies, and no block-wide
/// barrier runs in the loop. Each stage has two mbarriers in `barriers`
/// (shared memref<2 x STAGES x i64>): full (the 128 producer threads arrive
/// once their copies of the slice have landed, after `restage` and a proxy
/// fence) and empty (one arrival per consumer warp once the wgmmas reading
/// the stage have retired). The producer publishes slice kt - (STAGES - 2)
/// after issuing slice kt, so up to STAGES - 1 slices are in flight.
/// `makeCopier` runs in the producer branch (its per-thread copy state lives
/// there); `epilogue` receives the accumulators in the consumer branch, in
/// the mma.sync layout of each warp as pipelinedWarpgroupLoop returns them.
void specializedWarpgroupLoop(
    KernelBuilder &kb, const GemmConfig &c, Type dataType, Value slices,
    Value barriers, const std::function<SliceCopier()> &makeCopier,
    const WarpgroupOperands &operands,
    const std::function<void(Value stage)> &restage,
    const std::function<void(SmallVector<Value>)> &epilogue);

} // namespace egs

#endif
