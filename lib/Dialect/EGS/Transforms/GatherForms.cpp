//===- GatherForms.cpp - gathers as frontends write them ------------------===//
//
// Recognised forms of take(x, ind, axis) (DESIGN.md section 2):
// - torch-mlir (index_select, embedding, gather with a broadcast index):
//   linalg.generic ins(%ind) outs(%empty) yielding
//   tensor.extract %x[..., arith.index_cast %in, ...] with linalg.index
//   for every other position;
// - StableHLO (stablehlo-to-linalg): an outs-only linalg.generic that
//   extracts the index itself (with a trailing constant-0 coordinate) and
//   clamps it into [0, dim(x, axis) - 1] before reading x;
// - tensor.gather with one gather dim, in the rank-reduced form;
// - egs.gather.
//
//===----------------------------------------------------------------------===//
#include "FusionForms.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"
#include "egs/Dialect/EGS/IR/ElementTypes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace egs;
using namespace egs::fusion;

//===----------------------------------------------------------------------===//
// Size reasoning
//===----------------------------------------------------------------------===//

/// The size of dim `d` of `t` as its producer states it (tensor.empty, or
/// the init of a linalg.fill), or null.
static OpFoldResult statedSize(Value t, int64_t d) {
  if (auto fill = t.getDefiningOp<linalg::FillOp>())
    return statedSize(fill.getOutputs()[0], d);
  if (auto empty = t.getDefiningOp<tensor::EmptyOp>())
    return empty.getMixedSizes()[d];
  return OpFoldResult();
}

static bool isDimOf(OpFoldResult size, Value t, int64_t d) {
  auto v = dyn_cast_if_present<Value>(size);
  auto dim = v ? v.getDefiningOp<tensor::DimOp>() : tensor::DimOp();
  return dim && dim.getSource() == t &&
         getConstantIntValue(dim.getIndex()) == d;
}

/// True when dim `da` of `a` provably equals dim `db` of `b`: both static
/// and equal, or one is stated as `tensor.dim` of the other.
static bool provablySameSize(Value a, int64_t da, Value b, int64_t db) {
  auto ta = cast<ShapedType>(a.getType()), tb = cast<ShapedType>(b.getType());
  if (!ta.isDynamicDim(da) && !tb.isDynamicDim(db))
    return ta.getDimSize(da) == tb.getDimSize(db);
  if (a == b && da == db)
    return true;
  return isDimOf(statedSize(a, da), b, db) || isDimOf(statedSize(b, db), a, da);
}

//===----------------------------------------------------------------------===//
// Index tensors
//===----------------------------------------------------------------------===//

/// egs index operands are i32 or i64; `index` elements are cast to i64
/// (exact), anything else is declined rather than widened.
static LogicalResult checkIndexElementType(Type elt, GatherForm &g,
                                           const MatchContext &ctx) {
  if (elt.isIndex()) {
    g.fromIndexType = true;
    return success();
  }
  if (elt.isSignlessInteger(32) || elt.isSignlessInteger(64))
    return success();
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "index elements of type " << elt
     << " (egs indices are i32 or i64; index is cast to i64)";
  return ctx.fail(s);
}

LogicalResult egs::fusion::matchCoordinateIndex(Value indices, GatherForm &g,
                                                const MatchContext &ctx) {
  auto t = cast<RankedTensorType>(indices.getType());
  if (t.getRank() < 2)
    return ctx.fail("a single gathered coordinate (index rank < 2) is not "
                    "a row gather");
  if (t.getShape().back() != 1)
    return ctx.fail("indices carry several coordinates per row");
  g.ind = indices;
  g.dropCoordDim = true;
  return checkIndexElementType(t.getElementType(), g, ctx);
}

//===----------------------------------------------------------------------===//
// linalg.generic gathers (torch-mlir and StableHLO)
//===----------------------------------------------------------------------===//

namespace {
/// Where the data-dependent index of a generic gather comes from.
struct IndexSource {
  Value tensor;
  SmallVector<int64_t> loopDims; ///< loop dim per dim of `tensor`
  bool readInBody = false;       ///< tensor.extract in the body (StableHLO)
};
} // namespace

/// True for `dim(x, axis) - 1` (constant, or subi of tensor.dim).
static bool isLastRowOf(Value bound, Value x, int64_t axis) {
  auto xt = cast<ShapedType>(x.getType());
  if (std::optional<int64_t> c = getConstantIntValue(bound))
    return !xt.isDynamicDim(axis) && *c == xt.getDimSize(axis) - 1;
  auto sub = bound.getDefiningOp<arith::SubIOp>();
  return sub && matchPattern(sub.getRhs(), m_One()) &&
         isDimOf(sub.getLhs(), x, axis);
}

