//===- LoweringBuilder.cpp - IR-building helpers of the egs lowerings -----===//
#include "egs/Conversion/Utils/LoweringBuilder.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace egs;

Value LoweringBuilder::idx(int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
Value LoweringBuilder::i32(int64_t v) {
  return arith::ConstantIntOp::create(b, loc, v, 32);
}
Value LoweringBuilder::i64(int64_t v) {
  return arith::ConstantIntOp::create(b, loc, v, 64);
}
Value LoweringBuilder::f32(double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}
Value LoweringBuilder::boolean(bool v) {
  return arith::ConstantIntOp::create(b, loc, v, 1);
}
Value LoweringBuilder::zero(Type t) {
  return arith::ConstantOp::create(b, loc, b.getZeroAttr(t));
}

Value LoweringBuilder::add(Value x, Value y) {
  return arith::AddIOp::create(b, loc, x, y);
}
Value LoweringBuilder::sub(Value x, Value y) {
  return arith::SubIOp::create(b, loc, x, y);
}
Value LoweringBuilder::mul(Value x, Value y) {
  return arith::MulIOp::create(b, loc, x, y);
}
Value LoweringBuilder::divU(Value x, Value y) {
  return arith::DivUIOp::create(b, loc, x, y);
}
Value LoweringBuilder::remU(Value x, Value y) {
  return arith::RemUIOp::create(b, loc, x, y);
}
Value LoweringBuilder::ceilDiv(Value x, Value y) {
  return arith::CeilDivUIOp::create(b, loc, x, y);
}
Value LoweringBuilder::minS(Value x, Value y) {
  return arith::MinSIOp::create(b, loc, x, y);
}
Value LoweringBuilder::maxS(Value x, Value y) {
  return arith::MaxSIOp::create(b, loc, x, y);
}
Value LoweringBuilder::cmp(arith::CmpIPredicate p, Value x, Value y) {
  return arith::CmpIOp::create(b, loc, p, x, y);
}
Value LoweringBuilder::andB(Value x, Value y) {
  return arith::AndIOp::create(b, loc, x, y);
}
Value LoweringBuilder::orB(Value x, Value y) {
  return arith::OrIOp::create(b, loc, x, y);
}
Value LoweringBuilder::select(Value c, Value x, Value y) {
  return arith::SelectOp::create(b, loc, c, x, y);
}
Value LoweringBuilder::inRange(Value v, Value bound) {
  return andB(ge(v, zero(v.getType())), lt(v, bound));
}
Value LoweringBuilder::toIndex(Value v) {
  if (v.getType().isIndex())
    return v;
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}
/// `v` (an index or a signless integer) as an integer of `width` bits:
/// index casts, truncation or sign extension.
static Value toSignlessInt(OpBuilder &b, Location loc, Value v, unsigned width) {
  Type type = b.getIntegerType(width);
  if (v.getType() == type)
    return v;
  if (v.getType().isIndex())
    return arith::IndexCastOp::create(b, loc, type, v);
  if (v.getType().getIntOrFloatBitWidth() > width)
    return arith::TruncIOp::create(b, loc, type, v);
  return arith::ExtSIOp::create(b, loc, type, v);
}

Value LoweringBuilder::toI32(Value v) { return toSignlessInt(b, loc, v, 32); }
Value LoweringBuilder::toI64(Value v) { return toSignlessInt(b, loc, v, 64); }

Value LoweringBuilder::toF32(Value v) {
  Type elt = getElementTypeOrSelf(v.getType());
  if (elt.isF32())
    return v;
  Type to = b.getF32Type();
  if (auto vt = dyn_cast<VectorType>(v.getType()))
    to = VectorType::get(vt.getShape(), to);
  return arith::ExtFOp::create(b, loc, to, v);
}
Value LoweringBuilder::fromF32(Value v, Type elementType) {
  if (elementType.isF32())
    return v;
  Type to = elementType;
  if (auto vt = dyn_cast<VectorType>(v.getType()))
    to = VectorType::get(vt.getShape(), elementType);
  return arith::TruncFOp::create(b, loc, to, v);
}
Value LoweringBuilder::addF(Value x, Value y) {
  return arith::AddFOp::create(b, loc, x, y);
}
Value LoweringBuilder::mulF(Value x, Value y) {
  return arith::MulFOp::create(b, loc, x, y);
}
Value LoweringBuilder::fma(Value a, Value x, Value y) {
  if (isa<VectorType>(a.getType()))
    return vector::FMAOp::create(b, loc, a, x, y);
  return math::FmaOp::create(b, loc, a, x, y);
}
Value LoweringBuilder::splat(Value scalar, int64_t n) {
  return vector::BroadcastOp::create(
      b, loc, VectorType::get({n}, scalar.getType()), scalar);
}
Value LoweringBuilder::extract(Value vec, int64_t i) {
  return vector::ExtractOp::create(b, loc, vec, ArrayRef<int64_t>{i});
}

void LoweringBuilder::ifThen(Value cond, function_ref<void()> body) {
  auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  body();
}

void LoweringBuilder::ifThenElse(Value cond, function_ref<void()> thenBody,
                                 function_ref<void()> elseBody) {
  auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  thenBody();
  b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
  elseBody();
}

SmallVector<Value>
LoweringBuilder::ifElse(Value cond, TypeRange types,
                      function_ref<SmallVector<Value>()> thenBody,
                      function_ref<SmallVector<Value>()> elseBody) {
  auto ifOp = scf::IfOp::create(b, loc, types, cond, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, thenBody());
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, elseBody());
  }
  return SmallVector<Value>(ifOp.getResults());
}

void LoweringBuilder::forLoop(Value lb, Value ub, Value step,
                            function_ref<void(Value)> body) {
  auto loop = scf::ForOp::create(b, loc, lb, ub, step);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  body(loop.getInductionVar());
}

SmallVector<Value> LoweringBuilder::forLoop(
    Value lb, Value ub, Value step, ValueRange init,
    function_ref<SmallVector<Value>(Value, ValueRange)> body) {
  auto loop = scf::ForOp::create(b, loc, lb, ub, step, init);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> next =
        body(loop.getInductionVar(), loop.getRegionIterArgs());
    scf::YieldOp::create(b, loc, next);
  }
  return SmallVector<Value>(loop.getResults());
}
