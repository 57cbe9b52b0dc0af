#!/usr/bin/env python3
"""Device side of scripts/gpu-check.sh: correctness, then timings.

Calls the entry points of libegs_check.so (gen_check_kernels.py, compiled with
host-buffers=device host-sync=false) on torch CUDA tensors through the MLIR C
interface (memref descriptors by pointer). Every case draws random data,
poisons the outputs with NaN, and compares with egs's float64 reference
(_reference.py, run on the GPU; with _dtypes.py beside this file in the carry,
else from python/egs):
||out - ref|| / ||ref|| < 1e-5 (f32) or 1e-2 (f16/bf16); routing is exact.
Then it times the seed shapes (B=64 T=256 E=32 K=32 I=128 J=64) and a few
others against PyTorch eager, GPU time per call from CUDA-graph replay.

usage: gpu_check.py DIR   (DIR holds lib/libegs_check.so and the runtime)
EGS_CHECK_NO_TIMINGS=1 stops after the correctness checks.
"""
import ctypes
import math
import os
import sys
import time
import traceback

import torch

# egs's pure-Python reference and dtype table: beside this file in the carry
# (scripts/gpu-check.sh copies them), else in the repository's python/egs.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "egs"))
import _dtypes  # noqa: E402
import _reference as reference  # noqa: E402

DIR = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
DEV = torch.device("cuda")
torch.manual_seed(0)
torch.cuda.init()
RT = ctypes.CDLL(os.path.join(DIR, "lib", "libegs_cuda_runtime.so"), mode=ctypes.RTLD_GLOBAL)
# EGS_CHECK_LIB names another build of the check library (A/B timings).
LIB = ctypes.CDLL(os.path.join(DIR, "lib", os.environ.get("EGS_CHECK_LIB", "libegs_check.so")),
                  mode=ctypes.RTLD_GLOBAL)

ERRORS = []
HANDLER_T = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


@HANDLER_T
def _on_error(code, msg, _):
    ERRORS.append(f"[{code}] {msg.decode(errors='replace')}")


RT.egsSetErrorHandler(_on_error, None)
RT.egsSetCurrentStream.argtypes = [ctypes.c_void_p]

DTYPES = _dtypes.torch_dtypes()
TOL = {"bf16": 1e-2, "f16": 1e-2, "f32": 1e-5}


def descriptor(t):
    n = t.dim()

    class Desc(ctypes.Structure):
        _fields_ = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                    ("offset", ctypes.c_int64), ("sizes", ctypes.c_int64 * n),
                    ("strides", ctypes.c_int64 * n)]
    return Desc(t.data_ptr(), t.data_ptr(), 0, (ctypes.c_int64 * n)(*t.shape),
                (ctypes.c_int64 * n)(*t.stride()))


def call(name, *tensors):
    """Enqueues egs function `name` on the current torch stream."""
    f = getattr(LIB, "_mlir_ciface_" + name)
    f.restype = None
    descs = [descriptor(t) for t in tensors]
    # torch's default stream is handle 0, which egsSetCurrentStream reads as
    # "no current stream"; name the legacy default stream (CU_STREAM_LEGACY).
    RT.egsSetCurrentStream(torch.cuda.current_stream().cuda_stream or 1)
    f(*[ctypes.byref(d) for d in descs])


def rel_err(out, ref):
    out, ref = out.double(), ref.double()
    if not torch.isfinite(out).all():
        return float("inf")
    den = ref.norm().item()
    return (out - ref).norm().item() / (den if den > 0 else 1.0)


RESULTS = []


def mismatch(out, ref):
    """A short description of where `out` and `ref` differ (for failures)."""
    d = (out.double() - ref.double()).abs()
    bad = (d > 1e-2 * (1 + ref.double().abs())) | ~torch.isfinite(out.double())
    idx = bad.nonzero()
    if idx.numel() == 0:
        return ""
    first = tuple(idx[0].tolist())
    return (f" [{idx.shape[0]} of {out.numel()} differ; first at {first}: got {out[first].item():.4g}"
            f" want {ref[first].item():.4g}]")


def check(name, err, tol, detail=""):
    ok = err < tol and not ERRORS
    if not ok and detail:
        name += detail
    RESULTS.append((name, ok))
    print(f"{'PASS' if ok else 'FAIL'}  {name:58s} rel_err={err:.3e}" + (f"  runtime errors: {ERRORS}" if ERRORS else ""),
          flush=True)
    ERRORS.clear()


def check_exact(name, ok):
    ok = bool(ok) and not ERRORS
    RESULTS.append((name, ok))
    print(f"{'PASS' if ok else 'FAIL'}  {name:58s} exact" + (f"  runtime errors: {ERRORS}" if ERRORS else ""), flush=True)
    ERRORS.clear()


def rand(shape, dt, scale=1.0):
    return (torch.randn(shape, device=DEV, dtype=torch.float32) * scale).to(DTYPES[dt])


def poisoned(shape, dt):
    return torch.full(shape, float("nan"), device=DEV, dtype=DTYPES[dt])


def misaligned(t):
    """The same values in a view whose base is one element off alignment."""
    big = torch.empty(t.shape[:-1] + (t.shape[-1] + 1,), device=DEV, dtype=t.dtype)
    v = big[..., 1:]
    v.copy_(t)
    return v


# ---------------------------------------------------------------------------
# References (float64)
# ---------------------------------------------------------------------------

# gen_check_kernels.ACTS: entry-point suffix -> the reference's activation arguments.
ACTS = {"silu": dict(activation="silu"), "gelu": dict(activation="gelu"),
        "swiglu": dict(activation="swiglu"), "swiglu_il": dict(activation="swiglu", interleaved=True),
        "clamped": dict(activation="clamped_swiglu", alpha=1.5, limit=1.0),
        "clamped_il": dict(activation="clamped_swiglu", interleaved=True, alpha=1.702, limit=1.0)}
GATED = [a for a, kw in ACTS.items() if kw["activation"] in ("swiglu", "clamped_swiglu")]


# ---------------------------------------------------------------------------
# Correctness
# ---------------------------------------------------------------------------

SHAPES = [  # B, T, E, K, I, J
    (2, 19, 3, 7, 40, 24), (3, 37, 5, 45, 72, 56), (2, 64, 4, 130, 264, 136),
    (1, 8, 2, 64, 128, 64), (1, 5, 1, 1, 16, 8), (64, 256, 32, 32, 128, 64),
    (2, 19, 3, 7, 37, 21),  # rows not 16-byte multiples: the general kernel
    (2, 300, 3, 10, 72, 40), (1, 2000, 4, 90, 64, 48),  # fewer slots than tokens
]


