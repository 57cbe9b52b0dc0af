//===- EGSOps.cpp - egs op verifiers --------------------------------------===//
//
// Verifiers state each op's layout with dimension symbols (x : [B,T,I], ...,
// as the op descriptions write them) and let ShapeChecker bind and compare
// the sizes.
//
//===----------------------------------------------------------------------===//
#include "egs/Dialect/EGS/IR/EGSOps.h"
#include "ShapeChecker.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace egs;
using egs::detail::ShapeChecker;
using egs::detail::layoutString;

//===----------------------------------------------------------------------===//
// Form (tensor vs memref) checks shared by all ops
//===----------------------------------------------------------------------===//

static bool anyMemRef(Operation *op) {
  return llvm::any_of(op->getOperandTypes(), llvm::IsaPred<MemRefType>);
}

/// The tensor form has `numResults` results and no buffers; the memref form
/// has no results, only memref operands and `outs.size() == numOuts`.
static LogicalResult verifyForm(Operation *op, ValueRange outs,
                                unsigned numResults, unsigned numOuts) {
  if (!anyMemRef(op)) {
    if (op->getNumResults() != numResults)
      return op->emitOpError() << "tensor form must have " << numResults
                               << " result(s), got " << op->getNumResults();
    return success();
  }
  for (auto [i, t] : llvm::enumerate(op->getOperandTypes()))
    if (!isa<MemRefType>(t))
      return op->emitOpError()
             << "mixes tensors and memrefs: operand #" << i << " has type " << t
             << " but the memref form needs memrefs only";
  if (op->getNumResults() != 0)
    return op->emitOpError() << "memref form must not have results";
  if (outs.size() != numOuts)
    return op->emitOpError() << "memref form needs " << numOuts
                             << " outs(...) buffer(s), got " << outs.size();
  return success();
}

/// Type of the i-th output: the result in tensor form, the out buffer in
/// memref form.
static Value outputValue(Operation *op, ValueRange outs, unsigned i) {
  if (op->getNumResults() > i)
    return op->getResult(i);
  return outs[i];
}

/// Names an output in messages: "result 'y'" in the tensor form, "outs buffer
/// 'y'" in the memref form (an empty `name` gives "result" / "outs buffer").
static std::string outputName(Operation *op, StringRef name) {
  std::string kind = op->getNumResults() ? "result" : "outs buffer";
  return name.empty() ? kind : kind + " '" + name.str() + "'";
}

static Type elementType(Type t) { return cast<ShapedType>(t).getElementType(); }
static Type elementType(Value v) { return elementType(v.getType()); }

/// Output element type must be the input type or f32 (the accumulator).
static LogicalResult checkOutputElementType(Operation *op, Type out,
                                            StringRef outName, Type in,
                                            StringRef inName) {
  Type elt = elementType(out);
  if (elt == in || elt.isF32())
    return success();
  return op->emitOpError() << outName << " element type " << elt
                           << " must be f32 or match " << inName << " (" << in
                           << ")";
}

#define EGS_DEFINE_BUFFER_SEMANTICS(OP)                                        \
  bool OP::hasBufferSemantics() { return anyMemRef(getOperation()); }
EGS_DEFINE_BUFFER_SEMANTICS(GatherMatmulOp)
EGS_DEFINE_BUFFER_SEMANTICS(MatmulScatterOp)
EGS_DEFINE_BUFFER_SEMANTICS(WeightGradOp)
EGS_DEFINE_BUFFER_SEMANTICS(PermuteOp)
EGS_DEFINE_BUFFER_SEMANTICS(UnpermuteOp)
EGS_DEFINE_BUFFER_SEMANTICS(RouteOp)
EGS_DEFINE_BUFFER_SEMANTICS(GatherOp)
EGS_DEFINE_BUFFER_SEMANTICS(ScatterAddOp)
EGS_DEFINE_BUFFER_SEMANTICS(GatherConcatOp)
EGS_DEFINE_BUFFER_SEMANTICS(SinkhornOp)
#undef EGS_DEFINE_BUFFER_SEMANTICS

