//===- InitAll.cpp - register the egs passes and pipelines ----------------===//
#include "egs/InitAll.h"
#include "egs/Conversion/Passes.h"
#include "egs/Pipelines/Pipelines.h"

void egs::registerAllPasses() {
  egs::registerEGSConversionPasses();
  egs::registerPipelines();
}
