//===- KernelBuilder.h - shared pieces of the egs GPU kernels ---*- C++ -*-===//
//
// Every generated kernel is written with these: the LoweringBuilder helpers
// extended for kernels, the flattened view of a strided memref argument, dynamic shared
// memory carving, the element-type table and the block-wide scan. Kernel
// arguments are memrefs with fully dynamic strided layouts, so one kernel
// serves every shape and layout; kernels address them through DeviceTensor.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_KERNELBUILDER_H
#define EGS_LIB_CONVERSION_EGSTOGPU_KERNELBUILDER_H

#include "egs/Conversion/Utils/LoweringBuilder.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

namespace egs {
using namespace mlir;

/// The external workgroup global every kernel carves its dynamic shared
/// memory from (`.extern .shared .align 16 .b8 egs_dsmem[]`).
constexpr llvm::StringLiteral kDynamicSharedMemory = "egs_dsmem";

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

/// Bytes of one element of a data or index type.
int64_t elementBytes(Type t);
/// "f32", "bf16", "i32", ... for kernel names.
std::string typeTag(Type t);
/// `memref<?x...x?xT, strided<[?,...], offset: ?>>`: the type every kernel
/// argument of `type`'s rank and element type has.
MemRefType fullyDynamicMemRefType(MemRefType type);

//===----------------------------------------------------------------------===//
// KernelBuilder
//===----------------------------------------------------------------------===//

/// The lowering builder plus what only kernels need: 32-bit index math, thread
/// ids, grid-stride loops, shared memory views and block-wide scans.
class KernelBuilder : public LoweringBuilder {
public:
  using LoweringBuilder::LoweringBuilder;

  /// x / y and x % y on index values known to fit in 31 bits, computed in
  /// 32 bits (a 64-bit division is a slow library call on the GPU).
  Value divU32(Value x, Value y);
  Value remU32(Value x, Value y);

  // GPU.
  Value threadId();
  Value blockId(gpu::Dimension d);
  Value laneId();
  Value warpId();
  void barrier();

  /// Calls `body(i)` for every i in [0, total), spread over all threads of
  /// the grid's x dimension (grid-stride loop, `numThreads` per block).
  void gridStrideLoop(Value total, int64_t numThreads,
                      function_ref<void(Value)> body);
  /// Row-major multi-index of `linear` over `sizes`; `narrow`: every value
  /// fits in 31 bits, so the divisions are 32-bit (much cheaper on the GPU).
  SmallVector<Value> delinearize(Value linear, ArrayRef<Value> sizes,
                                 bool narrow = false);

  /// A statically shaped view of dynamic shared memory at `byteOffset`.
  Value sharedView(int64_t byteOffset, ArrayRef<int64_t> shape, Type elt);

  /// Block-wide inclusive prefix sum of `v` (i32) over all `numThreads`
  /// threads; every thread must call it. `scratch` is a shared
  /// memref<(numThreads/32)xi32>. Returns (inclusive prefix, block total).
  std::pair<Value, Value> blockInclusiveScan(Value v, Value scratch,
                                             int64_t numThreads);

  /// Exclusive prefix sums over i in [0, n) computed by one block, in chunks
  /// of `numThreads`: `term(i)` gives the i32 term of i (called for i < n),
  /// `consume(i, exclusive, term)` receives each result (for i < n). Returns
  /// the total (i32, the same in every thread).
  Value blockExclusiveScan(Value n, Value scratch, int64_t numThreads,
                           function_ref<Value(Value)> term,
                           function_ref<void(Value, Value, Value)> consume);

};

//===----------------------------------------------------------------------===//
// DeviceTensor
//===----------------------------------------------------------------------===//

/// A kernel memref argument seen as a flat 1-D memref plus its sizes and
/// strides: addresses are computed once per row, not per access.
struct DeviceTensor {
  Value flat;
  SmallVector<Value> sizes, strides;
  Type elementType;
  Value alignedPointer, baseOffset; ///< of the argument's descriptor

  /// `unitInnerStride`: the host checked that the last dimension is
  /// contiguous (fast kernels), so the stride is the constant 1.
  static DeviceTensor get(KernelBuilder &kb, Value memref,
                          bool unitInnerStride);

  int64_t rank() const { return sizes.size(); }
  Value size(int64_t d) const { return sizes[d]; }
  Value stride(int64_t d) const { return strides[d]; }
  /// Element offset of `ivs` (a prefix of the dims, the rest taken as 0).
  Value offset(KernelBuilder &kb, ValueRange ivs) const;

  Value load(KernelBuilder &kb, Value offset) const;
  void store(KernelBuilder &kb, Value value, Value offset) const;
  /// Loads an index element (i32 or i64) as `index`.
  Value loadIndex(KernelBuilder &kb, Value offset) const;
  Value loadF32(KernelBuilder &kb, Value offset) const;
  /// Stores an f32 value narrowed to the element type.
  void storeF32(KernelBuilder &kb, Value value, Value offset) const;
  /// `n` contiguous elements widened to vector<n x f32> (aligned to `align`).
  Value loadVectorF32(KernelBuilder &kb, Value offset, int64_t n,
                      int64_t align) const;
  void storeVectorF32(KernelBuilder &kb, Value value, Value offset,
                      int64_t align) const;
  /// Atomic `+=` of an f32 value (converted to the element type).
  void atomicAddF32(KernelBuilder &kb, Value value, Value offset) const;
  /// One 16-byte atomic `+=` of a vector<4xf32> (f32 elements, 16-byte
  /// aligned address): `red.global.add.v4.f32`, sm_90 and PTX ISA 8.1.
  void atomicAddF32x4(KernelBuilder &kb, Value value, Value offset) const;
};

} // namespace egs

#endif
