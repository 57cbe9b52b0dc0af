#!/usr/bin/env python3
"""Cost of the run-time shape agreement checks (check-indices, CPU).

One dynamic-shape gather_matmul program compiled twice through egs.compile
(check-indices=true, the default, and false), called at the seed shape
(B=64 T=256 E=32 K=32 I=128 J=64, f32) and at a tiny one (B=T=K=1), where
the fixed per-call cost shows. Prints the median per-call time of each and
the difference.

    EGS_BUILD=build python3 benchmarks/shape_check_cost.py
"""
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.environ.get("EGS_BUILD", "build"), "python_packages"))
os.environ.setdefault("EGS_CACHE_DIR", tempfile.mkdtemp(prefix="egs-bench-"))
import egs  # noqa: E402

SRC = """
func.func @f(%x: tensor<?x?x128xf32>, %ind: tensor<?x32x?xi32>, %w: tensor<32x128x64xf32>)
    -> tensor<?x32x?x64xf32> {
  %y = egs.gather_matmul %x[%ind] * %w
      : (tensor<?x?x128xf32>, tensor<?x32x?xi32>, tensor<32x128x64xf32>) -> tensor<?x32x?x64xf32>
  return %y : tensor<?x32x?x64xf32>
}
"""


def median_us(f, n):
    f()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)) * 1e6


def main():
    rng = np.random.default_rng(0)
    progs = {opt: egs.compile(SRC, pipeline_options=f"check-indices={opt}") for opt in ("true", "false")}
    print("| shape | check-indices=true us | false us | difference us |")
    print("|---|---|---|---|")
    for name, (B, T, K, n) in {"tiny B1 T1 K1": (1, 1, 1, 20000), "seed B64 T256 K32": (64, 256, 32, 30)}.items():
        x = rng.standard_normal((B, T, 128), dtype=np.float32)
        ind = rng.integers(0, T, (B, 32, K), dtype=np.int32)
        w = rng.standard_normal((32, 128, 64), dtype=np.float32)
        # Interleaved rounds: the median of each over all rounds.
        times = {"true": [], "false": []}
        for _ in range(5):
            for opt, p in progs.items():
                times[opt].append(median_us(lambda p=p: p.f(x, ind, w), n))
        on, off = float(np.median(times["true"])), float(np.median(times["false"]))
        print(f"| {name} | {on:.2f} | {off:.2f} | {on - off:+.2f} |")


if __name__ == "__main__":
    main()
