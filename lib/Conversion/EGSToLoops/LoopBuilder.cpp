//===- LoopBuilder.cpp - shared pieces of the egs host lowering -----------===//
#include "LoopBuilder.h"
#include "egs/Conversion/Utils/ShapeChecks.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace egs;

/// Name of the host function that reports a bad index and exits; defined by
/// the egs host runtime (egs-runner, the C API).
static constexpr StringLiteral kReportFn = "egsReportIndexError";

Value LoopBuilder::dim(Value memref, int64_t d) {
  return memref::DimOp::create(b, loc, memref, d);
}

Value LoopBuilder::loadIndex(Value memref, ValueRange ivs) {
  Value v = memref::LoadOp::create(b, loc, memref, ivs);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}



Value LoopBuilder::loadF32(Value memref, ValueRange ivs) {
  return toF32(memref::LoadOp::create(b, loc, memref, ivs));
}

void LoopBuilder::storeF32(Value v, Value memref, ValueRange ivs) {
  Type elt = cast<MemRefType>(memref.getType()).getElementType();
  memref::StoreOp::create(b, loc, fromF32(v, elt), memref, ivs);
}

Value LoopBuilder::loadLikeF32(Value like, Value memref, ValueRange ivs) {
  auto vt = dyn_cast<VectorType>(like.getType());
  if (!vt)
    return loadF32(memref, ivs);
  Type elt = cast<MemRefType>(memref.getType()).getElementType();
  Value v = vector::LoadOp::create(b, loc, VectorType::get(vt.getShape(), elt),
                                   memref, ivs);
  return elt.isF32() ? v : arith::ExtFOp::create(b, loc, vt, v).getResult();
}

void LoopBuilder::storeLikeF32(Value v, Value memref, ValueRange ivs) {
  if (!isa<VectorType>(v.getType()))
    return storeF32(v, memref, ivs);
  Type elt = cast<MemRefType>(memref.getType()).getElementType();
  vector::StoreOp::create(b, loc, fromF32(v, elt), memref, ivs);
}

void LoopBuilder::forLoop(Value lb, Value ub, int64_t step,
                          function_ref<void(Value)> body) {
  LoweringBuilder::forLoop(lb, ub, idx(step), body);
}

void LoopBuilder::forNest(ArrayRef<Value> sizes,
                          function_ref<void(ValueRange)> body) {
  SmallVector<Value> ivs;
  std::function<void(size_t)> level = [&](size_t d) {
    if (d == sizes.size())
      return body(ivs);
    forLoop(sizes[d], [&](Value iv) {
      ivs.push_back(iv);
      level(d + 1);
      ivs.pop_back();
    });
  };
  level(0);
}


/// Declares `egsReportIndexError(msg : memref<?xi8>, value, lo, hi : i64)`.
static void declareReporter(OpBuilder &b, Location loc, Operation *op) {
  auto module = op->getParentOfType<ModuleOp>();
  if (module.lookupSymbol(kReportFn))
    return;
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(module.getBody());
  auto dynBytes = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
  auto i64 = b.getI64Type();
  auto fn = func::FuncOp::create(
      b, loc, kReportFn, b.getFunctionType({dynBytes, i64, i64, i64}, {}));
  fn.setPrivate();
}

void LoopBuilder::reportIndexError(Value value, Value lo, Value hi,
                                   StringRef what) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << op->getName() << " at " << op->getLoc() << ": " << what;
  declareReporter(b, loc, op);
  Value dynMsg = getHostMessage(b, loc, op, text);
  auto toI64 = [&](Value v) {
    return arith::IndexCastOp::create(b, loc, b.getI64Type(), v).getResult();
  };
  func::CallOp::create(b, loc, kReportFn, TypeRange{},
                       ValueRange{dynMsg, toI64(value), toI64(lo), toI64(hi)});
}

void LoopBuilder::checkInRange(Value value, Value bound, StringRef what) {
  if (!options.checkIndices)
    return;
  Value bad = arith::XOrIOp::create(b, loc, inRange(value, bound), boolean(true));
  ifThen(bad, [&] { reportIndexError(value, idx(0), bound, what); });
}