/// Strips a clamp into [0, dim(x, axis) - 1] (maxsi/minsi in either order,
/// operands in either order) off `v`; true if one was found.
static bool stripClamp(Value &v, Value x, int64_t axis) {
  auto other = [](Operation *op, function_ref<bool(Value)> pred) -> Value {
    if (pred(op->getOperand(0)))
      return op->getOperand(1);
    if (pred(op->getOperand(1)))
      return op->getOperand(0);
    return Value();
  };
  auto isZero = [](Value c) { return matchPattern(c, m_Zero()); };
  auto isHi = [&](Value c) { return isLastRowOf(c, x, axis); };
  Operation *outer = v.getDefiningOp();
  if (!isa_and_present<arith::MinSIOp, arith::MaxSIOp>(outer))
    return false;
  bool minOuter = isa<arith::MinSIOp>(outer);
  Value mid = other(outer, minOuter ? function_ref<bool(Value)>(isHi)
                                    : function_ref<bool(Value)>(isZero));
  Operation *inner = mid ? mid.getDefiningOp() : nullptr;
  if (!inner ||
      (minOuter ? !isa<arith::MaxSIOp>(inner) : !isa<arith::MinSIOp>(inner)))
    return false;
  Value base = other(inner, minOuter ? function_ref<bool(Value)>(isZero)
                                     : function_ref<bool(Value)>(isHi));
  if (!base)
    return false;
  v = base;
  return true;
}


/// Traces the data-dependent index at x position `axis` back to the index
/// tensor: [addi 0] <- [clamp] <- index_cast <- block arg | tensor.extract.
static FailureOr<IndexSource> traceIndex(Value pos, linalg::GenericOp gen,
                                         Value x, int64_t axis, GatherForm &g,
                                         const MatchContext &ctx) {
  Value v = pos;
  if (auto add = v.getDefiningOp<arith::AddIOp>()) {
    // StableHLO adds the slice offset, which is 0 for a collapsed dim.
    if (matchPattern(add.getRhs(), m_Zero()))
      v = add.getLhs();
    else if (matchPattern(add.getLhs(), m_Zero()))
      v = add.getRhs();
    else
      return ctx.fail("the gathered index has a non-zero offset (a slice "
                      "wider than one row)");
  }
  g.clamp = stripClamp(v, x, axis);
  if (v.getDefiningOp<arith::IndexCastUIOp>())
    return ctx.fail("unsigned index cast (egs indices are signed)");
  if (auto cast = v.getDefiningOp<arith::IndexCastOp>())
    v = cast.getIn();
  else if (!v.getType().isIndex())
    return ctx.fail("the gathered index is not an arith.index_cast of an "
                    "index tensor element");
  if (failed(checkIndexElementType(v.getType(), g, ctx)))
    return failure();

  IndexSource src;
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() != gen.getBody() ||
        arg.getArgNumber() >= gen.getNumDpsInputs())
      return ctx.fail("the gathered index is not read from an input");
    OpOperand *operand = gen.getDpsInputOperand(arg.getArgNumber());
    FailureOr<SmallVector<int64_t>> dims =
        resultDims(gen.getMatchingIndexingMap(operand));
    if (failed(dims))
      return ctx.fail("the index input's map is not a projection of the "
                      "loops");
    src.tensor = operand->get();
    src.loopDims = *dims;
    return src;
  }
  auto extract = v.getDefiningOp<tensor::ExtractOp>();
  if (!extract ||
      gen.getRegion().isAncestor(extract.getTensor().getParentRegion()))
    return ctx.fail("the gathered index is not read from an index tensor");
  src.tensor = extract.getTensor();
  src.readInBody = true;
  auto t = cast<RankedTensorType>(src.tensor.getType());
  for (auto [d, idx] : llvm::enumerate(extract.getIndices())) {
    if (auto li = idx.getDefiningOp<linalg::IndexOp>()) {
      src.loopDims.push_back(li.getDim());
      continue;
    }
    bool coord = static_cast<int64_t>(d) == t.getRank() - 1 &&
                 t.getShape().back() == 1 && matchPattern(idx, m_Zero());
    if (!coord)
      return ctx.fail("the index tensor is read at a position other than "
                      "the loops and a trailing size-1 coordinate");
    g.dropCoordDim = true;
  }
  if (g.dropCoordDim && t.getRank() < 2)
    return ctx.fail("a single gathered coordinate is not a row gather");
  return src;
}

