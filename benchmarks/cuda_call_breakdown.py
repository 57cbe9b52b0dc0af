#!/usr/bin/env python3
"""Where the host time of one cached egs call on CUDA tensors goes.

Seed shape (B=64 T=256 E=32 K=32 I=128 J=64, bf16). Each line is the host
time per call of one piece, averaged over a burst of calls (one sync at the
end), so that the parts can be compared with the whole call and with torch's
own one-kernel ops on the same host (hosts drift: compare within one run).
The whole call is timed with each replay: egs._egs_torch (torch's C++ API)
and egs._egs.Dispatcher (Python attribute reads and torch.empty); the pieces
are those of the second.

    PYTHONPATH=<dir holding egs> python3 benchmarks/host_breakdown.py
"""
import statistics
import time

import torch

import egs
from egs import _kernels


def host_us(f, n=2000, rounds=5):
    """Median over rounds of the mean host time per call in a burst."""
    for _ in range(50):
        f()
    torch.cuda.synchronize()
    means = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            f()
        means.append((time.perf_counter() - t) / n * 1e6)
        torch.cuda.synchronize()
    return statistics.median(means)


def main():
    B, T, E, K, I, J = 64, 256, 32, 32, 128, 64
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(B, T, I, device="cuda", generator=g).bfloat16()
    ind = torch.randint(0, T, (B, E, K), device="cuda", generator=g, dtype=torch.int32)
    w = torch.randn(E, I, J, device="cuda", generator=g).bfloat16()
    shape = (B, E, K, J)
    y = egs.gather_matmul(x, ind, w)
    torch.cuda.synchronize()
    exe, fn = next(iter(_kernels._kernels.values()))
    args = (x, ind, w, y)
    bound = exe.bind(fn, args, 0)
    ptrs = [a.data_ptr() for a in args]
    raw_stream = torch._C._cuda_getCurrentRawStream
    stream = raw_stream(0)
    sig_tensors = (x, ind, w)

    def signature():
        return tuple((t.dtype, t.device, t.shape, t.is_contiguous()) for t in sig_tensors)

    table = {}
    d_sig = {signature(): 1}
    call = lambda: egs.gather_matmul(x, ind, w)  # noqa: E731
    for replay in ("torch", "python"):
        _kernels.use_torch_extension(replay == "torch")
        call()
        if egs.cache_info()["replay"] == replay:
            table[replay] = host_us(call)
    rows = [
        ("  Python: signature of 3 tensors + dict", lambda: d_sig.get(signature())),
        ("  torch.empty of the output", lambda: torch.empty(shape, dtype=x.dtype, device=x.device)),
        ("  4x data_ptr()", lambda: [a.data_ptr() for a in args]),
        ("  current raw stream", lambda: raw_stream(0)),
        ("  BoundCall.run (launch, pointers given)", lambda: bound.run(stream, *ptrs)),
        ("torch y.zero_() (one launch)", lambda: y.zero_()),
        ("torch.empty + zero_ (alloc + one launch)",
         lambda: torch.empty(shape, dtype=x.dtype, device=x.device).zero_()),
        ("torch.cuda._sleep(0) (bare launch)", lambda: torch.cuda._sleep(0)),
    ]
    print(f"torch {torch.__version__}; {torch.cuda.get_device_name()}")
    for replay in ("torch", "python"):
        if replay in table:
            print(f"{'egs.gather_matmul, replay by ' + replay:44s} {table[replay]:7.2f} us/call")
        else:
            print(f"egs.gather_matmul, replay by {replay}: not available "
                  f"({_kernels.torch_extension_note})")
    for name, f in rows:
        table[name] = host_us(f)
        print(f"{name:44s} {table[name]:7.2f} us/call")


if __name__ == "__main__":
    main()
