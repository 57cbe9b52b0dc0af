#!/usr/bin/env python3
"""egs vs its peers on one GPU, in one process (GPU time by CUDA-graph replay, outputs checked first).

For every case: check each provider against a float64 reference on random data
(outputs poisoned first), then time it. GPU time = median over replays of a
CUDA graph holding 20 calls; eager time = median of 50 single calls between
events. Peak memory = allocator peak above the inputs. Writes JSON lines:

  {"case", "shape", "dtype", "peer", "gpu_us", "eager_us", "gbps", "tflops",
   "peak_mib", "out_mib", "rel_err", "note"}

Usage: bench_moe.py [--out results.jsonl] [--quick] [--only A,B,C,ceil]
Providers that are not installed (egs without CUDA, Triton kernels) are
skipped with a note, never silently.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

import triton_peers

# egs's float64 reference (pure Python: loads without a built egs).
sys.path.append(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python", "egs"))
import _reference as reference  # noqa: E402

DEV = "cuda"


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------

def gpu_time_us(fn, calls=20, replays=10):
    """Median GPU time per call from CUDA-graph replay (launch gaps removed)."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    try:
        with torch.cuda.graph(g):
            for _ in range(calls):
                fn()
    except Exception as e:  # not capturable (host sync inside): fall back
        return eager_time_us(fn, reps=20), f"not graph-capturable ({type(e).__name__})"
    times = []
    for _ in range(replays):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        g.replay()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1000.0 / calls)
    return statistics.median(times), ""


def eager_time_us(fn, reps=50):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1000.0)
    return statistics.median(times)


def peak_mib(fn):
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    out = fn()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - base
    del out
    return peak / 2**20


def rel_err(out, ref):
    out = out.double()
    if not torch.isfinite(out).all():
        return float("nan")
    return (torch.linalg.vector_norm(out - ref) / torch.linalg.vector_norm(ref)).item()


# --------------------------------------------------------------------------
# Providers
# --------------------------------------------------------------------------

def try_import_egs():
    try:
        import egs  # noqa: F401
    except Exception as e:  # not built/installed here
        return None, f"egs not importable: {e}"
    try:
        if not egs.cuda_available():
            return None, "egs built without a usable CUDA target"
    except AttributeError:
        pass
    return egs, ""


EGS, EGS_NOTE = None, ""


def torch_gather_matmul(x, ind, w):
    # x [B,T,I], ind [B,E,K], w [E,I,J] -> gather + einsum (PyTorch eager)
    B, E, K = ind.shape
    xg = torch.gather(x, 1, ind.reshape(B, E * K, 1).expand(-1, -1, x.shape[2]).long())
    return torch.einsum("beki,eij->bekj", xg.reshape(B, E, K, -1), w)


def torch_matmul_scatter(y, ind, w, init):
    B, E, K, J = y.shape
    z = torch.einsum("bekj,eji->beki", y, w).reshape(B, E * K, -1)
    return init.index_add(1, ind.reshape(-1).long(), z.reshape(B * E * K, -1)) if B == 1 else \
        init.scatter_add(1, ind.reshape(B, E * K, 1).expand(-1, -1, z.shape[2]).long(), z)


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

def emit(out, rec):
    print(json.dumps(rec), file=out, flush=True)


def record(case, shape, dtype, peer, fn, ref, nbytes, flops, out_bytes, note=""):
    try:
        return measure(case, shape, dtype, peer, fn, ref, nbytes, flops, out_bytes, note)
    except Exception as e:  # one broken provider must not end the run
        return {"case": case, "shape": shape, "dtype": str(dtype), "peer": peer,
                "note": f"error: {type(e).__name__}: {str(e)[:300]}"}


def measure(case, shape, dtype, peer, fn, ref, nbytes, flops, out_bytes, note):
    res = fn()
    err = rel_err(res, ref) if ref is not None else float("nan")
    g, gnote = gpu_time_us(fn)
    e = eager_time_us(fn)
    pk = peak_mib(fn)
    return {
        "case": case, "shape": shape, "dtype": str(dtype).replace("torch.", ""),
        "peer": peer, "gpu_us": round(g, 2), "eager_us": round(e, 2),
        "gbps": round(nbytes / (g * 1e-6) / 1e9, 1) if g > 0 else None,
        "tflops": round(flops / (g * 1e-6) / 1e12, 2) if (g > 0 and flops) else None,
        "peak_mib": round(pk, 2), "out_mib": round(out_bytes / 2**20, 2),
        "rel_err": err, "note": "; ".join(n for n in (note, gnote) if n),
    }


