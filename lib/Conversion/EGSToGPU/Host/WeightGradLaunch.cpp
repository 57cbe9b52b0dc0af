//===- WeightGradLaunch.cpp - launching the weight-gradient kernel --------===//
#include "Host/WeightGradLaunch.h"

using namespace mlir;
using namespace egs;

static Type elementTypeOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

/// The kernel's identity, from its spec, strategy and argument types.
static KernelKey weightGradKernelKey(const WeightGradSpec &spec,
                                     ValueRange args) {
  KernelKey key("weight_grad");
  key.add(spec.ragged ? "ragged" : spec.batched ? "ec_batched" : "ec")
      .add(spec.lhsGathered ? "glhs" : "slhs")
      .add(spec.rhsGathered ? "grhs" : "srhs")
      .addIf(spec.hasScale, "scale")
      .add(spec.config.tag())
      .addElementTypes(args);
  return key;
}

void egs::launchWeightGrad(HostLauncher &host, const WeightGradSpec &spec,
                           const WeightGradOperands &ops, Value cond) {
  KernelBuilder &kb = host.host();
  OpBuilder &b = kb.builder();
  const GemmConfig &c = spec.config;
  SmallVector<Value> args{ops.lhs};
  if (spec.lhsGathered)
    args.push_back(ops.lhsInd);
  args.push_back(ops.rhs);
  if (spec.rhsGathered)
    args.push_back(ops.rhsInd);
  if (spec.ragged)
    args.push_back(ops.offsets);
  if (spec.hasScale)
    args.push_back(ops.scale);
  args.push_back(ops.dw);
  auto dim = [&](int64_t d) {
    return memref::DimOp::create(b, kb.getLoc(), ops.dw, d).getResult();
  };
  Value blocks = kb.mul(dim(0), kb.mul(kb.ceilDiv(dim(1), kb.idx(c.bm)),
                                       kb.ceilDiv(dim(2), kb.idx(c.bn))));
  Type dataType = elementTypeOf(ops.lhs);
  TypeRange types = ValueRange(args).getTypes();
  auto kernel = host.kernels().getOrCreate(
      weightGradKernelKey(spec, args), types, c.numThreads(),
      [&](KernelBuilder &k, ValueRange a) {
        emitWeightGradKernel(k, spec, dataType, a);
      });
  host.launch(kernel, {blocks, kb.idx(1), kb.idx(1)}, c.numThreads(),
              weightGradSharedLayout(c).totalBytes, args, cond);
}
