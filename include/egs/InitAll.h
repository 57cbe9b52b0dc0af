//===- InitAll.h - register everything egs provides -------------*- C++ -*-===//
#ifndef EGS_INITALL_H
#define EGS_INITALL_H

#include "egs/Dialect/EGS/IR/EGSDialect.h"
#include "egs/Dialect/EGS/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"

namespace egs {
/// Registers the egs dialect and its external interface models.
inline void registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<egs::EGSDialect>();
  egs::registerBufferizableOpInterfaceExternalModels(registry);
}

/// Registers the egs passes and pipelines with the global registry.
void registerAllPasses();
} // namespace egs

#endif // EGS_INITALL_H
