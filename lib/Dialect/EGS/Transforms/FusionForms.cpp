//===- FusionForms.cpp - shared values and reshapes of the fusions --------===//
#include "FusionForms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace egs;
using namespace egs::fusion;

static bool isPositiveZero(Value v) {
  return matchPattern(v, m_PosZeroFloat()) || matchPattern(v, m_Zero());
}

bool egs::fusion::isZeroTensor(Value v) {
  if (auto fill = v.getDefiningOp<linalg::FillOp>())
    return isPositiveZero(fill.value());
  if (auto gen = v.getDefiningOp<linalg::GenericOp>())
    if (std::optional<Value> s = linalg::isaFillOpInterface(gen))
      return isPositiveZero(*s);
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat())
    return false;
  if (auto f = dyn_cast<FloatType>(attr.getElementType()))
    return attr.getSplatValue<APFloat>().isPosZero();
  return attr.getSplatValue<APInt>().isZero();
}

/// `linalg.index 0`, possibly through index casts.
static bool isLoopIndexZero(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<arith::IndexCastOp, arith::IndexCastUIOp>(def))
      break;
    v = def->getOperand(0);
  }
  auto index = v.getDefiningOp<linalg::IndexOp>();
  return index && index.getDim() == 0;
}

bool egs::fusion::isIdentityRows(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getRank() != 1)
    return false;
  DenseIntElementsAttr attr;
  if (matchPattern(v, m_Constant(&attr))) {
    int64_t i = 0;
    for (const APInt &x : attr.getValues<APInt>())
      if (x.getSExtValue() != i++)
        return false;
    return true;
  }
  auto gen = v.getDefiningOp<linalg::GenericOp>();
  if (!gen || gen->getNumResults() != 1 || gen.getNumDpsInits() != 1 ||
      !gen.getMatchingIndexingMap(gen.getDpsInitOperand(0)).isIdentity())
    return false;
  auto yield = cast<linalg::YieldOp>(gen.getBody()->getTerminator());
  return isLoopIndexZero(yield.getValues()[0]);
}

FailureOr<TransposeForm> egs::fusion::matchTranspose(Operation *op,
                                                     const MatchContext &ctx) {
  if (auto t = dyn_cast<linalg::TransposeOp>(op)) {
    if (!t.hasPureTensorSemantics())
      return ctx.fail("linalg.transpose on buffers");
    return TransposeForm{op, t.getInput(),
                         SmallVector<int64_t>(t.getPermutation())};
  }
  auto gen = dyn_cast<linalg::GenericOp>(op);
  if (!gen || !gen.hasPureTensorSemantics() || gen.getNumDpsInputs() != 1 ||
      gen.getNumDpsInits() != 1 || !allParallel(gen))
    return ctx.fail("not a transpose");
  OpOperand *in = gen.getDpsInputOperand(0), *init = gen.getDpsInitOperand(0);
  AffineMap inMap = gen.getMatchingIndexingMap(in);
  auto yield = cast<linalg::YieldOp>(gen.getBody()->getTerminator());
  if (!inMap.isPermutation() ||
      !gen.getMatchingIndexingMap(init).isIdentity() ||
      yield.getValues()[0] != gen.getMatchingBlockArgument(in) ||
      getElementTypeOrSelf(in->get()) !=
          getElementTypeOrSelf(gen->getResult(0)))
    return ctx.fail("the generic is not a transpose (permuted input map, "
                    "identity output map, yielding the input)");
  // Input dim k is read at loop (= result) dim inMap(k).
  SmallVector<int64_t> perm(inMap.getNumResults());
  for (auto [k, e] : llvm::enumerate(inMap.getResults()))
    perm[cast<AffineDimExpr>(e).getPosition()] = k;
  return TransposeForm{op, in->get(), perm};
}

SmallVector<int64_t> egs::fusion::composePermutations(ArrayRef<int64_t> inner,
                                                      ArrayRef<int64_t> outer) {
  if (inner.empty())
    return SmallVector<int64_t>(outer);
  SmallVector<int64_t> out;
  for (int64_t p : outer)
    out.push_back(inner[p]);
  return out;
}

