//===- Passes.h - egs conversion passes -------------------------*- C++ -*-===//
#ifndef EGS_CONVERSION_PASSES_H
#define EGS_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"

namespace egs {
#define GEN_PASS_DECL
#include "egs/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "egs/Conversion/Passes.h.inc"
} // namespace egs

#endif
