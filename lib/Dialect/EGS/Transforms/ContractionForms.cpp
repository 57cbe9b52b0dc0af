//===- ContractionForms.cpp - contractions and their epilogues ------------===//
//
// One analysis serves linalg.matmul, linalg.batch_matmul, linalg.contract
// and contraction-shaped linalg.generic ops: all are LinalgOps whose body is
// a multiply-accumulate, and only their indexing maps differ.
//
//===----------------------------------------------------------------------===//
#include "FusionForms.h"
#include "egs/Dialect/EGS/IR/ElementTypes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace egs;
using namespace egs::fusion;

/// `v` with an arith.extf (the operand cast of a mixed-precision body)
/// stripped.
static Value stripExtF(Value v) {
  if (auto ext = v.getDefiningOp<arith::ExtFOp>())
    return ext.getIn();
  return v;
}

bool egs::fusion::isMultiplyAccumulate(Block &body) {
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1 || body.getNumArguments() != 3)
    return false;
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body.getArgument(2), product;
  if (add.getLhs() == acc)
    product = add.getRhs();
  else if (add.getRhs() == acc)
    product = add.getLhs();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : arith::MulFOp();
  if (!mul)
    return false;
  Value l = stripExtF(mul.getLhs()), r = stripExtF(mul.getRhs());
  Value a = body.getArgument(0), b = body.getArgument(1);
  return (l == a && r == b) || (l == b && r == a);
}


/// With `l` the rows and `r` the weight: out [p.., n] = l [p.., red] *
/// r [(e,) red, n]. Returns the position of e in l (-1 for a single weight
/// matrix), or nullopt when the maps have another shape.
static std::optional<int64_t> expertDimOf(ArrayRef<int64_t> l,
                                          ArrayRef<int64_t> r,
                                          ArrayRef<int64_t> o, int64_t red,
                                          int64_t loops) {
  if (l.empty() || l.back() != red || o.size() != l.size() ||
      !llvm::equal(o.drop_back(), l.drop_back()) ||
      llvm::is_contained(l, o.back()) ||
      loops != static_cast<int64_t>(l.size()) + 1)
    return std::nullopt;
  int64_t n = o.back();
  if (r.size() == 2 && r[0] == red && r[1] == n)
    return -1;
  if (r.size() == 3 && r[1] == red && r[2] == n) {
    const int64_t *it = llvm::find(l.drop_back(), r[0]);
    if (it != l.end() - 1)
      return it - l.begin();
  }
  return std::nullopt;
}

FailureOr<ContractionForm>
egs::fusion::matchContraction(Operation *raw, const MatchContext &ctx) {
  auto op = dyn_cast_if_present<linalg::LinalgOp>(raw);
  if (!op || !op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op->getNumResults() != 1)
    return ctx.fail("not a two-operand linalg contraction on tensors");
  if (!isMultiplyAccumulate(*op.getBlock()))
    return ctx.fail("the body is not a multiply-accumulate");
  Type lhsElt = getElementTypeOrSelf(op.getDpsInputOperand(0)->get());
  Type rhsElt = getElementTypeOrSelf(op.getDpsInputOperand(1)->get());
  Type accElt = getElementTypeOrSelf(op->getResult(0));
  if (lhsElt != rhsElt || !isComputeElementType(lhsElt))
    return ctx.fail("operands must share one element type among f32, f16 "
                    "and bf16");
  if (!accElt.isF32())
    return ctx.fail("the contraction accumulates in a type other than f32 "
                    "(egs accumulates in f32, which would round "
                    "differently)");

  if (!isZeroTensor(op.getDpsInitOperand(0)->get()))
    return ctx.fail("the contraction accumulates into a non-zero init");

  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  FailureOr<SmallVector<int64_t>> a = resultDims(maps[0]),
                                  b = resultDims(maps[1]),
                                  o = resultDims(maps[2]);
  if (failed(a) || failed(b) || failed(o))
    return ctx.fail("indexing maps are not projections of the loops");
  SmallVector<int64_t> reductions;
  for (auto [i, it] : llvm::enumerate(op.getIteratorTypesArray()))
    if (it == utils::IteratorType::reduction)
      reductions.push_back(i);
  if (reductions.size() != 1)
    return ctx.fail("the contraction has " + Twine(reductions.size()) +
                    " reduction dims (need exactly one)");
  // Either input may be the rows (einsum operands come in any order).
  int64_t loops = op.getNumLoops();
  if (std::optional<int64_t> e = expertDimOf(*a, *b, *o, reductions[0], loops))
    return ContractionForm{op, op.getDpsInputOperand(0)->get(),
                           op.getDpsInputOperand(1)->get(), *e};
  if (std::optional<int64_t> e = expertDimOf(*b, *a, *o, reductions[0], loops))
    return ContractionForm{op, op.getDpsInputOperand(1)->get(),
                           op.getDpsInputOperand(0)->get(), *e};
  return ctx.fail("the maps are not rows [p.., r] times a weight [r, n] or "
                  "[e, r, n] (e a dim of the rows) into [p.., n] (a "
                  "transposed or differently indexed operand)");
}

FailureOr<ExpertLayout> egs::fusion::classifyLayout(const ContractionForm &c,
                                                    int64_t lead,
                                                    const MatchContext &ctx) {
  int64_t rank = cast<ShapedType>(c.lhs.getType()).getRank();
  ExpertLayout layout{lead, rank - 1 - lead, false};
  if (c.expertDim == lead && layout.rowDims == 2) {
    layout.expertChoice = true;
    return layout;
  }
  if (c.expertDim < 0 && layout.rowDims >= 1)
    return layout;
  return ctx.fail("the weight stack is indexed by a dim other than the E of "
                  "a [B?,E,K] index");
}

