//===- HostLaunch.cpp - host side of the egs GPU lowering -----------------===//
#include "Host/HostLaunch.h"
#include "egs/Conversion/Utils/ShapeChecks.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace egs;

static constexpr llvm::StringLiteral kKernelModuleName = "egs_kernels";

//===----------------------------------------------------------------------===//
// KernelModule
//===----------------------------------------------------------------------===//

KernelModule KernelModule::get(ModuleOp module) {
  if (auto existing = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModuleName))
    return KernelModule(existing);
  OpBuilder b(module.getContext());
  Location loc = module.getLoc();
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  b.getUnitAttr());
  b.setInsertionPointToStart(module.getBody());
  auto gpuModule = gpu::GPUModuleOp::create(b, loc, kKernelModuleName);
  // Dynamic shared memory of every kernel: an external workgroup array,
  // 1024-byte aligned (wgmma's 128-byte swizzle repeats every 1024 bytes and
  // the GEMM's swizzled tiles start on such boundaries). (gpu.dynamic_shared_memory
  // would become an internal zero-size global that NVPTX demotes to a
  // one-byte static variable.)
  b.setInsertionPointToStart(gpuModule.getBody());
  auto wg = gpu::AddressSpaceAttr::get(b.getContext(),
                                       gpu::AddressSpace::Workgroup);
  auto type = MemRefType::get({0}, b.getI8Type(), MemRefLayoutAttrInterface{}, wg);
  memref::GlobalOp::create(b, loc, kDynamicSharedMemory,
                           b.getStringAttr("public"), type, Attribute(),
                           /*constant=*/false, b.getI64IntegerAttr(1024));
  return KernelModule(gpuModule);
}

