//===- InitAll.cpp - register the egs passes and pipelines ----------------===//
#include "egs/InitAll.h"

void egs::registerAllPasses() {}
