#!/usr/bin/env python3
"""Writes the memref-form entry points that gpu_check.py calls (one per op,
form and dtype it checks) as MLIR, to stdout. Every operand is a fully
dynamic strided memref, so the harness may pass any torch view; the module is
compiled with --egs-lower-to-nvvm="bufferize=false host-buffers=device
host-sync=false" (kernels on the caller's current stream, no waits).
`--weight-grad-only`: the weight_grad entry points alone, none with a
warpgroup tile (that library is built for sm_80). The op text comes
from egs's IR builder (python/egs/_ir.py, loaded by path: no build needed)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "egs"))
import _ir  # noqa: E402


def memref(rank, elt, fixed=None):
    """A fully dynamic strided memref of `rank` (`fixed`: its dims, "?" dynamic)."""
    return _ir.memref([None] * rank if fixed is None else fixed, elt, strided=True)


FUNCS = []
# The epilogue activations the checks call, by entry-point suffix. limit 1
# so that GPT-OSS's clamps matter on the checks' data.
ACTS = {
    "silu": _ir.activation_attrs("silu"),
    "gelu": _ir.activation_attrs("gelu"),
    "swiglu": _ir.activation_attrs("swiglu"),
    "swiglu_il": _ir.activation_attrs("swiglu", interleaved=True),
    "clamped": _ir.activation_attrs("clamped_swiglu", alpha="1.5", limit="1.0"),
    "clamped_il": _ir.activation_attrs("clamped_swiglu", interleaved=True, alpha="1.702", limit="1.0"),
}
# (E, I, J) of the expert-choice gathers compiled with static E, I, J.
STATIC_GATHERS = [(32, 128, 64), (4, 96, 40), (3, 64, 72)]

TILES = {
    "t64x64x32w4": "#egs.tile<bm = 64, bn = 64, bk = 32, stages = 3, warps = 4>",
    "t128x64x64w8": "#egs.tile<bm = 128, bn = 64, bk = 64, stages = 3, warps = 8>",
    "t128x64x128w8s2": "#egs.tile<bm = 128, bn = 64, bk = 128, stages = 2, warps = 8>",
    "t256x64x32w8": "#egs.tile<bm = 256, bn = 64, bk = 32, stages = 3, warps = 8>",
    "t128x128x32w8s4": "#egs.tile<bm = 128, bn = 128, bk = 32, stages = 4, warps = 8>",
    "t128x128x64w8s3": "#egs.tile<bm = 128, bn = 128, bk = 64, stages = 3, warps = 8>",
    "t256x128x32w8s3": "#egs.tile<bm = 256, bn = 128, bk = 32, stages = 3, warps = 8>",
    "t128x256x32w8s3": "#egs.tile<bm = 128, bn = 256, bk = 32, stages = 3, warps = 8>",
    "t256x128x32w16s3": "#egs.tile<bm = 256, bn = 128, bk = 32, stages = 3, warps = 16>",
    "t128x256x64w8s3": "#egs.tile<bm = 128, bn = 256, bk = 64, stages = 3, warps = 8>",
    "t128x256x32w8s4": "#egs.tile<bm = 128, bn = 256, bk = 32, stages = 4, warps = 8>",
    "t128x128x64w8s4": "#egs.tile<bm = 128, bn = 128, bk = 64, stages = 4, warps = 8>",
    "t128x256x64w16s3": "#egs.tile<bm = 128, bn = 256, bk = 64, stages = 3, warps = 16>",
    "t256x128x64w8s3": "#egs.tile<bm = 256, bn = 128, bk = 64, stages = 3, warps = 8>",
    "t128x128x32w4s4": "#egs.tile<bm = 128, bn = 128, bk = 32, stages = 4, warps = 4>",
    # Warpgroup MMA (sm_90a).
    "wg128x256s4": "#egs.tile<bm = 128, bn = 256, bk = 64, stages = 4, warps = 8, mma = \"warpgroup\">",
    "wg128x256s3": "#egs.tile<bm = 128, bn = 256, bk = 64, stages = 3, warps = 8, mma = \"warpgroup\">",
    "wg128x128s4": "#egs.tile<bm = 128, bn = 128, bk = 64, stages = 4, warps = 8, mma = \"warpgroup\">",
    "wg128x128s3": "#egs.tile<bm = 128, bn = 128, bk = 64, stages = 3, warps = 8, mma = \"warpgroup\">",
    "wg64x256s4": "#egs.tile<bm = 64, bn = 256, bk = 64, stages = 4, warps = 4, mma = \"warpgroup\">",
    "wg256x128s3": "#egs.tile<bm = 256, bn = 128, bk = 64, stages = 3, warps = 16, mma = \"warpgroup\">",
    "wg128x64s4": "#egs.tile<bm = 128, bn = 64, bk = 64, stages = 4, warps = 8, mma = \"warpgroup\">",
    "wg256x64s3": "#egs.tile<bm = 256, bn = 64, bk = 64, stages = 3, warps = 16, mma = \"warpgroup\">",
    # Short reductions (the expert-choice seed, I = 128): fewer stages and
    # smaller blocks for more blocks per SM.
    "wg128x64s3": "#egs.tile<bm = 128, bn = 64, bk = 64, stages = 3, warps = 8, mma = \"warpgroup\">",
    "wg64x64s3w4": "#egs.tile<bm = 64, bn = 64, bk = 64, stages = 3, warps = 4, mma = \"warpgroup\">",
}


def func(name, args, op):
    """Entry point @name (C interface) over the (name, type) args, body `op`."""
    FUNCS.append(_ir.func(name, args, op, ["llvm.emit_c_interface"]))


# weight_grad: (I, J) of dw compiled static, each picking one tile of the
# heuristic (64x64 narrow, 128x128 default, 128x256 large); None: dynamic.
WEIGHT_GRAD_TILE_SHAPES = [(64, 40), (200, 300), (1000, 1096), (4096, 14336), (2048, 1536), (2048, 1024)]


# The layer rows' dW shapes (benchmarks/bench_layer.py): up = x[rows] * dy
# with (I, J) = (H, 2F), down = a * dout[rows] scale with (F, H); each with
# the heuristic and every tile of WG_TILES, for the weight-gradient sweep.
WEIGHT_GRAD_LAYER_ROWS = {"mixtral": (4096, 14336), "qwen3": (2048, 768), "olmoe": (2048, 1024)}
WG_TILES = {
    "wg128x256s4": (128, 256, 4, 8), "wg128x256s3": (128, 256, 3, 8),
    "wg128x128s4": (128, 128, 4, 8), "wg128x128s3": (128, 128, 3, 8),
    "wg256x128s3": (256, 128, 3, 16), "wg256x128s4": (256, 128, 4, 16),
    "wg64x256s4": (64, 256, 4, 4), "wg64x128s4": (64, 128, 4, 4),
    # warp-specialised: one producer warpgroup more than bm / 64
    "ws128x256s4": (128, 256, 4, 12), "ws128x256s3": (128, 256, 3, 12),
    "ws128x128s4": (128, 128, 4, 12), "ws128x128s6": (128, 128, 6, 12),
    "ws64x256s4": (64, 256, 4, 8),
}


def gm(ind, ragged=False, bias=False, transposed=False, attrs=()):
    """gather_matmul over the entry points' operand names (%x, %w, %off, %bias, %y)."""
    return _ir.gather_matmul("%x", ind, "%w", offsets=ragged and "%off", bias=bias and "%bias",
                             transposed=transposed, outs=["%y"], attrs=attrs)