/// Checks w against its layout ("E,I,J" or, `transposed`, "E,J,I" with the
/// reduction dim `reduceSym` last). The common mistake is the other
/// orientation: when w's reduction dim disagrees with `reduceSym` but the
/// other one matches it, say so.
static LogicalResult checkWeight(Operation *op, ShapeChecker &c, Value wValue,
                                 StringRef reduceSym, StringRef layout,
                                 bool transposed) {
  Type w = wValue.getType();
  auto t = dyn_cast<ShapedType>(w);
  int64_t want = c.get(reduceSym);
  int64_t at = transposed ? 2 : 1, other = 3 - at;
  if (t && t.hasRank() && t.getRank() == 3 && want != ShapedType::kDynamic &&
      !t.isDynamicDim(1) && !t.isDynamicDim(2) && t.getDimSize(at) != want &&
      t.getDimSize(other) == want)
    return op->emitOpError()
           << "operand 'w' has type " << w << " but must be "
           << layoutString(layout) << " with " << reduceSym << " = " << want
           << " at dim " << at
           << (transposed ? "; it looks untransposed (drop 'transposed')"
                          : "; it looks transposed (swapped dims 1 and 2; "
                            "mark it 'transposed' to read it in place)");
  return c.check(wValue, "operand 'w'", layout);
}

/// expert_offsets [E+1] of the ragged forms, checked after w so that a wrong
/// length is reported at expert_offsets against E from w.
static LogicalResult checkExpertOffsets(ShapeChecker &c, Value offsets) {
  if (!offsets)
    return success();
  return failure(
      failed(c.check(offsets, "operand 'expert_offsets'", "E+1")) ||
      failed(c.isIndexType(offsets.getType(), "operand 'expert_offsets'")));
}

//===----------------------------------------------------------------------===//
// gather_matmul
//===----------------------------------------------------------------------===//

bool GatherMatmulOp::isBatched() {
  return !isRagged() && cast<ShapedType>(getX().getType()).getRank() == 3;
}

bool GatherMatmulOp::isGated() {
  auto act = getActivation();
  return act == Activation::swiglu || act == Activation::clamped_swiglu;
}

/// The attributes that parameterise gather_matmul's activation.
static LogicalResult verifyActivationParameters(GatherMatmulOp op) {
  Activation act = op.getActivation().value_or(Activation::none);
  if (op.getInterleaved() && !op.isGated())
    return op.emitOpError() << "'interleaved' needs a gated activation (swiglu "
                               "or clamped_swiglu), got "
                            << stringifyActivation(act);
  if ((op.getAlpha() || op.getLimit()) && act != Activation::clamped_swiglu)
    return op.emitOpError() << "'alpha' and 'limit' belong to activation "
                               "clamped_swiglu, got "
                            << stringifyActivation(act);
  if (!std::isfinite(op.alphaValue()))
    return op.emitOpError() << "'alpha' must be finite, got "
                            << op.alphaValue();
  if (!(op.limitValue() > 0.0f) || !std::isfinite(op.limitValue()))
    return op.emitOpError() << "'limit' must be positive and finite, got "
                            << op.limitValue();
  return success();
}

