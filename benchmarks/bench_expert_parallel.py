#!/usr/bin/env python3
"""egs.nn.ExpertParallelMoE: dispatch, experts, combine and whole-layer times per
mode, against the all_to_all_single bandwidth measured in the same run (issue 18).

Launches W ranks on this host (torch.multiprocessing spawn, one GPU each, NCCL;
or run it under torchrun, which sets RANK/WORLD_SIZE), or W CPU ranks on Gloo
with --smoke (tiny shapes: checks that the script runs, times mean nothing).
Every rank holds 4096 tokens (--tokens) and E/W experts; one layer per row,
bf16 on GPUs (float32 with --smoke), random weights, the mode switched on the
same layer (ep.mode), so the modes see the same weights and tokens.

Per row and mode, each a median over --iters calls after --warmup, each call
between barriers, host timer after a device sync, the maximum over the ranks:
  dispatch     ep.dispatch(x): route, counts exchange (host sync), rows + ids +
               weights exchange (no_grad)
  experts      ep.experts(d): this rank's up + activation + down + weighted sum
  combine      ep.combine(rows, d): return exchange + per-token sum
  fwd          ep(x) under no_grad
  fwd+bwd      ep(x).backward(dy), gradients of x and every parameter
  dispatch GB/s  the rows this rank sends (all destinations, itself included)
               / dispatch time; a2a GB/s: all_to_all_single of the same bytes in
               equal splits, timed the same way: the ceiling the bar compares to
  rel err      max over ranks of |out - out_unfused| / |out_unfused| (forward)
A row whose expert weights and gradients would not fit the GPU is scaled down
(fewer experts, halved until they fit; the table says which E ran).

  bench_expert_parallel.py [--world W] [--rows deepseek,qwen3] [--modes ...]
                           [--tokens 4096] [--iters 20] [--warmup 5] [--out F.jsonl]
  bench_expert_parallel.py --smoke          # CPU, Gloo, world 2, tiny shapes
"""
import argparse
import datetime
import json
import os
import socket
import statistics
import sys
import time

import torch
import torch.distributed as dist

HERE = os.path.dirname(os.path.abspath(__file__))
# The package of a build tree ($EGS_BUILD, default build/), else an installed egs.
sys.path.insert(0, os.path.join(os.environ.get("EGS_BUILD", os.path.join(os.path.dirname(HERE),
                                                                         "build")),
                                "python_packages"))

# name: (E, k, H, F)
ROWS = {"deepseek": (256, 8, 7168, 2048),   # DeepSeek-V3-like
        "qwen3": (128, 8, 2048, 768)}       # Qwen3-30B-A3B-like
SMOKE_ROWS = {"deepseek": (16, 4, 64, 32), "qwen3": (8, 2, 32, 16)}
MODES = ["unfused", "fused_dispatch", "fused_combine", "fused"]


def say(*a):
    print(*a, file=sys.stderr, flush=True)


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def timed(fn, args, dev, before=None):
    """Median seconds of fn() over args.iters calls (after args.warmup), the
    maximum over the ranks; before() runs outside the timed region."""
    samples = []
    for i in range(args.warmup + args.iters):
        if before is not None:
            before()
        sync(dev)
        dist.barrier()
        t0 = time.perf_counter()
        fn()
        sync(dev)
        if i >= args.warmup:
            samples.append(time.perf_counter() - t0)
    t = torch.tensor([statistics.median(samples)], dtype=torch.float64, device=dev)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.item()