def ms(ind, ragged=False, scale=False, det=False, transposed=False, attrs=()):
    """matmul_scatter over the entry points' operand names (%y, %w, %off, %init, %s)."""
    return _ir.matmul_scatter("%y", ind, "%w", "%init", offsets=ragged and "%off", scale=scale and "%s",
                              transposed=transposed, attrs=(["deterministic"] if det else []) + list(attrs))


def wg_glhs(attrs=()):
    """weight_grad x[rows] * dy (ragged) over the entry points' operand names."""
    return _ir.weight_grad("%x", "%dy", lhs_ind="%rows", offsets="%off", outs=["%dw"], attrs=attrs)


def weight_grad_layer_funcs():
    M = memref
    for row, (H, F) in WEIGHT_GRAD_LAYER_ROWS.items():
        for tag in [""] + list(WG_TILES):
            attrs = []
            if tag:
                bm, bn, st, wa = WG_TILES[tag]
                attrs = [f"tile = #egs.tile<bm = {bm}, bn = {bn}, bk = 64, stages = {st}, warps = {wa}, "
                         f'mma = "warpgroup">']
            sfx = f"_{tag}" if tag else ""
            func(f"wgl_up_{row}{sfx}", [("x", M(2, "bf16", ["?", str(H)])), ("rows", M(1, "i32")),
                                         ("dy", M(2, "bf16", ["?", str(2 * F)])), ("off", M(1, "i32")),
                                         ("dw", M(3, "bf16", ["?", str(H), str(2 * F)]))],
                 wg_glhs(attrs))
            func(f"wgl_down_{row}{sfx}", [("a", M(2, "bf16", ["?", str(F)])), ("dout", M(2, "bf16", ["?", str(H)])),
                                           ("rows", M(1, "i32")), ("off", M(1, "i32")), ("s", M(1, "f32")),
                                           ("dw", M(3, "bf16", ["?", str(F), str(H)]))],
                 _ir.weight_grad("%a", "%dout", rhs_ind="%rows", offsets="%off", scale="%s", outs=["%dw"],
                                 attrs=attrs))


