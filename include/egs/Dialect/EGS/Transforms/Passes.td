//===- Passes.td - egs dialect transforms ------------------*- tablegen -*-===//
#ifndef EGS_DIALECT_EGS_TRANSFORMS_PASSES_TD
#define EGS_DIALECT_EGS_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def EGSFuse : Pass<"egs-fuse"> {
  let summary = "Fuse frontend gather/contraction/scatter IR into egs ops";
  let description = [{
    Rewrites upstream tensor/linalg IR, as frontends emit it, into the fused
    egs ops. Pattern families (each can be switched off by its option):

    - `gather-contraction`: a row gather feeding a contraction becomes
      `egs.gather_matmul`. Gathers: a `linalg.generic` yielding
      `tensor.extract %x[...]` with one `arith.index_cast` index and
      `linalg.index` for the rest (torch-mlir index_select, embedding,
      gather with a broadcast index); the outs-only StableHLO form that
      extracts the index in the body and clamps it into `[0, T-1]` (the
      clamp becomes an explicit clamp of the index tensor); `tensor.gather`
      with one gather dim (rank-reduced form); `egs.gather`. Contractions:
      `linalg.matmul`, `linalg.batch_matmul`, `linalg.contract` and
      contraction-shaped `linalg.generic` (einsum `beki,eij->bekj`, operands
      in either order), f32, or f16/bf16 extended to an f32 accumulator,
      accumulating into zeros. A weight stack `[E,I,J]` indexed by the E of
      an `[E,K]` (`[B,E,K]`) index gives the expert-choice form; a single
      weight matrix gives the expert-choice form with one expert, the index
      dims flattened into its rows (reshapes only).
    - `contraction-scatter`: a contraction whose rows are scatter-added into
      tokens (`egs.scatter_add`, or `tensor.scatter ... unique` into zeros)
      becomes `egs.matmul_scatter`, with the same layouts.
    - `routing`: `egs.permute` feeding a grouped (identity rows, ragged)
      `egs.gather_matmul` becomes a ragged `egs.gather_matmul` that reads
      tokens in place through `egs.route`'s rows; a grouped
      `egs.matmul_scatter` (into zeros) or `egs.gather_matmul` feeding
      `egs.unpermute` becomes a ragged `egs.matmul_scatter` into the tokens
      with the routing probabilities as `scale` (for top-k > 2 the combine
      sums a token's k products in expert order, not in choice order).
    - `gather-transpose`: a gather followed by a transpose
      (`linalg.transpose` or a transposing `linalg.generic`) becomes
      `egs.gather {permutation}`; gathers (each optionally transposed)
      feeding one `tensor.concat` become `egs.gather_concat`.
    - `epilogue`: a broadcast bias add (`[E,J]`, or one `[J]` row for all
      experts) on the f32 accumulator and a following rounding
      (`arith.truncf`) to the data type fold into `egs.gather_matmul`, also
      after an existing one whose y is f32 (ragged only where the offsets
      come from `egs.route`/`egs.permute` and so cover every row); a per-row
      scale between contraction and scatter becomes `egs.matmul_scatter`'s
      `scale`.
    - `weight-grad`: the weight gradient of a gather + contraction (or of
      a contraction + scatter), einsum `eki,ekj->eij` or `beki,bekj->eij`
      (a `linalg.generic`, `linalg.contract`, or `linalg.batch_matmul` with
      the lhs transposed by a `linalg.transpose` or transposing generic)
      where the lhs and/or rhs is a row gather of x `[T,W]` by ind `[E,K]`
      (x `[B,T,W]` by `[B,E,K]`), becomes the expert-choice
      `egs.weight_grad %x[%ind] * %dy` (`%y * %dout[%ind]`); a per-slot
      scale `[B?,E,K]` (f32) multiplied into one side becomes its `scale`.
      f32, or f16/bf16 extended to an f32 accumulator, into zeros; with
      `epilogue`, a rounding to the data type folds into dw's type.

    A pattern never fires where an intermediate value has other users, where
    element or index types would change the result (a bf16 accumulator, a
    bias added after rounding, mixed x/w element types, i8/i16 or unsigned
    indices, tensor.scatter over non-zeros), or where the indexing maps are
    not the ones above (transposed weights, an index per element,
    per-column scales). Dynamic dimensions are supported; a gather whose
    loop sizes are not provably x's (static, or stated as `tensor.dim` of
    x) is declined.

    With `remarks=true` every fusion is reported as a remark at the fused
    op's location; with `summary=true` one remark at the pass's operation
    counts the fusions of each family (`egs-fuse: 2 gather-contraction, 0
    contraction-scatter, ...`). The pass also keeps one statistic per family
    for `-mlir-pass-statistics`, which counts only in an LLVM built with
    statistics (assertions or LLVM_FORCE_ENABLE_STATS; Debian's release
    packages are not): `summary=true` counts with any LLVM.
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
           "Fold bias adds, roundings and per-row scales into the fused matmul ops">,
    Option<"weightGrad", "weight-grad", "bool", /*default=*/"true",
           "Fuse gathered per-expert outer-product sums into egs.weight_grad">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark at each fused op">,
    Option<"summary", "summary", "bool", /*default=*/"false",
           "Emit one remark counting the fusions of each family">,
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
              "bias adds, roundings and row scales folded into fused matmul ops">,
    Statistic<"numWeightGrad", "weight-grad",
              "gather + outer-product sum fused into egs.weight_grad">,
  ];
}

#endif // EGS_DIALECT_EGS_TRANSFORMS_PASSES_TD