def expert_choice(out, B=64, T=256, E=32, K=32, I=128, J=64, dtype=torch.bfloat16, case="A"):
    shape = dict(B=B, T=T, E=E, K=K, I=I, J=J)
    x = torch.randn(B, T, I, device=DEV, dtype=dtype)
    ind = torch.randint(0, T, (B, E, K), device=DEV, dtype=torch.int32)
    w = torch.randn(E, I, J, device=DEV, dtype=dtype) / math.sqrt(I)
    ref = reference.gather_matmul(x, ind, w)
    esz = x.element_size()
    nbytes = (B * E * K * I + E * I * J + B * E * K * J) * esz + ind.numel() * 4
    flops = 2 * B * E * K * I * J
    outb = B * E * K * J * esz
    emit(out, record(f"{case}.gather_matmul", shape, dtype, "torch-eager",
                     lambda: torch_gather_matmul(x, ind, w), ref, nbytes, flops, outb))
    if triton_peers.available():
        emit(out, record(f"{case}.gather_matmul", shape, dtype, "triton (egs design, ours)",
                         lambda: triton_peers.gather_matmul(x, ind, w), ref, nbytes, flops, outb))
    else:
        emit(out, {"case": f"{case}.gather_matmul", "shape": shape,
                   "peer": "triton (egs design, ours)", "note": "skipped: triton not installed"})
    if EGS:
        emit(out, record(f"{case}.gather_matmul", shape, dtype, "egs",
                         lambda: EGS.gather_matmul(x, ind, w), ref, nbytes, flops, outb))
    else:
        emit(out, {"case": f"{case}.gather_matmul", "shape": shape, "peer": "egs",
                   "note": "skipped: " + EGS_NOTE})
    # matmul_scatter: y [B,E,K,J] @ w2 [E,J,I] scattered into [B,T,I]
    y = torch.randn(B, E, K, J, device=DEV, dtype=dtype)
    w2 = torch.randn(E, J, I, device=DEV, dtype=dtype) / math.sqrt(J)
    init = torch.zeros(B, T, I, device=DEV, dtype=dtype)
    ref2 = reference.matmul_scatter(y, ind, w2, init)
    nbytes2 = (B * E * K * J + E * J * I + B * T * I) * esz + ind.numel() * 4
    emit(out, record(f"{case}.matmul_scatter", shape, dtype, "torch-eager",
                     lambda: torch_matmul_scatter(y, ind, w2, init), ref2, nbytes2, flops,
                     B * T * I * esz))
    if EGS:
        emit(out, record(f"{case}.matmul_scatter", shape, dtype, "egs",
                         lambda: EGS.matmul_scatter(y, ind, w2, init=init), ref2, nbytes2,
                         flops, B * T * I * esz))


TOKEN_CHOICE = [
    ("mixtral-up", 8, 2, 4096, 28672),
    ("mixtral-down", 8, 2, 14336, 4096),
    ("qwen3-up", 128, 8, 2048, 1536),
    ("qwen3-down", 128, 8, 768, 2048),
    ("deepseek-up", 32, 8, 7168, 4096),
    ("gptoss-up", 128, 4, 2880, 5760),
]


