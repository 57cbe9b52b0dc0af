//===- KernelBuilder.cpp - shared pieces of the egs GPU kernels -----------===//
#include "Kernels/KernelBuilder.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace egs;

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

int64_t egs::elementBytes(Type t) {
  if (t.isIndex())
    return 8;
  return llvm::divideCeil(t.getIntOrFloatBitWidth(), 8);
}

std::string egs::typeTag(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}

MemRefType egs::fullyDynamicMemRefType(MemRefType type) {
  int64_t rank = type.getRank();
  SmallVector<int64_t> shape(rank, ShapedType::kDynamic);
  SmallVector<int64_t> strides(rank, ShapedType::kDynamic);
  auto layout = StridedLayoutAttr::get(type.getContext(), ShapedType::kDynamic,
                                       strides);
  return MemRefType::get(shape, type.getElementType(), layout,
                         type.getMemorySpace());
}

//===----------------------------------------------------------------------===//
// KernelBuilder: 32-bit index arithmetic (a 64-bit division is a library call)
//===----------------------------------------------------------------------===//

Value KernelBuilder::divU32(Value x, Value y) {
  return toIndex(divU(toI32(x), toI32(y)));
}
Value KernelBuilder::remU32(Value x, Value y) {
  return toIndex(remU(toI32(x), toI32(y)));
}

//===----------------------------------------------------------------------===//
// KernelBuilder: GPU
//===----------------------------------------------------------------------===//

Value KernelBuilder::threadId() {
  return gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
}
Value KernelBuilder::blockId(gpu::Dimension d) {
  return gpu::BlockIdOp::create(b, loc, d);
}
Value KernelBuilder::laneId() { return remU(threadId(), idx(32)); }
Value KernelBuilder::warpId() { return divU(threadId(), idx(32)); }
void KernelBuilder::barrier() { gpu::BarrierOp::create(b, loc); }


void KernelBuilder::gridStrideLoop(Value total, int64_t numThreads,
                                  function_ref<void(Value)> body) {
  Value first = add(mul(blockId(gpu::Dimension::x), idx(numThreads)), threadId());
  Value step = mul(gpu::GridDimOp::create(b, loc, gpu::Dimension::x),
                   idx(numThreads));
  forLoop(first, total, step, body);
}

SmallVector<Value> KernelBuilder::delinearize(Value linear,
                                              ArrayRef<Value> sizes,
                                              bool narrow) {
  SmallVector<Value> ivs(sizes.size());
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    if (d == 0) {
      ivs[d] = linear;
      break;
    }
    ivs[d] = narrow ? remU32(linear, sizes[d]) : remU(linear, sizes[d]);
    linear = narrow ? divU32(linear, sizes[d]) : divU(linear, sizes[d]);
  }
  return ivs;
}

Value KernelBuilder::sharedView(int64_t byteOffset, ArrayRef<int64_t> shape,
                                Type elt) {
  auto wg = gpu::AddressSpaceAttr::get(getContext(),
                                       gpu::AddressSpace::Workgroup);
  auto rawType = MemRefType::get({0}, b.getI8Type(), MemRefLayoutAttrInterface{}, wg);
  Value raw = memref::GetGlobalOp::create(b, loc, rawType, kDynamicSharedMemory);
  auto viewType = MemRefType::get(shape, elt, MemRefLayoutAttrInterface{}, wg);
  return memref::ViewOp::create(b, loc, viewType, raw, idx(byteOffset),
                                ValueRange{});
}

std::pair<Value, Value>
KernelBuilder::blockInclusiveScan(Value v, Value scratch, int64_t numThreads) {
  Value lane = laneId(), warp = warpId();
  Value x = v;
  for (int32_t d = 1; d < 32; d *= 2) {
    auto shfl = gpu::ShuffleOp::create(b, loc, x, d, 32, gpu::ShuffleMode::UP);
    Value sum = add(x, shfl.getShuffleResult());
    x = select(ge(lane, idx(d)), sum, x);
  }
  ifThen(eq(lane, idx(31)), [&] {
    memref::StoreOp::create(b, loc, x, scratch, ValueRange{warp});
  });
  barrier();
  Value before = i32(0), total = i32(0);
  for (int64_t w = 0; w < numThreads / 32; ++w) {
    Value t = memref::LoadOp::create(b, loc, scratch, ValueRange{idx(w)});
    before = add(before, select(lt(idx(w), warp), t, i32(0)));
    total = add(total, t);
  }
  // The next scan may overwrite the warp totals only after all have read.
  barrier();
  return {add(x, before), total};
}

