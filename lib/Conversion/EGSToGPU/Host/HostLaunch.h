//===- HostLaunch.h - host side of the egs GPU lowering ---------*- C++ -*-===//
//
// KernelModule owns the `gpu.module @egs_kernels` that generated kernels go
// into (one kernel per distinct strategy and types, shared by every op that
// needs it). HostLauncher writes the host code that replaces one egs op:
// device access to its operands (copies or in place, see HostBuffers),
// scratch buffers, and launches guarded by run-time conditions.
//
// Launches are chained on `!gpu.async.token`s in "segments": a segment
// starts with `gpu.wait async` (a stream, or the caller's current stream)
// and ends with `gpu.wait` on its last token unless the host does not wait.
// Conditional launches (fast path or fallback, empty grids skipped) get a
// segment inside an `scf.if`, so that no token crosses a region.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_HOSTLAUNCH_H
#define EGS_LIB_CONVERSION_EGSTOGPU_HOSTLAUNCH_H

#include "Host/KernelKey.h"
#include "Kernels/KernelBuilder.h"
#include "egs/Conversion/EGSToGPU/EGSToGPU.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/MapVector.h"

#include <variant>

namespace egs {

class KernelModule {
public:
  /// The kernel container of `module`, created on first use.
  static KernelModule get(ModuleOp module);

  /// The kernel of `key` taking `argTypes`, built by `body` the first time
  /// and reused while `body` builds the same code (see KernelKey).
  gpu::GPUFuncOp
  getOrCreate(const KernelKey &key, TypeRange argTypes, int64_t numThreads,
              function_ref<void(KernelBuilder &, ValueRange)> body);

private:
  explicit KernelModule(gpu::GPUModuleOp m) : gpuModule(m) {}
  gpu::GPUModuleOp gpuModule;
};

class HostLauncher {
public:
  /// Prepares device access to every memref operand of `op`.
  HostLauncher(RewriterBase &rewriter, Operation *op,
               const GPULoweringOptions &options);

  KernelBuilder &host() { return kb; }
  KernelModule &kernels() { return kernelModule; }
  Operation *getOp() const { return op; }

  /// What kernels receive for the memref operand `hostValue` of the op: its
  /// device copy or itself, as a fully dynamic strided memref.
  Value device(Value hostValue) const;
  /// A contiguous device buffer of `type` (dynamic sizes from `sizes`),
  /// freed after the op's kernels.
  Value scratch(MemRefType type, ValueRange sizes);
  /// `memref` as a kernel argument (fully dynamic strided type).
  Value kernelArg(Value memref);
  /// Fills a scratch buffer (16- or 32-bit elements) with `value`.
  void fill(Value buffer, Value value);

  /// i1: `memref` may be read and written with `bytes`-wide vector accesses
  /// along its last dimension (unit stride, aligned rows and base).
  Value vectorAccessible(Value memref, int64_t bytes);
  /// i1: `memref` is contiguous in row-major order (any offset).
  Value isContiguous(Value memref);
  /// i1: every size of `memref` fits in 31 bits.
  Value fitsInt32(Value memref);

  /// Blocks for a grid-stride loop over `total` items (capped; the loop
  /// covers the rest).
  Value blocksFor(Value total, int64_t numThreads);

  /// Launches `kernel` on grid (x, y, z) of `numThreads`-thread blocks when
  /// `cond` (if given) holds and the grid is not empty.
  void launch(gpu::GPUFuncOp kernel, ArrayRef<Value> grid, int64_t numThreads,
              int64_t sharedBytes, ValueRange args, Value cond = {});

  /// Copies written operands back, frees device buffers and erases the op.
  void finish();

private:
  struct DeviceCopy {
    Value staging; ///< contiguous host buffer (the operand itself if it is)
    Value device;  ///< gpu.alloc'd copy
    bool written;
  };
  Value beginSegment();
  void endSegment(Value token);
  Value dim(Value memref, int64_t d) {
    return memref::DimOp::create(rewriter, loc, memref, d);
  }
  SmallVector<Value> dynamicSizes(Value memref);

  RewriterBase &rewriter;
  Operation *op;
  Location loc;
  const GPULoweringOptions &options;
  KernelBuilder kb;
  KernelModule kernelModule;
  bool sync;
  llvm::MapVector<Value, DeviceCopy> copies;
  DenseMap<Value, Value> deviceValues;
  SmallVector<Value> scratchBuffers;
};

/// Base of the GPU lowering patterns with one host launch sequence: matches
/// the memref form only; `prepare` may still decline the op (with a
/// diagnostic) before any IR changes; `lower` gets what it prepared and the
/// op's HostLauncher, which is finished afterwards (copies back, frees,
/// erases the op).
template <typename OpTy, typename Prepared>
struct PreparedGPULoweringPattern : public OpRewritePattern<OpTy> {
  PreparedGPULoweringPattern(MLIRContext *ctx, const GPULoweringOptions &options)
      : OpRewritePattern<OpTy>(ctx), options(options) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const final {
    if (!op.hasBufferSemantics())
      return rewriter.notifyMatchFailure(op, "bufferize the tensor form first");
    FailureOr<Prepared> prepared = prepare(op);
    if (failed(prepared))
      return failure();
    HostLauncher host(rewriter, op, options);
    lower(op, *prepared, host, rewriter);
    host.finish();
    return success();
  }

  virtual FailureOr<Prepared> prepare(OpTy op) const = 0;
  virtual void lower(OpTy op, const Prepared &prepared, HostLauncher &host,
                     PatternRewriter &rewriter) const = 0;

  GPULoweringOptions options;
};

/// The same for ops with nothing to prepare.
template <typename OpTy>
struct GPULoweringPattern
    : public PreparedGPULoweringPattern<OpTy, std::monostate> {
  using PreparedGPULoweringPattern<OpTy, std::monostate>::PreparedGPULoweringPattern;

  FailureOr<std::monostate> prepare(OpTy) const final { return std::monostate(); }
  void lower(OpTy op, const std::monostate &, HostLauncher &host,
             PatternRewriter &rewriter) const final {
    lower(op, host, rewriter);
  }
  virtual void lower(OpTy op, HostLauncher &host,
                     PatternRewriter &rewriter) const = 0;
};

} // namespace egs

#endif
