//===- ShapeChecks.h - run-time dim agreement checks ------------*- C++ -*-===//
//
// Both lowerings call emitShapeChecks before an op's host code: one compare
// per dim agreement of getShapeConstraints with a dynamic side; a mismatch
// calls egsReportShapeError (HostRuntime.h).
//
//===----------------------------------------------------------------------===//
#ifndef EGS_CONVERSION_UTILS_SHAPECHECKS_H
#define EGS_CONVERSION_UTILS_SHAPECHECKS_H

#include "mlir/IR/Builders.h"

namespace egs {

/// A memref<?xi8> view of a private constant global holding `text`, created
/// once per module (at the start of the module enclosing `op`).
mlir::Value getHostMessage(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Operation *op, llvm::StringRef text);

/// Emits at b's insertion point the checks of `op`'s (memref form) dynamic
/// dim agreements. Returns the number of compares emitted.
unsigned emitShapeChecks(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Operation *op);

} // namespace egs

#endif // EGS_CONVERSION_UTILS_SHAPECHECKS_H