LogicalResult GatherMatmulOp::verify() {
  Operation *op = getOperation();
  OperandRange outs = getODSOperands(5); // out
  if (failed(verifyForm(op, outs, 1, 1)))
    return failure();
  ShapeChecker c(op);
  Value yOut = outputValue(op, outs, 0);
  Type yType = yOut.getType();
  std::string yName = outputName(op, "y");
  if (failed(verifyActivationParameters(*this)))
    return failure();
  bool gated = isGated();
  StringRef jOut = gated ? "Jh" : "J";
  auto xRank = cast<ShapedType>(getX().getType()).getRank();
  if (isRagged()) {
    if (failed(c.check(getX(), "operand 'x'", "T,I")) ||
        failed(c.check(getInd(), "operand 'rows'", "R")))
      return failure();
  } else {
    if (xRank != 2 && xRank != 3)
      return emitOpError() << "operand 'x' must have rank 3 [B,T,I] or 2 [T,I]"
                              " (expert-choice form), got "
                           << getX().getType();
    StringRef xl = xRank == 3 ? "B,T,I" : "T,I";
    StringRef il = xRank == 3 ? "B,E,K" : "E,K";
    if (failed(c.check(getX(), "operand 'x'", xl)) ||
        failed(c.check(getInd(), "operand 'ind'", il)))
      return failure();
  }
  bool wt = getWTransposed();
  if (failed(checkWeight(op, c, getW(), "I", wt ? "E,J,I" : "E,I,J", wt)) ||
      failed(checkExpertOffsets(c, getExpertOffsets())))
    return failure();
  std::string yLayout = isRagged() ? ("R," + jOut).str()
                                   : ((xRank == 3 ? "B,E,K," : "E,K,") + jOut).str();
  if (failed(c.check(yOut, yName, yLayout)))
    return failure();
  if (gated) {
    StringRef act = stringifyActivation(*getActivation());
    int64_t j = c.get("J"), jh = c.get("Jh");
    if (j != ShapedType::kDynamic && j % 2 != 0)
      return emitOpError() << "activation " << act << " needs an even J, got "
                           << j;
    if (j != ShapedType::kDynamic && jh != ShapedType::kDynamic && jh * 2 != j)
      return emitOpError() << "with activation " << act << " " << yName
                           << " must have J/2 = " << j / 2 << " columns (J = "
                           << j << " from operand 'w'), got " << jh;
  }
  if (getBias() && failed(c.check(getBias(), "operand 'bias'", "E,J")))
    return failure();
  if (failed(c.isDataType(getX().getType(), "operand 'x'")) ||
      failed(c.isIndexType(getInd().getType(),
                           isRagged() ? "operand 'rows'" : "operand 'ind'")) ||
      failed(c.isDataType(yType, yName)))
    return failure();
  Type dt = elementType(getX());
  if (elementType(getW()) != dt)
    return emitOpError() << "operand 'w' element type " << elementType(getW())
                         << " must match operand 'x' (" << dt << ")";
  if (failed(checkOutputElementType(op, yType, yName, dt, "operand 'x'")))
    return failure();
  if (getBias() &&
      failed(checkOutputElementType(op, getBias().getType(), "operand 'bias'",
                                    dt, "operand 'x'")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// matmul_scatter
//===----------------------------------------------------------------------===//

bool MatmulScatterOp::isBatched() {
  return !isRagged() && cast<ShapedType>(getY().getType()).getRank() == 4;
}

LogicalResult MatmulScatterOp::verify() {
  Operation *op = getOperation();
  if (failed(verifyForm(op, {}, 1, 0)))
    return failure();
  ShapeChecker c(op);
  if (isRagged()) {
    if (failed(c.check(getY(), "operand 'y'", "R,J")) ||
        failed(c.check(getInd(), "operand 'rows'", "R")) ||
        failed(c.check(getInit(), "operand 'init'", "T,I")) ||
        (getScale() && failed(c.check(getScale(), "operand 'scale'", "R"))))
      return failure();
  } else {
    auto yRank = cast<ShapedType>(getY().getType()).getRank();
    if (yRank != 3 && yRank != 4)
      return emitOpError() << "operand 'y' must have rank 4 [B,E,K,J] or 3 "
                              "[E,K,J] (expert-choice form), got "
                           << getY().getType();
    bool b = yRank == 4;
    if (failed(c.check(getY(), "operand 'y'", b ? "B,E,K,J" : "E,K,J")) ||
        failed(c.check(getInd(), "operand 'ind'", b ? "B,E,K" : "E,K")) ||
        failed(c.check(getInit(), "operand 'init'", b ? "B,T,I" : "T,I")) ||
        (getScale() && failed(c.check(getScale(), "operand 'scale'",
                                      b ? "B,E,K" : "E,K"))))
      return failure();
  }
  bool wt = getWTransposed();
  if (failed(checkWeight(op, c, getW(), "J", wt ? "E,I,J" : "E,J,I", wt)) ||
      failed(checkExpertOffsets(c, getExpertOffsets())))
    return failure();
  if (op->getNumResults() == 1 && getOut().getType() != getInit().getType())
    return emitOpError() << "result type " << getOut().getType()
                         << " must equal operand 'init' type "
                         << getInit().getType();
  if (failed(c.isDataType(getY().getType(), "operand 'y'")) ||
      failed(c.isIndexType(getInd().getType(),
                           isRagged() ? "operand 'rows'" : "operand 'ind'")) ||
      failed(c.isDataType(getInit().getType(), "operand 'init'")) ||
      (getScale() && failed(c.isDataType(getScale().getType(), "operand 'scale'"))))
    return failure();
  Type dt = elementType(getY());
  if (elementType(getW()) != dt)
    return emitOpError() << "operand 'w' element type " << elementType(getW())
                         << " must match operand 'y' (" << dt << ")";
  return checkOutputElementType(op, getInit().getType(), "operand 'init'", dt,
                                "operand 'y'");
}

//===----------------------------------------------------------------------===//
// weight_grad
//===----------------------------------------------------------------------===//

bool WeightGradOp::isBatched() {
  if (isRagged())
    return false;
  if (Value ind = getLhsInd() ? getLhsInd() : getRhsInd())
    return cast<ShapedType>(ind.getType()).getRank() == 3;
  return cast<ShapedType>(getLhs().getType()).getRank() == 4;
}

/// One side of weight_grad: `data` of width symbol `width` ("I" or "J"),
/// read through `ind` (gathered) or in slot order.
static LogicalResult checkWeightGradSide(ShapeChecker &c, Value data, Value ind,
                                         StringRef name, StringRef width,
                                         StringRef slots, StringRef tokens) {
  std::string dataName = ("operand '" + name + "'").str();
  if (!ind)
    return c.check(data, dataName, (slots + "," + width).str());
  std::string indName = ("operand '" + name + "_ind'").str();
  return failure(
      failed(c.check(ind, indName, slots)) ||
      failed(c.isIndexType(ind.getType(), indName)) ||
      failed(c.check(data, dataName, (tokens + "," + width).str())));
}

LogicalResult WeightGradOp::verify() {
  Operation *op = getOperation();
  OperandRange outs = getODSOperands(6); // out
  if (failed(verifyForm(op, outs, 1, 1)))
    return failure();
  ShapeChecker c(op);
  StringRef slots = "R", tokens = "T";
  if (!isRagged()) {
    // The slot rank comes from an index, else from lhs in slot order.
    Value ind = getLhsInd() ? getLhsInd() : getRhsInd();
    int64_t rank = ind ? cast<ShapedType>(ind.getType()).getRank()
                       : cast<ShapedType>(getLhs().getType()).getRank() - 1;
    if (rank != 2 && rank != 3) {
      if (ind)
        return emitOpError() << "operand '" << (getLhsInd() ? "lhs_ind" : "rhs_ind")
                             << "' must have rank 3 [B,E,K] or 2 [E,K] "
                                "(expert-choice form), got "
                             << ind.getType();
      return emitOpError() << "operand 'lhs' must have rank 4 [B,E,K,I] or 3 "
                              "[E,K,I] (expert-choice form), got "
                           << getLhs().getType();
    }
    slots = rank == 3 ? "B,E,K" : "E,K";
    tokens = rank == 3 ? "B,T" : "T";
  }
  Value dwOut = outputValue(op, outs, 0);
  Type dwType = dwOut.getType();
  std::string dwName = outputName(op, "dw");
  if (failed(checkWeightGradSide(c, getLhs(), getLhsInd(), "lhs", "I", slots, tokens)) ||
      failed(checkWeightGradSide(c, getRhs(), getRhsInd(), "rhs", "J", slots, tokens)) ||
      (getScale() && failed(c.check(getScale(), "operand 'scale'", slots))) ||
      failed(c.check(dwOut, dwName, "E,I,J")) ||
      failed(checkExpertOffsets(c, getExpertOffsets())))
    return failure();
  if (failed(c.isDataType(getLhs().getType(), "operand 'lhs'")) ||
      failed(c.isDataType(getRhs().getType(), "operand 'rhs'")) ||
      (getScale() && failed(c.isDataType(getScale().getType(), "operand 'scale'"))) ||
      failed(c.isDataType(dwType, dwName)))
    return failure();
  Type dt = elementType(getLhs());
  if (elementType(getRhs()) != dt)
    return emitOpError() << "operand 'rhs' element type " << elementType(getRhs())
                         << " must match operand 'lhs' (" << dt << ")";
  return checkOutputElementType(op, dwType, dwName, dt, "operand 'lhs'");
}

//===----------------------------------------------------------------------===//
// permute / unpermute / route
//===----------------------------------------------------------------------===//

int64_t PermuteOp::getNumSortedRows() {
  if (IntegerAttr n = getNumOutTokensAttr())
    return n.getInt();
  auto ids = cast<ShapedType>(getTopkIds().getType());
  if (ids.hasStaticShape())
    return ids.getDimSize(0) * ids.getDimSize(1);
  return ShapedType::kDynamic;
}

/// Checks topk_ids [T,k] and num_experts; binds E, T, k and "k*T".
static LogicalResult checkTopkIds(Operation *op, ShapeChecker &c, Value ids,
                                  int64_t numExperts) {
  // The bound keeps E+1 and the i32 offsets representable.
  constexpr int64_t kMaxExperts = int64_t(1) << 24;
  if (numExperts < 1 || numExperts > kMaxExperts)
    return op->emitOpError() << "num_experts must be in [1, " << kMaxExperts
                             << "], got " << numExperts;
  if (failed(c.check(ids, "operand 'topk_ids'", "T,k")) ||
      failed(c.isIndexType(ids.getType(), "operand 'topk_ids'")) ||
      failed(c.bind("E", numExperts, "attribute 'num_experts'")))
    return failure();
  int64_t t = c.get("T"), k = c.get("k");
  if (t != ShapedType::kDynamic && k != ShapedType::kDynamic)
    return c.bind("k*T", t * k, "T*k of operand 'topk_ids'");
  return success();
}

static LogicalResult checkI32(Operation *op, Type t, StringRef name) {
  if (elementType(t).isSignlessInteger(32))
    return success();
  return op->emitOpError() << name << " must have i32 elements, got "
                           << elementType(t);
}

LogicalResult PermuteOp::verify() {
  Operation *op = getOperation();
  if (failed(verifyForm(op, getOuts(), 3, 3)))
    return failure();
  ShapeChecker c(op);
  if (failed(checkTopkIds(op, c, getTopkIds(), getNumExpertsAttr().getInt())) ||
      failed(c.check(getX(), "operand 'x'", "T,H")) ||
      failed(c.isMovableType(getX().getType(), "operand 'x'")))
    return failure();
  if (IntegerAttr attr = getNumOutTokensAttr()) {
    int64_t n = attr.getInt(), kt = c.get("k*T");
    if (n < 0 || (kt != ShapedType::kDynamic && n > kt))
      return emitOpError() << "num_out_tokens = " << n
                           << " must be in [0, T*k]"
                           << (kt != ShapedType::kDynamic
                                   ? " = [0, " + std::to_string(kt) + "]"
                                   : std::string());
  }
  int64_t r = getNumSortedRows();
  StringRef rFrom = getNumOutTokensAttr() ? "attribute 'num_out_tokens'"
                                          : "T*k of operand 'topk_ids'";
  if (r != ShapedType::kDynamic && failed(c.bind("R", r, rFrom)))
    return failure();
  Value xsOut = outputValue(op, getOuts(), 0),
        mapOut = outputValue(op, getOuts(), 1),
        offsOut = outputValue(op, getOuts(), 2);
  Type xs = xsOut.getType(), map = mapOut.getType(), offs = offsOut.getType();
  if (failed(c.check(xsOut, outputName(op, "x_sorted"), "R,H")) ||
      failed(c.check(mapOut, outputName(op, "row_id_map"), "k*T")) ||
      failed(c.check(offsOut, outputName(op, "expert_offsets"), "E+1")) ||
      failed(checkI32(op, map, outputName(op, "row_id_map"))) ||
      failed(checkI32(op, offs, outputName(op, "expert_offsets"))))
    return failure();
  if (elementType(xs) != elementType(getX()))
    return emitOpError() << outputName(op, "x_sorted") << " element type "
                         << elementType(xs) << " must match operand 'x' ("
                         << elementType(getX()) << ")";
  return success();
}

LogicalResult UnpermuteOp::verify() {
  Operation *op = getOperation();
  OperandRange outs = getODSOperands(3); // out
  if (failed(verifyForm(op, outs, 1, 1)))
    return failure();
  ShapeChecker c(op);
  if (failed(c.check(getProbs(), "operand 'probs'", "T,k")))
    return failure();
  int64_t t = c.get("T"), k = c.get("k");
  if (t != ShapedType::kDynamic && k != ShapedType::kDynamic &&
      failed(c.bind("k*T", t * k, "T*k of operand 'probs'")))
    return failure();
  Value outValue = outputValue(op, outs, 0);
  Type out = outValue.getType();
  if (failed(c.check(getXSorted(), "operand 'x_sorted'", "R,H")) ||
      failed(c.check(getRowIdMap(), "operand 'row_id_map'", "k*T")) ||
      failed(c.check(outValue, outputName(op, "out"), "T,H")) ||
      failed(c.isIndexType(getRowIdMap().getType(), "operand 'row_id_map'")) ||
      failed(c.isDataType(getXSorted().getType(), "operand 'x_sorted'")) ||
      failed(c.isDataType(getProbs().getType(), "operand 'probs'")) ||
      failed(checkOutputElementType(op, out, outputName(op, "out"),
                                    elementType(getXSorted()),
                                    "operand 'x_sorted'")))
    return failure();
  return success();
}

LogicalResult SinkhornOp::verify() {
  Operation *op = getOperation();
  if (failed(verifyForm(op, getODSOperands(1), 1, 1)))
    return failure();
  if (getIterations() < 1)
    return op->emitOpError() << "iterations must be at least 1, got "
                             << getIterations();
  float tol = getTolerance().convertToFloat();
  if (!(tol >= 0.0f) || std::isinf(tol))
    return op->emitOpError() << "tolerance must be a finite value >= 0, got "
                             << tol;
  ShapeChecker c(op);
  Value outValue = outputValue(op, getODSOperands(1), 0);
  if (failed(c.check(getLogits(), "operand 'logits'", "T,E")) ||
      failed(c.check(outValue, outputName(op, "p"), "T,E")) ||
      failed(c.isDataType(getLogits().getType(), "operand 'logits'")))
    return failure();
  if (!elementType(outValue).isF32())
    return op->emitOpError() << outputName(op, "p") << " element type "
                             << elementType(outValue) << " must be f32";
  return success();
}

LogicalResult RouteOp::verify() {
  Operation *op = getOperation();
  unsigned numOutputs = getWeights() ? 4 : 3;
  if (failed(verifyForm(op, getOuts(), numOutputs, numOutputs)))
    return failure();
  ShapeChecker c(op);
  if (failed(checkTopkIds(op, c, getTopkIds(), getNumExpertsAttr().getInt())))
    return failure();
  if (Value weights = getWeights()) {
    Value scaleOut = outputValue(op, getOuts(), 3);
    if (failed(c.check(weights, "operand 'weights'", "T,k")) ||
        failed(c.isDataType(weights.getType(), "operand 'weights'")) ||
        failed(c.check(scaleOut, outputName(op, "scale"), "k*T")) ||
        failed(checkOutputElementType(op, scaleOut.getType(), outputName(op, "scale"),
                                      elementType(weights), "operand 'weights'")))
      return failure();
  }
  Value rowsOut = outputValue(op, getOuts(), 0),
        offsOut = outputValue(op, getOuts(), 1),
        mapOut = outputValue(op, getOuts(), 2);
  Type rows = rowsOut.getType(), offs = offsOut.getType(),
       map = mapOut.getType();
  if (failed(c.check(rowsOut, outputName(op, "rows"), "k*T")) ||
      failed(c.check(offsOut, outputName(op, "expert_offsets"), "E+1")) ||
      failed(c.check(mapOut, outputName(op, "row_id_map"), "k*T")) ||
      failed(checkI32(op, rows, outputName(op, "rows"))) ||
      failed(checkI32(op, offs, outputName(op, "expert_offsets"))) ||
      failed(checkI32(op, map, outputName(op, "row_id_map"))))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// gather / scatter_add / gather_concat
//===----------------------------------------------------------------------===//

/// Shape of take(x, ind, axis) with `batchDims` shared leading dims:
/// x.shape[:axis] ++ ind.shape[batchDims:] ++ x.shape[axis+1:].
static FailureOr<SmallVector<int64_t>>
gatheredShape(Operation *op, ShapedType x, ShapedType ind, int64_t axis,
              int64_t batchDims, StringRef xName, StringRef indName) {
  if (batchDims < 0 || batchDims > ind.getRank() || batchDims > x.getRank())
    return op->emitOpError() << "batch_dims = " << batchDims << " must be in [0, "
                             << std::min(ind.getRank(), x.getRank()) << "]";
  if (axis < batchDims || axis >= x.getRank())
    return op->emitOpError() << "axis = " << axis << " must be in ["
                             << batchDims << ", " << x.getRank() << ") for "
                             << xName << " of type " << x;
  for (int64_t d = 0; d < batchDims; ++d)
    if (!x.isDynamicDim(d) && !ind.isDynamicDim(d) &&
        x.getDimSize(d) != ind.getDimSize(d))
      return op->emitOpError() << "batch dim " << d << " of " << xName << " ("
                               << x.getDimSize(d) << ") and " << indName << " ("
                               << ind.getDimSize(d) << ") differ";
  SmallVector<int64_t> shape(x.getShape().take_front(axis));
  llvm::append_range(shape, ind.getShape().drop_front(batchDims));
  llvm::append_range(shape, x.getShape().drop_front(axis + 1));
  return shape;
}

static LogicalResult checkPermutation(Operation *op, ArrayRef<int64_t> perm,
                                      size_t rank, StringRef what) {
  if (perm.size() != rank)
    return op->emitOpError() << what << " has " << perm.size()
                             << " entries but the gathered value has rank "
                             << rank;
  SmallVector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[p])
      return op->emitOpError() << what << " [" << perm
                               << "] is not a permutation of [0, " << rank
                               << ")";
    seen[p] = true;
  }
  return success();
}

/// Static dims must agree; dynamic dims match anything.
static LogicalResult checkShapeMatches(Operation *op, Type actual,
                                       ArrayRef<int64_t> expected,
                                       StringRef name) {
  auto t = cast<ShapedType>(actual);
  bool ok = t.getRank() == static_cast<int64_t>(expected.size());
  for (int64_t d = 0; ok && d < t.getRank(); ++d)
    ok = ShapedType::isDynamic(expected[d]) || t.isDynamicDim(d) ||
         expected[d] == t.getDimSize(d);
  if (ok)
    return success();
  auto diag = op->emitOpError() << name << " has type " << actual
                                << " but its shape must be [";
  llvm::interleaveComma(expected, diag, [&](int64_t s) {
    if (ShapedType::isDynamic(s))
      diag << "?";
    else
      diag << s;
  });
  return diag << "]";
}

LogicalResult GatherOp::verify() {
  Operation *op = getOperation();
  OperandRange outs = getODSOperands(2); // out
  if (failed(verifyForm(op, outs, 1, 1)))
    return failure();
  ShapeChecker c(op);
  if (failed(c.isIndexType(getInd().getType(), "operand 'ind'")) ||
      failed(c.isMovableType(getX().getType(), "operand 'x'")))
    return failure();
  auto g = gatheredShape(op, cast<ShapedType>(getX().getType()),
                         cast<ShapedType>(getInd().getType()), getAxisAttr().getInt(),
                         getBatchDimsAttr().getInt(), "operand 'x'", "operand 'ind'");
  if (failed(g))
    return failure();
  if (auto perm = getPermutation())
    if (failed(checkPermutation(op, *perm, g->size(), "permutation")))
      return failure();
  Type out = outputValue(op, outs, 0).getType();
  if (elementType(out) != elementType(getX()))
    return emitOpError() << outputName(op, "") << " element type "
                         << elementType(out) << " must match operand 'x' ("
                         << elementType(getX())
                         << ")";
  return checkShapeMatches(op, out, permuteGathered<int64_t>(*g, getPermutation()),
                           outputName(op, ""));
}

LogicalResult ScatterAddOp::verify() {
  Operation *op = getOperation();
  if (failed(verifyForm(op, {}, 1, 0)))
    return failure();
  ShapeChecker c(op);
  if (failed(c.isIndexType(getInd().getType(), "operand 'ind'")))
    return failure();
  auto g = gatheredShape(op, cast<ShapedType>(getInit().getType()),
                         cast<ShapedType>(getInd().getType()), getAxisAttr().getInt(),
                         getBatchDimsAttr().getInt(), "operand 'init'", "operand 'ind'");
  if (failed(g) || failed(checkShapeMatches(op, getSrc().getType(), *g,
                                            "operand 'src'")))
    return failure();
  if (elementType(getSrc()) != elementType(getInit()))
    return emitOpError() << "operand 'src' element type "
                         << elementType(getSrc()) << " must match operand "
                         << "'init' (" << elementType(getInit()) << ")";
  if (failed(c.isAccumulableType(getInit().getType(), "operand 'init'")))
    return failure();
  if (op->getNumResults() == 1 && getResult().getType() != getInit().getType())
    return emitOpError() << "result type " << getResult().getType()
                         << " must equal operand 'init' type "
                         << getInit().getType();
  return success();
}

LogicalResult GatherConcatOp::verify() {
  Operation *op = getOperation();
  OperandRange outs = getODSOperands(2); // out
  if (failed(verifyForm(op, outs, 1, 1)))
    return failure();
  size_t n = getSources().size();
  if (n == 0)
    return emitOpError() << "needs at least one source";
  if (getIndices().size() != n)
    return emitOpError() << "has " << n << " sources but "
                         << getIndices().size() << " index operands";
  ArrayAttr perms = getPermutationsAttr();
  if (perms && perms.size() != n)
    return emitOpError() << "has " << n << " sources but " << perms.size()
                         << " permutations";
  ShapeChecker c(op);
  Type elt = elementType(getSources()[0]);
  if (failed(c.isMovableType(getSources()[0].getType(), "source #0")))
    return failure();
  SmallVector<int64_t> concat;
  for (size_t s = 0; s < n; ++s) {
    std::string xName = "source #" + std::to_string(s);
    std::string iName = "index operand #" + std::to_string(s);
    if (failed(c.isIndexType(getIndices()[s].getType(), iName)))
      return failure();
    if (elementType(getSources()[s]) != elt)
      return emitOpError() << xName << " element type "
                           << elementType(getSources()[s])
                           << " must match source #0 (" << elt << ")";
    auto g = gatheredShape(op, cast<ShapedType>(getSources()[s].getType()),
                           cast<ShapedType>(getIndices()[s].getType()),
                           getAxisAttr().getInt(), 0, xName, iName);
    if (failed(g))
      return failure();
    std::optional<ArrayRef<int64_t>> perm;
    if (perms) {
      perm = cast<DenseI64ArrayAttr>(perms[s]).asArrayRef();
      if (failed(checkPermutation(op, *perm, g->size(),
                                  "permutation #" + std::to_string(s))))
        return failure();
    }
    SmallVector<int64_t> piece = permuteGathered<int64_t>(*g, perm);
    if (s == 0) {
      concat = piece;
      if (getDimAttr().getInt() < 0 || getDimAttr().getInt() >= static_cast<int64_t>(piece.size()))
        return emitOpError() << "dim = " << getDimAttr().getInt() << " must be in [0, "
                             << piece.size() << ")";
      continue;
    }
    if (piece.size() != concat.size())
      return emitOpError() << "gathered " << xName << " has rank "
                           << piece.size() << ", source #0 has rank "
                           << concat.size();
    for (size_t d = 0; d < piece.size(); ++d) {
      bool dyn = ShapedType::isDynamic(piece[d]) || ShapedType::isDynamic(concat[d]);
      if (static_cast<int64_t>(d) == getDimAttr().getInt())
        concat[d] = dyn ? ShapedType::kDynamic : concat[d] + piece[d];
      else if (!dyn && piece[d] != concat[d])
        return emitOpError() << "gathered " << xName << " has size " << piece[d]
                             << " in dim " << d << " but source #0 has "
                             << concat[d] << " (only dim " << getDimAttr().getInt()
                             << " may differ)";
    }
  }
  Type out = outputValue(op, outs, 0).getType();
  if (elementType(out) != elt)
    return emitOpError() << outputName(op, "") << " element type "
                         << elementType(out) << " must match the sources ("
                         << elt << ")";
  return checkShapeMatches(op, out, concat, outputName(op, ""));
}

#define GET_OP_CLASSES
#include "egs/Dialect/EGS/IR/EGSOps.cpp.inc"