//===----------------------------------------------------------------------===//
// Broadcast epilogues (bias add, row scale)
//===----------------------------------------------------------------------===//

FailureOr<BroadcastEpilogue>
egs::fusion::matchBroadcastEpilogue(Value v, ElementwiseKind kind,
                                    const MatchContext &ctx) {
  if (!v.hasOneUse())
    return ctx.fail("the contraction result has other users");
  auto gen = dyn_cast<linalg::GenericOp>(*v.getUsers().begin());
  if (!gen)
    return ctx.fail("the user is not an elementwise linalg.generic");
  return matchBroadcastBinary(gen, v, kind, ctx);
}

FailureOr<BroadcastEpilogue>
egs::fusion::matchBroadcastBinary(linalg::GenericOp gen, Value v,
                                  ElementwiseKind kind,
                                  const MatchContext &ctx) {
  if (!gen.hasPureTensorSemantics() || gen->getNumResults() != 1 ||
      gen.getNumDpsInits() != 1 || !allParallel(gen))
    return ctx.fail("not an elementwise linalg.generic");
  // The two operands of the binary op: v and the broadcast one, as block
  // arguments; v may be an input or the init (outs(%v) form).
  OpOperand *init = gen.getDpsInitOperand(0);
  OpOperand *vOperand = nullptr, *other = nullptr;
  if (gen.getNumDpsInputs() == 2 &&
      gen.getMatchingBlockArgument(init).use_empty()) {
    OpOperand *a = gen.getDpsInputOperand(0), *b = gen.getDpsInputOperand(1);
    vOperand = a->get() == v ? a : b;
    other = a->get() == v ? b : a;
  } else if (gen.getNumDpsInputs() == 1 && init->get() == v) {
    vOperand = init;
    other = gen.getDpsInputOperand(0);
  }
  if (!vOperand || vOperand->get() != v || other->get() == v ||
      !gen.getMatchingIndexingMap(vOperand).isIdentity() ||
      !gen.getMatchingIndexingMap(init).isIdentity() ||
      gen->getResult(0).getType() != v.getType())
    return ctx.fail("the epilogue is not elementwise over the contraction");
  Block *body = gen.getBody();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  Operation *binary = yield.getValues()[0].getDefiningOp();
  bool kindOk = kind == ElementwiseKind::Add
                    ? isa_and_present<arith::AddFOp>(binary)
                    : isa_and_present<arith::MulFOp>(binary);
  if (!kindOk || binary->getBlock() != body || &body->front() != binary)
    return ctx.fail(kind == ElementwiseKind::Add
                        ? "the epilogue is not one addf"
                        : "the epilogue is not one mulf");
  Value a = gen.getMatchingBlockArgument(vOperand),
        b = gen.getMatchingBlockArgument(other);
  if (!((binary->getOperand(0) == a && binary->getOperand(1) == b) ||
        (binary->getOperand(0) == b && binary->getOperand(1) == a)))
    return ctx.fail("the epilogue does not combine the contraction with one "
                    "other operand");
  BroadcastEpilogue e{gen, other->get(), {}, {}};
  auto otherType = cast<ShapedType>(e.operand.getType());
  for (auto [d, expr] :
       llvm::enumerate(gen.getMatchingIndexingMap(other).getResults())) {
    if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
      if (!e.vDims.empty() && dim.getPosition() <= e.vDims.back())
        return ctx.fail("the broadcast operand's dims are not in order");
      e.vDims.push_back(dim.getPosition());
      continue;
    }
    auto cst = dyn_cast<AffineConstantExpr>(expr);
    if (!cst || cst.getValue() != 0 || otherType.getDimSize(d) != 1)
      return ctx.fail("the broadcast operand is indexed by something other "
                      "than loop dims and 0 on size-1 dims");
    e.unitDims.push_back(d);
  }
  return e;
}

FailureOr<linalg::GenericOp>
egs::fusion::matchTruncation(Value v, Type to, const MatchContext &ctx) {
  if (!v.hasOneUse())
    return ctx.fail("the result has other users");
  auto gen = dyn_cast<linalg::GenericOp>(*v.getUsers().begin());
  if (!gen || !gen.hasPureTensorSemantics() || gen.getNumDpsInputs() != 1 ||
      gen.getNumDpsInits() != 1 || gen->getNumResults() != 1 ||
      !allParallel(gen))
    return ctx.fail("the user is not an elementwise unary linalg.generic");
  OpOperand *in = gen.getDpsInputOperand(0), *init = gen.getDpsInitOperand(0);
  if (in->get() != v || !gen.getMatchingIndexingMap(in).isIdentity() ||
      !gen.getMatchingIndexingMap(init).isIdentity() ||
      !gen.getMatchingBlockArgument(init).use_empty())
    return ctx.fail("the user is not elementwise over the result");
  auto yield = cast<linalg::YieldOp>(gen.getBody()->getTerminator());
  auto trunc = yield.getValues()[0].getDefiningOp<arith::TruncFOp>();
  if (!trunc || trunc.getIn() != gen.getMatchingBlockArgument(in) ||
      trunc.getType() != to || &gen.getBody()->front() != trunc)
    return ctx.fail("the user does not only round to the data type");
  return gen;
}