def route_torch(topk, E):
    T, k = topk.shape
    flat = topk.reshape(-1)
    order = torch.argsort(flat, stable=True)
    rows = (order // k).to(torch.int32)
    counts = torch.bincount(flat, minlength=E)
    offs = torch.zeros(E + 1, device=DEV, dtype=torch.int32)
    offs[1:] = torch.cumsum(counts, 0)
    return rows, offs


def token_choice(out, name, E, k, H, N, T=4096, dtype=torch.bfloat16):
    shape = dict(T=T, E=E, k=k, H=H, N=N)
    x = torch.randn(T, H, device=DEV, dtype=dtype)
    topk = torch.stack([torch.randperm(E, device=DEV)[:k] for _ in range(T)]).to(torch.int64)
    w = torch.randn(E, H, N, device=DEV, dtype=dtype) / math.sqrt(H)
    rows, offs = route_torch(topk, E)
    R = T * k
    flops = 2 * R * H * N
    esz = x.element_size()
    nbytes = (R * H + E * H * N + R * N) * esz
    xs = x[rows.long()]
    offs_int = offs[1:].to(torch.int32)
    ref = None
    if R * N <= 64 * 2**20:  # f64 reference only where it fits comfortably
        ref = reference.gather_matmul(x, rows, w, offsets=offs)
    recs = []
    if hasattr(torch, "_grouped_mm"):
        wt = w  # [E,H,N]
        recs.append(record("B.grouped", shape, dtype, "torch._grouped_mm",
                           lambda: torch._grouped_mm(xs, wt, offs=offs_int), ref, nbytes, flops,
                           R * N * esz))
        recs.append(record("B.grouped", shape, dtype, "permute+torch._grouped_mm",
                           lambda: torch._grouped_mm(x[rows.long()], wt, offs=offs_int), ref,
                           nbytes, flops, R * N * esz))
    dense_a = torch.randn(R, H, device=DEV, dtype=dtype)
    dense_b = torch.randn(H, N, device=DEV, dtype=dtype)
    recs.append(record("B.grouped", shape, dtype, "dense-gemm-same-flops",
                       lambda: dense_a @ dense_b, None, nbytes, flops, R * N * esz))
    if EGS:
        recs.append(record("B.grouped", shape, dtype, "egs",
                           lambda: EGS.gather_matmul(x, rows, w, expert_offsets=offs), ref,
                           nbytes, flops, R * N * esz))
    else:
        recs.append({"case": "B.grouped", "shape": shape, "peer": "egs",
                     "note": "skipped: " + EGS_NOTE})
    recs.append({"case": "B.grouped", "shape": shape, "peer": "ScatterMoE",
                 "note": "skipped: not installed on this machine"})
    for r in recs:
        r["name"] = name
        emit(out, r)


def permute_cases(out, T=4096, E=8, k=2, H=4096, dtype=torch.bfloat16):
    shape = dict(T=T, E=E, k=k, H=H)
    x = torch.randn(T, H, device=DEV, dtype=dtype)
    topk = torch.stack([torch.randperm(E, device=DEV)[:k] for _ in range(T)]).to(torch.int64)
    probs = torch.rand(T, k, device=DEV, dtype=torch.float32)
    esz = x.element_size()

    def torch_permute():
        order = torch.argsort(topk.reshape(-1), stable=True)
        return x[order // k]

    rows, _ = route_torch(topk, E)
    xs = x[rows.long()]
    inv = torch.empty(T * k, dtype=torch.int64, device=DEV)
    inv[torch.argsort(topk.reshape(-1), stable=True)] = torch.arange(T * k, device=DEV)
    row_id_map = inv.reshape(T, k).t().contiguous().reshape(-1)  # [k*T]

    def torch_unpermute():
        g = xs[row_id_map.reshape(k, T).t()]  # [T,k,H]
        return (g.float() * probs.unsqueeze(-1)).sum(1).to(dtype)

    ref_p = reference.permute(x, topk, E)[0]
    ref_u = reference.unpermute(xs, row_id_map, probs)
    nb = 2 * T * k * H * esz
    emit(out, record("C.permute", shape, dtype, "torch", torch_permute, ref_p, nb, 0, nb / 2))
    emit(out, record("C.unpermute", shape, dtype, "torch", torch_unpermute, ref_u,
                     (T * k * H + T * H) * esz, 0, T * H * esz))
    if EGS:
        emit(out, record("C.permute", shape, dtype, "egs",
                         lambda: EGS.permute(x, topk.to(torch.int32), E)[0], ref_p, nb, 0, nb / 2))
        emit(out, record("C.unpermute", shape, dtype, "egs",
                         lambda: EGS.unpermute(xs, row_id_map.to(torch.int32), probs), ref_u,
                         (T * k * H + T * H) * esz, 0, T * H * esz))


def ceilings(out):
    a = torch.empty(2**28, device=DEV, dtype=torch.uint8)
    b = torch.empty_like(a)
    g, _ = gpu_time_us(lambda: b.copy_(a), calls=10)
    emit(out, {"case": "ceiling.copy", "peer": "torch", "gpu_us": g,
               "gbps": round(2 * a.numel() / (g * 1e-6) / 1e9, 1)})
    n = 8192
    x = torch.randn(n, n, device=DEV, dtype=torch.bfloat16)
    y = torch.randn(n, n, device=DEV, dtype=torch.bfloat16)
    g, _ = gpu_time_us(lambda: x @ y, calls=5)
    emit(out, {"case": "ceiling.gemm", "peer": "torch", "gpu_us": g,
               "tflops": round(2 * n**3 / (g * 1e-6) / 1e12, 1)})


def main():
    global EGS, EGS_NOTE
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="-")
    ap.add_argument("--quick", action="store_true", help="seed shapes only, no sweeps")
    ap.add_argument("--only", default="ceil,A,B,C")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("bench_moe.py: no CUDA device; nothing to measure", file=sys.stderr)
        return 2
    EGS, EGS_NOTE = try_import_egs()
    out = sys.stdout if args.out == "-" else open(args.out, "a")
    only = set(args.only.split(","))
    torch.manual_seed(0)
    emit(out, {"case": "meta", "device": torch.cuda.get_device_name(),
               "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")})
    if "ceil" in only:
        ceilings(out)
    if "A" in only:
        expert_choice(out)
        expert_choice(out, dtype=torch.float32)
        if not args.quick:
            for T in (1024, 4096):
                expert_choice(out, T=T, case="A.sweepT")
            for E in (8, 128):
                expert_choice(out, E=E, case="A.sweepE")
            expert_choice(out, B=256, case="A.sweepB")
            for I in (512, 2048):
                expert_choice(out, I=I, case="A.sweepI")
    if "B" in only:
        for name, E, k, H, N in TOKEN_CHOICE:
            token_choice(out, name, E, k, H, N)
        token_choice(out, "qwen3-up-decode", 128, 8, 2048, 1536, T=64)
    if "C" in only:
        permute_cases(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