/// A kernel `name` taking `argTypes`, built by `body` at `b`'s insertion
/// point (none: a detached function).
static gpu::GPUFuncOp
buildKernel(OpBuilder &b, Location loc, StringRef name, TypeRange argTypes,
            int64_t numThreads,
            function_ref<void(KernelBuilder &, ValueRange)> body) {
  auto func = gpu::GPUFuncOp::create(
      b, loc, name, FunctionType::get(b.getContext(), argTypes, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({static_cast<int32_t>(numThreads), 1, 1}));
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(&func.getBody().front());
  KernelBuilder kb(b, loc);
  body(kb, func.getArguments());
  gpu::ReturnOp::create(b, loc);
  return func;
}

gpu::GPUFuncOp KernelModule::getOrCreate(
    const KernelKey &key, TypeRange argTypes, int64_t numThreads,
    function_ref<void(KernelBuilder &, ValueRange)> body) {
  OpBuilder b(gpuModule.getContext());
  Location loc = gpuModule.getLoc();
  std::string name = key.symbol();
  if (auto existing = gpuModule.lookupSymbol<gpu::GPUFuncOp>(name)) {
    // Reuse only the very same code: build the body again, detached, and
    // compare (the key is meant to hold every fact the body depends on; a
    // key that forgot one gets a kernel of its own instead of another op's).
    auto fresh = buildKernel(b, loc, name, argTypes, numThreads, body);
    bool same = OperationEquivalence::isEquivalentTo(
        existing, fresh, OperationEquivalence::IgnoreLocations);
    fresh->erase();
    if (same)
      return existing;
    for (unsigned n = 1;; ++n) {
      std::string alt = name + "_v" + std::to_string(n);
      auto other = gpuModule.lookupSymbol<gpu::GPUFuncOp>(alt);
      if (!other) {
        name = alt;
        break;
      }
      fresh = buildKernel(b, loc, alt, argTypes, numThreads, body);
      same = OperationEquivalence::isEquivalentTo(
          other, fresh, OperationEquivalence::IgnoreLocations);
      fresh->erase();
      if (same)
        return other;
    }
  }
  b.setInsertionPointToEnd(gpuModule.getBody());
  return buildKernel(b, loc, name, argTypes, numThreads, body);
}

//===----------------------------------------------------------------------===//
// HostLauncher
//===----------------------------------------------------------------------===//

static bool writes(Operation *op, Value v) {
  auto iface = dyn_cast<MemoryEffectOpInterface>(op);
  if (!iface)
    return true;
  SmallVector<MemoryEffects::EffectInstance> effects;
  iface.getEffectsOnValue(v, effects);
  return llvm::any_of(effects, [](const MemoryEffects::EffectInstance &e) {
    return isa<MemoryEffects::Write>(e.getEffect());
  });
}

HostLauncher::HostLauncher(RewriterBase &rewriter, Operation *op,
                           const GPULoweringOptions &options)
    : rewriter(rewriter), op(op), loc(op->getLoc()), options(options),
      kb(rewriter, op->getLoc()),
      kernelModule(KernelModule::get(op->getParentOfType<ModuleOp>())) {
  rewriter.setInsertionPoint(op);
  if (options.checkShapes)
    emitShapeChecks(rewriter, loc, op);
  bool copy = options.hostBuffers == HostBuffers::Copy;
  sync = options.hostSync || copy;
  for (Value v : op->getOperands()) {
    auto type = dyn_cast<MemRefType>(v.getType());
    if (!type || deviceValues.count(v))
      continue;
    Value d = v;
    if (copy) {
      DeviceCopy c;
      c.written = writes(op, v);
      c.staging = v;
      if (!type.getLayout().isIdentity()) {
        auto contiguous = MemRefType::get(type.getShape(), type.getElementType());
        c.staging = memref::AllocOp::create(rewriter, loc, contiguous,
                                            dynamicSizes(v));
        memref::CopyOp::create(rewriter, loc, v, c.staging);
      }
      copies[v] = c;
    }
    deviceValues[v] = d;
  }
  if (copies.empty())
    return;
  Value t = beginSegment();
  auto tokenType = gpu::AsyncTokenType::get(rewriter.getContext());
  for (auto &[v, c] : copies) {
    auto stagingType = cast<MemRefType>(c.staging.getType());
    auto alloc = gpu::AllocOp::create(
        rewriter, loc, MemRefType::get(stagingType.getShape(),
                                       stagingType.getElementType()),
        tokenType, ValueRange{t}, dynamicSizes(c.staging), ValueRange{});
    c.device = alloc.getMemref();
    t = gpu::MemcpyOp::create(rewriter, loc, tokenType, ValueRange{alloc.getAsyncToken()},
                              c.device, c.staging)
            .getAsyncToken();
    deviceValues[v] = c.device;
  }
  endSegment(t);
}

SmallVector<Value> HostLauncher::dynamicSizes(Value memref) {
  SmallVector<Value> sizes;
  auto type = cast<MemRefType>(memref.getType());
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      sizes.push_back(dim(memref, d));
  return sizes;
}

Value HostLauncher::device(Value hostValue) const {
  Value d = deviceValues.lookup(hostValue);
  assert(d && "not a memref operand of the op");
  return const_cast<HostLauncher *>(this)->kernelArg(d);
}

Value HostLauncher::beginSegment() {
  auto tokenType = gpu::AsyncTokenType::get(rewriter.getContext());
  return gpu::WaitOp::create(rewriter, loc, tokenType, ValueRange{})
      .getAsyncToken();
}

void HostLauncher::endSegment(Value token) {
  if (sync)
    gpu::WaitOp::create(rewriter, loc, Type(), ValueRange{token});
}

Value HostLauncher::scratch(MemRefType type, ValueRange sizes) {
  auto tokenType = gpu::AsyncTokenType::get(rewriter.getContext());
  Value t = beginSegment();
  auto alloc = gpu::AllocOp::create(rewriter, loc, type, tokenType,
                                    ValueRange{t}, sizes, ValueRange{});
  endSegment(alloc.getAsyncToken());
  scratchBuffers.push_back(alloc.getMemref());
  return alloc.getMemref();
}

Value HostLauncher::kernelArg(Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  auto dynamic = fullyDynamicMemRefType(type);
  if (type == dynamic)
    return memref;
  return memref::CastOp::create(rewriter, loc, dynamic, memref);
}

void HostLauncher::fill(Value buffer, Value value) {
  auto tokenType = gpu::AsyncTokenType::get(rewriter.getContext());
  Value t = beginSegment();
  t = gpu::MemsetOp::create(rewriter, loc, tokenType, ValueRange{t}, buffer,
                            value)
          .getAsyncToken();
  endSegment(t);
}

Value HostLauncher::vectorAccessible(Value memref, int64_t bytes) {
  auto type = cast<MemRefType>(memref.getType());
  int64_t esize = elementBytes(type.getElementType());
  auto meta = memref::ExtractStridedMetadataOp::create(rewriter, loc, memref);
  Value ptr = memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, memref);
  Value addr = kb.add(ptr, kb.mul(meta.getOffset(), kb.idx(esize)));
  Value ok = kb.eq(kb.remU(addr, kb.idx(bytes)), kb.idx(0));
  int64_t rank = type.getRank();
  if (rank == 0)
    return ok;
  ok = kb.andB(ok, kb.eq(meta.getStrides()[rank - 1], kb.idx(1)));
  for (int64_t d = 0; d + 1 < rank; ++d) {
    Value rowBytes = kb.mul(meta.getStrides()[d], kb.idx(esize));
    ok = kb.andB(ok, kb.eq(kb.remU(rowBytes, kb.idx(bytes)), kb.idx(0)));
  }
  return ok;
}

