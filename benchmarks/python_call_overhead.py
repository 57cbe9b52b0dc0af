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


if __name__ == "__main__":
    main()
