#!/usr/bin/env python3
"""CPU benchmark (not a test): egs.gather_matmul f32 through egs-runner vs NumPy.

Shape: the egs seed's default B=64 T=256 E=32 K=32 I=128 J=64 (expert-choice,
batched): y[b,e,k,:] = x[b, ind[b,e,k], :] @ w[e].

egs side: an MLIR program (written to a temporary file) fills x, ind and w with
a deterministic pattern, calls the memref form of egs.gather_matmul once to
warm up and then `--iters` times between two calls to rtclock(), and prints the
mean milliseconds per call and a checksum of y (sum of y[..., j] * (1 + j % 5)). Only the kernel is timed (not
the JIT compilation). The CPU lowering is single-threaded.

NumPy side: the same data; y = np.matmul(x[b_idx, ind], w) (gather, then
batched matmul through OpenBLAS), timed as the median of `--reps` calls, with
OpenBLAS's default threads and with one thread (OPENBLAS_NUM_THREADS=1, in a
subprocess). The checksum of both results must agree (all values are exact
multiples of 1/64, so y is exact in f32).

Usage: python3 benchmarks/cpu_gather_matmul.py [--runner build/bin/egs-runner]
         [--iters 10] [--reps 10] [-O 3] [--shape B,T,E,K,I,J]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def patterns(B, T, E, K, I, J):
    b = np.arange(B)[:, None, None]
    t = np.arange(T)[None, :, None]
    i = np.arange(I)[None, None, :]
    x = (((b * 131 + t * 31 + i * 7) % 17) - 8).astype(np.float32) / 8
    e = np.arange(E)[:, None, None]
    ii = np.arange(I)[None, :, None]
    j = np.arange(J)[None, None, :]
    w = (((e * 53 + ii * 11 + j * 5) % 13) - 6).astype(np.float32) / 8
    bb = np.arange(B)[:, None, None]
    ee = np.arange(E)[None, :, None]
    kk = np.arange(K)[None, None, :]
    ind = ((bb * 97 + ee * 37 + kk * 13) % T).astype(np.int32)
    return x, ind, w


MLIR = r"""
func.func private @rtclock() -> f64

