//===- InitAll.h - register everything egs provides -------------*- C++ -*-===//
//
// What an embedding compiler calls to use egs: the dialect with its interface
// models, plus the upstream dialects and external models the egs pipelines
// need (bufferization models of func/arith/tensor/linalg/scf/..., the LLVM IR
// translations), so that parsing and the pipelines work with no further
// registration.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_INITALL_H
#define EGS_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace egs {
/// Registers the egs dialect, its interface models and what the egs
/// pipelines need from upstream.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers the egs passes and pipelines with the global registry.
void registerAllPasses();
} // namespace egs

#endif // EGS_INITALL_H
