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

def EGS_TileConfigAttr : AttrDef<EGS_Dialect, "TileConfig"> {
  let mnemonic = "tile";
  let summary = "GPU kernel strategy override: tile sizes, pipeline stages and warps";
  let description = [{
    `#egs.tile<bm = 64, bn = 64, bk = 32, stages = 3, warps = 4>` fixes the
    kernel strategy of the op it is attached to (attribute name `tile`),
    overriding the shape heuristic. `bm` tiles the gathered rows (K or R),
    `bn` the output features, `bk` the reduction. `mma = "warpgroup"` runs
    the f16/bf16 tiles through warpgroup MMA (sm_90a: bk = 64, 4 warps per
    64 rows); the default `mma = "sync"` uses mma.sync.
  }];
  let parameters = (ins "int64_t":$bm, "int64_t":$bn, "int64_t":$bk,
                        "int64_t":$stages, "int64_t":$warps,
                        StringRefParameter<"tensor-core instruction family", "\"sync\"">:$mma);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // EGS_ATTRS_TD