func.func @main() {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %B = arith.constant {B} : index
  %T = arith.constant {T} : index
  %E = arith.constant {E} : index
  %K = arith.constant {K} : index
  %I = arith.constant {I} : index
  %J = arith.constant {J} : index
  %x = memref.alloc() {{alignment = 64 : i64}} : memref<{B}x{T}x{I}xf32>
  %ind = memref.alloc() {{alignment = 64 : i64}} : memref<{B}x{E}x{K}xi32>
  %w = memref.alloc() {{alignment = 64 : i64}} : memref<{E}x{I}x{J}xf32>
  %y = memref.alloc() {{alignment = 64 : i64}} : memref<{B}x{E}x{K}x{J}xf32>
  %eighth = arith.constant 0.125 : f32
  // x[b,t,i] = ((b*131 + t*31 + i*7) % 17 - 8) / 8
  scf.for %b = %c0 to %B step %c1 {{
    scf.for %t = %c0 to %T step %c1 {{
      scf.for %i = %c0 to %I step %c1 {{
        %v = func.call @pat3(%b, %t, %i, %c131, %c31, %c7, %c17, %c8) : (index, index, index, index, index, index, index, index) -> f32
        %s = arith.mulf %v, %eighth : f32
        memref.store %s, %x[%b, %t, %i] : memref<{B}x{T}x{I}xf32>
      }}
    }}
  }}
  // w[e,i,j] = ((e*53 + i*11 + j*5) % 13 - 6) / 8
  scf.for %e = %c0 to %E step %c1 {{
    scf.for %i = %c0 to %I step %c1 {{
      scf.for %j = %c0 to %J step %c1 {{
        %v = func.call @pat3(%e, %i, %j, %c53, %c11, %c5, %c13, %c6) : (index, index, index, index, index, index, index, index) -> f32
        %s = arith.mulf %v, %eighth : f32
        memref.store %s, %w[%e, %i, %j] : memref<{E}x{I}x{J}xf32>
      }}
    }}
  }}
  // ind[b,e,k] = (b*97 + e*37 + k*13) % T
  scf.for %b = %c0 to %B step %c1 {{
    scf.for %e = %c0 to %E step %c1 {{
      scf.for %k = %c0 to %K step %c1 {{
        %p = arith.muli %b, %c97 : index
        %q = arith.muli %e, %c37 : index
        %r = arith.muli %k, %c13 : index
        %pq = arith.addi %p, %q : index
        %pqr = arith.addi %pq, %r : index
        %m = arith.remsi %pqr, %T : index
        %m32 = arith.index_cast %m : index to i32
        memref.store %m32, %ind[%b, %e, %k] : memref<{B}x{E}x{K}xi32>
      }}
    }}
  }}
  // Warm up, then time `iters` calls.
  egs.gather_matmul %x[%ind] * %w outs(%y)
      : (memref<{B}x{T}x{I}xf32>, memref<{B}x{E}x{K}xi32>, memref<{E}x{I}x{J}xf32>, memref<{B}x{E}x{K}x{J}xf32>) -> ()
  %iters = arith.constant {iters} : index
  %t0 = func.call @rtclock() : () -> f64
  scf.for %n = %c0 to %iters step %c1 {{
    egs.gather_matmul %x[%ind] * %w outs(%y)
        : (memref<{B}x{T}x{I}xf32>, memref<{B}x{E}x{K}xi32>, memref<{E}x{I}x{J}xf32>, memref<{B}x{E}x{K}x{J}xf32>) -> ()
  }}
  %t1 = func.call @rtclock() : () -> f64
  %dt = arith.subf %t1, %t0 : f64
  %itf = arith.constant {iters}.0 : f64
  %per = arith.divf %dt, %itf : f64
  %thousand = arith.constant 1000.0 : f64
  %ms = arith.mulf %per, %thousand : f64
  vector.print str "egs_ms_per_call: "
  vector.print %ms : f64
  // Checksum: sum of y * (1 + j % 5) in f64 (y is exact, so is this).
  %zero = arith.constant 0.0 : f64
  %sum = scf.for %b = %c0 to %B step %c1 iter_args(%a0 = %zero) -> (f64) {{
    %s1 = scf.for %e = %c0 to %E step %c1 iter_args(%a1 = %a0) -> (f64) {{
      %s2 = scf.for %k = %c0 to %K step %c1 iter_args(%a2 = %a1) -> (f64) {{
        %s3 = scf.for %j = %c0 to %J step %c1 iter_args(%a3 = %a2) -> (f64) {{
          %v = memref.load %y[%b, %e, %k, %j] : memref<{B}x{E}x{K}x{J}xf32>
          %vd = arith.extf %v : f32 to f64
          %jm = arith.remsi %j, %c5 : index
          %jm1 = arith.addi %jm, %c1 : index
          %jmi = arith.index_cast %jm1 : index to i64
          %jmf = arith.sitofp %jmi : i64 to f64
          %wv = arith.mulf %vd, %jmf : f64
          %n3 = arith.addf %a3, %wv : f64
          scf.yield %n3 : f64
        }}
        scf.yield %s3 : f64
      }}
      scf.yield %s2 : f64
    }}
    scf.yield %s1 : f64
  }}
  // y holds multiples of 1/64: print 64 * checksum as an exact integer.
  %sixtyfour = arith.constant 64.0 : f64
  %sum64 = arith.mulf %sum, %sixtyfour : f64
  %sumi = arith.fptosi %sum64 : f64 to i64
  vector.print str "checksum64: "
  vector.print %sumi : i64
  %y0 = memref.load %y[%c0, %c1, %c1, %c1] : memref<{B}x{E}x{K}x{J}xf32>
  vector.print str "y[0,1,1,1]: "
  vector.print %y0 : f32
  return
}}

