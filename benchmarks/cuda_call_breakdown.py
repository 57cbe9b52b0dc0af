#!/usr/bin/env python3
"""Where the host time of one cached CUDA egs call goes (H100 host):
the extension call with torch tensors (Python attribute reads in C++) vs
with (data_ptr, shape, strides) tuples read ahead vs bound to the shapes
(data pointers only, what a repeated egs call does), and torch's own launch.

    PYTHONPATH=/tmp/egs-pkg python3 benchmarks/cuda_call_breakdown.py
"""
import time

import torch

import egs
from egs import _kernels


def per_call(f, n=2000):
    f()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n):
        f()
    host = (time.perf_counter() - t) / n * 1e6
    torch.cuda.synchronize()
    return host


def main():
    B, T, E, K, I, J = 1, 16, 32, 1, 128, 64  # tiny: the host cost alone
    x = torch.randn(B, T, I, device="cuda", dtype=torch.bfloat16)
    ind = torch.randint(0, T, (B, E, K), device="cuda", dtype=torch.int32)
    w = torch.randn(E, I, J, device="cuda", dtype=torch.bfloat16)
    y = torch.empty(B, E, K, J, device="cuda", dtype=torch.bfloat16)
    egs.gather_matmul(x, ind, w)
    exe, fn = next(iter(_kernels._kernels.values()))
    stream = torch.cuda.current_stream().cuda_stream
    args = (x, ind, w, y)
    tuples = tuple((t.data_ptr(), tuple(t.shape), tuple(t.stride())) for t in args)
    bound = exe.bind(fn, args)
    rows = [
        ("egs.gather_matmul (checks + empty + run)", lambda: egs.gather_matmul(x, ind, w)),
        ("Executable.run, torch tensors", lambda: exe.run(fn, args, stream)),
        ("Executable.run, tuples read ahead", lambda: exe.run(fn, tuples, stream)),
        ("BoundCall.run, data pointers", lambda: bound.run(stream, *[t.data_ptr() for t in args])),
        ("torch y.zero_() (one launch)", lambda: y.zero_()),
        ("torch.empty", lambda: torch.empty(B, E, K, J, device="cuda", dtype=torch.bfloat16)),
    ]
    for name, f in rows:
        print(f"{name:42s} {per_call(f):7.2f} us/call")


if __name__ == "__main__":
    main()
