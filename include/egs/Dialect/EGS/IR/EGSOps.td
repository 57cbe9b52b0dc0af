//===- EGSOps.td - egs operations --------------------------*- tablegen -*-===//
#ifndef EGS_OPS_TD
#define EGS_OPS_TD

include "egs/Dialect/EGS/IR/EGSDialect.td"
include "egs/Dialect/EGS/IR/EGSAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/OpAsmInterface.td"

// Data operands are ranked tensors (tensor form) or memrefs (memref form).
def EGS_Shaped : AnyTypeOf<[AnyRankedTensor, AnyMemRef], "ranked tensor or memref">;

class EGS_Op<string mnemonic, list<Trait> traits = []>
    : Op<EGS_Dialect, mnemonic, !listconcat(traits, [
        DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
        DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>])> {
  let hasVerifier = 1;
  code egsCommonDecls = [{
    /// True for the memref form produced by bufferization.
    bool hasBufferSemantics();
  }];
  let extraClassDeclaration = egsCommonDecls;
}

//===----------------------------------------------------------------------===//
// Expert-choice and ragged matmul ops
//===----------------------------------------------------------------------===//

def EGS_GatherMatmulOp : EGS_Op<"gather_matmul", [AttrSizedOperandSegments]> {
  let summary = "gathered rows times per-expert weights (fused gather + expert GEMM)";
  let description = [{
    Expert-choice form (no `offsets`):
    x: `[B,T,I]`, ind: `[B,E,K]` (values in `[0,T)`), w: `[E,I,J]`,
    bias: `[E,J]`, y: `[B,E,K,J]`; `B` may be omitted from x, ind and y.

        y[b,e,k,j] = sum_i x[b, ind[b,e,k], i] * w[e,i,j] (+ bias[e,j])

    Ragged (token-choice) form, with `offsets` = expert_offsets `[E+1]`:
    x: `[T,I]`, ind = rows: `[R]`, w: `[E,I,J]`, bias: `[E,J]`, y: `[R,J]`,
    where slot r belongs to expert e with `offsets[e] <= r < offsets[e+1]`:

        y[r,j] = sum_i x[rows[r], i] * w[e(r),i,j] (+ bias[e(r),j])

    Rows of x are read in place; no permuted copy of x is written. Slots
    outside `[offsets[0], offsets[E])` belong to no expert and are written as
    zero (in both forms).
    x and w share one element type (f32, f16, bf16); y has that type or f32
    and accumulation is in f32. `activation` applies a fused epilogue
    after the bias: `silu(v) = v * sigmoid(v)`, `gelu` in its tanh
    approximation (PyTorch's `approximate="tanh"`), and the gated
    activations, which halve J: each output column j combines a gate value
    `g` and an up value `u` of h, by default `g = h[..,j]`, `u = h[..,j + J/2]`
    (gate half first), with `interleaved` `g = h[..,2j]`, `u = h[..,2j+1]`
    (GPT-OSS's layout):
    `swiglu`: `y = silu(g) * u`;
    `clamped_swiglu` (GPT-OSS's): `g' = min(g, limit)`,
    `u' = clamp(u, -limit, limit)`, `y = g' * sigmoid(alpha * g') * (u' + 1)`,
    with the f32 attributes `alpha` (default 1.702) and `limit` (default 7.0,
    positive). The bias is added to h before the activation. `tile` overrides
    the GPU kernel strategy.

    `transposed` (the `w_transposed` unit attribute) says w is stored
    `[E,J,I]`, each expert's matrix transposed (`[out, in]`, as
    `nn.Linear` and most checkpoints store it): the kernel reads it in place,
    `y = x[ind] @ w[e]^T`.

    ```mlir
    %y = egs.gather_matmul %x[%ind] * %w : (tensor<64x256x128xbf16>,
           tensor<64x32x32xi32>, tensor<32x128x64xbf16>) -> tensor<64x32x32x64xbf16>
    %r = egs.gather_matmul %x[%rows] * %w offsets %off + %bias : ...
    ```
  }];
  let arguments = (ins EGS_Shaped:$x, EGS_Shaped:$ind, EGS_Shaped:$w,
                       Optional<EGS_Shaped>:$expert_offsets,
                       Optional<EGS_Shaped>:$bias,
                       Optional<AnyMemRef>:$out,
                       OptionalAttr<EGS_ActivationAttr>:$activation,
                       OptionalAttr<EGS_TileConfigAttr>:$tile,
                       UnitAttr:$w_transposed,
                       OptionalAttr<F32Attr>:$alpha,
                       OptionalAttr<F32Attr>:$limit,
                       UnitAttr:$interleaved);
  let results = (outs Optional<AnyRankedTensor>:$y);
  let assemblyFormat = [{
    $x `[` $ind `]` `*` $w (`transposed` $w_transposed^)? (`offsets` $expert_offsets^)? (`+` $bias^)?
    (`outs` `(` $out^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = egsCommonDecls # [{
    bool isRagged() { return getExpertOffsets() != nullptr; }
    /// True when x/ind/y carry the leading batch dimension B.
    bool isBatched();
    /// swiglu or clamped_swiglu: y has J/2 columns, one per (gate, up) pair.
    bool isGated();
    /// clamped_swiglu's parameters (their defaults when absent).
    float alphaValue() { return getAlpha() ? getAlpha()->convertToFloat() : 1.702f; }
    float limitValue() { return getLimit() ? getLimit()->convertToFloat() : 7.0f; }
  }];
}

def EGS_MatmulScatterOp : EGS_Op<"matmul_scatter", [AttrSizedOperandSegments]> {
  let summary = "per-expert matmul whose rows are scatter-added into tokens (the MoE combine)";
  let description = [{
    Expert-choice form: y: `[B,E,K,J]`, ind: `[B,E,K]`, w: `[E,J,I]`,
    init: `[B,T,I]`, scale: `[B,E,K]`, out: `[B,T,I]` (`B` optional):

        out[b,t,i] = init[b,t,i] + sum_{e,k : ind[b,e,k]=t} scale[b,e,k] * sum_j y[b,e,k,j] * w[e,j,i]

    Ragged form, with `offsets` = expert_offsets `[E+1]`: y: `[R,J]`,
    ind = rows: `[R]`, w: `[E,J,I]`, init: `[T,I]`, scale: `[R]`:

        out[t,:] = init[t,:] + sum_{r : rows[r]=t} scale[r] * y[r,:] @ w[e(r)]

    Duplicate indices accumulate; the whole sum (init included) is accumulated
    in f32 and rounded once to the element type of `init`. `deterministic`
    asks for a bit-reproducible
    summation order (no floating-point atomics). In the memref form the sum is
    accumulated into `init` in place and the op has no result. `transposed`
    (the `w_transposed` unit attribute) says w is stored `[E,I,J]` and read in
    place as `w[e]^T` (for example the weight of a `gather_matmul`, in its
    backward).

    ```mlir
    %out = egs.matmul_scatter %y * %w into %init[%ind] scale %s {deterministic}
             : (...) -> tensor<64x256x128xbf16>
    ```
  }];
  let arguments = (ins EGS_Shaped:$y, EGS_Shaped:$ind, EGS_Shaped:$w,
                       Optional<EGS_Shaped>:$expert_offsets, EGS_Shaped:$init,
                       Optional<EGS_Shaped>:$scale,
                       UnitAttr:$deterministic,
                       OptionalAttr<EGS_TileConfigAttr>:$tile,
                       UnitAttr:$w_transposed);
  let results = (outs Optional<AnyRankedTensor>:$out);
  let assemblyFormat = [{
    $y `*` $w (`transposed` $w_transposed^)? (`offsets` $expert_offsets^)? `into` $init `[` $ind `]`
    (`scale` $scale^)? attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = egsCommonDecls # [{
    bool isRagged() { return getExpertOffsets() != nullptr; }
    bool isBatched();
  }];
}

def EGS_WeightGradOp : EGS_Op<"weight_grad", [AttrSizedOperandSegments]> {
  let summary = "per-expert outer-product reduction over routed rows (the MoE weight gradient)";
  let description = [{
    The third GEMM of an MoE layer: for every expert e, the sum over the rows
    (slots) s routed to e of

        dw[e,i,j] += scale[s] * lhs(s)[i] * rhs(s)[j]

    where an operand written `%a[%ind]` is read through a row index (gathered
    on the reduction dimension: row `a[ind[s]]`, or `a[b, ind[b,e,k]]`) and
    an operand without one is in slot order (row `a[s]`).

    Ragged form, with `offsets` = expert_offsets `[E+1]`: slots `s` in
    `[0,R)`; slot s belongs to expert e with `offsets[e] <= s < offsets[e+1]`.
    lhs: `[R,I]` in slot order or `[T,I]` with lhs_ind `[R]`; rhs: `[R,J]` or
    `[T,J]` with rhs_ind `[R]`; scale: `[R]`.

    Expert-choice form (no `offsets`): slots `(b,e,k)` of `[B,E,K]` (`B` may
    be omitted); lhs: `[B,E,K,I]` or `[B,T,I]` with lhs_ind `[B,E,K]`; rhs:
    `[B,E,K,J]` or `[B,T,J]` with rhs_ind `[B,E,K]`; scale: `[B,E,K]`. The sum
    runs over b and k.

    The result dw is `[E,I,J]`. Slots outside `[offsets[0], offsets[E])`
    contribute nothing; an expert with no slots gets zeros. lhs and rhs share
    one element type (f32, f16, bf16); dw has that type or f32; scale any of
    them. Accumulation is in f32 in a fixed order (no floating-point atomics),
    so the result is bitwise reproducible. Gathered operands of both sides
    share the token dimension T.

    `tile` overrides the GPU kernel strategy (bm rows of I by bn columns of
    J per block, bk slots per reduction slice; the pass-level `tile` option
    does not apply to this op).

    This is dW of `gather_matmul` (`%x[%rows] * %dy`) and of
    `matmul_scatter` (`%y * %dout[%rows] scale %s`, which is `[E,J,I]` like
    its weight).

    ```mlir
    %dw = egs.weight_grad %x[%rows] * %dy offsets %off
            : (tensor<?x64xbf16>, tensor<?xi32>, tensor<?x128xbf16>, tensor<9xi32>)
            -> tensor<8x64x128xf32>
    %dw2 = egs.weight_grad %y * %dout[%ind] scale %s : (...) -> tensor<8x128x64xbf16>
    ```
  }];
  let arguments = (ins EGS_Shaped:$lhs, Optional<EGS_Shaped>:$lhs_ind,
                       EGS_Shaped:$rhs, Optional<EGS_Shaped>:$rhs_ind,
                       Optional<EGS_Shaped>:$expert_offsets,
                       Optional<EGS_Shaped>:$scale,
                       Optional<AnyMemRef>:$out,
                       OptionalAttr<EGS_TileConfigAttr>:$tile);
  let results = (outs Optional<AnyRankedTensor>:$dw);
  let assemblyFormat = [{
    $lhs (`[` $lhs_ind^ `]`)? `*` $rhs (`[` $rhs_ind^ `]`)?
    (`offsets` $expert_offsets^)? (`scale` $scale^)? (`outs` `(` $out^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = egsCommonDecls # [{
    bool isRagged() { return getExpertOffsets() != nullptr; }
    /// Expert-choice form with the leading batch dimension B.
    bool isBatched();
  }];
}

//===----------------------------------------------------------------------===//
// Token-choice routing
//===----------------------------------------------------------------------===//

def EGS_PermuteOp : EGS_Op<"permute"> {
  let summary = "sort token rows by expert (token-choice top-k dispatch)";
  let description = [{
    x: `[T,H]`, topk_ids: `[T,k]` (values in `[0,num_experts)`).
    Results: x_sorted `[R,H]` with R = `num_out_tokens` or `T*k`, rows grouped
    by expert in ascending order and, within an expert, by (token, choice)
    order; row_id_map `[k*T]` i32 with `row_id_map[j*T+t]` = the row of
    x_sorted holding token t's j-th choice, or -1 where it was dropped
    (`num_out_tokens < T*k` keeps the first rows of the sorted order; rows
    past T*k, when `num_out_tokens` is larger, are zero);
    expert_offsets `[E+1]` i32 prefix offsets into x_sorted (counting kept
    rows only). These are the semantics of `grouped_gemm.ops.permute`.
    x and x_sorted share one element type: any signless integer or float of
    8, 16, 32 or 64 bits (the rows are only moved).

    ```mlir
    %xs, %map, %off = egs.permute %x by %ids experts = 8 : (...) -> (...)
    ```
  }];
  let arguments = (ins EGS_Shaped:$x, EGS_Shaped:$topk_ids,
                       Variadic<AnyMemRef>:$outs,
                       I64Attr:$num_experts, OptionalAttr<I64Attr>:$num_out_tokens);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $x `by` $topk_ids `experts` `=` $num_experts (`out_tokens` `=` $num_out_tokens^)?
    (`outs` `(` $outs^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = egsCommonDecls # [{
    /// R: the number of rows of x_sorted, or ShapedType::kDynamic.
    int64_t getNumSortedRows();
  }];
}

def EGS_UnpermuteOp : EGS_Op<"unpermute"> {
  let summary = "weighted combine of expert-sorted rows back into token order";
  let description = [{
    x_sorted: `[R,H]`, row_id_map: `[k*T]` i32, probs: `[T,k]`, out: `[T,H]`:

        out[t,:] = sum_j probs[t,j] * x_sorted[row_id_map[j*T+t], :]   (skipping -1)

    ```mlir
    %out = egs.unpermute %xs[%map] * %probs : (...) -> tensor<16x64xf32>
    ```
  }];
  let arguments = (ins EGS_Shaped:$x_sorted, EGS_Shaped:$row_id_map, EGS_Shaped:$probs,
                       Optional<AnyMemRef>:$out);
  let results = (outs Optional<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    $x_sorted `[` $row_id_map `]` `*` $probs (`outs` `(` $out^ `)`)? attr-dict
    `:` functional-type(operands, results)
  }];
}

def EGS_RouteOp : EGS_Op<"route", [AttrSizedOperandSegments]> {
  let summary = "routing metadata for the ragged forms, without moving any data";
  let description = [{
    topk_ids: `[T,k]` -> rows `[T*k]` i32 (the source token of each sorted
    slot, slots ordered as `egs.permute` orders x_sorted), expert_offsets
    `[E+1]` i32 and row_id_map `[k*T]` i32 (as `egs.permute`).

    With `weights` (the routing weights `[T,k]`, f32/f16/bf16) a fourth
    output holds them in slot order, `scale[row_id_map[j*T + t]] =
    weights[t,j]` (`[k*T]`, the weights' element type or f32): the per-slot
    `scale` of the ragged `egs.matmul_scatter` that combines the experts'
    outputs.

    ```mlir
    %rows, %off, %map = egs.route %ids experts = 8 : (tensor<16x2xi32>)
        -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>)
    %rows, %off, %map, %s = egs.route %ids experts = 8 weights %w
        : (tensor<16x2xi32>, tensor<16x2xf32>)
        -> (tensor<32xi32>, tensor<9xi32>, tensor<32xi32>, tensor<32xf32>)
    ```
  }];
  let arguments = (ins EGS_Shaped:$topk_ids, Optional<EGS_Shaped>:$weights,
                       Variadic<AnyMemRef>:$outs, I64Attr:$num_experts);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $topk_ids `experts` `=` $num_experts (`weights` $weights^)? (`outs` `(` $outs^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
}

def EGS_SinkhornOp : EGS_Op<"sinkhorn"> {
  let summary = "Sinkhorn-Knopp balancing of router logits (balanced routing)";
  let description = [{
    logits: `[T,E]` (f32, f16 or bf16); the result p: `[T,E]` f32. With
    `K[t,e] = exp(logits[t,e] - max_e' logits[t,e'])` and `c = 1`, each
    iteration computes

        r[t] = (1/T) / (sum_e K[t,e] * c[e] + 1e-8)
        c'[e] = (1/E) / (sum_t r[t] * K[t,e] + 1e-8)
        delta = (sum_e |c'[e] - c[e]|) / E;  c = c'

    for at most `iterations` iterations (at least 1), stopping after an
    iteration whose `delta <= tolerance` (f32, default 0: every iteration
    runs); then `p[t,e] = r[t] * K[t,e] * c[e]`. The columns of p sum to 1/E
    (up to the 1e-8) and, once converged, the rows to 1/T: top-k of each row
    of p gives balanced expert loads. Subtracting the row maximum changes
    nothing but the 1e-8 terms (r absorbs any row scale of K): this is
    Megatron-LM's `sinkhorn(exp(logits), tol)` with an iteration bound. The
    sums run in a fixed order (bitwise reproducible; no atomics).

    ```mlir
    %p = egs.sinkhorn %logits iterations = 20 tolerance = 1.0e-4
        : (tensor<4096x64xf32>) -> tensor<4096x64xf32>
    egs.sinkhorn %logits iterations = 8 outs(%p) : (memref<?x8xbf16>, memref<?x8xf32>) -> ()
    ```
  }];
  let arguments = (ins EGS_Shaped:$logits, Optional<AnyMemRef>:$out,
                       I64Attr:$iterations,
                       DefaultValuedAttr<F32Attr, "0.0f">:$tolerance);
  let results = (outs Optional<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    $logits `iterations` `=` $iterations (`tolerance` `=` $tolerance^)?
    (`outs` `(` $out^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def EGS_GatherOp : EGS_Op<"gather"> {
  let summary = "gather along an axis (numpy.take), optionally writing a permuted layout";
  let description = [{
    With `batch_dims = n` (default 0) the first n dimensions of x and ind are
    shared batch dimensions and `axis >= n`. The gathered value is

        g[b.., p.., q.., s..] = x[b.., p.., ind[b.., q..], s..]

    of shape `x.shape[:axis] ++ ind.shape[n:] ++ x.shape[axis+1:]`, and the
    result is `transpose(g, permutation)` (result dim d is g's dim
    `permutation[d]`), written directly in that layout. x and the result
    share one element type: any signless integer or float of 8, 16, 32 or 64
    bits.

    ```mlir
    %g = egs.gather %x[%ind] axis = 0 permutation = [1, 0]
           : (tensor<100x64xf32>, tensor<8xi64>) -> tensor<64x8xf32>
    ```
  }];
  let arguments = (ins EGS_Shaped:$x, EGS_Shaped:$ind, Optional<AnyMemRef>:$out,
                       I64Attr:$axis, DefaultValuedAttr<I64Attr, "0">:$batch_dims,
                       OptionalAttr<DenseI64ArrayAttr>:$permutation);
  let results = (outs Optional<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    $x `[` $ind `]` `axis` `=` $axis (`permutation` `=` $permutation^)?
    (`outs` `(` $out^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
}

def EGS_ScatterAddOp : EGS_Op<"scatter_add"> {
  let summary = "unfused scatter-add along an axis (the dual of egs.gather)";
  let description = [{
    The inverse indexing of `egs.gather` (no permutation):

        out = init;  out[b.., p.., ind[b.., q..], s..] += src[b.., p.., q.., s..]

    Duplicate indices accumulate. In the memref form `init` is updated in place.
    src, init and the result share one element type: f16, bf16, f32, f64,
    i32 or i64 (added atomically on the GPU).

    ```mlir
    %o = egs.scatter_add %src into %init[%ind] axis = 0 : (...) -> tensor<100x64xf32>
    ```
  }];
  let arguments = (ins EGS_Shaped:$src, EGS_Shaped:$ind, EGS_Shaped:$init,
                       I64Attr:$axis, DefaultValuedAttr<I64Attr, "0">:$batch_dims);
  let results = (outs Optional<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    $src `into` $init `[` $ind `]` `axis` `=` $axis attr-dict
    `:` functional-type(operands, results)
  }];
}

def EGS_GatherConcatOp : EGS_Op<"gather_concat", [AttrSizedOperandSegments]> {
  let summary = "several gathers, each optionally permuted, written into one concatenation";
  let description = [{
    The fused form of gather -> transpose -> concat: source s contributes
    `transpose(take(sources[s], indices[s], axis), permutations[s])` and the
    pieces are concatenated along `dim` of the result. `permutations`, when
    present, has one permutation per source. All gathers use the same `axis`.
    The sources and the result share one element type: any signless integer
    or float of 8, 16, 32 or 64 bits.

    ```mlir
    %c = egs.gather_concat (%a, %b)[%ia, %ib] axis = 0 dim = 1
           : (tensor<10x4xf32>, tensor<12x4xf32>, tensor<3xi32>, tensor<3xi32>)
           -> tensor<3x8xf32>
    ```
  }];
  let arguments = (ins Variadic<EGS_Shaped>:$sources, Variadic<EGS_Shaped>:$indices,
                       Optional<AnyMemRef>:$out, I64Attr:$axis, I64Attr:$dim,
                       OptionalAttr<TypedArrayAttrBase<DenseI64ArrayAttr,
                                    "one permutation per source">>:$permutations);
  let results = (outs Optional<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `(` $sources `)` `[` $indices `]` `axis` `=` $axis `dim` `=` $dim
    (`permutations` `=` $permutations^)? (`outs` `(` $out^ `)`)? attr-dict
    `:` functional-type(operands, results)
  }];
}

#endif // EGS_OPS_TD
