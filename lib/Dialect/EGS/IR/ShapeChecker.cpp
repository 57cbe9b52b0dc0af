//===- ShapeChecker.cpp - symbolic shape checks for egs verifiers ---------===//
#include "ShapeChecker.h"
#include "egs/Dialect/EGS/IR/ElementTypes.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace egs::detail;

std::string egs::detail::layoutString(StringRef layout) {
  return ("[" + layout + "]").str();
}

static Type elementTypeOf(Type t) {
  if (auto shaped = dyn_cast<ShapedType>(t))
    return shaped.getElementType();
  return t;
}

/// Where the verifiers record while getShapeConstraints replays them.
static thread_local SmallVectorImpl<ShapeConstraint> *collecting = nullptr;

ShapeChecker::ShapeChecker(Operation *op) : op(op), recorded(collecting) {}

bool ShapeConstraint::isStatic() const {
  auto isStaticDim = [](Value v, unsigned d) {
    return !cast<ShapedType>(v.getType()).isDynamicDim(d);
  };
  return isStaticDim(lhs, lhsDim) && (!rhs || isStaticDim(rhs, rhsDim));
}

SmallVector<ShapeConstraint> egs::getShapeConstraints(Operation *op) {
  SmallVector<ShapeConstraint> result;
  std::optional<RegisteredOperationName> info = op->getRegisteredInfo();
  if (!info)
    return result;
  SmallVectorImpl<ShapeConstraint> *outer = collecting;
  collecting = &result;
  (void)info->verifyInvariants(op);
  collecting = outer;
  return result;
}

/// Splits "E+1" into ("E", 1).
static std::pair<StringRef, int64_t> splitSymbol(StringRef sym) {
  if (sym.consume_back("+1"))
    return {sym, 1};
  return {sym, 0};
}

void ShapeChecker::record(StringRef sym, Anchor here) {
  auto it = anchors.find(sym);
  if (it == anchors.end()) {
    anchors[sym] = std::move(here);
    return;
  }
  const Anchor &first = it->second;
  if (!here.value) {
    if (!first.value)
      return;
    // An attribute value: the anchor's dim must equal it.
    recorded->push_back({first.value, first.dim, first.name, Value(), 0, 0,
                         here.constant + first.offset, here.name});
    return;
  }
  // size(here) - here.offset == size(first) - first.offset.
  ShapeConstraint c;
  c.lhs = here.value;
  c.lhsDim = here.dim;
  c.lhsName = here.name;
  c.rhs = first.value;
  c.rhsDim = first.dim;
  c.offset = here.offset - first.offset;
  c.constant = first.constant + here.offset;
  c.rhsName = first.name;
  recorded->push_back(std::move(c));
}

LogicalResult ShapeChecker::check(Value value, StringRef name,
                                  StringRef layout) {
  if (failed(check(value.getType(), name, layout)))
    return failure();
  if (!recorded)
    return success();
  SmallVector<StringRef> syms;
  layout.split(syms, ',');
  for (auto [dim, sym] : llvm::enumerate(syms)) {
    if (sym == "-")
      continue;
    auto [base, offset] = splitSymbol(sym);
    record(base, {value, static_cast<unsigned>(dim), offset, 0,
                  ("dim " + Twine(dim) + " of " + name).str()});
  }
  return success();
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
  if (recorded)
    record(sym, {Value(), 0, 0, value, from.str()});
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
  if (isComputeElementType(elt))
    return success();
  return op->emitOpError() << name << " must have "
                           << computeElementTypesString() << " elements, got "
                           << elt;
}

LogicalResult ShapeChecker::isMovableType(Type type, StringRef name) {
  Type elt = elementTypeOf(type);
  if (isMovableElementType(elt))
    return success();
  return op->emitOpError() << name << " element type " << elt
                           << " is not supported; expected "
                           << movableElementTypesString();
}

LogicalResult ShapeChecker::isAccumulableType(Type type, StringRef name) {
  Type elt = elementTypeOf(type);
  if (isAccumulableElementType(elt))
    return success();
  return op->emitOpError() << name << " element type " << elt
                           << " is not supported; expected "
                           << accumulableElementTypesString();
}

LogicalResult ShapeChecker::isIndexType(Type type, StringRef name) {
  Type elt = elementTypeOf(type);
  if (elt.isSignlessInteger(32) || elt.isSignlessInteger(64))
    return success();
  return op->emitOpError() << name << " must have i32 or i64 elements, got "
                           << elt;
}
