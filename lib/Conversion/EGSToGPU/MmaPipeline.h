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

#include "KernelBuilder.h"
#include "KernelConfig.h"

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
/// the rest) from `src`[srcOff] to `dst`[at]; its token.
Value asyncCopy(KernelBuilder &kb, Value dst, ValueRange at, Value src,
                Value srcOff, int64_t vec, Value n);

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

} // namespace egs

#endif
