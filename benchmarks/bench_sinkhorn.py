#!/usr/bin/env python3
"""egs.sinkhorn vs a torch reference (Megatron-LM's loop: exp, then per
iteration two sums, two divisions and the convergence test read back to the
host) at T=4096, E in {8, 64, 256}, f32, CUDA. Outputs compared first
(the torch loop runs the same max-subtracted formula and stops at the same
iteration); then median time per call over CUDA events.

  bench_sinkhorn.py [--iterations N] [--tolerance TOL] [--out FILE.md]
"""
import argparse
import os
import statistics
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.environ.get("EGS_BUILD", os.path.join(os.path.dirname(HERE), "build")),
                                "python_packages"))


def torch_sinkhorn(logits, iterations, tol):
    K = torch.exp(logits - logits.max(dim=1, keepdim=True).values)
    T, E = K.shape
    c = torch.ones(E, device=K.device)
    for _ in range(iterations):
        r = (1.0 / T) / (K @ c + 1e-8)
        cn = (1.0 / E) / (r @ K + 1e-8)
        delta = (cn - c).abs().mean()
        c = cn
        if delta.item() <= tol:  # the host sync of the reference
            break
    return r[:, None] * K * c[None, :]


def median_ms(fn, reps=30):
    fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b))
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--out")
    a = ap.parse_args()
    import egs
    lines = [f"# egs.sinkhorn vs torch reference, {torch.cuda.get_device_name()}, f32, "
             f"iterations <= {a.iterations}, tolerance {a.tolerance}", "",
             "| T | E | egs ms | torch ms | torch / egs | max abs diff |", "|---|---|---|---|---|---|"]
    for E in (8, 64, 256):
        T = 4096
        x = torch.randn(T, E, device="cuda") * 2
        p = egs.sinkhorn(x, a.iterations, tolerance=a.tolerance)
        ref = torch_sinkhorn(x, a.iterations, a.tolerance)
        diff = (p - ref).abs().max().item()
        te = median_ms(lambda: egs.sinkhorn(x, a.iterations, tolerance=a.tolerance))
        tt = median_ms(lambda: torch_sinkhorn(x, a.iterations, a.tolerance))
        lines.append(f"| {T} | {E} | {te:.3f} | {tt:.3f} | {tt / te:.2f}x | {diff:.1e} |")
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
