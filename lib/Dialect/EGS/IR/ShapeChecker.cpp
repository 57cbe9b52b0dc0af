//===- ShapeChecker.cpp - symbolic shape checks for egs verifiers ---------===//
#include "ShapeChecker.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace egs::detail;

std::string egs::detail::layoutString(StringRef layout) {
  return ("[" + layout + "]").str();
}

bool egs::detail::isSupportedDataType(Type t) {
  return t.isF32() || t.isF16() || t.isBF16();
}

static Type elementTypeOf(Type t) {
  if (auto shaped = dyn_cast<ShapedType>(t))
    return shaped.getElementType();
  return t;
}

LogicalResult ShapeChecker::check(Type type, StringRef name, StringRef layout) {
  auto shaped = dyn_cast<ShapedType>(type);
  SmallVector<StringRef> syms;
  layout.split(syms, ',');
  if (!shaped || !shaped.hasRank())
    return op->emitOpError() << name << " must be a ranked tensor or memref "
                             << layoutString(layout) << ", got " << type;
  if (shaped.getRank() != static_cast<int64_t>(syms.size()))
    return op->emitOpError()
           << name << " must have rank " << syms.size() << " "
           << layoutString(layout) << " but has type " << type;
  for (auto [dim, sym] : llvm::enumerate(syms)) {
    if (shaped.isDynamicDim(dim) || sym == "-")
      continue;
    if (failed(bindDim(sym, shaped.getDimSize(dim), name, dim, layout)))
      return failure();
  }
  return success();
}

LogicalResult ShapeChecker::bindDim(StringRef sym, int64_t size, StringRef name,
                                    unsigned dim, StringRef layout) {
  // "E+1" constrains E through size - 1.
  StringRef base = sym;
  int64_t offset = 0;
  if (sym.consume_back("+1")) {
    base = sym;
    offset = 1;
  }
  int64_t value = size - offset;
  std::string source = (name + " dim " + Twine(dim) + " " +
                        layoutString(layout))
                           .str();
  auto it = bound.find(base);
  if (it == bound.end()) {
    if (value < 0)
      return op->emitOpError() << name << " dim " << dim << " is " << size
                               << " but must be at least " << offset;
    bound[base] = {value, source};
    return success();
  }
  if (it->second.value == value)
    return success();
  auto diag = op->emitOpError()
              << name << " dim " << dim << " is " << size << ", expected "
              << (it->second.value + offset) << " (" << base << " = "
              << it->second.value << " from " << it->second.source << "); "
              << name << " must be " << layoutString(layout);
  return diag;
}

LogicalResult ShapeChecker::bind(StringRef sym, int64_t value, StringRef from) {
  auto it = bound.find(sym);
  if (it == bound.end()) {
    bound[sym] = {value, from.str()};
    return success();
  }
  if (it->second.value == value)
    return success();
  return op->emitOpError() << sym << " = " << value << " from " << from
                           << " disagrees with " << sym << " = "
                           << it->second.value << " from " << it->second.source;
}

int64_t ShapeChecker::get(StringRef sym) const {
  auto it = bound.find(sym);
  return it == bound.end() ? ShapedType::kDynamic : it->second.value;
}

LogicalResult ShapeChecker::isDataType(Type type, StringRef name) {
  Type elt = elementTypeOf(type);
  if (isSupportedDataType(elt))
    return success();
  return op->emitOpError() << name
                           << " must have f32, f16 or bf16 elements, got "
                           << elt;
}

LogicalResult ShapeChecker::isIndexType(Type type, StringRef name) {
  Type elt = elementTypeOf(type);
  if (elt.isSignlessInteger(32) || elt.isSignlessInteger(64))
    return success();
  return op->emitOpError() << name << " must have i32 or i64 elements, got "
                           << elt;
}
