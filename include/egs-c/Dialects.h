/*===- egs-c/Dialects.h - egs for users of the MLIR C API ---------*- C -*-===*\
|*                                                                            *|
|* For programs that already use the MLIR C API with their own MLIR: link the *|
|* static EGSCAPI library (not libEGSCAPI.so, which keeps a private MLIR) and  *|
|* register egs into their registry and pass registry.                         *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef EGS_C_DIALECTS_H
#define EGS_C_DIALECTS_H

#include "mlir-c/IR.h"

#ifdef __cplusplus
extern "C" {
#endif

/// mlirGetDialectHandle__egs__(): the egs dialect alone.
MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(EGS, egs);

/// The egs dialect, its interface models and the upstream dialects and
/// external models the egs pipelines need (egs::registerAllDialects).
MLIR_CAPI_EXPORTED void egsRegisterAllDialects(MlirDialectRegistry registry);

/// The egs passes and pipelines (--egs-lower-to-cpu, ...) in the global pass
/// registry (egs::registerAllPasses), for mlirParsePassPipeline.
MLIR_CAPI_EXPORTED void egsRegisterAllPasses(void);

#ifdef __cplusplus
}
#endif

#endif // EGS_C_DIALECTS_H
