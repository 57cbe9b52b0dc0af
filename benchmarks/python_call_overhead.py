#!/usr/bin/env python3
"""Per-call host overhead of egs.gather_matmul from Python (CPU).

Seed shape B=64 T=256 E=32 K=32 I=128 J=64 f32: first call (compile + run),
cached call, and the kernel alone through the extension (Executable.run with
preallocated output); the difference is the Python layer (checks, cache
lookup, output allocation). A tiny shape shows the fixed cost.

    EGS_BUILD=build python3 benchmarks/python_call_overhead.py
"""
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.environ.get("EGS_BUILD", "build"), "python_packages"))
os.environ.setdefault("EGS_CACHE_DIR", tempfile.mkdtemp(prefix="egs-bench-"))
import egs  # noqa: E402
from egs import _kernels  # noqa: E402


def median_us(f, n):
    f()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)) * 1e6


def measure(name, x, ind, w, n, wrap=lambda a: a):
    xs, inds, ws = wrap(x), wrap(ind), wrap(w)
    _kernels.clear_cache()
    t = time.perf_counter()
    egs.gather_matmul(xs, inds, ws)
    first = (time.perf_counter() - t) * 1e3
    cached = median_us(lambda: egs.gather_matmul(xs, inds, ws), n)
    exe, fn = next(iter(_kernels._kernels.values()))
    y = wrap(np.empty(ind.shape + (w.shape[2],), np.float32))
    kernel = median_us(lambda: exe.run(fn, (xs, inds, ws, y)), n)
    print(f"{name:28s} first {first:8.1f} ms   cached {cached:9.1f} us   "
          f"kernel only {kernel:9.1f} us   python layer {cached - kernel:6.1f} us")


def main():
    rng = np.random.default_rng(0)
    B, T, E, K, I, J = 64, 256, 32, 32, 128, 64
    x = rng.standard_normal((B, T, I), dtype=np.float32)
    ind = rng.integers(0, T, (B, E, K)).astype(np.int32)
    w = rng.standard_normal((E, I, J), dtype=np.float32)
    tiny = (x[:1, :8].copy(), (ind[:1, :, :1] % 8).astype(np.int32), w)
    print(f"host CPU {egs._egs.host_cpu_name()}")
    measure("numpy seed shape", x, ind, w, 30)
    measure("numpy tiny (B=1,T=8,K=1)", *tiny, 3000)
    try:
        import torch
    except ImportError:
        return
    measure("torch seed shape", x, ind, w, 30, torch.from_numpy)
    measure("torch tiny (B=1,T=8,K=1)", *tiny, 3000, wrap=torch.from_numpy)
    if torch.cuda.is_available() and egs.target_available("cuda")[0]:
        cuda(torch, x, ind, w)


def cuda(torch, x, ind, w):
    """Host time per call (enqueue only, averaged over a burst, one sync at
    the end) and GPU time per call (CUDA events), against torch's eager
    gather + einsum."""
    xs, inds, ws = (torch.from_numpy(a).cuda() for a in (x, ind, w))

    def per_call(f, n=200):
        f()
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        t = time.perf_counter()
        start.record()
        for _ in range(n):
            f()
        end.record()
        host = (time.perf_counter() - t) / n * 1e6
        torch.cuda.synchronize()
        return host, start.elapsed_time(end) / n * 1e3

    _kernels.clear_cache()
    t = time.perf_counter()
    egs.gather_matmul(xs, inds, ws)
    torch.cuda.synchronize()
    first = (time.perf_counter() - t) * 1e3
    exe, fn = next(iter(_kernels._kernels.values()))
    y = torch.empty(tuple(ind.shape) + (w.shape[2],), device="cuda")
    stream = torch.cuda.current_stream().cuda_stream

    def kernel_only():
        exe.run(fn, (xs, inds, ws, y), stream)

    shape = tuple(ind.shape) + (w.shape[2],)

    b = torch.arange(xs.shape[0], device="cuda")[:, None, None]
    ref = lambda: torch.einsum("beki,eij->bekj", xs[b, inds.long()], ws)  # noqa: E731
    err = (egs.gather_matmul(xs, inds, ws) - ref()).abs().max().item()
    for name, f in (("egs.gather_matmul", lambda: egs.gather_matmul(xs, inds, ws)),
                    ("  Executable.run (tensors read per call)", kernel_only),
                    ("  torch.empty of the output", lambda: torch.empty(shape, dtype=xs.dtype, device=xs.device)),
                    ("torch y.zero_() (one launch)", lambda: y.zero_()),
                    ("torch gather+einsum", ref)):
        host, gpu = per_call(f)
        print(f"cuda {name:24s} host {host:7.1f} us/call   gpu {gpu:8.1f} us/call")
    print(f"cuda first call (compile + run) {first:.0f} ms; max |egs - torch| = {err:.2e}")
    xh, wh = xs.bfloat16(), ws.bfloat16()
    egs.gather_matmul(xh, inds, wh)
    host, gpu = per_call(lambda: egs.gather_matmul(xh, inds, wh))
    print(f"cuda egs.gather_matmul bf16   host {host:7.1f} us/call   gpu {gpu:8.1f} us/call")
    xb, ib = xs.repeat(8, 1, 1), inds.repeat(8, 1, 1)
    host, gpu = per_call(lambda: egs.gather_matmul(xb, ib, ws), 50)
    print(f"cuda B={xb.shape[0]}: host {host:.1f} us/call, gpu {gpu:.1f} us/call "
          "(host below gpu: calls return before the kernels finish)")


if __name__ == "__main__":
    main()