/// Checks that the loops are x's dims before `axis`, the index dims (the
/// first `batchDims` shared with x), then x's dims after `axis`, in order.
static bool hasTakeStructure(ArrayRef<int64_t> xDims, ArrayRef<int64_t> q,
                             int64_t axis, int64_t batchDims, int64_t nLoops) {
  int64_t xRank = xDims.size(), nq = q.size() - batchDims;
  if (nLoops != axis + nq + (xRank - axis - 1))
    return false;
  for (int64_t p = 0; p < axis; ++p)
    if (xDims[p] != p)
      return false;
  for (int64_t j = 0; j < nq; ++j)
    if (q[batchDims + j] != axis + j)
      return false;
  for (int64_t s = axis + 1; s < xRank; ++s)
    if (xDims[s] != nq + s - 1)
      return false;
  return true;
}

static FailureOr<GatherForm> matchGenericGather(linalg::GenericOp gen,
                                                const MatchContext &ctx) {
  if (!gen.hasPureTensorSemantics() || gen.getNumDpsInits() != 1 ||
      gen->getNumResults() != 1 || gen.getNumDpsInputs() > 1 ||
      !allParallel(gen))
    return ctx.fail("producer is not a gather-shaped linalg.generic (one "
                    "output, at most one input, parallel loops)");
  OpOperand *init = gen.getDpsInitOperand(0);
  if (!gen.getMatchingIndexingMap(init).isIdentity() ||
      !gen.getMatchingBlockArgument(init).use_empty())
    return ctx.fail("the gather generic reads its output or writes it "
                    "through a non-identity map");
  auto yield = cast<linalg::YieldOp>(gen.getBody()->getTerminator());
  auto extract = yield.getValues()[0].getDefiningOp<tensor::ExtractOp>();
  if (!extract ||
      gen.getRegion().isAncestor(extract.getTensor().getParentRegion()))
    return ctx.fail("the generic does not yield an element of a tensor "
                    "defined outside it");
  GatherForm g;
  g.op = gen;
  g.x = extract.getTensor();
  int64_t xRank = g.xRank();
  SmallVector<int64_t> xDims(xRank, -1);
  int64_t axis = -1;
  for (auto [p, idx] : llvm::enumerate(extract.getIndices())) {
    if (auto li = idx.getDefiningOp<linalg::IndexOp>()) {
      xDims[p] = li.getDim();
      continue;
    }
    if (axis >= 0)
      return ctx.fail("x is read with more than one data-dependent index");
    axis = p;
  }
  if (axis < 0)
    return ctx.fail("x is read without a data-dependent index (a copy)");
  g.axis = axis;
  FailureOr<IndexSource> src =
      traceIndex(extract.getIndices()[axis], gen, g.x, axis, g, ctx);
  if (failed(src))
    return failure();
  g.ind = src->tensor;
  ArrayRef<int64_t> q = src->loopDims;
  int64_t b = 0;
  while (b < axis && b < static_cast<int64_t>(q.size()) && q[b] == b &&
         xDims[b] == b)
    ++b;
  g.batchDims = b;
  if (!hasTakeStructure(xDims, q, axis, b, gen.getNumLoops()))
    return ctx.fail("the indexing is not take(x, ind, axis): loops must be "
                    "x's leading dims, the index dims, then x's trailing "
                    "dims (an index per element, as in torch.gather with a "
                    "full index, is not a row gather)");
  Value out = init->get();
  for (int64_t p = 0; p < xRank; ++p)
    if (p != axis && !provablySameSize(out, xDims[p], g.x, p))
      return ctx.fail("the generic reads only part of dim " + Twine(p) +
                      " of x (or its size is not provably x's)");
  if (src->readInBody)
    for (auto [d, loop] : llvm::enumerate(q))
      if (!provablySameSize(out, loop, g.ind, d))
        return ctx.fail("the loops do not provably cover the index tensor");
  g.form = src->readInBody ? "linalg.generic (StableHLO form)"
                           : "linalg.generic (torch-mlir form)";
  return g;
}

//===----------------------------------------------------------------------===//
// tensor.gather and egs.gather
//===----------------------------------------------------------------------===//

