//===- BufferizableOpInterfaceImpl.h - egs bufferization --------*- C++ -*-===//
#ifndef EGS_DIALECT_EGS_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H
#define EGS_DIALECT_EGS_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace egs {
/// Lets one-shot bufferization turn every egs op into its memref form:
/// outputs get fresh buffers passed as outs(...), and `init` of the
/// accumulating ops (matmul_scatter, scatter_add) is updated in place.
void registerBufferizableOpInterfaceExternalModels(mlir::DialectRegistry &registry);
} // namespace egs

#endif
