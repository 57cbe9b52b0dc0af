//===- KernelKey.h - the identity of a generated kernel ---------*- C++ -*-===//
//
// A generated kernel is shared by every op that needs the same code: its
// identity is its symbol, `egs_<family>` followed by one `_<field>` per
// static fact its body depends on (strategy, flags, constants, element
// types). Each kernel family spells its key in one function beside its
// launch; KernelModule::getOrCreate takes only keys, and before it reuses a
// kernel it checks that the body it would build now is the one it built
// then, so a key that forgot a field can never hand an op another op's code.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_LIB_CONVERSION_EGSTOGPU_HOST_KERNELKEY_H
#define EGS_LIB_CONVERSION_EGSTOGPU_HOST_KERNELKEY_H

#include "Kernels/KernelBuilder.h"

#include "llvm/ADT/Twine.h"

#include <string>

namespace egs {

class KernelKey {
public:
  explicit KernelKey(const llvm::Twine &family)
      : name(("egs_" + family).str()) {}

  /// Appends `_<field>`.
  KernelKey &add(const llvm::Twine &field) {
    name += "_";
    name += field.str();
    return *this;
  }
  /// Appends `_<field>` when `on`.
  KernelKey &addIf(bool on, const llvm::Twine &field) {
    return on ? add(field) : *this;
  }
  /// Appends the element type of a shaped type (or the type itself).
  KernelKey &addElementType(Type type) {
    if (auto shaped = dyn_cast<ShapedType>(type))
      type = shaped.getElementType();
    return add(typeTag(type));
  }
  /// Appends the element type of each value's type.
  KernelKey &addElementTypes(ValueRange values) {
    for (Value v : values)
      addElementType(v.getType());
    return *this;
  }
  const std::string &symbol() const { return name; }

private:
  std::string name;
};

} // namespace egs

#endif
