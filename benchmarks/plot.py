#!/usr/bin/env python3
"""Renders benchmarks/bench_moe.py JSON lines into plots and a Markdown table.

  plot.py results.jsonl [--outdir benchmarks/results]

Writes <outdir>/<date>-<device>-table.md (every measured row, ratios to the
PyTorch peer) and, when matplotlib is available, time and peak-memory plots
of the expert-choice sweeps and TFLOP/s per token-choice shape.
"""
import argparse
import json
import os
import re
from collections import defaultdict


def load(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    meta = next((r for r in rows if r.get("case") == "meta"), {})
    return meta, [r for r in rows if r.get("case") != "meta"]


def table(rows):
    lines = ["| case | shape | dtype | peer | GPU us | eager us | GB/s | TFLOP/s | peak MiB | out MiB | rel err | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        shape = r.get("name") or " ".join(f"{k}={v}" for k, v in (r.get("shape") or {}).items())
        cells = [r.get("case"), shape, r.get("dtype", ""), r.get("peer"), r.get("gpu_us"),
                 r.get("eager_us"), r.get("gbps"), r.get("tflops"), r.get("peak_mib"),
                 r.get("out_mib"), ("%.1e" % r["rel_err"]) if isinstance(r.get("rel_err"), float) else "",
                 r.get("note", "")]
        lines.append("| " + " | ".join("" if c is None else str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def plots(rows, prefix):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    made = []
    for sweep, key in (("A.sweepT", "T"), ("A.sweepE", "E"), ("A.sweepB", "B"), ("A.sweepI", "I")):
        pts = defaultdict(list)
        for r in rows:
            if r.get("case", "").startswith(sweep) and r.get("gpu_us"):
                pts[(r["case"], r["peer"])].append((r["shape"][key], r["gpu_us"], r.get("peak_mib")))
        if not pts:
            continue
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        for (case, peer), v in sorted(pts.items()):
            v.sort()
            a.plot([p[0] for p in v], [p[1] for p in v], marker="o", label=f"{case.split('.')[-1]} {peer}")
            b.plot([p[0] for p in v], [p[2] for p in v], marker="o", label=f"{case.split('.')[-1]} {peer}")
        a.set_xlabel(key); a.set_ylabel("GPU us"); a.set_xscale("log", base=2); a.legend(fontsize=7)
        b.set_xlabel(key); b.set_ylabel("peak MiB"); b.set_xscale("log", base=2)
        f = f"{prefix}-{sweep}.png"
        fig.tight_layout(); fig.savefig(f, dpi=100); plt.close(fig)
        made.append(f)
    tc = [r for r in rows if r.get("case") == "B.grouped" and r.get("tflops")]
    if tc:
        names = sorted({r["name"] for r in tc})
        peers = sorted({r["peer"] for r in tc})
        fig, ax = plt.subplots(figsize=(10, 4))
        wdt = 0.8 / len(peers)
        for i, p in enumerate(peers):
            ax.bar([n + i * wdt for n in range(len(names))],
                   [next((r["tflops"] for r in tc if r["name"] == nm and r["peer"] == p), 0) for nm in names],
                   wdt, label=p)
        ax.set_xticks([n + 0.4 for n in range(len(names))]); ax.set_xticklabels(names, rotation=20, fontsize=7)
        ax.set_ylabel("TFLOP/s"); ax.legend(fontsize=7)
        f = f"{prefix}-token-choice.png"
        fig.tight_layout(); fig.savefig(f, dpi=100); plt.close(fig)
        made.append(f)
    return made


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--outdir", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args()
    meta, rows = load(args.results)
    os.makedirs(args.outdir, exist_ok=True)
    dev = re.sub(r"[^A-Za-z0-9]+", "-", meta.get("device", "unknown")).strip("-")
    prefix = os.path.join(args.outdir, f"{meta.get('date', 'undated')}-{dev}")
    with open(prefix + "-table.md", "w") as f:
        f.write(f"# egs benchmarks on {meta.get('device')} ({meta.get('date')}, torch {meta.get('torch')})\n\n")
        f.write(table(rows))
    for p in [prefix + "-table.md"] + plots(rows, prefix):
        print(p)


if __name__ == "__main__":
    main()
