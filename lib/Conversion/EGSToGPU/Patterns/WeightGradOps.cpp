//===- WeightGradOps.cpp - GPU lowering of weight_grad --------------------===//
//
// A fast kernel (16-byte cp.async staging; mma.sync, or on sm_90a warpgroup
// MMA, for f16/bf16, CUDA cores for f32) and a general one (element loads, any layout); the host code
// launches the fast one where lhs, rhs and dw have unit inner strides and
// 16-byte aligned rows and bases.
//
//===----------------------------------------------------------------------===//
#include "Strategy/GPUStrategy.h"
#include "Host/WeightGradLaunch.h"
#include "Patterns/Patterns.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

using namespace mlir;
using namespace egs;

namespace {
struct WeightGradToGPU
    : PreparedGPULoweringPattern<WeightGradOp, WeightGradStrategies> {
  using PreparedGPULoweringPattern::PreparedGPULoweringPattern;

  FailureOr<WeightGradStrategies> prepare(WeightGradOp op) const override {
    return recordedWeightGradStrategies(op);
  }

  void lower(WeightGradOp op, const WeightGradStrategies &strategies,
             HostLauncher &host, PatternRewriter &) const override {
    KernelBuilder &kb = host.host();
    WeightGradOperands ops;
    auto device = [&](Value v) { return v ? host.device(v) : Value(); };
    ops.lhs = device(op.getLhs());
    ops.lhsInd = device(op.getLhsInd());
    ops.rhs = device(op.getRhs());
    ops.rhsInd = device(op.getRhsInd());
    ops.offsets = device(op.getExpertOffsets());
    ops.scale = device(op.getScale());
    ops.dw = device(op.getOut());

    WeightGradSpec spec;
    spec.ragged = op.isRagged();
    spec.batched = op.isBatched();
    spec.lhsGathered = static_cast<bool>(ops.lhsInd);
    spec.rhsGathered = static_cast<bool>(ops.rhsInd);
    spec.hasScale = static_cast<bool>(ops.scale);
    // 32-bit index math in the kernels (slot -> (b, k), tile ids).
    Value fits = kb.andB(host.fitsInt32(ops.lhs), host.fitsInt32(ops.rhs));
    fits = kb.andB(fits, host.fitsInt32(ops.dw));
    Value fastOk = kb.andB(host.vectorAccessible(ops.lhs, 16),
                           kb.andB(host.vectorAccessible(ops.rhs, 16),
                                   host.vectorAccessible(ops.dw, 16)));
    // The fast variant for the slots per expert on average (the slot-shaped
    // tensor's slots over E; no device read).
    Value fast = kb.andB(fits, fastOk);
    ArrayRef<WeightGradVariant> variants = strategies.fast;
    Value perExpert;
    if (variants.size() > 1) {
      Value slots = op.getLhsInd() ? op.getLhsInd()
                    : op.getRhsInd() ? op.getRhsInd()
                                     : op.getLhs();
      auto dim = [&](Value v, int64_t d) {
        return memref::DimOp::create(kb.builder(), kb.getLoc(), v, d)
            .getResult();
      };
      Value numSlots = dim(slots, 0);
      if (!spec.ragged)
        numSlots = spec.batched ? kb.mul(numSlots, dim(slots, 2))
                                : dim(slots, 1);
      Value experts = kb.maxS(dim(op.getOut(), 0), kb.idx(1));
      perExpert = kb.divU(numSlots, experts);
    }
    for (size_t i = 0; i < variants.size(); ++i) {
      Value cond = fast;
      if (i + 1 < variants.size())
        cond = kb.andB(cond, kb.ge(perExpert,
                                   kb.idx(variants[i].minSlotsPerExpert)));
      if (i > 0)
        cond = kb.andB(cond, kb.lt(perExpert,
                                   kb.idx(variants[i - 1].minSlotsPerExpert)));
      spec.config = variants[i].config;
      launchWeightGrad(host, spec, ops, cond);
    }
    spec.config = strategies.general;
    launchWeightGrad(host, spec, ops, kb.notB(kb.andB(fits, fastOk)));
  }
};
} // namespace

void egs::populateWeightGradToGPUPatterns(RewritePatternSet &patterns,
                                          const GPULoweringOptions &options) {
  patterns.add<WeightGradToGPU>(patterns.getContext(), options);
}
