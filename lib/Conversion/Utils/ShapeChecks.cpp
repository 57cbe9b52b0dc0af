//===- ShapeChecks.cpp - run-time dim agreement checks --------------------===//
#include "egs/Conversion/Utils/ShapeChecks.h"
#include "egs/Dialect/EGS/IR/ShapeConstraints.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;

/// Defined by the egs host runtime (egs-runner, the C API).
static constexpr StringLiteral kShapeReportFn = "egsReportShapeError";

Value egs::getHostMessage(OpBuilder &b, Location loc, Operation *op,
                          StringRef text) {
  auto module = op->getParentOfType<ModuleOp>();
  auto msgType =
      MemRefType::get({static_cast<int64_t>(text.size())}, b.getI8Type());
  std::string name = "__egs_msg_" + std::to_string(llvm::hash_value(text));
  if (!module.lookupSymbol(name)) {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(module.getBody());
    SmallVector<int8_t> bytes(text.begin(), text.end());
    auto tensorType = RankedTensorType::get(msgType.getShape(), b.getI8Type());
    memref::GlobalOp::create(
        b, loc, name, b.getStringAttr("private"), msgType,
        DenseElementsAttr::get(tensorType, ArrayRef<int8_t>(bytes)),
        /*constant=*/true, /*alignment=*/nullptr);
  }
  Value msg = memref::GetGlobalOp::create(b, loc, msgType, name);
  return memref::CastOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type()), msg);
}

/// Declares `egsReportShapeError(msg : memref<?xi8>, split, lhs, rhs : i64)`.
static void declareShapeReporter(OpBuilder &b, Location loc, Operation *op) {
  auto module = op->getParentOfType<ModuleOp>();
  if (module.lookupSymbol(kShapeReportFn))
    return;
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(module.getBody());
  auto i64 = b.getI64Type();
  auto dynBytes = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
  auto fn = func::FuncOp::create(
      b, loc, kShapeReportFn, b.getFunctionType({dynBytes, i64, i64, i64}, {}));
  fn.setPrivate();
}

/// "egs.op at loc(...): " for messages.
static std::string opPrefix(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << op->getName() << " at " << op->getLoc() << ": ";
  return text;
}

unsigned egs::emitShapeChecks(OpBuilder &b, Location loc, Operation *op) {
  unsigned emitted = 0;
  for (const ShapeConstraint &c : getShapeConstraints(op)) {
    if (c.isStatic() || !isa<MemRefType>(c.lhs.getType()) ||
        (c.rhs && !isa<MemRefType>(c.rhs.getType())))
      continue;
    declareShapeReporter(b, loc, op);
    Value lhs = memref::DimOp::create(b, loc, c.lhs, c.lhsDim);
    Value rhs;
    std::string rhsName = c.rhsName;
    if (c.rhs) {
      rhs = memref::DimOp::create(b, loc, c.rhs, c.rhsDim);
      if (c.offset) {
        rhs = arith::AddIOp::create(
            b, loc, rhs, arith::ConstantIndexOp::create(b, loc, c.offset));
        rhsName += (c.offset > 0 ? " + " : " - ") +
                   std::to_string(std::abs(c.offset));
      }
    } else {
      rhs = arith::ConstantIndexOp::create(b, loc, c.constant);
    }
    Value bad =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, lhs, rhs);
    ++emitted;
    std::string first = opPrefix(op) + c.lhsName;
    std::string text = first + rhsName;
    scf::IfOp::create(b, loc, bad, [&](OpBuilder &tb, Location l) {
      Value msg = getHostMessage(tb, l, op, text);
      auto i64 = tb.getI64Type();
      auto toI64 = [&](Value v) {
        return arith::IndexCastOp::create(tb, l, i64, v).getResult();
      };
      Value split = arith::ConstantIntOp::create(tb, l, i64, first.size());
      func::CallOp::create(tb, l, kShapeReportFn, TypeRange{},
                           ValueRange{msg, split, toI64(lhs), toI64(rhs)});
      scf::YieldOp::create(tb, l);
    });
  }
  return emitted;
}
