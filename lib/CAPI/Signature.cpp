//===- Signature.cpp - entry-point signatures of the egs C API ------------===//
//
// Signatures are read from the func.func before lowering, where tensors and
// memrefs still say their element type, rank and static sizes; after
// bufferization each becomes a memref descriptor passed by pointer in the C
// interface (llvm.emit_c_interface).
//
//===----------------------------------------------------------------------===//
#include "Executable.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace egs::capi {

static EgsDType dtypeOf(Type t) {
  if (t.isF32())
    return EGS_DTYPE_F32;
  if (t.isF16())
    return EGS_DTYPE_F16;
  if (t.isBF16())
    return EGS_DTYPE_BF16;
  if (t.isF64())
    return EGS_DTYPE_F64;
  if (t.isIndex())
    return EGS_DTYPE_INDEX;
  if (auto i = dyn_cast<IntegerType>(t)) {
    if (i.isUnsigned())
      return EGS_DTYPE_INVALID;
    switch (i.getWidth()) {
    case 1:
      return EGS_DTYPE_I1;
    case 8:
      return EGS_DTYPE_I8;
    case 16:
      return EGS_DTYPE_I16;
    case 32:
      return EGS_DTYPE_I32;
    case 64:
      return EGS_DTYPE_I64;
    }
  }
  return EGS_DTYPE_INVALID;
}

static bool describeType(Type type, EgsValueType &out, std::string &why) {
  out = EgsValueType();
  for (int64_t &s : out.sizes)
    s = -1;
  for (int64_t &s : out.strides)
    s = ShapedType::kDynamic;
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  if (auto shaped = dyn_cast<ShapedType>(type)) {
    if (!isa<RankedTensorType, MemRefType>(type) || !shaped.hasRank()) {
      why = "type " + text + " (only ranked tensors and memrefs)";
      return false;
    }
    if (shaped.getRank() > kMaxRank) {
      why = "type " + text + " (rank above " + std::to_string(kMaxRank) + ")";
      return false;
    }
    out.kind = EGS_VALUE_MEMREF;
    out.dtype = dtypeOf(shaped.getElementType());
    out.rank = static_cast<int32_t>(shaped.getRank());
    for (int64_t d = 0; d < shaped.getRank(); ++d)
      out.sizes[d] = shaped.isDynamicDim(d) ? -1 : shaped.getDimSize(d);
    out.isTensor = isa<RankedTensorType>(type);
    auto memref = dyn_cast<MemRefType>(type);
    out.identityLayout = !memref || memref.getLayout().isIdentity();
    if (memref && !out.identityLayout) {
      // Strided layouts are fine as long as the descriptor can say them.
      SmallVector<int64_t> strides;
      int64_t offset;
      if (failed(memref.getStridesAndOffset(strides, offset))) {
        why = "type " + text + " (a layout that is not strided)";
        return false;
      }
      for (auto [d, stride] : llvm::enumerate(strides))
        out.strides[d] = stride;
    }
    if (memref && memref.getMemorySpace()) {
      why = "type " + text + " (memory spaces are not supported)";
      return false;
    }
  } else {
    out.dtype = dtypeOf(type);
    out.kind = isa<FloatType>(type) ? EGS_VALUE_FLOAT : EGS_VALUE_INT;
    if (out.dtype == EGS_DTYPE_F16 || out.dtype == EGS_DTYPE_BF16) {
      why = "scalar type " + text + " (scalars must be integers, index, f32 or f64)";
      return false;
    }
  }
  if (out.dtype == EGS_DTYPE_INVALID) {
    why = "type " + text + " (unsupported element type)";
    return false;
  }
  return true;
}

bool describeEntryPoint(func::FuncOp func, EntryPoint &entry,
                        std::string &error) {
  entry.name = func.getSymName().str();
  FunctionType type = func.getFunctionType();
  std::string why;
  for (auto [i, t] : llvm::enumerate(type.getInputs())) {
    EgsValueType v;
    if (!describeType(t, v, why)) {
      error = "function @" + entry.name + " argument " + std::to_string(i) +
              " has " + why;
      return false;
    }
    entry.args.push_back(v);
  }
  for (auto [i, t] : llvm::enumerate(type.getResults())) {
    EgsValueType v;
    if (!describeType(t, v, why)) {
      error = "function @" + entry.name + " result " + std::to_string(i) +
              " has " + why;
      return false;
    }
    entry.results.push_back(v);
  }
  return true;
}

static size_t scalarSize(EgsDType dtype) {
  return dtype == EGS_DTYPE_I1 ? 1 : egsDTypeSize(dtype);
}

std::vector<size_t> resultStructLayout(const std::vector<EgsValueType> &results,
                                       size_t &size) {
  std::vector<size_t> offsets;
  size_t offset = 0, maxAlign = 1;
  for (const EgsValueType &r : results) {
    size_t bytes = r.kind == EGS_VALUE_MEMREF ? descriptorSize(r.rank)
                                              : scalarSize(r.dtype);
    size_t align = r.kind == EGS_VALUE_MEMREF ? 8 : bytes;
    offset = (offset + align - 1) / align * align;
    offsets.push_back(offset);
    offset += bytes;
    maxAlign = std::max(maxAlign, align);
  }
  size = (offset + maxAlign - 1) / maxAlign * maxAlign;
  return offsets;
}

} // namespace egs::capi

extern "C" size_t egsDTypeSize(EgsDType dtype) {
  switch (dtype) {
  case EGS_DTYPE_F32:
  case EGS_DTYPE_I32:
    return 4;
  case EGS_DTYPE_F16:
  case EGS_DTYPE_BF16:
  case EGS_DTYPE_I16:
    return 2;
  case EGS_DTYPE_F64:
  case EGS_DTYPE_I64:
  case EGS_DTYPE_INDEX:
    return 8;
  case EGS_DTYPE_I1:
  case EGS_DTYPE_I8:
    return 1;
  case EGS_DTYPE_INVALID:
    break;
  }
  return 0;
}

extern "C" const char *egsDTypeName(EgsDType dtype) {
  switch (dtype) {
  case EGS_DTYPE_F32:
    return "f32";
  case EGS_DTYPE_F16:
    return "f16";
  case EGS_DTYPE_BF16:
    return "bf16";
  case EGS_DTYPE_F64:
    return "f64";
  case EGS_DTYPE_I1:
    return "i1";
  case EGS_DTYPE_I8:
    return "i8";
  case EGS_DTYPE_I16:
    return "i16";
  case EGS_DTYPE_I32:
    return "i32";
  case EGS_DTYPE_I64:
    return "i64";
  case EGS_DTYPE_INDEX:
    return "index";
  case EGS_DTYPE_INVALID:
    break;
  }
  return "invalid";
}
