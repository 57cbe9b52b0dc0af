//===- EGSDialect.cpp - the egs dialect -----------------------------------===//
#include "egs/Dialect/EGS/IR/EGSDialect.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace egs;

#include "egs/Dialect/EGS/IR/EGSEnums.cpp.inc"
#include "egs/Dialect/EGS/IR/EGSOpsDialect.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "egs/Dialect/EGS/IR/EGSAttrs.cpp.inc"

void EGSDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "egs/Dialect/EGS/IR/EGSOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "egs/Dialect/EGS/IR/EGSAttrs.cpp.inc"
      >();
}

LogicalResult
TileConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError, int64_t bm,
                       int64_t bn, int64_t bk, int64_t stages, int64_t warps,
                       StringRef mma) {
  if (mma != "sync" && mma != "warpgroup")
    return emitError() << "tile parameter 'mma' = \"" << mma
                       << "\" must be \"sync\" or \"warpgroup\"";
  auto checkPow2 = [&](StringRef name, int64_t v, int64_t lo,
                       int64_t hi) -> LogicalResult {
    if (v < lo || v > hi || !llvm::isPowerOf2_64(v))
      return emitError() << "tile parameter '" << name << "' = " << v
                         << " must be a power of two in [" << lo << ", " << hi
                         << "]";
    return success();
  };
  if (failed(checkPow2("bm", bm, 16, 256)) || failed(checkPow2("bn", bn, 8, 256)) ||
      failed(checkPow2("bk", bk, 16, 128)) || failed(checkPow2("warps", warps, 1, 16)))
    return failure();
  if (stages < 1 || stages > 8)
    return emitError() << "tile parameter 'stages' = " << stages
                       << " must be in [1, 8]";
  return success();
}