def weight_grad_funcs(warpgroup_tiles=True):
    M = memref
    for dt, out in [("bf16", "f32"), ("bf16", "bf16"), ("f16", "f16"), ("f16", "f32"), ("f32", "f32")]:
        # ragged, dW of gather_matmul: x[rows] * dy
        func(f"wg_r_glhs_{dt}_{out}", [("x", M(2, dt)), ("rows", M(1, "i32")), ("dy", M(2, dt)),
                                      ("off", M(1, "i32")), ("dw", M(3, out))],
             wg_glhs())
        # ragged, dW of matmul_scatter: y * dout[rows] scale s
        func(f"wg_r_grhs_s_{dt}_{out}", [("y", M(2, dt)), ("dout", M(2, dt)), ("rows", M(1, "i64")),
                                        ("off", M(1, "i64")), ("s", M(1, "f32")), ("dw", M(3, out))],
             _ir.weight_grad("%y", "%dout", rhs_ind="%rows", offsets="%off", scale="%s", outs=["%dw"]))
        # expert choice, batched: x[b, ind] * dy[b,e,k] scale s
        func(f"wg_b_{dt}_{out}", [("x", M(3, dt)), ("ind", M(3, "i32")), ("dy", M(4, dt)),
                                 ("s", M(3, dt)), ("dw", M(3, out))],
             _ir.weight_grad("%x", "%dy", lhs_ind="%ind", scale="%s", outs=["%dw"]))
        # expert choice, unbatched, both in slot order
        func(f"wg_u_{dt}_{out}", [("a", M(3, dt)), ("b", M(3, dt)), ("dw", M(3, out))],
             _ir.weight_grad("%a", "%b", outs=["%dw"]))
    # warp-specialised tiles (a producer warpgroup) on dynamic shapes: the
    # unscaled x[rows] * dy and the scaled y * dout[rows] forms
    ws_up = ['tile = #egs.tile<bm = 128, bn = 256, bk = 64, stages = 4, warps = 12, mma = "warpgroup">']
    ws_down = ['tile = #egs.tile<bm = 128, bn = 128, bk = 64, stages = 6, warps = 12, mma = "warpgroup">']
    for out in ["bf16", "f32"] if warpgroup_tiles else []:
        func(f"wgs_r_glhs_bf16_{out}", [("x", M(2, "bf16")), ("rows", M(1, "i32")), ("dy", M(2, "bf16")),
                                       ("off", M(1, "i32")), ("dw", M(3, out))],
             wg_glhs(ws_up))
        func(f"wgs_r_grhs_s_bf16_{out}", [("y", M(2, "bf16")), ("dout", M(2, "bf16")), ("rows", M(1, "i64")),
                                         ("off", M(1, "i64")), ("s", M(1, "f32")), ("dw", M(3, out))],
             _ir.weight_grad("%y", "%dout", rhs_ind="%rows", offsets="%off", scale="%s", outs=["%dw"],
                             attrs=ws_down))
    func("wg_r_both_bf16", [("a", M(2, "bf16")), ("ia", M(1, "i32")), ("b", M(2, "bf16")), ("ib", M(1, "i32")),
                            ("off", M(1, "i32")), ("dw", M(3, "f32"))],
         _ir.weight_grad("%a", "%b", lhs_ind="%ia", rhs_ind="%ib", offsets="%off", outs=["%dw"]))
    func("wg_b_both_f32", [("a", M(3, "f32")), ("ia", M(3, "i32")), ("b", M(3, "f32")), ("ib", M(3, "i32")),
                           ("dw", M(3, "f32"))],
         _ir.weight_grad("%a", "%b", lhs_ind="%ia", rhs_ind="%ib", outs=["%dw"]))
    for I, J in WEIGHT_GRAD_TILE_SHAPES:
        for out in ["bf16", "f32"]:
            func(f"wg_r_glhs_bf16_{out}_{I}x{J}",
                 [("x", M(2, "bf16", ["?", str(I)])), ("rows", M(1, "i32")), ("dy", M(2, "bf16", ["?", str(J)])),
                  ("off", M(1, "i32")), ("dw", M(3, out, ["?", str(I), str(J)]))],
                 wg_glhs())


