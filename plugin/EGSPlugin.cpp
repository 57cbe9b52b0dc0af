//===- EGSPlugin.cpp - egs as a dialect and pass plugin for mlir-opt ------===//
//
// Loaded by a stock mlir-opt built from the same LLVM:
//   mlir-opt --load-dialect-plugin=libEGSPlugin.so --load-pass-plugin=...
// The plugin links libMLIR.so so its registrations land in mlir-opt's
// registry rather than a private copy.
//
//===----------------------------------------------------------------------===//
#include "egs/InitAll.h"

#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"

extern "C" LLVM_ATTRIBUTE_WEAK mlir::DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "EGS", LLVM_VERSION_STRING,
          [](mlir::DialectRegistry *registry) {
            egs::registerAllDialects(*registry);
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK mlir::PassPluginLibraryInfo
mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "EGSPasses", LLVM_VERSION_STRING,
          []() { egs::registerAllPasses(); }};
}
