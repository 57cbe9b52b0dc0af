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

/// The element type by its MLIR spelling (unsigned and other types have
/// none).
static EgsDType dtypeOf(Type t) {
  std::string name;
  llvm::raw_string_ostream(name) << t;
#define EGS_DTYPE(ENUM, NAME, BYTES, NUMPY_KIND, NUMPY_FORMAT)                 \
  if (name == NAME)                                                            \
    return EGS_DTYPE_##ENUM;
#include "egs-c/DTypes.def"
#undef EGS_DTYPE
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
#define EGS_DTYPE(ENUM, NAME, BYTES, NUMPY_KIND, NUMPY_FORMAT)                 \
  case EGS_DTYPE_##ENUM:                                                       \
    return BYTES;
#include "egs-c/DTypes.def"
#undef EGS_DTYPE
  case EGS_DTYPE_INVALID:
    break;
  }
  return 0;
}

extern "C" const char *egsDTypeName(EgsDType dtype) {
  switch (dtype) {
#define EGS_DTYPE(ENUM, NAME, BYTES, NUMPY_KIND, NUMPY_FORMAT)                 \
  case EGS_DTYPE_##ENUM:                                                       \
    return NAME;
#include "egs-c/DTypes.def"
#undef EGS_DTYPE
  case EGS_DTYPE_INVALID:
    break;
  }
  return "invalid";
}