def transposed_funcs():
    """The matmul forms again with w stored transposed ([E, cols, reduce],
    read in place): names end in _wt."""
    M = memref
    for dt, out in [("bf16", "bf16"), ("bf16", "f32"), ("f16", "f16"), ("f32", "f32")]:
        func(f"gm_b_{dt}_{out}_wt", [("x", M(3, dt)), ("ind", M(3, "i32")), ("w", M(3, dt)), ("y", M(4, out))],
             gm("%ind", transposed=True))
    for dt in ["bf16", "f16", "f32"]:
        func(f"gm_r_{dt}_wt", [("x", M(2, dt)), ("rows", M(1, "i32")), ("w", M(3, dt)), ("off", M(1, "i32")),
                               ("y", M(2, dt))],
             gm("%rows", ragged=True, transposed=True))
    for act in ["silu", "swiglu", "clamped_il"]:
        func(f"gm_b_bf16_bias_{act}_wt",
             [("x", M(3, "bf16")), ("ind", M(3, "i32")), ("w", M(3, "bf16")), ("bias", M(2, "bf16")),
              ("y", M(4, "bf16"))],
             gm("%ind", bias=True, transposed=True, attrs=ACTS[act]))
    # GPT-OSS's experts: ragged, w [E, 2F, H] read in place, bias, clamped
    # swiglu over interleaved gate/up.
    func("gm_r_bf16_bias_clamped_il_wt",
         [("x", M(2, "bf16")), ("rows", M(1, "i32")), ("w", M(3, "bf16")), ("off", M(1, "i32")),
          ("bias", M(2, "bf16")), ("y", M(2, "bf16"))],
         gm("%rows", ragged=True, bias=True, transposed=True, attrs=ACTS["clamped_il"]))
    for dt, init, det, scale in [("bf16", "bf16", False, True), ("bf16", "f32", False, False),
                                 ("f16", "f16", False, True), ("bf16", "bf16", True, True),
                                 ("f32", "f32", False, True), ("f32", "f32", True, False)]:
        args = [("y", M(4, dt)), ("ind", M(3, "i32")), ("w", M(3, dt)), ("init", M(3, init))]
        if scale:
            args.append(("s", M(3, "f32")))
        name = f"ms_b_{dt}_{init}" + ("_det" if det else "") + ("_s" if scale else "") + "_wt"
        func(name, args, ms("%ind", scale=scale, det=det, transposed=True))
    for det in [False, True]:
        func("ms_r_bf16" + ("_det" if det else "") + "_wt",
             [("y", M(2, "bf16")), ("rows", M(1, "i32")), ("w", M(3, "bf16")), ("off", M(1, "i32")),
              ("init", M(2, "bf16")), ("s", M(1, "f32"))],
             ms("%rows", ragged=True, scale=True, det=det, transposed=True))
    for E, I, J in STATIC_GATHERS:
        func(f"gm_s_{E}_{I}_{J}_wt", [("x", M(3, "bf16", ["?", "?", str(I)])),
                                     ("ind", M(3, "i32", ["?", str(E), "?"])),
                                     ("w", M(3, "bf16", [str(E), str(J), str(I)])),
                                     ("y", M(4, "bf16", ["?", str(E), "?", str(J)]))],
             gm("%ind", transposed=True))
        func(f"ms_s_{E}_{I}_{J}_wt", [("y", M(4, "bf16", ["?", str(E), "?", str(J)])),
                                     ("ind", M(3, "i32", ["?", str(E), "?"])),
                                     ("w", M(3, "bf16", [str(E), str(I), str(J)])),
                                     ("init", M(3, "f32", ["?", "?", str(I)]))],
             ms("%ind", transposed=True))
        func(f"gm_rs_{E}_{I}_{J}_wt", [("x", M(2, "bf16", ["?", str(I)])), ("rows", M(1, "i32")),
                                      ("w", M(3, "bf16", [str(E), str(J), str(I)])),
                                      ("off", M(1, "i32", [str(E + 1)])),
                                      ("y", M(2, "bf16", ["?", str(J)]))],
             gm("%rows", ragged=True, transposed=True))
    for tag, tile in TILES.items():
        func(f"gm_b_bf16_bf16_{tag}_wt", [("x", M(3, "bf16")), ("ind", M(3, "i32")), ("w", M(3, "bf16")),
                                           ("y", M(4, "bf16"))],
             gm("%ind", transposed=True, attrs=[f"tile = {tile}"]))
        func(f"ms_b_bf16_f32_{tag}_wt", [("y", M(4, "bf16")), ("ind", M(3, "i32")), ("w", M(3, "bf16")),
                                          ("init", M(3, "f32"))],
             ms("%ind", transposed=True, attrs=[f"tile = {tile}"]))
        func(f"gm_r_bf16_{tag}_wt", [("x", M(2, "bf16")), ("rows", M(1, "i32")), ("w", M(3, "bf16")),
                                      ("off", M(1, "i32")), ("y", M(2, "bf16"))],
             gm("%rows", ragged=True, transposed=True, attrs=[f"tile = {tile}"]))


