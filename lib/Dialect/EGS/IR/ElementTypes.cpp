//===- ElementTypes.cpp - element types every egs lowering supports -------===//
#include "egs/Dialect/EGS/IR/ElementTypes.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

/// Widths that are whole bytes and that the host and NVPTX load, store and
/// zero natively.
static bool isByteWidth(unsigned width) {
  return width == 8 || width == 16 || width == 32 || width == 64;
}

bool egs::isComputeElementType(Type t) {
  return t.isF32() || t.isF16() || t.isBF16();
}
StringRef egs::computeElementTypesString() { return "f32, f16 or bf16"; }

bool egs::isMovableElementType(Type t) {
  if (auto i = dyn_cast<IntegerType>(t))
    return i.isSignless() && isByteWidth(i.getWidth());
  if (auto f = dyn_cast<FloatType>(t))
    return isByteWidth(f.getWidth());
  return false;
}
StringRef egs::movableElementTypesString() {
  return "a signless integer or float of 8, 16, 32 or 64 bits";
}

bool egs::isAccumulableElementType(Type t) {
  // 8- and 16-bit integers would need a compare-and-swap loop on the
  // enclosing 32-bit word, which reaches past the end of a buffer.
  return t.isF16() || t.isBF16() || t.isF32() || t.isF64() ||
         t.isSignlessInteger(32) || t.isSignlessInteger(64);
}
StringRef egs::accumulableElementTypesString() {
  return "f16, bf16, f32, f64, i32 or i64";
}