static FailureOr<GatherForm> matchTensorGather(tensor::GatherOp op,
                                               const MatchContext &ctx) {
  ArrayRef<int64_t> dims = op.getGatherDims();
  if (dims.size() != 1)
    return ctx.fail("tensor.gather along several dims");
  GatherForm g;
  g.op = op;
  g.x = op.getSource();
  g.axis = dims[0];
  if (failed(matchCoordinateIndex(op.getIndices(), g, ctx)))
    return failure();
  int64_t nq = cast<ShapedType>(g.ind.getType()).getRank() - 1;
  if (op.getResultType().getRank() != nq + g.xRank() - 1)
    return ctx.fail("tensor.gather keeps the gathered dim as a size-1 dim "
                    "(only the rank-reduced form is recognised)");
  // tensor.gather puts the index dims first: a permuted egs.gather.
  if (g.axis > 0)
    for (int64_t d = 0, n = op.getResultType().getRank(); d < n; ++d)
      g.permutation.push_back(d < nq            ? g.axis + d
                              : d < nq + g.axis ? d - nq
                                                : d);
  g.form = "tensor.gather";
  return g;
}

static FailureOr<GatherForm> matchEGSGather(GatherOp op,
                                            const MatchContext &ctx) {
  if (op.hasBufferSemantics())
    return ctx.fail("egs.gather in memref form");
  GatherForm g;
  g.op = op;
  g.x = op.getX();
  g.ind = op.getInd();
  g.axis = op.getAxisAttr().getInt();
  g.batchDims = op.getBatchDimsAttr().getInt();
  if (std::optional<ArrayRef<int64_t>> perm = op.getPermutation())
    if (!llvm::equal(*perm, llvm::seq<int64_t>(0, perm->size())))
      g.permutation.assign(perm->begin(), perm->end());
  g.form = "egs.gather";
  return g;
}

FailureOr<GatherForm> egs::fusion::matchGather(Value v,
                                               const MatchContext &ctx) {
  Operation *def = v.getDefiningOp();
  if (!def)
    return ctx.fail("operand is a block argument, not a gather");
  if (!v.hasOneUse())
    return ctx.fail("the gathered value has other users");
  if (!isMovableElementType(getElementTypeOrSelf(v)))
    return ctx.fail("egs gathers " + movableElementTypesString() +
                    " elements only");
  if (auto op = dyn_cast<GatherOp>(def))
    return matchEGSGather(op, ctx);
  if (auto op = dyn_cast<tensor::GatherOp>(def))
    return matchTensorGather(op, ctx);
  if (auto op = dyn_cast<linalg::GenericOp>(def))
    return matchGenericGather(op, ctx);
  return ctx.fail("operand is not produced by a recognised gather");
}

//===----------------------------------------------------------------------===//
// Building the egs index operand
//===----------------------------------------------------------------------===//

Value egs::fusion::buildGatherIndex(OpBuilder &b, Location loc,
                                    const GatherForm &g) {
  Value ind = g.ind;
  if (g.dropCoordDim)
    ind = dropUnitDims(b, loc, ind,
                       {cast<ShapedType>(ind.getType()).getRank() - 1});
  if (!g.fromIndexType && !g.clamp)
    return ind;
  auto type = cast<RankedTensorType>(ind.getType());
  Type outElt = g.fromIndexType ? b.getI64Type() : type.getElementType();
  Value hi;
  if (g.clamp) {
    Value rows = tensor::DimOp::create(b, loc, g.x, g.axis);
    hi = arith::SubIOp::create(b, loc, rows,
                               arith::ConstantIndexOp::create(b, loc, 1));
  }
  Value init = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, ind), outElt);
  SmallVector<AffineMap> maps(2, b.getMultiDimIdentityMap(type.getRank()));
  SmallVector<utils::IteratorType> iters(type.getRank(),
                                         utils::IteratorType::parallel);
  auto body = [&](OpBuilder &nb, Location nl, ValueRange args) {
    Value v = args[0];
    if (!v.getType().isIndex())
      v = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), v);
    if (g.clamp) {
      v = arith::MaxSIOp::create(nb, nl, v,
                                 arith::ConstantIndexOp::create(nb, nl, 0));
      v = arith::MinSIOp::create(nb, nl, v, hi);
    }
    v = arith::IndexCastOp::create(nb, nl, outElt, v);
    linalg::YieldOp::create(nb, nl, v);
  };
  return linalg::GenericOp::create(b, loc, TypeRange{init.getType()},
                                   ValueRange{ind}, ValueRange{init}, maps,
                                   iters, body)
      ->getResult(0);
}
