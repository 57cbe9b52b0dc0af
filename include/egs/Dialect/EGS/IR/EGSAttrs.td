//===- EGSAttrs.td - egs attributes ------------------------*- tablegen -*-===//
#ifndef EGS_ATTRS_TD
#define EGS_ATTRS_TD

include "egs/Dialect/EGS/IR/EGSDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def EGS_Activation : I32EnumAttr<"Activation", "fused epilogue activation of gather_matmul", [
    I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"silu", 1>,
    I32EnumAttrCase<"gelu", 2>, I32EnumAttrCase<"swiglu", 3>,
    I32EnumAttrCase<"clamped_swiglu", 4>]> {
  let cppNamespace = "::egs";
  let genSpecializedAttr = 0;
}
def EGS_ActivationAttr : EnumAttr<EGS_Dialect, EGS_Activation, "activation"> {
  let assemblyFormat = "`<` $value `>`";
}

def EGS_MmaKind : I32EnumAttr<"MmaKind", "how a GPU kernel's tile multiplies", [
    I32EnumAttrCase<"sync", 0>, I32EnumAttrCase<"warpgroup", 1>,
    I32EnumAttrCase<"fma", 2>, I32EnumAttrCase<"general", 3>]> {
  let cppNamespace = "::egs";
  let genSpecializedAttr = 0;
}

// `mma = warpgroup`; the quoted spelling of earlier releases
// (`mma = "warpgroup"`) is read too.
def EGS_MmaKindParameter : DefaultValuedParameter<"::egs::MmaKind", "::egs::MmaKind::sync",
                                                  "instruction family"> {
  let parser = [{ parseMmaKind($_parser) }];
  let printer = [{ $_printer << ::egs::stringifyMmaKind($_self) }];
}

def EGS_TileConfigAttr : AttrDef<EGS_Dialect, "TileConfig"> {
  let mnemonic = "tile";
  let summary = "GPU kernel tile: sizes, pipeline stages, warps and instruction family";
  let description = [{
    `#egs.tile<bm = 64, bn = 64, bk = 32, stages = 3, warps = 4>` is one GPU
    kernel strategy. `bm` tiles the gathered rows (K or R; for weight_grad
    the rows of dw), `bn` the output features, `bk` the reduction. `mma`
    names the instruction family:

    * `sync` (the default): f16/bf16 through `ldmatrix` + `mma.sync`
      m16n8k16; on f32 operands it stands for their CUDA-core kernel (`fma`).
    * `warpgroup`: f16/bf16 through warpgroup MMA (wgmma, sm_90a): bk = 64,
      4 warps per 64 rows, bn a multiple of 64 up to 256, at least 3 stages.
      `weight_grad` also takes 4 warps more: that warpgroup only stages the
      operands (warp specialisation: producer and consumers synchronise
      through mbarriers, no block-wide barrier in the main loop).
    * `fma`: f32 on CUDA cores, operands staged by 16-byte asynchronous copies.
    * `general`: element loads on CUDA cores (any layout or alignment); the
      kernel every op falls back to where the fast one's preconditions fail.

    `resident = true` (warpgroup only, chosen by the strategy pass): the
    whole reduction, `stages` slices of bk, is staged at once.

    Attached to a matmul op as its `tile` attribute, it overrides the
    heuristic of `egs-select-gpu-strategy` for that op's fast kernel; the
    pass records what it chose in an `egs.gpu_strategy` attribute.
  }];
  let parameters = (ins "int64_t":$bm, "int64_t":$bn, "int64_t":$bk,
                        "int64_t":$stages, "int64_t":$warps,
                        EGS_MmaKindParameter:$mma,
                        DefaultValuedParameter<"bool", "false",
                                               "the whole reduction staged at once">:$resident);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def EGS_GemmVariantAttr : AttrDef<EGS_Dialect, "GemmVariant"> {
  let mnemonic = "variant";
  let summary = "A fast kernel strategy and the run-time sizes it is launched for";
  let description = [{
    `#egs.variant<tile = #egs.tile<...>, min_rows = 256, max_reduce = 128>`:
    the op's fast kernel with `tile` is launched when every bound holds at
    run time (0: no bound). `min_rows` bounds the rows per expert (B*K, or
    R/E for ragged ops), `min_reduce` / `max_reduce` the reduction size,
    `min_cols` the output columns (gather_matmul, matmul_scatter);
    `min_slots` the slots per expert on average (weight_grad).
  }];
  let parameters = (ins "::egs::TileConfigAttr":$tile,
                        DefaultValuedParameter<"int64_t", "0">:$min_rows,
                        DefaultValuedParameter<"int64_t", "0">:$min_reduce,
                        DefaultValuedParameter<"int64_t", "0">:$max_reduce,
                        DefaultValuedParameter<"int64_t", "0">:$min_cols,
                        DefaultValuedParameter<"int64_t", "0">:$min_slots);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// No run-time bound: the variant applies to every size.
    bool isUnbounded() const {
      return !getMinRows() && !getMinReduce() && !getMaxReduce() &&
             !getMinCols() && !getMinSlots();
    }
  }];
}

def EGS_GPUStrategyAttr : AttrDef<EGS_Dialect, "GPUStrategy"> {
  let mnemonic = "gpu_strategy";
  let summary = "The GPU kernel strategies of one op, as egs-select-gpu-strategy chose them";
  let description = [{
    Written by `egs-select-gpu-strategy` onto each gather_matmul,
    matmul_scatter and weight_grad op as the discardable attribute
    `egs.gpu_strategy`, and the only thing `convert-egs-to-gpu` reads about
    tiles:

    ```mlir
    egs.gather_matmul ... {egs.gpu_strategy = #egs.gpu_strategy<
        fast = [#egs.variant<tile = #egs.tile<bm = 128, bn = 256, bk = 64,
                                               stages = 4, warps = 8, mma = warpgroup>>],
        general = #egs.tile<bm = 64, bn = 64, bk = 16, stages = 1, warps = 4, mma = general>>}
    ```

    The host code launches the first `fast` variant whose bounds hold where
    the operands allow 16-byte accesses (the last variant has no bounds),
    and the `general` kernel elsewhere. The verifier checks each tile against
    the op's element type; the conversion checks what depends on the chip.
  }];
  let parameters = (ins ArrayRefParameter<"::egs::GemmVariantAttr", "fast variants">:$fast,
                        "::egs::TileConfigAttr":$general);
  let assemblyFormat = "`<` `fast` `=` `[` $fast `]` `,` `general` `=` $general `>`";
  let genVerifyDecl = 1;
}

#endif // EGS_ATTRS_TD
