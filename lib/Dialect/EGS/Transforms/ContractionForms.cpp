//===- ContractionForms.cpp - contractions and their epilogues ------------===//
//
// One analysis serves linalg.matmul, linalg.batch_matmul, linalg.contract
// and contraction-shaped linalg.generic ops: all are LinalgOps whose body is
// a multiply-accumulate, and only their indexing maps differ.
//
//===----------------------------------------------------------------------===//
#include "FusionForms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace egs;
using namespace egs::fusion;

static bool isDataType(Type t) { return t.isF32() || t.isF16() || t.isBF16(); }

/// `v` with an arith.extf (the operand cast of a mixed-precision body)
/// stripped.
static Value stripExtF(Value v) {
  if (auto ext = v.getDefiningOp<arith::ExtFOp>())
    return ext.getIn();
  return v;
}

/// yield(addf(acc, mulf(cast(a), cast(b)))) with operands in either order.
static bool isMultiplyAccumulate(Block &body) {
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

static FailureOr<SmallVector<int64_t>> dimPositions(AffineMap map) {
  SmallVector<int64_t> dims;
  for (AffineExpr e : map.getResults()) {
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d)
      return failure();
    dims.push_back(d.getPosition());
  }
  return dims;
}

FailureOr<ContractionForm> egs::fusion::matchContraction(Operation *raw,
                                                         const MatchContext &ctx) {
  auto op = dyn_cast_if_present<linalg::LinalgOp>(raw);
  if (!op || !op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op->getNumResults() != 1)
    return ctx.fail("not a two-operand linalg contraction on tensors");
  if (!isMultiplyAccumulate(*op.getBlock()))
    return ctx.fail("the body is not a multiply-accumulate");
  Value lhs = op.getDpsInputOperand(0)->get(), rhs = op.getDpsInputOperand(1)->get();
  Type lhsElt = getElementTypeOrSelf(lhs), rhsElt = getElementTypeOrSelf(rhs);
  Type accElt = getElementTypeOrSelf(op->getResult(0));
  if (lhsElt != rhsElt || !isDataType(lhsElt))
    return ctx.fail("operands must share one element type among f32, f16 "
                    "and bf16");
  if (!accElt.isF32())
    return ctx.fail("the contraction accumulates in a type other than f32 "
                    "(egs accumulates in f32, which would round "
                    "differently)");

  if (!isZeroTensor(op.getDpsInitOperand(0)->get()))
    return ctx.fail("the contraction accumulates into a non-zero init");

  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  FailureOr<SmallVector<int64_t>> l = dimPositions(maps[0]),
                                  r = dimPositions(maps[1]),
                                  o = dimPositions(maps[2]);
  if (failed(l) || failed(r) || failed(o))
    return ctx.fail("indexing maps are not projections of the loops");
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  SmallVector<int64_t> reductions;
  for (auto [i, it] : llvm::enumerate(iters))
    if (it == utils::IteratorType::reduction)
      reductions.push_back(i);
  if (reductions.size() != 1)
    return ctx.fail("the contraction has " + Twine(reductions.size()) +
                    " reduction dims (need exactly one)");
  int64_t red = reductions[0];
  // lhs [p.., r], out [p.., n]: the reduction is lhs's innermost dim and
  // out repeats lhs's other dims in order.
  if (l->empty() || l->back() != red || o->size() != l->size() ||
      !llvm::equal(ArrayRef(*o).drop_back(), ArrayRef(*l).drop_back()) ||
      llvm::is_contained(*l, o->back()) ||
      static_cast<int64_t>(iters.size()) != static_cast<int64_t>(l->size()) + 1)
    return ctx.fail("lhs/out maps are not [p.., r] -> [p.., n] (the gathered "
                    "rows must be the lhs with the reduction innermost)");
  int64_t n = o->back();
  ContractionForm c{op, lhs, rhs, -1};
  if (r->size() == 2 && (*r)[0] == red && (*r)[1] == n)
    return c;
  if (r->size() == 3 && (*r)[1] == red && (*r)[2] == n) {
    auto it = llvm::find(ArrayRef(*l).drop_back(), (*r)[0]);
    if (it != l->end() - 1) {
      c.expertDim = it - l->begin();
      return c;
    }
  }
  return ctx.fail("the rhs map is not [r, n] or [e, r, n] with e a dim of the "
                  "lhs (a transposed or differently indexed weight)");
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
  if (!gen || !gen.hasPureTensorSemantics() || gen->getNumResults() != 1 ||
      gen.getNumDpsInits() != 1 ||
      !allParallel(gen))
    return ctx.fail("the user is not an elementwise linalg.generic");
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
  bool kindOk = kind == ElementwiseKind::Add ? isa_and_present<arith::AddFOp>(binary)
                                             : isa_and_present<arith::MulFOp>(binary);
  if (!kindOk || binary->getBlock() != body || &body->front() != binary)
    return ctx.fail(kind == ElementwiseKind::Add ? "the epilogue is not one addf"
                                                 : "the epilogue is not one mulf");
  Value a = gen.getMatchingBlockArgument(vOperand),
        b = gen.getMatchingBlockArgument(other);
  if (!((binary->getOperand(0) == a && binary->getOperand(1) == b) ||
        (binary->getOperand(0) == b && binary->getOperand(1) == a)))
    return ctx.fail("the epilogue does not combine the contraction with one "
                    "other operand");
  BroadcastEpilogue e{gen, other->get(), {}, {}};
  auto otherType = cast<ShapedType>(e.operand.getType());
  for (auto [d, expr] : llvm::enumerate(gen.getMatchingIndexingMap(other).getResults())) {
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