Value egs::fusion::insertUnitDim(OpBuilder &b, Location loc, Value v,
                                 int64_t pos) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t rank = type.getRank();
  SmallVector<ReassociationIndices> groups;
  for (int64_t s = 0; s < rank; ++s) {
    int64_t first = s < pos ? s : s + 1;
    ReassociationIndices group{first};
    if (s == pos)
      group.insert(group.begin(), pos);
    else if (s == rank - 1 && pos == rank)
      group.push_back(rank);
    groups.push_back(group);
  }
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
  sizes.insert(sizes.begin() + pos, b.getIndexAttr(1));
  SmallVector<int64_t> shape(type.getShape());
  shape.insert(shape.begin() + pos, 1);
  return tensor::ExpandShapeOp::create(b, loc, type.clone(shape), v, groups,
                                       sizes);
}

Value egs::fusion::collapseDims(OpBuilder &b, Location loc, Value v,
                                int64_t first, int64_t count) {
  if (count == 1)
    return v;
  int64_t rank = cast<ShapedType>(v.getType()).getRank();
  SmallVector<ReassociationIndices> groups;
  for (int64_t d = 0; d < rank; ++d) {
    if (d > first && d < first + count)
      groups.back().push_back(d);
    else
      groups.push_back({d});
  }
  return tensor::CollapseShapeOp::create(b, loc, v, groups);
}

Value egs::fusion::expandDim(OpBuilder &b, Location loc, Value v, int64_t dim,
                             ArrayRef<OpFoldResult> sizes) {
  if (sizes.size() == 1)
    return v;
  auto type = cast<RankedTensorType>(v.getType());
  int64_t n = sizes.size();
  SmallVector<ReassociationIndices> groups;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (d < dim)
      groups.push_back({d});
    else if (d == dim)
      groups.push_back(llvm::to_vector(llvm::seq<int64_t>(dim, dim + n)));
    else
      groups.push_back({d + n - 1});
  }
  SmallVector<OpFoldResult> outSizes = tensor::getMixedSizes(b, loc, v);
  outSizes.erase(outSizes.begin() + dim);
  outSizes.insert(outSizes.begin() + dim, sizes.begin(), sizes.end());
  SmallVector<int64_t> shape;
  for (OpFoldResult s : outSizes)
    shape.push_back(getConstantIntValue(s).value_or(ShapedType::kDynamic));
  return tensor::ExpandShapeOp::create(b, loc, type.clone(shape), v, groups,
                                       outSizes);
}

Value ExpertLayout::asSingleExpert(OpBuilder &b, Location loc, Value v) const {
  return insertUnitDim(b, loc, collapseDims(b, loc, v, lead, rowDims), lead);
}

Value egs::fusion::dropUnitDims(OpBuilder &b, Location loc, Value v,
                                ArrayRef<int64_t> dims) {
  if (dims.empty())
    return v;
  int64_t rank = cast<ShapedType>(v.getType()).getRank();
  // Each dropped dim joins the group of the next kept dim; trailing ones
  // join the last group.
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices pending;
  for (int64_t d = 0; d < rank; ++d) {
    pending.push_back(d);
    if (!llvm::is_contained(dims, d)) {
      groups.push_back(pending);
      pending.clear();
    }
  }
  if (!pending.empty() && !groups.empty())
    groups.back().append(pending.begin(), pending.end());
  return tensor::CollapseShapeOp::create(b, loc, v, groups);
}

Value egs::fusion::zeros(OpBuilder &b, Location loc,
                         ArrayRef<OpFoldResult> sizes, Type elementType) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, elementType);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elementType));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

void egs::fusion::reportFusion(const FusionOptions &options,
                               FusionFamily family, Operation *fused,
                               const Twine &what) {
  if (options.listener)
    options.listener(family, fused, what.str());
}

FailureOr<SmallVector<int64_t>> egs::fusion::resultDims(AffineMap map) {
  SmallVector<int64_t> dims;
  for (AffineExpr e : map.getResults()) {
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d)
      return failure();
    dims.push_back(d.getPosition());
  }
  return dims;
}