void LoopBuilder::checkBetween(Value value, Value lo, Value hi,
                               StringRef what) {
  if (!options.checkIndices)
    return;
  Value bad = orB(lt(value, lo), gt(value, hi));
  ifThen(bad, [&] { reportIndexError(value, lo, add(hi, idx(1)), what); });
}

bool egs::hasUnitInnerStride(Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  if (type.getLayout().isIdentity())
    return true;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return false;
  return !strides.empty() && strides.back() == 1;
}

void LoopBuilder::rowTimesExpertMatrix(
    Value w, bool wTransposed, Value e, Value reduce, Value cols,
    bool vectorsOk, function_ref<Value(Value r)> loadA,
    function_ref<void(Value c, Value acc)> epilogue) {
  // A transposed w ([E, cols, reduce]) is read element by element.
  int64_t width = vectorsOk && !wTransposed && hasUnitInnerStride(w)
                      ? options.vectorWidth
                      : 1;
  Type wElt = cast<MemRefType>(w.getType()).getElementType();
  // Column chunks of `width` lanes, unrolled `kChunks` at a time so that
  // independent FMA chains hide the FMA latency.
  constexpr int64_t kChunks = 4;
  Value vecEnd = idx(0);
  if (width > 1) {
    auto vecType = VectorType::get({width}, b.getF32Type());
    auto wVecType = VectorType::get({width}, wElt);
    int64_t block = width * kChunks;
    // Blocks of kChunks vectors, then single vectors.
    Value blockEnd = mul(arith::DivUIOp::create(b, loc, cols, idx(block)), idx(block));
    auto emitBlock = [&](Value c0, int64_t chunks) {
      Value zero = arith::ConstantOp::create(b, loc, vecType,
                                             DenseElementsAttr::get(vecType, 0.0f));
      SmallVector<Value> init(chunks, zero);
      auto loop = scf::ForOp::create(b, loc, idx(0), reduce, idx(1), init);
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(loop.getBody());
        Value r = loop.getInductionVar();
        Value a = vector::BroadcastOp::create(b, loc, vecType, loadA(r));
        SmallVector<Value> next;
        for (int64_t c = 0; c < chunks; ++c) {
          Value col = add(c0, idx(c * width));
          Value wv = vector::LoadOp::create(b, loc, wVecType, w, ValueRange{e, r, col});
          Value wf = wElt.isF32() ? wv : arith::ExtFOp::create(b, loc, vecType, wv).getResult();
          next.push_back(vector::FMAOp::create(b, loc, a, wf, loop.getRegionIterArgs()[c]));
        }
        scf::YieldOp::create(b, loc, next);
      }
      for (int64_t c = 0; c < chunks; ++c)
        epilogue(add(c0, idx(c * width)), loop.getResult(c));
    };
    forLoop(idx(0), blockEnd, block, [&](Value c0) { emitBlock(c0, kChunks); });
    vecEnd = mul(arith::DivUIOp::create(b, loc, cols, idx(width)), idx(width));
    forLoop(blockEnd, vecEnd, width, [&](Value c0) { emitBlock(c0, 1); });
  }
  // Scalar tail (or the whole row without vectors).
  forLoop(vecEnd, cols, 1, [&](Value c) {
    auto loop = scf::ForOp::create(b, loc, idx(0), reduce, idx(1), ValueRange{f32(0.0)});
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(loop.getBody());
      Value r = loop.getInductionVar();
      Value wv = wTransposed ? loadF32(w, {e, c, r}) : loadF32(w, {e, r, c});
      Value prod = arith::MulFOp::create(b, loc, loadA(r), wv);
      scf::YieldOp::create(b, loc, ValueRange{arith::AddFOp::create(
                                       b, loc, loop.getRegionIterArgs()[0], prod)});
    }
    epilogue(c, loop.getResult(0));
  });
}

void LoopBuilder::zeroRows(Value memref, Value lo, Value hi) {
  Value cols = dim(memref, 1);
  Type elt = cast<MemRefType>(memref.getType()).getElementType();
  forLoop(lo, hi, 1, [&](Value r) {
    forLoop(cols, [&](Value c) {
      memref::StoreOp::create(b, loc, zero(elt), memref, ValueRange{r, c});
    });
  });
}
