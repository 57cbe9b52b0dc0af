//===- Passes.td - egs dialect transforms ------------------*- tablegen -*-===//
#ifndef EGS_DIALECT_EGS_TRANSFORMS_PASSES_TD
#define EGS_DIALECT_EGS_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def EGSFuse : Pass<"egs-fuse"> {
  let summary = "Fuse frontend gather/contraction/scatter IR into egs ops";
  let description = [{
    Rewrites upstream tensor/linalg IR, as frontends emit it, into the fused
    egs ops. Pattern families (each can be switched off by its option):

    - `gather-contraction`: a gather feeding a contraction becomes
      `egs.gather_matmul`. Gathers: `linalg.generic` yielding
      `tensor.extract %x[...]` with one `arith.index_cast` index and
      `linalg.index` for the rest (torch-mlir index_select / embedding /
      gather with a broadcast index), the outs-only StableHLO form that
      extracts the index inside the body and clamps it (the clamp is kept as
      an explicit clamp of the index tensor), `tensor.gather` and
      `egs.gather`. Contractions: `linalg.matmul`, `linalg.batch_matmul`,
      `linalg.contract` and contraction-shaped `linalg.generic` (einsum
      `beki,eij->bekj`), with f32 operands or f16/bf16 operands extended
      to an f32 accumulator, accumulating into zeros. The expert-choice form
      is used when the weight is indexed by a dimension of the index
      (`[B,E,K]` / `[E,K]`); a single weight matrix gives the expert-choice
      form with one expert (`E = 1`, reshapes only).
    - `contraction-scatter`: a contraction whose rows are scatter-added into
      tokens (`egs.scatter_add`, or `tensor.scatter ... unique` into zeros)
      becomes `egs.matmul_scatter`; a per-row scale multiplied in between
      becomes its `scale`.
    - `routing`: `egs.permute` feeding a grouped (identity-rows, ragged)
      `egs.gather_matmul` becomes a ragged `egs.gather_matmul` that reads
      tokens in place (rows from `egs.route`); a grouped `egs.matmul_scatter`
      or `egs.gather_matmul` feeding `egs.unpermute` becomes a ragged
      `egs.matmul_scatter` into the tokens with the routing probabilities as
      `scale`.
    - `gather-transpose`: a gather followed by a transpose
      (`linalg.transpose` or a transposing `linalg.generic`) becomes
      `egs.gather {permutation}`; gathers (each optionally transposed)
      feeding one `tensor.concat` become `egs.gather_concat`.
    - `epilogue`: a bias add after the contraction is folded into
      `egs.gather_matmul` (also into an existing one), and the per-row scale
      of `contraction-scatter`.

    A pattern never fires where an intermediate value has other users, where
    element or index types would change the result (e.g. a bf16
    accumulator, mixed x/w element types, i8/i16 or unsigned indices), or
    where the indexing maps are not the ones above. Dynamic dimensions are
    supported throughout (sizes are taken with `tensor.dim`).

    With `remarks=true` every fusion is reported as a remark at the fused
    op's location; `-mlir-pass-statistics` shows one counter per family.
  }];
  let dependentDialects = ["::egs::EGSDialect", "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
  let options = [
    Option<"gatherContraction", "gather-contraction", "bool", /*default=*/"true",
           "Fuse gather + contraction into egs.gather_matmul">,
    Option<"contractionScatter", "contraction-scatter", "bool", /*default=*/"true",
           "Fuse contraction + scatter-add into egs.matmul_scatter">,
    Option<"routing", "routing", "bool", /*default=*/"true",
           "Fuse egs.permute / egs.unpermute into ragged matmul ops">,
    Option<"gatherTranspose", "gather-transpose", "bool", /*default=*/"true",
           "Fuse gather + transpose (+ concat) into egs.gather / egs.gather_concat">,
    Option<"epilogue", "epilogue", "bool", /*default=*/"true",
           "Fold bias adds and per-row scales into the fused matmul ops">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark at each fused op">,
  ];
  let statistics = [
    Statistic<"numGatherContraction", "gather-contraction",
              "gather + contraction fused into egs.gather_matmul">,
    Statistic<"numContractionScatter", "contraction-scatter",
              "contraction + scatter-add fused into egs.matmul_scatter">,
    Statistic<"numRouting", "routing",
              "permute/unpermute fused into ragged matmul ops">,
    Statistic<"numGatherTranspose", "gather-transpose",
              "gather + transpose (+ concat) fused into egs.gather / egs.gather_concat">,
    Statistic<"numEpilogue", "epilogue",
              "bias adds and row scales folded into fused matmul ops">,
  ];
}

#endif // EGS_DIALECT_EGS_TRANSFORMS_PASSES_TD
