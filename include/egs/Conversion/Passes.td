//===- Passes.td - egs conversion passes -------------------*- tablegen -*-===//
#ifndef EGS_CONVERSION_PASSES_TD
#define EGS_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertEGSToLoops : Pass<"convert-egs-to-loops", "::mlir::ModuleOp"> {
  let summary = "Lower egs ops in memref form to scf/vector loops for the host";
  let description = [{
    Rewrites every egs op in memref form (after bufferization) into loops
    over memrefs: the matmul ops as vectorized row-times-expert-matrix loops
    accumulating in f32, the routing ops as a counting sort, the data
    movement ops as loop nests. With `check-indices` (the default), routed
    token indices, expert ids, gather indices and expert_offsets are checked
    at run time and a violation calls `egsReportIndexError`, which prints the
    op, its location and the offending value and exits with status 1. The
    check costs one compare per routed row (not per element).
  }];
  let options = [
    Option<"checkIndices", "check-indices", "bool", /*default=*/"true",
           "Check routed indices and expert_offsets at run time">,
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"8",
           "f32 lanes of the vectorized matmul loops (1 = scalar)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::vector::VectorDialect",
                           "::mlir::math::MathDialect", "::mlir::func::FuncDialect"];
}

#endif
