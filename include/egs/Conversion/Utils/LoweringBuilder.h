//===- LoweringBuilder.h - IR-building helpers of the egs lowerings -*- C++ -*-===//
//
// Constants, integer and f32 arithmetic, casts and structured control flow at
// one location: what both the host loops (EGSToLoops) and the GPU kernels
// (EGSToGPU) are written with. Each lowering extends it with its own pieces.
//
//===----------------------------------------------------------------------===//
#ifndef EGS_CONVERSION_UTILS_LOWERINGBUILDER_H
#define EGS_CONVERSION_UTILS_LOWERINGBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

namespace egs {

class LoweringBuilder {
public:
  LoweringBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  mlir::OpBuilder &builder() { return b; }
  mlir::Location getLoc() const { return loc; }
  mlir::MLIRContext *getContext() { return b.getContext(); }

  // Constants.
  mlir::Value idx(int64_t v);
  mlir::Value i32(int64_t v);
  mlir::Value i64(int64_t v);
  mlir::Value f32(double v);
  mlir::Value boolean(bool v);
  mlir::Value zero(mlir::Type t);

  // Integer arithmetic on index or iN (both operands of one type).
  mlir::Value add(mlir::Value x, mlir::Value y);
  mlir::Value sub(mlir::Value x, mlir::Value y);
  mlir::Value mul(mlir::Value x, mlir::Value y);
  mlir::Value divU(mlir::Value x, mlir::Value y);
  mlir::Value remU(mlir::Value x, mlir::Value y);
  mlir::Value ceilDiv(mlir::Value x, mlir::Value y);
  mlir::Value minS(mlir::Value x, mlir::Value y);
  mlir::Value maxS(mlir::Value x, mlir::Value y);
  mlir::Value clamp(mlir::Value v, mlir::Value lo, mlir::Value hi) {
    return minS(maxS(v, lo), hi);
  }
  mlir::Value cmp(mlir::arith::CmpIPredicate p, mlir::Value x, mlir::Value y);
  mlir::Value lt(mlir::Value x, mlir::Value y) {
    return cmp(mlir::arith::CmpIPredicate::slt, x, y);
  }
  mlir::Value le(mlir::Value x, mlir::Value y) {
    return cmp(mlir::arith::CmpIPredicate::sle, x, y);
  }
  mlir::Value ge(mlir::Value x, mlir::Value y) {
    return cmp(mlir::arith::CmpIPredicate::sge, x, y);
  }
  mlir::Value gt(mlir::Value x, mlir::Value y) {
    return cmp(mlir::arith::CmpIPredicate::sgt, x, y);
  }
  mlir::Value eq(mlir::Value x, mlir::Value y) {
    return cmp(mlir::arith::CmpIPredicate::eq, x, y);
  }
  mlir::Value ne(mlir::Value x, mlir::Value y) {
    return cmp(mlir::arith::CmpIPredicate::ne, x, y);
  }
  mlir::Value andB(mlir::Value x, mlir::Value y);
  mlir::Value orB(mlir::Value x, mlir::Value y);
  mlir::Value notB(mlir::Value x) { return eq(x, boolean(false)); }
  mlir::Value select(mlir::Value c, mlir::Value x, mlir::Value y);
  /// 0 <= v < bound.
  mlir::Value inRange(mlir::Value v, mlir::Value bound);
  /// Casts between index and integer types (signed).
  mlir::Value toIndex(mlir::Value v);
  mlir::Value toI32(mlir::Value v);
  mlir::Value toI64(mlir::Value v);

  // Floating point, on scalars or vectors.
  mlir::Value toF32(mlir::Value v);
  mlir::Value fromF32(mlir::Value v, mlir::Type elementType);
  mlir::Value addF(mlir::Value x, mlir::Value y);
  mlir::Value mulF(mlir::Value x, mlir::Value y);
  mlir::Value fma(mlir::Value a, mlir::Value x, mlir::Value y);
  mlir::Value splat(mlir::Value scalar, int64_t n);
  mlir::Value extract(mlir::Value vec, int64_t i);

  // Control flow (scf).
  void ifThen(mlir::Value cond, llvm::function_ref<void()> body);
  /// scf.if with both branches and no results.
  void ifThenElse(mlir::Value cond, llvm::function_ref<void()> thenBody,
                  llvm::function_ref<void()> elseBody);
  llvm::SmallVector<mlir::Value>
  ifElse(mlir::Value cond, mlir::TypeRange types,
         llvm::function_ref<llvm::SmallVector<mlir::Value>()> thenBody,
         llvm::function_ref<llvm::SmallVector<mlir::Value>()> elseBody);
  void forLoop(mlir::Value lb, mlir::Value ub, mlir::Value step,
               llvm::function_ref<void(mlir::Value)> body);
  llvm::SmallVector<mlir::Value>
  forLoop(mlir::Value lb, mlir::Value ub, mlir::Value step,
          mlir::ValueRange init,
          llvm::function_ref<llvm::SmallVector<mlir::Value>(mlir::Value,
                                                            mlir::ValueRange)>
              body);

protected:
  mlir::OpBuilder &b;
  mlir::Location loc;
};

} // namespace egs

#endif