def fit_experts(E, k, H, F, world, elem, dev):
    """E, halved (staying a multiple of the world size and >= k) until this
    rank's expert weights + gradients take at most half the GPU."""
    if dev.type != "cuda":
        return E
    budget = torch.cuda.get_device_properties(dev).total_memory // 2
    while E // world * (H * 2 * F + F * H) * elem * 2 > budget and E // 2 >= max(k, world) \
            and (E // 2) % world == 0:
        E //= 2
    return E


def a2a_gbps(nbytes, args, dev, dtype):
    """GB/s of all_to_all_single of nbytes per rank, equal splits."""
    W = dist.get_world_size()
    elem = torch.empty((), dtype=dtype).element_size()
    rows = max(nbytes // elem // W, 1) * W
    x = torch.empty(rows, dtype=dtype, device=dev)
    out = torch.empty_like(x)
    s = timed(lambda: dist.all_to_all_single(out, x), args, dev)
    return rows * elem / s / 1e9


def run_row(name, shape, args, dev, dtype, rank, world):
    import egs.nn
    E0, k, H, F = shape
    elem = torch.empty((), dtype=dtype).element_size()
    E = fit_experts(E0, k, H, F, world, elem, dev)
    torch.manual_seed(1234 + rank)
    ep = egs.nn.ExpertParallelMoE(H, F, E, k, device=dev, dtype=dtype)
    x = torch.randn(args.tokens, H, device=dev, dtype=dtype)
    dy = torch.randn_like(x)
    recs, ref = [], None
    for mode in args.modes:
        ep.mode = mode
        with torch.no_grad():
            out = ep(x)
            if ref is None:
                ref = out
            err = torch.tensor([((out.float() - ref.float()).norm()
                                 / ref.float().norm().clamp_min(1e-30)).item()], device=dev)
            dist.all_reduce(err, op=dist.ReduceOp.MAX)
            d = ep.dispatch(x)
            rows = ep.experts(d)
            sent = sum(d.send_rows) * H * elem
            t_dispatch = timed(lambda: ep.dispatch(x), args, dev)
            t_experts = timed(lambda: ep.experts(d), args, dev)
            t_combine = timed(lambda: ep.combine(rows, d), args, dev)
            t_fwd = timed(lambda: ep(x), args, dev)
        xg = x.detach().requires_grad_()

        def clear():
            xg.grad = None
            for p in ep.parameters():
                p.grad = None
        t_bwd = timed(lambda: ep(xg).backward(dy), args, dev, before=clear)
        clear()
        sent_t = torch.tensor([sent], dtype=torch.float64, device=dev)
        dist.all_reduce(sent_t, op=dist.ReduceOp.MAX)
        ceiling = a2a_gbps(int(sent_t.item()), args, dev, dtype)
        recs.append({"row": name, "E": E, "E_asked": E0, "k": k, "H": H, "F": F,
                     "tokens_per_rank": args.tokens, "world": world, "mode": mode,
                     "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
                     "dtype": str(dtype).replace("torch.", ""),
                     "dispatch_ms": t_dispatch * 1e3, "experts_ms": t_experts * 1e3,
                     "combine_ms": t_combine * 1e3, "fwd_ms": t_fwd * 1e3,
                     "fwd_bwd_ms": t_bwd * 1e3, "dispatch_bytes": sent,
                     "dispatch_gbps": sent / t_dispatch / 1e9, "a2a_gbps": ceiling,
                     "rel_err_vs_unfused": err.item()})
        if rank == 0:
            say(f"{name} {mode}: fwd {t_fwd * 1e3:.3f} ms, fwd+bwd {t_bwd * 1e3:.3f} ms")
    del ep, x, dy, ref
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return recs


def table(recs):
    lines = ["| row | E | W | mode | dispatch ms | experts ms | combine ms | fwd ms | fwd+bwd ms "
             "| dispatch GB/s | a2a GB/s | % of a2a | rel err vs unfused |",
             "|" + " --- |" * 13]
    for r in recs:
        e = f"{r['E']}" + (f" (of {r['E_asked']})" if r["E"] != r["E_asked"] else "")
        lines.append(f"| {r['row']} | {e} | {r['world']} | {r['mode']} | {r['dispatch_ms']:.3f} "
                     f"| {r['experts_ms']:.3f} | {r['combine_ms']:.3f} | {r['fwd_ms']:.3f} "
                     f"| {r['fwd_bwd_ms']:.3f} | {r['dispatch_gbps']:.3g} | {r['a2a_gbps']:.3g} "
                     f"| {100 * r['dispatch_gbps'] / r['a2a_gbps']:.0f}% "
                     f"| {r['rel_err_vs_unfused']:.1e} |")
    lines.append("")
    for row in dict.fromkeys(r["row"] for r in recs):
        by = {r["mode"]: r for r in recs if r["row"] == row}
        if "unfused" not in by or len(by) < 2:
            continue
        for key, what in (("fwd_ms", "fwd"), ("fwd_bwd_ms", "fwd+bwd")):
            best = min((m for m in by if m != "unfused"), key=lambda m: by[m][key])
            lines.append(f"{row} {what}: best fused mode {best} "
                         f"{by['unfused'][key] / by[best][key]:.2f}x the unfused mode")
    return "\n".join(lines)


def worker(rank, world, args, init_method):
    smoke = args.smoke
    if smoke:
        dev, backend, dtype = torch.device("cpu"), "gloo", torch.float32
        torch.set_num_threads(1)
    else:
        dev, backend, dtype = torch.device("cuda", rank % torch.cuda.device_count()), "nccl", \
            torch.bfloat16
        torch.cuda.set_device(dev)
    kw = {"device_id": dev} if dev.type == "cuda" else {}
    dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=args.timeout), **kw)
    try:
        import egs
        if dev.type == "cuda":
            ok, why = egs.target_available("cuda")
            if not ok:
                raise RuntimeError(f"egs CUDA target not available: {why}")
        rows = SMOKE_ROWS if smoke else ROWS
        recs = []
        for name in args.rows:
            recs += run_row(name, rows[name], args, dev, dtype, rank, world)
        if rank == 0:
            out = open(args.out, "a") if args.out else None
            for r in recs:
                if out:
                    print(json.dumps(r), file=out)
            if out:
                out.close()
            if smoke:
                print("(--smoke: CPU, Gloo, tiny shapes: these times measure nothing)")
            print(table(recs), flush=True)
    finally:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--world", type=int, default=None,
                   help="ranks (default: the GPU count; 2 with --smoke)")
    p.add_argument("--rows", default="deepseek,qwen3")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--tokens", type=int, default=None, help="tokens per rank (default 4096; "
                   "64 with --smoke)")
    p.add_argument("--iters", type=int, default=None)
    p.add_argument("--warmup", type=int, default=None)
    p.add_argument("--timeout", type=float, default=300, help="process group timeout (s)")
    p.add_argument("--out", default=None, help="append JSON lines here")
    p.add_argument("--smoke", action="store_true", help="CPU, Gloo, tiny shapes")
    args = p.parse_args()
    args.rows = [r for r in args.rows.split(",") if r]
    args.modes = [m for m in args.modes.split(",") if m]
    for r in args.rows:
        if r not in ROWS:
            p.error(f"--rows: unknown row {r!r} (have {', '.join(ROWS)})")
    for m in args.modes:
        if m not in MODES:
            p.error(f"--modes: unknown mode {m!r} (have {', '.join(MODES)})")
    args.tokens = args.tokens or (64 if args.smoke else 4096)
    args.iters = args.iters or (3 if args.smoke else 20)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.smoke else 5)

    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:  # under torchrun
        worker(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), args, "env://")
        return
    if not args.smoke and not torch.cuda.is_available():
        p.error("no CUDA device: run with --smoke for the CPU check")
    world = args.world or (2 if args.smoke else torch.cuda.device_count())
    if not args.smoke and world > torch.cuda.device_count():
        p.error(f"--world {world}: only {torch.cuda.device_count()} GPUs")
    init = f"tcp://127.0.0.1:{free_port()}"
    say(f"world {world}, {'gloo/cpu' if args.smoke else 'nccl/cuda'}, rows {args.rows}, "
        f"modes {args.modes}, {args.tokens} tokens per rank")
    torch.multiprocessing.spawn(worker, args=(world, args, init), nprocs=world)


if __name__ == "__main__":
    main()