// ((a*p + b*q + c*r) % m - s) as f32
func.func @pat3(%a: index, %b: index, %c: index, %p: index, %q: index, %r: index, %m: index, %s: index) -> f32 {{
  %ap = arith.muli %a, %p : index
  %bq = arith.muli %b, %q : index
  %cr = arith.muli %c, %r : index
  %t0 = arith.addi %ap, %bq : index
  %t1 = arith.addi %t0, %cr : index
  %t2 = arith.remsi %t1, %m : index
  %t3 = arith.subi %t2, %s : index
  %i = arith.index_cast %t3 : index to i64
  %f = arith.sitofp %i : i64 to f32
  return %f : f32
}}
"""

CONSTS = [131, 31, 7, 17, 8, 53, 11, 5, 13, 6, 97, 37]


def mlir_program(B, T, E, K, I, J, iters):
    text = MLIR.format(B=B, T=T, E=E, K=K, I=I, J=J, iters=iters)
    consts = "\n".join(f"  %c{v} = arith.constant {v} : index" for v in sorted(set(CONSTS)))
    return text.replace("  %c1 = arith.constant 1 : index\n", "  %c1 = arith.constant 1 : index\n" + consts + "\n", 1)


def numpy_time(B, T, E, K, I, J, reps):
    x, ind, w = patterns(B, T, E, K, I, J)
    bidx = np.arange(B)[:, None, None]

    def run():
        return np.matmul(x[bidx, ind], w)  # [B,E,K,I] @ [E,I,J] -> [B,E,K,J]

    y = run()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
    weight = 1 + np.arange(J) % 5
    return statistics.median(times), float((y.astype(np.float64) * weight).sum()), float(y[0, 1, 1, 1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runner", default=None, help="egs-runner (default: build/bin, build-cpu/bin, PATH)")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("-O", dest="opt", default="3", help="LLVM optimisation level for the JIT (0-3)")
    ap.add_argument("--shape", default="64,256,32,32,128,64", help="B,T,E,K,I,J")
    ap.add_argument("--numpy-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    B, T, E, K, I, J = (int(v) for v in args.shape.split(","))

    if args.numpy_only:
        ms, checksum, y0 = numpy_time(B, T, E, K, I, J, args.reps)
        print(f"{ms} {checksum} {y0}")
        return 0

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runner = args.runner
    if runner is None:
        for cand in ("build/bin/egs-runner", "build/bin/egs-runner"):
            if os.path.exists(os.path.join(root, cand)):
                runner = os.path.join(root, cand)
                break
        else:
            runner = "egs-runner"

    with tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False) as f:
        f.write(mlir_program(B, T, E, K, I, J, args.iters))
        path = f.name
    try:
        t0 = time.perf_counter()
        out = subprocess.run([runner, path, "-e", "main", "--entry-point-result=void", f"-O{args.opt}"],
                             capture_output=True, text=True)
        wall = time.perf_counter() - t0
    finally:
        os.unlink(path)
    if out.returncode != 0:
        sys.stderr.write(out.stdout + out.stderr)
        return 1
    egs_ms = float(re.search(r"egs_ms_per_call: (\S+)", out.stdout).group(1))
    egs_sum = int(re.search(r"checksum64: (\S+)", out.stdout).group(1)) / 64.0
    egs_y0 = float(re.search(r"y\[0,1,1,1\]: (\S+)", out.stdout).group(1))

    np_ms, np_sum, np_y0 = numpy_time(B, T, E, K, I, J, args.reps)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    one = subprocess.run([sys.executable, __file__, "--numpy-only", "--shape", args.shape, "--reps", str(args.reps)],
                         capture_output=True, text=True, env=env)
    np1_ms = float(one.stdout.split()[0])

    flop = 2.0 * B * E * K * I * J
    ok = egs_sum == np_sum and egs_y0 == np_y0
    print(f"shape B={B} T={T} E={E} K={K} I={I} J={J} (f32, {flop / 1e9:.2f} GFLOP per call)")
    print(f"checksum egs={egs_sum:.6f} numpy={np_sum:.6f} -> {'match' if ok else 'MISMATCH'}")
    print(f"egs-runner -O{args.opt}: {egs_ms:8.2f} ms/call ({flop / egs_ms / 1e6:6.1f} GFLOP/s, 1 thread; "
          f"runner wall {wall:.1f} s incl. JIT)")
    print(f"numpy (OpenBLAS, default threads): {np_ms:8.2f} ms/call ({flop / np_ms / 1e6:6.1f} GFLOP/s)")
    print(f"numpy (OpenBLAS, 1 thread):        {np1_ms:8.2f} ms/call ({flop / np1_ms / 1e6:6.1f} GFLOP/s)")
    print(f"ratio egs / numpy: {egs_ms / np_ms:.2f}x (default threads), {egs_ms / np1_ms:.2f}x (1 thread); "
          f"target <= 2x")
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
