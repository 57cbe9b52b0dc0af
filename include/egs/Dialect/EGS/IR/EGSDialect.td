//===- EGSDialect.td - the egs dialect ---------------------*- tablegen -*-===//
#ifndef EGS_DIALECT_TD
#define EGS_DIALECT_TD

include "mlir/IR/OpBase.td"

def EGS_Dialect : Dialect {
  let name = "egs";
  let cppNamespace = "::egs";
  let summary = "Fused gather / expert matmul / scatter ops for Mixture-of-Experts layers";
  let description = [{
    The `egs` dialect expresses the expert layers of Mixture-of-Experts models:
    the gather of routed tokens, the per-expert matrix product and the
    scatter/combine of the results, in both routing styles:

    * expert-choice routing (`ind : [B,E,K]`, every expert picks K tokens),
    * token-choice top-k routing (grouped/ragged GEMM over rows sorted by
      expert, selected by an `expert_offsets : [E+1]` operand).

    Every op exists in a *tensor form* (value semantics, results) and in a
    *memref form* produced by bufferization: the same op on memrefs whose
    results are written into trailing `outs(...)` buffers, or, for ops with an
    `init` operand (`matmul_scatter`, `scatter_add`), accumulated into `init`
    in place. Accumulation is always in f32.
  }];
  let useDefaultAttributePrinterParser = 1;
  // egs.gpu_strategy (the decision of egs-select-gpu-strategy) on an op.
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// The discardable attribute egs-select-gpu-strategy writes onto the
    /// matmul ops and convert-egs-to-gpu reads: a #egs.gpu_strategy.
    static constexpr ::llvm::StringLiteral kGPUStrategyAttrName = "egs.gpu_strategy";
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif // EGS_DIALECT_TD