def main():
    if sys.argv[1:] == ["--shape-check-cost"]:
        # The seed gather, B, T, K dynamic (the host code compares them).
        func("gm_seed_dyn", [("x", memref(3, "bf16", ["?", "?", "128"])), ("ind", memref(3, "i32", ["?", "32", "?"])),
                             ("w", memref(3, "bf16", ["32", "128", "64"])),
                             ("y", memref(4, "bf16", ["?", "32", "?", "64"]))],
             gm("%ind"))
        print("\n\n".join(FUNCS))
        return
    if sys.argv[1:] == ["--weight-grad-only"]:
        # (The sm_80 library: the other ops' warpgroup tile overrides need sm_90a.)
        weight_grad_funcs(warpgroup_tiles=False)
        print("// Generated by scripts/gpu-check/gen_check_kernels.py --weight-grad-only.\n")
        print("\n\n".join(FUNCS))
        return
    M = memref
    for dt, out in [("bf16", "bf16"), ("bf16", "f32"), ("f16", "f16"), ("f32", "f32")]:
        func(f"gm_b_{dt}_{out}", [("x", M(3, dt)), ("ind", M(3, "i32")), ("w", M(3, dt)), ("y", M(4, out))],
             gm("%ind"))
    # E, I, J static as egs's Python kernels have them (the heuristic sees the
    # reduction: I <= 128 stages it whole).
    for E, I, J in STATIC_GATHERS:
        func(f"gm_s_{E}_{I}_{J}", [("x", M(3, "bf16", ["?", "?", str(I)])),
                                  ("ind", M(3, "i32", ["?", str(E), "?"])),
                                  ("w", M(3, "bf16", [str(E), str(I), str(J)])),
                                  ("y", M(4, "bf16", ["?", str(E), "?", str(J)]))],
             gm("%ind"))
        # The matmul_scatter back: y [B,E,K,J] @ w [E,J,I] into an f32 init.
        func(f"ms_s_{E}_{I}_{J}", [("y", M(4, "bf16", ["?", str(E), "?", str(J)])),
                                  ("ind", M(3, "i32", ["?", str(E), "?"])),
                                  ("w", M(3, "bf16", [str(E), str(J), str(I)])),
                                  ("init", M(3, "f32", ["?", "?", str(I)]))],
             ms("%ind"))
        func(f"gm_rs_{E}_{I}_{J}", [("x", M(2, "bf16", ["?", str(I)])), ("rows", M(1, "i32")),
                                   ("w", M(3, "bf16", [str(E), str(I), str(J)])),
                                   ("off", M(1, "i32", [str(E + 1)])),
                                   ("y", M(2, "bf16", ["?", str(J)]))],
             gm("%rows", ragged=True))
    func("gm_u_bf16_bf16", [("x", M(2, "bf16")), ("ind", M(2, "i64")), ("w", M(3, "bf16")), ("y", M(3, "bf16"))],
         gm("%ind"))
    for act in ACTS:
        func(f"gm_b_bf16_bias_{act}",
             [("x", M(3, "bf16")), ("ind", M(3, "i32")), ("w", M(3, "bf16")), ("bias", M(2, "bf16")),
              ("y", M(4, "bf16"))],
             gm("%ind", bias=True, attrs=ACTS[act]))
    for dt in ["bf16", "f32"]:
        func(f"gm_r_{dt}", [("x", M(2, dt)), ("rows", M(1, "i32")), ("w", M(3, dt)), ("off", M(1, "i32")),
                            ("y", M(2, dt))],
             gm("%rows", ragged=True))
    for dt, init, det, scale in [("bf16", "bf16", False, True), ("bf16", "bf16", False, False),
                                 ("bf16", "f32", False, False),
                                 ("bf16", "bf16", True, True), ("f32", "f32", False, True),
                                 ("f32", "f32", True, False)]:
        args = [("y", M(4, dt)), ("ind", M(3, "i32")), ("w", M(3, dt)), ("init", M(3, init))]
        if scale:
            args.append(("s", M(3, "f32")))
        name = f"ms_b_{dt}_{init}" + ("_det" if det else "") + ("_s" if scale else "")
        func(name, args, ms("%ind", scale=scale, det=det))
    for det in [False, True]:
        func("ms_r_bf16" + ("_det" if det else ""),
             [("y", M(2, "bf16")), ("rows", M(1, "i32")), ("w", M(3, "bf16")), ("off", M(1, "i32")),
              ("init", M(2, "bf16")), ("s", M(1, "f32"))],
             ms("%rows", ragged=True, scale=True, det=det))
    func("route_e8", [("ids", M(2, "i32")), ("rows", M(1, "i32")), ("off", M(1, "i32")), ("map", M(1, "i32"))],
         _ir.route("%ids", 8, outs=["%rows", "%off", "%map"]))
    func("route_e5000", [("ids", M(2, "i32")), ("rows", M(1, "i32")), ("off", M(1, "i32")), ("map", M(1, "i32"))],
         _ir.route("%ids", 5000, outs=["%rows", "%off", "%map"]))
    func("permute_e8", [("x", M(2, "bf16")), ("ids", M(2, "i32")), ("xs", M(2, "bf16")), ("map", M(1, "i32")),
                        ("off", M(1, "i32"))],
         _ir.permute("%x", "%ids", 8, outs=["%xs", "%map", "%off"]))
    func("unpermute_k4_bf16", [("xs", M(2, "bf16")), ("map", M(1, "i32")), ("p", M(2, "f32", ["?", "4"])),
                               ("out", M(2, "bf16"))],
         _ir.unpermute("%xs", "%map", "%p", outs=["%out"]))
    func("unpermute_f32", [("xs", M(2, "f32")), ("map", M(1, "i32")), ("p", M(2, "f32")), ("out", M(2, "f32"))],
         _ir.unpermute("%xs", "%map", "%p", outs=["%out"]))
    func("gather_rows_f32", [("x", M(2, "f32")), ("ind", M(1, "i64")), ("out", M(2, "f32"))],
         _ir.gather("%x", "%ind", 0, outs=["%out"]))
    func("gather_rows_t_f32", [("x", M(2, "f32")), ("ind", M(1, "i64")), ("out", M(2, "f32"))],
         _ir.gather("%x", "%ind", 0, permutation=[1, 0], outs=["%out"]))
    func("scatter_add_rows_f32", [("src", M(2, "f32")), ("ind", M(1, "i64")), ("init", M(2, "f32"))],
         _ir.scatter_add("%src", "%ind", "%init", 0))
    weight_grad_funcs()
    weight_grad_layer_funcs()
    transposed_funcs()
    # Tile-strategy variants (the #egs.tile override) for the timing table.
    for tag, tile in TILES.items():
        func(f"gm_b_bf16_bf16_{tag}", [("x", M(3, "bf16")), ("ind", M(3, "i32")), ("w", M(3, "bf16")),
                                        ("y", M(4, "bf16"))],
             gm("%ind", attrs=[f"tile = {tile}"]))
        func(f"ms_b_bf16_f32_{tag}", [("y", M(4, "bf16")), ("ind", M(3, "i32")), ("w", M(3, "bf16")),
                                       ("init", M(3, "f32"))],
             ms("%ind", attrs=[f"tile = {tile}"]))
        func(f"gm_r_bf16_{tag}", [("x", M(2, "bf16")), ("rows", M(1, "i32")), ("w", M(3, "bf16")),
                                   ("off", M(1, "i32")), ("y", M(2, "bf16"))],
             gm("%rows", ragged=True, attrs=[f"tile = {tile}"]))
    print("// Generated by scripts/gpu-check/gen_check_kernels.py.\n")
    print("\n\n".join(FUNCS))


if __name__ == "__main__":
    main()