def check_gather_matmul():
    for dt, out in [("bf16", "bf16"), ("bf16", "f32"), ("f16", "f16"), ("f32", "f32")]:
        for (B, T, E, K, I, J) in SHAPES:
            x, w = rand((B, T, I), dt), rand((E, I, J), dt, 1 / math.sqrt(I))
            ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
            y = poisoned((B, E, K, J), out)
            call(f"gm_b_{dt}_{out}", x, ind, w, y)
            torch.cuda.synchronize()
            check(f"gather_matmul {dt}->{out} B{B} T{T} E{E} K{K} I{I} J{J}",
                  rel_err(y, reference.gather_matmul(x, ind, w)), TOL[out])
        B, T, E, K, I, J = 2, 30, 3, 9, 64, 40
        x, w = misaligned(rand((B, T, I), dt)), rand((E, I, J), dt, 1 / 8)
        ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
        y = poisoned((B, E, K, J), out)
        call(f"gm_b_{dt}_{out}", x, ind, w, y)
        torch.cuda.synchronize()
        check(f"gather_matmul {dt}->{out} misaligned x (general kernel)",
              rel_err(y, reference.gather_matmul(x, ind, w)), TOL[out])
    # Static E, I, J (as egs's Python kernels): the seed shape and short
    # reductions staged whole (a K tail, one slice, a column tail), with
    # enough rows per expert for that kernel and with too few.
    for (B, T, E, K, I, J) in [(64, 256, 32, 32, 128, 64), (4, 100, 4, 80, 96, 40),
                               (2, 300, 3, 200, 64, 72), (1, 10, 4, 5, 96, 40)]:
        check_gather_scatter_ragged(f"static E{E} I{I} J{J}, B{B} K{K}", f"gm_s_{E}_{I}_{J}",
                                    f"ms_s_{E}_{I}_{J}", f"gm_rs_{E}_{I}_{J}", B, T, E, K, I, J,
                                    (T, B * E * K))
    T, E, K, I, J = 50, 4, 33, 96, 72
    x, w = rand((T, I), "bf16"), rand((E, I, J), "bf16", 0.1)
    ind = torch.randint(0, T, (E, K), device=DEV, dtype=torch.int64)
    y = poisoned((E, K, J), "bf16")
    call("gm_u_bf16_bf16", x, ind, w, y)
    torch.cuda.synchronize()
    check("gather_matmul unbatched bf16 i64", rel_err(y, reference.gather_matmul(x, ind, w)), 1e-2)
    for act in ACTS:
        for (B, T, E, K, I, J) in [(2, 19, 3, 7, 40, 48), (2, 64, 4, 130, 264, 272), (1, 9, 2, 5, 24, 18)]:
            x, w = rand((B, T, I), "bf16"), rand((E, I, J), "bf16", 1 / math.sqrt(I))
            bias = rand((E, J), "bf16")
            ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
            y = poisoned((B, E, K, J // 2 if act in GATED else J), "bf16")
            call(f"gm_b_bf16_bias_{act}", x, ind, w, bias, y)
            torch.cuda.synchronize()
            check(f"gather_matmul bf16 + bias, {act} B{B} K{K} I{I} J{J}",
                  rel_err(y, reference.gather_matmul(x, ind, w, bias, **ACTS[act])), 1e-2)


def check_strategies():
    """Large GEMMs take the wide-tile strategy at run time; every tile
    variant of the timing table is checked here first."""
    for (B, T, E, K, I, J) in [(1, 64, 2, 100, 1040, 1032), (2, 30, 3, 300, 1024, 1024)]:
        x, w = rand((B, T, I), "bf16"), rand((E, I, J), "bf16", 1 / math.sqrt(I))
        ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
        y = poisoned((B, E, K, J), "bf16")
        call("gm_b_bf16_bf16", x, ind, w, y)
        torch.cuda.synchronize()
        check(f"gather_matmul bf16 wide tiles B{B} K{K} I{I} J{J}", rel_err(y, reference.gather_matmul(x, ind, w)),
              1e-2)
    x, rows, w, off = ragged_case(300, 4, 700, 1056, 1040, "bf16", False)
    y = poisoned((700, 1040), "bf16")
    call("gm_r_bf16", x, rows, w, off, y)
    torch.cuda.synchronize()
    check("gather_matmul ragged bf16 wide tiles I1056 J1040",
          rel_err(y, reference.gather_matmul(x, rows, w, offsets=off)), 1e-2)
    # On sm_90a the wide strategy is warpgroup MMA: its tails (K 1000 and
    # N 1096 not multiples of 64 / 256), uncovered rows, the paired swiglu
    # halves with bias, and the scatter epilogue (atomic and deterministic).
    x, rows, w, off = ragged_case(257, 5, 900, 1000, 1096, "bf16", False)
    y = poisoned((900, 1096), "bf16")
    call("gm_r_bf16", x, rows, w, off, y)
    torch.cuda.synchronize()
    check("gather_matmul ragged bf16 wide tiles I1000 J1096 uncovered rows",
          rel_err(y, reference.gather_matmul(x, rows, w, offsets=off)), 1e-2)
    B, T, E, K, I, J = 1, 80, 3, 140, 576, 2064
    x, w = rand((B, T, I), "bf16"), rand((E, I, J), "bf16", 1 / math.sqrt(I))
    bias = rand((E, J), "bf16")
    ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
    y = poisoned((B, E, K, J // 2), "bf16")
    call("gm_b_bf16_bias_swiglu", x, ind, w, bias, y)
    torch.cuda.synchronize()
    check(f"gather_matmul bf16 + bias, swiglu wide tiles I{I} J{J}",
          rel_err(y, reference.gather_matmul(x, ind, w, bias, **ACTS["swiglu"])), 1e-2)
    for det in [False, True]:
        check_ragged_scatter(det, 300, 4, 700, 1056, 1040, False, " wide tiles J1056 I1040")
    for tag in TILE_ALL:
        check_gather_scatter_ragged(f"tile {tag}", f"gm_b_bf16_bf16_{tag}", f"ms_b_bf16_f32_{tag}",
                                    f"gm_r_bf16_{tag}", 2, 37, 3, 150, 264, 200, (100, 333))


def check_gather_scatter_ragged(what, gm, ms, gmr, B, T, E, K, I, J, ragged, transposed=False):
    """One strategy's gather (x [B,T,I] -> y [B,E,K,J]), matmul_scatter back
    (y @ w [E,J,I] into an f32 init) and ragged gather (ragged = (T, R));
    `transposed`: the kernels take w stored transposed."""
    wl = wt_of if transposed else (lambda w: w)
    x, w = rand((B, T, I), "bf16"), rand((E, I, J), "bf16", 1 / math.sqrt(I))
    ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
    y = poisoned((B, E, K, J), "bf16")
    call(gm, x, ind, wl(w), y)
    yv, w2 = rand((B, E, K, J), "bf16"), rand((E, J, I), "bf16", 1 / math.sqrt(J))
    init = rand((B, T, I), "f32")
    ref = reference.matmul_scatter(yv, ind, w2, init)
    call(ms, yv, ind, wl(w2), init)
    xr, rows, wr, off = ragged_case(ragged[0], E, ragged[1], I, J, "bf16", False)
    yr = poisoned((ragged[1], J), "bf16")
    call(gmr, xr, rows, wl(wr), off, yr)
    torch.cuda.synchronize()
    check(f"gather_matmul bf16 {what}", rel_err(y, reference.gather_matmul(x, ind, w)), 1e-2)
    check(f"matmul_scatter bf16->f32 {what}", rel_err(init, ref), 1e-5)
    check(f"gather_matmul ragged bf16 {what}", rel_err(yr, reference.gather_matmul(xr, rows, wr, offsets=off)), 1e-2)


def ragged_case(T, E, R, I, J, dt, covered=True):
    x, w = rand((T, I), dt), rand((E, I, J), dt, 1 / math.sqrt(I))
    rows = torch.randint(0, T, (R,), device=DEV, dtype=torch.int32)
    cuts = torch.sort(torch.randint(0, R + 1, (E - 1,), device=DEV)).values
    lo, hi = (0, R) if covered else (min(3, R), max(R - 5, min(3, R)))
    cuts = cuts.clamp(lo, hi)
    off = torch.cat([torch.tensor([lo], device=DEV), cuts, torch.tensor([hi], device=DEV)]).to(torch.int32)
    if E > 2:  # an empty expert
        off[2] = off[1]
    return x, rows, w, off


def check_ragged():
    for dt in ["bf16", "f32"]:
        for (T, E, R, I, J, cov) in [(40, 5, 80, 64, 48, True), (100, 8, 333, 136, 72, False),
                                     (7, 1, 3, 16, 8, True), (512, 16, 1024, 256, 128, True)]:
            x, rows, w, off = ragged_case(T, E, R, I, J, dt, cov)
            y = poisoned((R, J), dt)
            call(f"gm_r_{dt}", x, rows, w, off, y)
            torch.cuda.synchronize()
            check(f"gather_matmul ragged {dt} T{T} E{E} R{R} I{I} J{J}" + ("" if cov else " uncovered rows"),
                  rel_err(y, reference.gather_matmul(x, rows, w, offsets=off)), TOL[dt])


def check_matmul_scatter():
    for name, dt, init_t, det, sc in [("ms_b_bf16_bf16_s", "bf16", "bf16", False, True),
                                       ("ms_b_bf16_bf16", "bf16", "bf16", False, False),
                                       ("ms_b_bf16_f32", "bf16", "f32", False, False),
                                       ("ms_b_bf16_bf16_det_s", "bf16", "bf16", True, True),
                                       ("ms_b_f32_f32_s", "f32", "f32", False, True),
                                       ("ms_b_f32_f32_det", "f32", "f32", True, False)]:
        for (B, T, E, K, J, I) in SHAPES:
            y, w = rand((B, E, K, J), dt), rand((E, J, I), dt, 1 / math.sqrt(J))
            ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
            init = rand((B, T, I), init_t)
            s = torch.rand((B, E, K), device=DEV) if sc else None
            ref = reference.matmul_scatter(y, ind, w, init, s)
            args = [y, ind, w, init] + ([s] if sc else [])
            call(name, *args)
            torch.cuda.synchronize()
            check(f"matmul_scatter {name[5:]} B{B} T{T} E{E} K{K} J{J} I{I}", rel_err(init, ref), TOL[init_t],
                  mismatch(init, ref))
            if det:
                start = rand((B, T, I), init_t)
                a, b = start.clone(), start.clone()
                call(name, y, ind, w, a, *([s] if sc else []))
                call(name, y, ind, w, b, *([s] if sc else []))
                torch.cuda.synchronize()
                bits = torch.int16 if a.element_size() == 2 else torch.int32
                check_exact(f"matmul_scatter {name[5:]} B{B} K{K} bitwise reproducible",
                            torch.equal(a.view(bits), b.view(bits)))
    for det in [False, True]:
        for (T, E, R, J, I, cov) in [(40, 5, 80, 64, 48, True), (100, 8, 333, 136, 72, False), (512, 16, 1024, 256, 128, True)]:
            check_ragged_scatter(det, T, E, R, J, I, cov, "" if cov else " uncovered")
        check_ragged_scatter(det, 2000, 5, 300, 64, 48, False, " fewer slots than tokens")


def check_ragged_scatter(det, T, E, R, J, I, covered, what, transposed=False):
    """Ragged matmul_scatter (bf16, f32 scale) into a bf16 init, against
    float64 (`transposed`: the kernel takes w stored [E, I, J])."""
    _, rows, _, off = ragged_case(T, E, R, J, I, "bf16", covered)
    y = rand((R, J), "bf16")
    w = rand((E, J, I), "bf16", 1 / math.sqrt(J))
    init = rand((T, I), "bf16")
    s = torch.rand((R,), device=DEV)
    want = reference.matmul_scatter(y, rows, w, init, s, off)
    call("ms_r_bf16" + ("_det" if det else "") + ("_wt" if transposed else ""), y, rows,
         wt_of(w) if transposed else w, off, init, s)
    torch.cuda.synchronize()
    check(f"{'transposed ' if transposed else ''}matmul_scatter ragged bf16{' det' if det else ''} T{T} E{E} R{R}{what}",
          rel_err(init, want), 1e-2)


def check_route(T, k, E, what=""):
    """route of random ids [T,k] over E experts (kernel route_e{E}), exact;
    returns the ids."""
    ids = torch.randint(0, E, (T, k), device=DEV, dtype=torch.int32)
    rows_r, off_r, rid_r = reference.route(ids, E)
    rows = torch.full((T * k,), -7, device=DEV, dtype=torch.int32)
    off = torch.full((E + 1,), -7, device=DEV, dtype=torch.int32)
    rid = torch.full((T * k,), -7, device=DEV, dtype=torch.int32)
    call(f"route_e{E}", ids, rows, off, rid)
    torch.cuda.synchronize()
    check_exact(f"route T{T} k{k} E{E}{what}",
                torch.equal(rows, rows_r) and torch.equal(off, off_r) and torch.equal(rid, rid_r))
    return ids


def check_routing():
    for (T, k) in [(16, 2), (1000, 4), (4096, 8), (1, 1)]:
        ids = check_route(T, k, 8)
        for R in [T * k, max(1, T * k // 2), T * k + 3]:
            x = rand((T, 72), "bf16")
            xs = poisoned((R, 72), "bf16")
            off = torch.full((9,), -7, device=DEV, dtype=torch.int32)
            rid = torch.full((T * k,), -7, device=DEV, dtype=torch.int32)
            call("permute_e8", x, ids, xs, rid, off)
            torch.cuda.synchronize()
            xs_r, rid_r, off_r = reference.permute(x, ids, 8, R)
            parts = {"x_sorted": torch.equal(xs.double(), xs_r), "offsets": torch.equal(off, off_r),
                     "row_id_map": torch.equal(rid, rid_r)}
            bad = [k_ for k_, v in parts.items() if not v]
            check_exact(f"permute T{T} k{k} R{R}" + (f" wrong: {bad} off={off.tolist()} want={off_r.tolist()}" if bad else ""),
                        not bad)
    check_route(20000, 8, 8, " (5000 chunk counts: the grid-wide scan)")
    check_route(1000, 4, 5000, " (one block per expert)")
    for (T, H, R, dt) in [(37, 264, 100, "bf16"), (1000, 1032, 3000, "bf16"), (50, 70, 120, "f32"), (9, 13, 30, "f32")]:
        k = 4 if dt == "bf16" else 3
        xs = rand((R, H), dt)
        rid = torch.randint(-1, R, (k * T,), device=DEV, dtype=torch.int32)
        p = torch.rand((T, k), device=DEV)
        out = poisoned((T, H), dt)
        call("unpermute_k4_bf16" if dt == "bf16" else "unpermute_f32", xs, rid, p, out)
        torch.cuda.synchronize()
        check(f"unpermute {dt} T{T} H{H} k{k}", rel_err(out, reference.unpermute(xs, rid, p)), TOL[dt])


def check_data_movement():
    x = rand((50, 33), "f32")
    ind = torch.randint(0, 50, (70,), device=DEV, dtype=torch.int64)
    out = poisoned((70, 33), "f32")
    call("gather_rows_f32", x, ind, out)
    outt = poisoned((33, 70), "f32")
    call("gather_rows_t_f32", x, ind, outt)
    src = rand((70, 33), "f32")
    init = rand((50, 33), "f32")
    want = reference.scatter_add(src, ind, init, 0)
    call("scatter_add_rows_f32", src, ind, init)
    torch.cuda.synchronize()
    check_exact("gather rows f32", torch.equal(out.double(), reference.gather(x, ind, 0)))
    check_exact("gather rows f32, permuted layout",
                torch.equal(outt.double(), reference.gather(x, ind, 0, permutation=[1, 0])))
    check("scatter_add rows f32", rel_err(init, want), 1e-5)


# ---------------------------------------------------------------------------
# Transposed weights (w_transposed: w stored [E, cols, reduce], read in place)
# ---------------------------------------------------------------------------

def wt_of(w):
    """w [E, reduce, cols] as a transposed-layout weight [E, cols, reduce]."""
    return w.transpose(1, 2).contiguous()


def check_transposed():
    """Every matmul form with w stored transposed, against the float64
    reference of the untransposed w: dtypes, tails (SHAPES: I, J not tile
    multiples; I = 37 takes the general kernel), ragged, activations, scatter
    (atomic, f16/bf16 init, deterministic), the static strategies (the
    resident warpgroup tile) and every tile variant."""
    for dt, out in [("bf16", "bf16"), ("bf16", "f32"), ("f16", "f16"), ("f32", "f32")]:
        for (B, T, E, K, I, J) in SHAPES:
            x, w = rand((B, T, I), dt), rand((E, I, J), dt, 1 / math.sqrt(I))
            ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
            y = poisoned((B, E, K, J), out)
            call(f"gm_b_{dt}_{out}_wt", x, ind, wt_of(w), y)
            torch.cuda.synchronize()
            want = reference.gather_matmul(x, ind, w)
            check(f"transposed gather_matmul {dt}->{out} B{B} T{T} E{E} K{K} I{I} J{J}",
                  rel_err(y, want), TOL[out], mismatch(y, want))
        B, T, E, K, I, J = 2, 30, 3, 9, 64, 40
        x, w = rand((B, T, I), dt), rand((E, I, J), dt, 1 / 8)
        ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
        y = poisoned((B, E, K, J), out)
        call(f"gm_b_{dt}_{out}_wt", x, ind, misaligned(wt_of(w)), y)
        torch.cuda.synchronize()
        check(f"transposed gather_matmul {dt}->{out} misaligned w (general kernel)",
              rel_err(y, reference.gather_matmul(x, ind, w)), TOL[out])
    for dt in ["bf16", "f16", "f32"]:
        for (T, E, R, I, J, cov) in [(40, 5, 80, 64, 48, True), (100, 8, 333, 136, 72, False),
                                     (7, 1, 3, 16, 8, True), (512, 16, 1024, 256, 128, True),
                                     (257, 5, 900, 1000, 1096, False), (300, 4, 700, 1056, 1040, True)]:
            x, rows, w, off = ragged_case(T, E, R, I, J, dt, cov)
            y = poisoned((R, J), dt)
            call(f"gm_r_{dt}_wt", x, rows, wt_of(w), off, y)
            torch.cuda.synchronize()
            check(f"transposed gather_matmul ragged {dt} T{T} E{E} R{R} I{I} J{J}" + ("" if cov else " uncovered"),
                  rel_err(y, reference.gather_matmul(x, rows, w, offsets=off)), TOL[dt])
    for act in ["silu", "swiglu", "clamped_il"]:
        for (B, T, E, K, I, J) in [(2, 19, 3, 7, 40, 48), (2, 64, 4, 130, 264, 272), (1, 9, 2, 5, 24, 18),
                                   (1, 80, 3, 140, 576, 2064)]:
            x, w = rand((B, T, I), "bf16"), rand((E, I, J), "bf16", 1 / math.sqrt(I))
            bias = rand((E, J), "bf16")
            ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
            y = poisoned((B, E, K, J // 2 if act in GATED else J), "bf16")
            call(f"gm_b_bf16_bias_{act}_wt", x, ind, wt_of(w), bias, y)
            torch.cuda.synchronize()
            check(f"transposed gather_matmul bf16 + bias, {act} B{B} K{K} I{I} J{J}",
                  rel_err(y, reference.gather_matmul(x, ind, w, bias, **ACTS[act])), 1e-2)
    # GPT-OSS's experts (ragged, [E, 2F, H] weights in place, bias, clamped
    # swiglu over interleaved columns), with uncovered rows and odd sizes.
    for (T, E, R, I, J, cov) in [(40, 5, 80, 64, 48, True), (100, 8, 333, 136, 72, False),
                                 (300, 4, 700, 1056, 1040, True)]:
        x, rows, w, off = ragged_case(T, E, R, I, J, "bf16", cov)
        bias = rand((E, J), "bf16")
        y = poisoned((R, J // 2), "bf16")
        call("gm_r_bf16_bias_clamped_il_wt", x, rows, wt_of(w), off, bias, y)
        torch.cuda.synchronize()
        want = reference.gather_matmul(x, rows, w, bias, off, **ACTS["clamped_il"])
        check(f"transposed gather_matmul ragged bf16 + bias, clamped_il T{T} E{E} R{R} I{I} J{J}"
              + ("" if cov else " uncovered"), rel_err(y, want), 1e-2)
    for name, dt, init_t, det, sc in [("ms_b_bf16_bf16_s_wt", "bf16", "bf16", False, True),
                                       ("ms_b_bf16_f32_wt", "bf16", "f32", False, False),
                                       ("ms_b_f16_f16_s_wt", "f16", "f16", False, True),
                                       ("ms_b_bf16_bf16_det_s_wt", "bf16", "bf16", True, True),
                                       ("ms_b_f32_f32_s_wt", "f32", "f32", False, True),
                                       ("ms_b_f32_f32_det_wt", "f32", "f32", True, False)]:
        for (B, T, E, K, J, I) in SHAPES + [(1, 64, 2, 100, 1040, 1032)]:
            y, w = rand((B, E, K, J), dt), rand((E, J, I), dt, 1 / math.sqrt(J))
            ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
            init = rand((B, T, I), init_t)
            s = torch.rand((B, E, K), device=DEV) if sc else None
            ref = reference.matmul_scatter(y, ind, w, init, s)
            call(name, y, ind, wt_of(w), init, *([s] if sc else []))
            torch.cuda.synchronize()
            check(f"transposed matmul_scatter {name[5:-3]} B{B} T{T} E{E} K{K} J{J} I{I}", rel_err(init, ref),
                  TOL[init_t], mismatch(init, ref))
    for det in [False, True]:
        for (T, E, R, J, I, cov) in [(40, 5, 80, 64, 48, True), (100, 8, 333, 136, 72, False),
                                     (300, 4, 700, 1056, 1040, True)]:
            check_ragged_scatter(det, T, E, R, J, I, cov, "" if cov else " uncovered", transposed=True)
    for (B, T, E, K, I, J) in [(64, 256, 32, 32, 128, 64), (4, 100, 4, 80, 96, 40),
                               (2, 300, 3, 200, 64, 72), (1, 10, 4, 5, 96, 40)]:
        check_gather_scatter_ragged(f"transposed static E{E} I{I} J{J}, B{B} K{K}", f"gm_s_{E}_{I}_{J}_wt",
                                    f"ms_s_{E}_{I}_{J}_wt", f"gm_rs_{E}_{I}_{J}_wt", B, T, E, K, I, J,
                                    (T, B * E * K), transposed=True)
    for tag in TILE_ALL:
        check_gather_scatter_ragged(f"transposed tile {tag}", f"gm_b_bf16_bf16_{tag}_wt",
                                    f"ms_b_bf16_f32_{tag}_wt", f"gm_r_bf16_{tag}_wt", 2, 37, 3, 150, 264, 200,
                                    (100, 333), transposed=True)


def transposed_timings(T=4096):
    """Token-choice rows with w transposed vs untransposed (the same bytes:
    within ~5% expected). Ragged gather_matmul of every MOE_ROWS row, and
    the ragged matmul_scatter of the down rows."""
    def compare(case, base, trans, flops):
        timing(case, base, None, flops, None)
        timing(case + ", transposed w", trans, None, flops, None)
        r = ROWS[-1][1] / ROWS[-2][1]
        print(f"{'PASS' if r <= 1.05 else 'SLOW'}  transposed/untransposed {case}: {r:.3f}"
              f" ({ROWS[-1][1]:.1f} vs {ROWS[-2][1]:.1f} us)", flush=True)
    for name, (E, k, H, N) in MOE_ROWS:
        x, rows, w, off, y = moe_row_case(E, k, H, N, T)
        wt, yt = wt_of(w), torch.empty_like(y)
        call("gm_r_bf16", x, rows, w, off, y)
        call("gm_r_bf16_wt", x, rows, wt, off, yt)
        torch.cuda.synchronize()
        check(f"transposed = untransposed ragged gather_matmul {name}", rel_err(yt, y), 1e-2)
        compare(f"ragged gather_matmul bf16 {name} T{T}", lambda: call("gm_r_bf16", x, rows, w, off, y),
                lambda: call("gm_r_bf16_wt", x, rows, wt, off, yt), 2 * T * k * H * N)
        del x, w, wt, y, yt
        if "down" not in name:
            continue
        # matmul_scatter: y [T*k, H] @ w [E, H, N] into init [T, N]
        _, rows, _, off, _ = moe_row_case(E, k, 8, 8, T)
        ys, w = rand((T * k, H), "bf16"), rand((E, H, N), "bf16", 0.02)
        wt, init, s = wt_of(w), rand((T, N), "bf16"), torch.rand((T * k,), device=DEV)
        compare(f"ragged matmul_scatter bf16 {name} T{T}",
                lambda: call("ms_r_bf16", ys, rows, w, off, init, s),
                lambda: call("ms_r_bf16_wt", ys, rows, wt, off, init, s), 2 * T * k * H * N)
        del ys, w, wt, init


# ---------------------------------------------------------------------------
# weight_grad
# ---------------------------------------------------------------------------

def ragged_offsets(E, R, empty=(), covered=True):
    """Random expert sizes summing to R (to fewer than R when not covered:
    the first and last few slots belong to no expert); `empty` experts get 0."""
    lo, hi = (0, R) if covered else (3, R - 5)
    cuts = torch.sort(torch.randint(lo, hi + 1, (E - 1,))).values.tolist()
    off = [lo] + cuts + [hi]
    for e in empty:
        off[e + 1] = off[e]
    for e in range(1, E + 1):
        off[e] = max(off[e], off[e - 1])
    off[E] = hi
    return torch.tensor(off, device=DEV, dtype=torch.int32)


def check_weight_grad_ragged(dt, out, T, E, R, I, J, covered=True, empty=(), what="", entry="wg"):
    """`entry` "wgs": the warp-specialised tiles' entry points."""
    tol = max(TOL[dt], TOL[out])
    what += " warp-specialised" if entry == "wgs" else ""
    off = ragged_offsets(E, R, empty, covered)
    rows = torch.randint(0, T, (R,), device=DEV, dtype=torch.int32)
    x, dy = rand((T, I), dt), rand((R, J), dt)
    dw = poisoned((E, I, J), out)
    call(f"{entry}_r_glhs_{dt}_{out}", x, rows, dy, off, dw)
    want = reference.weight_grad(x, dy, lhs_ind=rows, offsets=off)
    torch.cuda.synchronize()
    check(f"weight_grad ragged x[rows]*dy {dt}->{out} T{T} E{E} R{R} I{I} J{J}{what}", rel_err(dw, want), tol,
          mismatch(dw, want))
    # dW of matmul_scatter: y * dout[rows] scale s, i64 indices
    y, dout = rand((R, I), dt), rand((T, J), dt)
    s = torch.rand((R,), device=DEV)
    dw2 = poisoned((E, I, J), out)
    call(f"{entry}_r_grhs_s_{dt}_{out}", y, dout, rows.long(), off.long(), s, dw2)
    ref2 = reference.weight_grad(y, dout, rhs_ind=rows, offsets=off, scale=s)
    torch.cuda.synchronize()
    check(f"weight_grad ragged y*dout[rows] scale {dt}->{out} I{I} J{J}{what}", rel_err(dw2, ref2), tol,
          mismatch(dw2, ref2))


def check_weight_grad_ec(dt, out, B, T, E, K, I, J):
    tol = max(TOL[dt], TOL[out])
    ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
    x, dy, s = rand((B, T, I), dt), rand((B, E, K, J), dt), torch.rand((B, E, K), device=DEV).to(DTYPES[dt])
    dw = poisoned((E, I, J), out)
    call(f"wg_b_{dt}_{out}", x, ind, dy, s, dw)
    want = reference.weight_grad(x, dy, lhs_ind=ind, scale=s)
    torch.cuda.synchronize()
    check(f"weight_grad ec batched x[ind]*dy scale {dt}->{out} B{B} E{E} K{K} I{I} J{J}", rel_err(dw, want), tol,
          mismatch(dw, want))
    a, b = rand((E, K, I), dt), rand((E, K, J), dt)
    dw2 = poisoned((E, I, J), out)
    call(f"wg_u_{dt}_{out}", a, b, dw2)
    ref2 = reference.weight_grad(a, b)
    torch.cuda.synchronize()
    check(f"weight_grad ec unbatched a*b {dt}->{out} E{E} K{K} I{I} J{J}", rel_err(dw2, ref2), tol,
          mismatch(dw2, ref2))


def check_weight_grad():
    for dt, out in [("bf16", "f32"), ("bf16", "bf16"), ("f16", "f16"), ("f16", "f32"), ("f32", "f32")]:
        check_weight_grad_ragged(dt, out, 300, 8, 900, 1000, 1096, empty=(2, 5), what=" (empty experts 2, 5)")
        check_weight_grad_ragged(dt, out, 64, 5, 200, 72, 40, covered=False, what=" (uncovered slots)")
        check_weight_grad_ec(dt, out, 3, 50, 4, 37, 136, 72)
        check_weight_grad_ec(dt, out, 1, 20, 3, 300, 24, 8)
    # warp-specialised tiles (sm_90a library only): experts of 0, fewer
    # slices than the producer's lag, and many (the stages wrap several
    # times); tails in I and J
    specialised = hasattr(LIB, "_mlir_ciface_wgs_r_glhs_bf16_f32")
    for out in ["bf16", "f32"] if specialised else []:
        check_weight_grad_ragged("bf16", out, 300, 8, 900, 1000, 1096, empty=(2, 5), what=" (empty experts 2, 5)",
                                 entry="wgs")
        check_weight_grad_ragged("bf16", out, 64, 5, 200, 72, 40, covered=False, what=" (uncovered slots)",
                                 entry="wgs")
        check_weight_grad_ragged("bf16", out, 2000, 4, 9000, 384, 520, what=" (long experts)", entry="wgs")
    # both sides gathered; every tile of the heuristic (static I, J)
    T, E, R = 400, 6, 1500
    off = ragged_offsets(E, R, (1,))
    ia, ib = (torch.randint(0, T, (R,), device=DEV, dtype=torch.int32) for _ in range(2))
    a, b = rand((T, 200), "bf16"), rand((T, 300), "bf16")
    dw = poisoned((E, 200, 300), "f32")
    call("wg_r_both_bf16", a, ia, b, ib, off, dw)
    want = reference.weight_grad(a, b, ia, ib, off)
    torch.cuda.synchronize()
    check("weight_grad ragged a[ia]*b[ib] bf16 (both gathered)", rel_err(dw, want), 1e-2, mismatch(dw, want))
    B, K = 2, 33
    ia3, ib3 = (torch.randint(0, 30, (B, 4, K), device=DEV, dtype=torch.int32) for _ in range(2))
    a3, b3 = rand((B, 30, 20), "f32"), rand((B, 30, 12), "f32")
    dw3 = poisoned((4, 20, 12), "f32")
    call("wg_b_both_f32", a3, ia3, b3, ib3, dw3)
    ref3 = reference.weight_grad(a3, b3, ia3, ib3)
    torch.cuda.synchronize()
    check("weight_grad ec batched a[ia]*b[ib] f32 (both gathered)", rel_err(dw3, ref3), 1e-5, mismatch(dw3, ref3))
    for I, J in WEIGHT_GRAD_TILE_SHAPES:
        if I * J > 2000 * 2000:
            continue  # the timing shapes
        for out in ["bf16", "f32"]:
            E, R = 5, 700
            off = ragged_offsets(E, R, (3,))
            rows = torch.randint(0, 300, (R,), device=DEV, dtype=torch.int32)
            x, dy = rand((300, I), "bf16"), rand((R, J), "bf16")
            dw = poisoned((E, I, J), out)
            call(f"wg_r_glhs_bf16_{out}_{I}x{J}", x, rows, dy, off, dw)
            want = reference.weight_grad(x, dy, lhs_ind=rows, offsets=off)
            torch.cuda.synchronize()
            check(f"weight_grad static tile I{I} J{J} bf16->{out}", rel_err(dw, want), 1e-2, mismatch(dw, want))
    # misaligned lhs and a strided dy: the general kernel
    x, dy = misaligned(rand((100, 64), "bf16")), rand((160, 80), "bf16")[::2]
    rows = torch.randint(0, 100, (80,), device=DEV, dtype=torch.int32)
    off = ragged_offsets(4, 80)
    dw = poisoned((4, 64, 40), "f32")
    call("wg_r_glhs_bf16_f32", x, rows, dy[:, :40], off, dw)
    want = reference.weight_grad(x, dy[:, :40], lhs_ind=rows, offsets=off)
    torch.cuda.synchronize()
    check("weight_grad general kernel (misaligned x, strided dy)", rel_err(dw, want), 1e-2, mismatch(dw, want))
    # determinism: two runs bitwise equal (fast bf16 and f32 paths)
    for entry, dt in [("wg", "bf16"), ("wg", "f32")] + ([("wgs", "bf16")] if specialised else []):
        off = ragged_offsets(8, 4000)
        rows = torch.randint(0, 2000, (4000,), device=DEV, dtype=torch.int32)
        x, dy = rand((2000, 256), dt), rand((4000, 384), dt)
        d1, d2 = poisoned((8, 256, 384), "f32"), poisoned((8, 256, 384), "f32")
        call(f"{entry}_r_glhs_{dt}_f32", x, rows, dy, off, d1)
        call(f"{entry}_r_glhs_{dt}_f32", x, rows, dy, off, d2)
        torch.cuda.synchronize()
        ws = " warp-specialised" if entry == "wgs" else ""
        check_exact(f"weight_grad {dt}{ws} deterministic (two runs bitwise equal)", torch.equal(d1, d2))


# dW rows (E, k, I, J): Mixtral (w1/w3 [4096, 14336]), Qwen3-30B-A3B, OLMoE.
WEIGHT_GRAD_ROWS = [("Mixtral", (8, 2, 4096, 14336)), ("Qwen3-30B-A3B", (128, 8, 2048, 1536)),
                    ("OLMoE", (64, 8, 2048, 1024))]
WEIGHT_GRAD_TILE_SHAPES = [(64, 40), (200, 300), (1000, 1096), (4096, 14336), (2048, 1536), (2048, 1024)]


def weight_grad_timings(T=4096):
    """dW = x[rows]^T dy per expert vs torch._grouped_mm on pre-gathered rows
    (mat_a [I, R] transposed, offs over the reduction)."""
    for name, (E, k, I, J) in WEIGHT_GRAD_ROWS:
        ids = torch.stack([torch.randperm(E, device=DEV)[:k] for _ in range(T)]).to(torch.int32)
        rows, off, _ = reference.route(ids, E)
        R = T * k
        x, dy = rand((T, I), "bf16"), rand((R, J), "bf16")
        dw = torch.empty((E, I, J), device=DEV, dtype=torch.bfloat16)
        xs = x[rows.long()]
        offs_end = off[1:].contiguous()
        tf = None
        if hasattr(torch, "_grouped_mm"):
            def tf():
                return torch._grouped_mm(xs.t(), dy, offs=offs_end)
            try:
                ref = tf().float()
                call(f"wg_r_glhs_bf16_bf16_{I}x{J}", x, rows, dy, off, dw)
                torch.cuda.synchronize()
                check(f"weight_grad {name} vs torch._grouped_mm", rel_err(dw, ref), 1e-2)
            except Exception as e:  # noqa: BLE001
                print(f"torch._grouped_mm dW unavailable: {str(e)[:100]}")
                tf = None
        timing(f"weight_grad bf16 {name} dW T{T} (I{I} J{J})",
               lambda: call(f"wg_r_glhs_bf16_bf16_{I}x{J}", x, rows, dy, off, dw), tf, 2 * R * I * J, None,
               dw.numel() * 2 / 2 ** 20)
        dw32 = torch.empty((E, I, J), device=DEV, dtype=torch.float32)
        timing(f"weight_grad bf16->f32 {name} dW T{T}",
               lambda: call(f"wg_r_glhs_bf16_f32_{I}x{J}", x, rows, dy, off, dw32), None, 2 * R * I * J, None)
        del dw, dw32, xs


WEIGHT_GRAD_LAYER_ROWS = {"mixtral": (8, 2, 4096, 14336), "qwen3": (128, 8, 2048, 768),
                          "olmoe": (64, 8, 2048, 1024)}
WG_TILES = ["wg128x256s4", "wg128x256s3", "wg128x128s4", "wg128x128s3", "wg256x128s3", "wg256x128s4",
            "wg64x256s4", "wg64x128s4", "ws128x256s4", "ws128x256s3", "ws128x128s4", "ws128x128s6",
            "ws64x256s4"]


def weight_grad_layer_timings(T=4096):
    """The layer rows' two dW GEMMs (up: x[rows]^T dy, down: (s * a)^T
    dout[rows]) with the heuristic and each tile of WG_TILES (checked
    against torch first), vs torch._grouped_mm on pre-gathered rows."""
    tiles = os.environ.get("EGS_CHECK_WG_TILES")
    tiles = WG_TILES if tiles is None else [t for t in tiles.split(",") if t]
    for name, (E, k, H, F) in WEIGHT_GRAD_LAYER_ROWS.items():
        ids = torch.stack([torch.randperm(E, device=DEV)[:k] for _ in range(T)]).to(torch.int32)
        rows, off, _ = reference.route(ids, E)
        R, rowsl, offs_end = T * k, rows.long(), off[1:].contiguous()
        s = torch.rand((R,), device=DEV)
        x, dy = rand((T, H), "bf16"), rand((R, 2 * F), "bf16")
        a, dout = rand((R, F), "bf16"), rand((T, H), "bf16")
        for side, args, (I, J), tf in [
                ("up", (x, rows, dy, off), (H, 2 * F), lambda: torch._grouped_mm(x[rowsl].t(), dy, offs=offs_end)),
                ("down", (a, dout, rows, off, s), (F, H),
                 lambda: torch._grouped_mm((a * s[:, None].to(a.dtype)).t(), dout[rowsl], offs=offs_end))]:
            dw = torch.empty((E, I, J), device=DEV, dtype=torch.bfloat16)
            ref = tf().float()
            for tag in [""] + tiles:
                fn = f"wgl_{side}_{name}" + (f"_{tag}" if tag else "")
                dw.fill_(float("nan"))
                call(fn, *args, dw)
                torch.cuda.synchronize()
                check(f"weight_grad {name}-{side} {tag or 'heuristic'} vs torch._grouped_mm", rel_err(dw, ref), 1e-2)
                timing(f"weight_grad {name}-{side} T{T} (I{I} J{J}) {tag or 'heuristic'}",
                       lambda fn=fn, args=args, dw=dw: call(fn, *args, dw), tf if not tag else None,
                       2 * R * I * J, None)
            del dw, ref


def shape_check_cost():
    """The eager call of the seed gather (dynamic B, T, K) with the host-side
    shape checks (check-indices=true) and without: wall time per call
    including the kernel (call + synchronize), interleaved rounds."""
    libs = {}
    for opt in ("on", "off"):
        path = os.path.join(DIR, "lib", f"libegs_check_shape_{opt}.so")
        if not os.path.exists(path):
            print(f"shape check cost: {path} missing")
            return
        libs[opt] = getattr(ctypes.CDLL(path), "_mlir_ciface_gm_seed_dyn")
        libs[opt].restype = None
    B, T, E, K, I, J = 64, 256, 32, 32, 128, 64
    x, w = rand((B, T, I), "bf16"), rand((E, I, J), "bf16", 0.1)
    ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
    y = torch.empty((B, E, K, J), device=DEV, dtype=torch.bfloat16)
    keep = [descriptor(t) for t in (x, ind, w, y)]
    descs = [ctypes.byref(d) for d in keep]
    RT.egsSetCurrentStream(torch.cuda.current_stream().cuda_stream or 1)
    want = reference.gather_matmul(x, ind, w)
    for opt, f in libs.items():
        y.fill_(float("nan"))
        f(*descs)
        torch.cuda.synchronize()
        check(f"seed gather, dynamic B T K, shape checks {opt}", rel_err(y, want), 1e-2)
    times = {"on": [], "off": []}
    for _ in range(7):
        for opt, f in libs.items():
            ts = []
            for _ in range(300):
                t0 = time.perf_counter()
                f(*descs)
                torch.cuda.synchronize()
                ts.append(time.perf_counter() - t0)
            ts.sort()
            times[opt].append(ts[len(ts) // 2] * 1e6)
    on, off = sorted(times["on"])[3], sorted(times["off"])[3]
    print(f"shape check cost (seed gather eager call + sync): on {on:.2f} us, off {off:.2f} us, "
          f"difference {on - off:+.2f} us", flush=True)


# ---------------------------------------------------------------------------
# Timings
# ---------------------------------------------------------------------------

def gpu_time_us(fn, iters=20, reps=15):
    """Median GPU time per call: CUDA-graph replay of `iters` calls, else
    back-to-back calls between events."""
    fn()
    torch.cuda.synchronize()
    how = "graph"
    try:
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            for _ in range(iters):
                fn()
        if ERRORS:
            raise RuntimeError("; ".join(ERRORS))
        run = g.replay
    except Exception as e:  # noqa: BLE001
        ERRORS.clear()
        how = f"events ({str(e)[:60]})"
        torch.cuda.synchronize()

        def run():
            for _ in range(iters):
                fn()
    run()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        run()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b) * 1000 / iters)
    ts.sort()
    return ts[len(ts) // 2], how


def peak_mib(fn):
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - base) / 2 ** 20


ROWS = []
TILE_ALL = ["t64x64x32w4", "t128x64x64w8", "t128x64x128w8s2", "t256x64x32w8", "t128x128x32w8s4",
            "t128x128x64w8s3", "t256x128x32w8s3", "t128x256x32w8s3", "t256x128x32w16s3",
            "t128x256x64w8s3", "t128x256x32w8s4", "t128x128x64w8s4", "t128x256x64w16s3", "t256x128x64w8s3",
            "t128x128x32w4s4", "wg128x256s4", "wg128x256s3", "wg128x128s4", "wg128x128s3", "wg64x256s4",
            "wg256x128s3", "wg128x64s4", "wg256x64s3", "wg128x64s3", "wg64x64s3w4"]
RAGGED_TILES = ["t128x256x32w8s3", "t128x256x64w8s3", "wg128x256s4", "wg128x256s3", "wg128x128s4", "wg128x128s3",
                "wg64x256s4", "wg256x128s3"]
# PERFORMANCE.md B rows: (E, k, H, N), T = 4096.
MOE_ROWS = [("Mixtral up", (8, 2, 4096, 28672)), ("Mixtral down", (8, 2, 14336, 4096)),
            ("Qwen3-30B-A3B up", (128, 8, 2048, 1536)), ("Qwen3-30B-A3B down", (128, 8, 768, 2048))]
TILE_TAGS = ["t64x64x32w4", "t128x64x64w8", "t256x64x32w8", "wg128x64s4", "wg256x64s3",
             "wg128x64s3", "wg64x64s3w4"]


def timing(case, egs_fn, torch_fn, flops=None, bytes_=None, out_mib=None):
    e, how = gpu_time_us(egs_fn)
    t, _ = gpu_time_us(torch_fn) if torch_fn else (float("nan"), "")
    pk = peak_mib(torch_fn) if torch_fn else float("nan")
    ROWS.append((case, e, t, flops, bytes_, how, pk, out_mib))


def run_timings():
    if os.environ.get("EGS_CHECK_SWEEP"):
        return ragged_timings()
    if os.environ.get("EGS_CHECK_WG_LAYER") is not None:
        shape_check_cost()
        return weight_grad_layer_timings()
    if os.environ.get("EGS_CHECK_WEIGHT_GRAD") or os.environ.get("EGS_CHECK_TRANSPOSED"):
        # The training path's rows: dW and/or transposed vs untransposed weights.
        if os.environ.get("EGS_CHECK_WEIGHT_GRAD"):
            weight_grad_timings()
        if os.environ.get("EGS_CHECK_TRANSPOSED"):
            transposed_timings()
        return
    B, T, E, K, I, J = 64, 256, 32, 32, 128, 64
    bidx = torch.arange(B, device=DEV)[:, None, None]
    for dt in ["bf16", "f32"]:
        x, w = rand((B, T, I), dt), rand((E, I, J), dt, 0.1)
        ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
        y = torch.empty((B, E, K, J), device=DEV, dtype=DTYPES[dt])
        indl = ind.long()
        timing(f"gather_matmul {dt} seed", lambda: call(f"gm_b_{dt}_{dt}", x, ind, w, y),
               lambda: torch.einsum("beki,eij->bekj", x[bidx, indl], w),
               2 * B * E * K * I * J, (B * E * K * (I + J)) * x.element_size() + ind.numel() * 4,
               y.numel() * y.element_size() / 2 ** 20)
        if dt == "bf16":
            timing("gather_matmul bf16 seed, static E I J (as from Python)",
                   lambda: call(f"gm_s_{E}_{I}_{J}", x, ind, w, y), None,
                   2 * B * E * K * I * J, (B * E * K * (I + J)) * 2 + ind.numel() * 4)
        if dt == "bf16":
            for tag in TILE_TAGS:
                timing(f"gather_matmul bf16 seed, tile {tag}", lambda tag=tag: call(f"gm_b_bf16_bf16_{tag}", x, ind, w, y),
                       None, 2 * B * E * K * I * J, (B * E * K * (I + J)) * 2 + ind.numel() * 4)
    if os.environ.get("EGS_CHECK_SEED"):
        return  # the seed gather rows only
    yv, w2 = rand((B, E, K, J), "bf16"), rand((E, J, I), "bf16", 0.1)
    ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
    init = rand((B, T, I), "bf16")
    flat = (ind.long() + bidx * T).reshape(-1)

    def torch_ms():
        out = init.clone()
        t = torch.einsum("bekj,eji->beki", yv, w2)
        out.view(B * T, I).index_add_(0, flat, t.reshape(-1, I))
        return out
    timing("matmul_scatter bf16 seed", lambda: call("ms_b_bf16_bf16", yv, ind, w2, init), torch_ms,
           2 * B * E * K * I * J, (B * E * K * J + 2 * B * T * I) * 2 + ind.numel() * 4, init.numel() * 2 / 2 ** 20)
    init32 = rand((B, T, I), "f32")
    for tag in [""] + TILE_TAGS:
        fn = "ms_b_bf16_f32" + (f"_{tag}" if tag else "")
        timing(f"matmul_scatter bf16, f32 init seed{', tile ' + tag if tag else ''}",
               lambda fn=fn: call(fn, yv, ind, w2, init32), None, 2 * B * E * K * I * J, None)
    s = torch.rand((B, E, K), device=DEV)
    timing("matmul_scatter bf16 seed, deterministic", lambda: call("ms_b_bf16_bf16_det_s", yv, ind, w2, init, s), None,
           2 * B * E * K * I * J, None)
    # unpermute (PERFORMANCE.md C): T=16384, k=4, H=2048
    Tu, k, H = 16384, 4, 2048
    xs = rand((Tu * k, H), "bf16")
    rid = torch.randperm(Tu * k, device=DEV).to(torch.int32)
    p = torch.rand((Tu, k), device=DEV)
    out = torch.empty((Tu, H), device=DEV, dtype=torch.bfloat16)
    ridl = rid.view(k, Tu).t().long()

    def torch_unpermute():
        return (xs[ridl].float() * p[..., None]).sum(1).to(torch.bfloat16)
    timing("unpermute bf16 T16384 k4 H2048", lambda: call("unpermute_k4_bf16", xs, rid, p, out), torch_unpermute,
           None, (Tu * k * H + Tu * H) * 2)
    # permute / route (E = 8): argsort + index in PyTorch.
    xp = rand((Tu, H), "bf16")
    ids = torch.randint(0, 8, (Tu, k), device=DEV, dtype=torch.int32)
    xsp = torch.empty((Tu * k, H), device=DEV, dtype=torch.bfloat16)
    ridp = torch.empty((Tu * k,), device=DEV, dtype=torch.int32)
    offp = torch.empty((9,), device=DEV, dtype=torch.int32)
    rows_ = torch.empty((Tu * k,), device=DEV, dtype=torch.int32)

    def torch_permute():
        order = torch.sort(ids.reshape(-1), stable=True).indices
        return xp[order // k]
    timing("permute bf16 T16384 k4 H2048 E8", lambda: call("permute_e8", xp, ids, xsp, ridp, offp), torch_permute,
           None, (2 * Tu * k * H) * 2)
    timing("route T16384 k4 E8", lambda: call("route_e8", ids, rows_, offp, ridp), None, None, None)
    ragged_timings()
    weight_grad_timings()


def moe_row_case(E, k, H, N, T):
    """Random top-k routing of T tokens and the ragged gather_matmul operands
    (x [T,H], rows, w [E,H,N], offsets, y [T*k,N]) of one token-choice row."""
    ids = torch.stack([torch.randperm(E, device=DEV)[:k] for _ in range(T)]).to(torch.int32)
    rows, off, _ = reference.route(ids, E)
    x, w = rand((T, H), "bf16"), rand((E, H, N), "bf16", 0.02)
    y = torch.empty((T * k, N), device=DEV, dtype=torch.bfloat16)
    return x, rows, w, off, y


def ragged_timings():
    """Token-choice grouped GEMM rows (PERFORMANCE.md B), tokens read in place."""
    for name, (E2, k2, H2, N2) in MOE_ROWS:
        T2 = 4096
        x2, rows, w3, off, y2 = moe_row_case(E2, k2, H2, N2, T2)
        offs_end = off[1:].contiguous()
        rowsl = rows.long()
        tf = None
        if hasattr(torch, "_grouped_mm"):
            def tf():
                return torch._grouped_mm(x2[rowsl], w3, offs=offs_end)
        timing(f"ragged gather_matmul bf16 {name} T4096", lambda: call("gm_r_bf16", x2, rows, w3, off, y2), tf,
               2 * T2 * k2 * H2 * N2, None)
        tiles = os.environ.get("EGS_CHECK_TILES")
        for tag in RAGGED_TILES if tiles is None else [t for t in tiles.split(",") if t]:
            timing(f"ragged gather_matmul bf16 {name} T4096, tile {tag}",
                   lambda tag=tag: call(f"gm_r_bf16_{tag}", x2, rows, w3, off, y2), None, 2 * T2 * k2 * H2 * N2, None)
        del w3


def profile_one():
    """One call of one token-choice row, of the bf16 seed gather, or of a dW
    layer row and then torch._grouped_mm's same dW (EGS_CHECK_PROFILE=
    "NAME[:TILE]", NAME a MOE_ROWS name, "seed" or wgl_{up,down}_ROW), for
    ncu; the profiled calls run inside the NVTX range "prof"."""
    name, _, tag = os.environ["EGS_CHECK_PROFILE"].partition(":")
    suffix = f"_{tag}" if tag else ""
    if name.startswith("wgl_"):  # a dW layer row (wgl_up_mixtral...), then torch's
        side, row = name[4:].split("_")
        E, k, H, F = WEIGHT_GRAD_LAYER_ROWS[row]
        T = 4096
        ids = torch.stack([torch.randperm(E, device=DEV)[:k] for _ in range(T)]).to(torch.int32)
        rows, off, _ = reference.route(ids, E)
        R, offs_end = T * k, off[1:].contiguous()
        if side == "up":
            x, dy = rand((T, H), "bf16"), rand((R, 2 * F), "bf16")
            dw = torch.empty((E, H, 2 * F), device=DEV, dtype=torch.bfloat16)
            xs = x[rows.long()]
            torch.cuda.nvtx.range_push("prof")
            call(name + suffix, x, rows, dy, off, dw)
            torch._grouped_mm(xs.t(), dy, offs=offs_end)
        else:
            a, dout, s = rand((R, F), "bf16"), rand((T, H), "bf16"), torch.rand((R,), device=DEV)
            dw = torch.empty((E, F, H), device=DEV, dtype=torch.bfloat16)
            a_s, dg = (a * s[:, None].to(a.dtype)).t(), dout[rows.long()]
            torch.cuda.nvtx.range_push("prof")
            call(name + suffix, a, dout, rows, off, s, dw)
            torch._grouped_mm(a_s, dg, offs=offs_end)
        torch.cuda.nvtx.range_pop()
    elif name == "seed":
        B, T, E, K, I, J = 64, 256, 32, 32, 128, 64
        x, w = rand((B, T, I), "bf16"), rand((E, I, J), "bf16", 0.1)
        ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
        y = torch.empty((B, E, K, J), device=DEV, dtype=torch.bfloat16)
        call((f"gm_b_bf16_bf16_{tag}" if tag else f"gm_s_{E}_{I}_{J}"), x, ind, w, y)
    else:
        x2, rows, w3, off, y2 = moe_row_case(*dict(MOE_ROWS)[name], 4096)
        call("gm_r_bf16" + suffix, x2, rows, w3, off, y2)
    torch.cuda.synchronize()


def main():
    if os.environ.get("EGS_CHECK_PROFILE"):
        return profile_one()
    print(f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}", flush=True)
    parts = [check_gather_matmul, check_ragged, check_matmul_scatter, check_routing, check_data_movement,
             check_strategies, check_weight_grad, check_transposed]
    if os.environ.get("EGS_CHECK_WEIGHT_GRAD") and not os.environ.get("EGS_CHECK_ALL"):
        parts = [check_weight_grad]  # then the dW timing rows only (EGS_CHECK_ALL: every check)
    if os.environ.get("EGS_CHECK_WG_LAYER") is not None:
        parts = []  # the dW layer rows check themselves before timing
    if os.environ.get("EGS_CHECK_SWEEP"):
        # Tile sweep: the strategy checks, then the token-choice timing rows only.
        parts = [check_ragged, check_strategies]
    if os.environ.get("EGS_CHECK_SEED"):
        parts = [check_gather_matmul, check_strategies]  # then the seed gather timings
    if os.environ.get("EGS_CHECK_TRANSPOSED") and not os.environ.get("EGS_CHECK_ALL"):
        parts = [check_transposed]  # then transposed vs untransposed timings
    for part in parts:
        try:
            part()
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            RESULTS.append((part.__name__, False))
    failed = [n for n, ok in RESULTS if not ok]
    print(f"\ncorrectness: {len(RESULTS) - len(failed)} of {len(RESULTS)} passed", flush=True)
    if os.environ.get("EGS_CHECK_NO_TIMINGS"):  # e.g. under compute-sanitizer
        return 1 if failed else 0
    try:
        run_timings()
    except Exception:  # noqa: BLE001
        traceback.print_exc()
    print("\n| case | egs GPU us | torch eager GPU us | speedup | egs TFLOP/s | egs GB/s | torch peak MiB | out MiB | timing |")
    print("|---|---|---|---|---|---|---|---|---|")
    for case, e, t, flops, bytes_, how, pk, out_mib in ROWS:
        tf = f"{flops / e / 1e6:.1f}" if flops else "-"
        gb = f"{bytes_ / e / 1e3:.0f}" if bytes_ else "-"
        sp = f"{t / e:.2f}x" if t == t else "-"
        om = f"{out_mib:.1f}" if out_mib else "-"
        print(f"| {case} | {e:.1f} | {t:.1f} | {sp} | {tf} | {gb} | {pk:.1f} | {om} | {how} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
