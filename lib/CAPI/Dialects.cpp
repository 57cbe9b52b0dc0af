//===- Dialects.cpp - egs registration for MLIR C API users ---------------===//
#include "egs-c/Dialects.h"
#include "egs/Dialect/EGS/IR/EGSDialect.h"
#include "egs/InitAll.h"

#include "mlir/CAPI/Registration.h"

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(EGS, egs, egs::EGSDialect)

void egsRegisterAllDialects(MlirDialectRegistry registry) {
  egs::registerAllDialects(*unwrap(registry));
}

void egsRegisterAllPasses(void) { egs::registerAllPasses(); }