Value HostLauncher::isContiguous(Value memref) {
  auto meta = memref::ExtractStridedMetadataOp::create(rewriter, loc, memref);
  Value ok = kb.boolean(true), expected = kb.idx(1);
  for (int64_t d = cast<MemRefType>(memref.getType()).getRank() - 1; d >= 0; --d) {
    Value size = meta.getSizes()[d];
    // A dimension of size 1 may have any stride.
    Value fits = kb.orB(kb.eq(meta.getStrides()[d], expected),
                        kb.eq(size, kb.idx(1)));
    ok = kb.andB(ok, fits);
    expected = kb.mul(expected, size);
  }
  return ok;
}

Value HostLauncher::fitsInt32(Value memref) {
  Value ok = kb.boolean(true);
  for (int64_t d = 0, n = cast<MemRefType>(memref.getType()).getRank(); d < n; ++d)
    ok = kb.andB(ok, kb.lt(dim(memref, d), kb.idx(int64_t(1) << 31)));
  return ok;
}

Value HostLauncher::blocksFor(Value total, int64_t numThreads) {
  return kb.minS(kb.ceilDiv(total, kb.idx(numThreads)), kb.idx(int64_t(1) << 20));
}

void HostLauncher::launch(gpu::GPUFuncOp kernel, ArrayRef<Value> grid,
                          int64_t numThreads, int64_t sharedBytes,
                          ValueRange args, Value cond) {
  assert(grid.size() == 3 && "grid is (x, y, z)");
  Value run = cond ? cond : kb.boolean(true);
  for (Value g : grid)
    run = kb.andB(run, kb.lt(kb.idx(0), g));
  kb.ifThen(run, [&] {
    auto tokenType = gpu::AsyncTokenType::get(rewriter.getContext());
    Value t = beginSegment();
    Value one = kb.idx(1);
    Value smem = kb.i32(sharedBytes);
    auto launchOp = gpu::LaunchFuncOp::create(
        rewriter, loc, kernel, gpu::KernelDim3{grid[0], grid[1], grid[2]},
        gpu::KernelDim3{kb.idx(numThreads), one, one}, smem, args, tokenType,
        ValueRange{t});
    endSegment(launchOp.getAsyncToken());
  });
}

void HostLauncher::finish() {
  if (!copies.empty() || !scratchBuffers.empty()) {
    auto tokenType = gpu::AsyncTokenType::get(rewriter.getContext());
    Value t = beginSegment();
    for (auto &[v, c] : copies)
      if (c.written)
        t = gpu::MemcpyOp::create(rewriter, loc, tokenType, ValueRange{t},
                                  c.staging, c.device)
                .getAsyncToken();
    for (Value s : scratchBuffers)
      t = gpu::DeallocOp::create(rewriter, loc, tokenType, ValueRange{t}, s)
              .getAsyncToken();
    for (auto &[v, c] : copies)
      t = gpu::DeallocOp::create(rewriter, loc, tokenType, ValueRange{t},
                                 c.device)
              .getAsyncToken();
    endSegment(t);
  }
  for (auto &[v, c] : copies) {
    if (c.staging == v)
      continue;
    if (c.written)
      memref::CopyOp::create(rewriter, loc, c.staging, v);
    memref::DeallocOp::create(rewriter, loc, c.staging);
  }
  rewriter.eraseOp(op);
}