Value KernelBuilder::blockExclusiveScan(
    Value n, Value scratch, int64_t numThreads, function_ref<Value(Value)> term,
    function_ref<void(Value, Value, Value)> consume) {
  Value chunks = ceilDiv(n, idx(numThreads));
  Value tid = threadId();
  return forLoop(idx(0), chunks, idx(1), ValueRange{i32(0)},
                 [&](Value chunk, ValueRange carry) -> SmallVector<Value> {
                   Value i = add(mul(chunk, idx(numThreads)), tid);
                   Value inside = lt(i, n);
                   Value t = ifElse(inside, b.getI32Type(),
                                    [&] { return SmallVector<Value>{term(i)}; },
                                    [&] { return SmallVector<Value>{i32(0)}; })[0];
                   auto [inclusive, total] = blockInclusiveScan(t, scratch, numThreads);
                   Value exclusive = sub(add(carry[0], inclusive), t);
                   ifThen(inside, [&] { consume(i, exclusive, t); });
                   return {add(carry[0], total)};
                 })[0];
}

//===----------------------------------------------------------------------===//
// DeviceTensor
//===----------------------------------------------------------------------===//

DeviceTensor DeviceTensor::get(KernelBuilder &kb, Value memref,
                               bool unitInnerStride) {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  auto type = cast<MemRefType>(memref.getType());
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  DeviceTensor t;
  t.elementType = type.getElementType();
  t.sizes.assign(meta.getSizes().begin(), meta.getSizes().end());
  t.baseOffset = meta.getOffset();
  t.alignedPointer =
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  t.strides.assign(meta.getStrides().begin(), meta.getStrides().end());
  if (unitInnerStride && type.getRank() > 0)
    t.strides.back() = kb.idx(1);
  auto flatType = MemRefType::get(
      {ShapedType::kDynamic}, t.elementType,
      StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, {1}),
      type.getMemorySpace());
  // The size only documents the view; nothing checks bounds against it.
  Value size = kb.idx(int64_t(1) << 40);
  t.flat = memref::ReinterpretCastOp::create(
      b, loc, flatType, meta.getBaseBuffer(), OpFoldResult(meta.getOffset()),
      ArrayRef<OpFoldResult>{size}, ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  return t;
}

Value DeviceTensor::offset(KernelBuilder &kb, ValueRange ivs) const {
  Value off = kb.idx(0);
  for (auto [i, iv] : llvm::enumerate(ivs))
    off = kb.add(off, kb.mul(iv, strides[i]));
  return off;
}

Value DeviceTensor::load(KernelBuilder &kb, Value offset) const {
  return memref::LoadOp::create(kb.builder(), kb.getLoc(), flat, offset);
}
void DeviceTensor::store(KernelBuilder &kb, Value value, Value offset) const {
  memref::StoreOp::create(kb.builder(), kb.getLoc(), value, flat, offset);
}
Value DeviceTensor::loadIndex(KernelBuilder &kb, Value offset) const {
  return kb.toIndex(load(kb, offset));
}
Value DeviceTensor::loadF32(KernelBuilder &kb, Value offset) const {
  return kb.toF32(load(kb, offset));
}
void DeviceTensor::storeF32(KernelBuilder &kb, Value value,
                            Value offset) const {
  store(kb, kb.fromF32(value, elementType), offset);
}

Value DeviceTensor::loadVectorF32(KernelBuilder &kb, Value offset, int64_t n,
                                  int64_t align) const {
  auto vt = VectorType::get({n}, elementType);
  auto ld = vector::LoadOp::create(kb.builder(), kb.getLoc(), vt, flat,
                                   ValueRange{offset});
  ld.setAlignment(align);
  return kb.toF32(ld);
}

void DeviceTensor::storeVectorF32(KernelBuilder &kb, Value value, Value offset,
                                  int64_t align) const {
  auto st = vector::StoreOp::create(kb.builder(), kb.getLoc(),
                                    kb.fromF32(value, elementType), flat,
                                    ValueRange{offset});
  st.setAlignment(align);
}

void DeviceTensor::atomicAddF32x4(KernelBuilder &kb, Value value,
                                  Value offset) const {
  OpBuilder &b = kb.builder();
  Location loc = kb.getLoc();
  Value element = kb.add(baseOffset, offset);
  Value address = kb.add(alignedPointer, kb.mul(element, kb.idx(4)));
  Value address64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
  Value ptr = LLVM::IntToPtrOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext()), address64);
  SmallVector<Value> operands{ptr};
  for (int64_t i = 0; i < 4; ++i)
    operands.push_back(kb.extract(value, i));
  LLVM::InlineAsmOp::create(
      b, loc, TypeRange{}, operands,
      b.getStringAttr("{ .reg .u64 a; cvta.to.global.u64 a, $0; "
                      "red.global.add.v4.f32 [a], {$1, $2, $3, $4}; }"),
      b.getStringAttr("l,f,f,f,f"), b.getUnitAttr(), UnitAttr(),
      LLVM::TailCallKindAttr(), LLVM::AsmDialectAttr(), ArrayAttr());
}

void DeviceTensor::atomicAddF32(KernelBuilder &kb, Value value,
                                Value offset) const {
  memref::AtomicRMWOp::create(kb.builder(), kb.getLoc(),
                              arith::AtomicRMWKind::addf,
                              kb.fromF32(value, elementType), flat,
                              ValueRange{offset});
}
