//===- BufferizableOpInterfaceImpl.cpp - egs bufferization ----------------===//
#include "egs/Dialect/EGS/Transforms/BufferizableOpInterfaceImpl.h"
#include "egs/Dialect/EGS/IR/EGSOps.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace egs;

namespace {
/// Where each op keeps its output buffers in the memref form.
template <typename OpTy> struct OutputSlots {
  /// Index of the outs(...) operand segment.
  static constexpr int outsSegment = -1;
  /// Operand accumulated in place, or -1.
  static int tiedInit(OpTy) { return -1; }
};
template <> struct OutputSlots<GatherMatmulOp> {
  static constexpr int outsSegment = 5;
  static int tiedInit(GatherMatmulOp) { return -1; }
};
template <> struct OutputSlots<WeightGradOp> {
  static constexpr int outsSegment = 6;
  static int tiedInit(WeightGradOp) { return -1; }
};
template <> struct OutputSlots<PermuteOp> {
  static constexpr int outsSegment = -1; // 2;
  static int tiedInit(PermuteOp) { return -1; }
};
template <> struct OutputSlots<UnpermuteOp> {
  static constexpr int outsSegment = -1; // 3;
  static int tiedInit(UnpermuteOp) { return -1; }
};
template <> struct OutputSlots<SinkhornOp> {
  static constexpr int outsSegment = -1; // 1;
  static int tiedInit(SinkhornOp) { return -1; }
};
template <> struct OutputSlots<RouteOp> {
  static constexpr int outsSegment = 2;
  static int tiedInit(RouteOp) { return -1; }
};
template <> struct OutputSlots<GatherOp> {
  static constexpr int outsSegment = -1; // 2;
  static int tiedInit(GatherOp) { return -1; }
};
template <> struct OutputSlots<GatherConcatOp> {
  static constexpr int outsSegment = 2;
  static int tiedInit(GatherConcatOp) { return -1; }
};
template <> struct OutputSlots<MatmulScatterOp> {
  static constexpr int outsSegment = -1;
  static int tiedInit(MatmulScatterOp op) {
    return op.getInitMutable().getOperandNumber();
  }
};
template <> struct OutputSlots<ScatterAddOp> {
  static constexpr int outsSegment = -1;
  static int tiedInit(ScatterAddOp op) {
    return op.getInitMutable().getOperandNumber();
  }
};

template <typename OpTy>
struct EGSOpBufferizationModel
    : public BufferizableOpInterface::ExternalModel<EGSOpBufferizationModel<OpTy>,
                                                    OpTy> {
  static bool isTiedInit(Operation *op, OpOperand &operand) {
    return static_cast<int>(operand.getOperandNumber()) ==
           OutputSlots<OpTy>::tiedInit(cast<OpTy>(op));
  }

  bool bufferizesToMemoryRead(Operation *, OpOperand &, const AnalysisState &) const {
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *op, OpOperand &operand,
                               const AnalysisState &) const {
    return isTiedInit(op, operand);
  }
  AliasingValueList getAliasingValues(Operation *op, OpOperand &operand,
                                      const AnalysisState &) const {
    if (!isTiedInit(op, operand))
      return {};
    return {{op->getResult(0), BufferRelation::Equivalent, /*isDefinite=*/true}};
  }
  bool bufferizesToAllocation(Operation *op, Value) const {
    return OutputSlots<OpTy>::tiedInit(cast<OpTy>(op)) < 0;
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    OpBuilder::InsertionGuard g(rewriter);
    rewriter.setInsertionPoint(op);
    SmallVector<Value> operands;
    for (Value v : op->getOperands()) {
      if (!isa<TensorType>(v.getType())) {
        operands.push_back(v);
        continue;
      }
      FailureOr<Value> buffer = getBuffer(rewriter, v, options, state);
      if (failed(buffer))
        return failure();
      operands.push_back(*buffer);
    }
    int tied = OutputSlots<OpTy>::tiedInit(cast<OpTy>(op));
    SmallVector<Value> outs;
    if (tied < 0) {
      for (OpResult r : op->getResults()) {
        FailureOr<Value> alloc = allocateTensorForShapedValue(
            rewriter, op->getLoc(), r, options, state, /*copy=*/false);
        if (failed(alloc))
          return failure();
        FailureOr<Value> buffer = getBuffer(rewriter, *alloc, options, state);
        if (failed(buffer))
          return failure();
        outs.push_back(*buffer);
      }
    }
    OperationState newState(op->getLoc(), op->getName());
    newState.addOperands(operands);
    newState.addOperands(outs);
    newState.addAttributes(op->getDiscardableAttrDictionary().getValue());
    auto props = cast<DictionaryAttr>(op->getPropertiesAsAttribute());
    if (OutputSlots<OpTy>::outsSegment >= 0) {
      NamedAttrList updatedProps(props);
      auto sizes = cast<DenseI32ArrayAttr>(updatedProps.get("operandSegmentSizes"));
      SmallVector<int32_t> updated(sizes.asArrayRef());
      updated[OutputSlots<OpTy>::outsSegment] = outs.size();
      updatedProps.set("operandSegmentSizes", rewriter.getDenseI32ArrayAttr(updated));
      props = updatedProps.getDictionary(op->getContext());
    }
    newState.propertiesAttr = props;
    rewriter.create(newState);
    replaceOpWithBufferizedValues(rewriter, op,
                                  tied >= 0 ? ValueRange(operands[tied])
                                            : ValueRange(outs));
    return success();
  }
};
} // namespace

template <typename... OpTys>
static void attachModels(MLIRContext *ctx) {
  (OpTys::template attachInterface<EGSOpBufferizationModel<OpTys>>(*ctx), ...);
}

void egs::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, EGSDialect *) {
    attachModels<GatherMatmulOp, MatmulScatterOp, WeightGradOp, PermuteOp, UnpermuteOp,
                 RouteOp, GatherOp, ScatterAddOp, GatherConcatOp, SinkhornOp>(ctx);
  });
}
