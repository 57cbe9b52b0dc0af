#!/usr/bin/env python3
"""Renders benchmarks/bench_moe.py JSON lines into plots and a Markdown table.

  plot.py results.jsonl [--outdir benchmarks/results]

JSON lines of benchmarks/bench_layer.py (meta "bench": "layer") are recognised
and rendered by render_layer: <date>-<device>-layer-table.md (egs / peer time
ratios per layer and mode, every row, the weight-gradient rows) and
<date>-<device>-layer-ratios.png.

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


# --------------------------------------------------------------------------
# bench_layer.py: the whole MoE layer
# --------------------------------------------------------------------------

EGS_LAYER_PEERS = ("egs.nn.MoE", "egs (hf experts_implementation=egs)")


def _fmt(v, spec="%.3g"):
    return "" if v is None else (spec % v if isinstance(v, float) else str(v))


def _egs_row(rows, layer, mode):
    """The egs row a layer's ratios are taken against: the compared egs implementation."""
    for peer in EGS_LAYER_PEERS[::-1]:
        for r in rows:
            if (r.get("layer") == layer and r.get("mode") == mode and r.get("peer") == peer
                    and r.get("ms") is not None and r.get("compare") != "not compared"):
                return r
    return None


def layer_ratios(rows):
    """[(layer, mode, egs row, {peer: (peer ms, egs ms / peer ms)})]."""
    out = []
    timed = [r for r in rows if r.get("case") == "layer" and r.get("ms") is not None]
    seen = []
    for r in timed:
        if (r["layer"], r["mode"]) not in seen:
            seen.append((r["layer"], r["mode"]))
    for layer, mode in seen:
        e = _egs_row(timed, layer, mode)
        peers = {}
        for r in timed:
            if r["layer"] == layer and r["mode"] == mode and r["peer"] not in EGS_LAYER_PEERS:
                peers[r["peer"]] = (r["ms"], e["ms"] / r["ms"] if e else None)
        out.append((layer, mode, e, peers))
    return out


def layer_summary(rows):
    """Markdown: egs ms and egs/peer time ratios (< 1: egs faster) per layer and mode."""
    rat = layer_ratios(rows)
    peers = []
    for _, _, _, p in rat:
        peers += [q for q in p if q not in peers]
    lines = ["| layer | mode | egs ms | " + " | ".join(f"{q} ms (egs/it)" for q in peers)
             + " | egs peak MiB | egs max rel err |",
             "|---|---|---|" + "---|" * len(peers) + "---|---|"]
    for layer, mode, e, p in rat:
        cells = [layer, mode, _fmt(e["ms"]) if e else "-"]
        for q in peers:
            if q in p:
                ms, ratio = p[q]
                cells.append(f"{_fmt(ms)} ({ratio:.2f}x)" if ratio is not None else _fmt(ms))
            else:
                cells.append("-")
        cells += [_fmt(e.get("peak_mib")) if e else "", _fmt(e.get("rel_err"), "%.1e") if e else ""]
        lines.append("| " + " | ".join(cells) + " |")
    wg = [r for r in rows if r.get("case") == "wgrad"]
    if wg:
        lines += ["", "| weight grad | peer | ms | TFLOP/s | peak MiB | rel err | egs/it | note |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in wg:
            e = next((x for x in wg if x["name"] == r["name"] and x["peer"] == "egs.weight_grad"
                      and x.get("ms")), None)
            ratio = f"{e['ms'] / r['ms']:.2f}x" if (e and r.get("ms")) else ""
            lines.append("| " + " | ".join([r["name"], r["peer"], _fmt(r.get("ms")), _fmt(r.get("tflops")),
                                            _fmt(r.get("peak_mib")), _fmt(r.get("rel_err"), "%.1e"),
                                            ratio, r.get("note", "")]) + " |")
    return "\n".join(lines) + "\n"


def layer_table(rows):
    """Markdown: every layer row (timed, skipped, failed)."""
    lines = ["| layer | shape | mode | peer | ms | TFLOP/s | peak MiB | rel err (max) | rel errs | compared | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("case") != "layer":
            continue
        sh = r.get("shape") or {}
        shape = " ".join(f"{k}{v}" for k, v in sh.items() if k != "model")
        errs = " ".join(f"{k} {v:.1e}" for k, v in (r.get("rel_errs") or {}).items())
        lines.append("| " + " | ".join([r.get("layer", ""), shape, r.get("mode", ""), r["peer"],
                                        _fmt(r.get("ms")), _fmt(r.get("tflops")), _fmt(r.get("peak_mib")),
                                        _fmt(r.get("rel_err"), "%.1e"), errs, r.get("compare", ""),
                                        r.get("note", "")]) + " |")
    return "\n".join(lines) + "\n"


def layer_plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rat = layer_ratios(rows)
    modes = [m for m in ("fwd", "fwd+bwd") if any(x[1] == m for x in rat)]
    if not modes:
        return None
    fig, axes = plt.subplots(1, len(modes), figsize=(6 * len(modes), 4), squeeze=False)
    for ax, mode in zip(axes[0], modes):
        sub = [x for x in rat if x[1] == mode and x[2]]
        layers = [x[0] for x in sub]
        peers = []
        for x in sub:
            peers += [q for q in x[3] if q not in peers]
        wdt = 0.8 / max(len(peers), 1)
        for i, q in enumerate(peers):
            ax.bar([n + i * wdt for n in range(len(layers))],
                   [(x[3][q][1] or 0) if q in x[3] else 0 for x in sub], wdt, label=q)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xticks([n + 0.4 - wdt / 2 for n in range(len(layers))])
        ax.set_xticklabels(layers, fontsize=8)
        ax.set_ylabel("egs time / peer time (< 1: egs faster)")
        ax.set_title(mode)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def render_layer(path, outdir):
    meta, rows = load(path)
    os.makedirs(outdir, exist_ok=True)
    dev = re.sub(r"[^A-Za-z0-9]+", "-", meta.get("device", "unknown")).strip("-")
    prefix = os.path.join(outdir, f"{meta.get('date', 'undated')}-{dev}-layer")
    with open(prefix + "-table.md", "w") as f:
        f.write(f"# egs MoE layer benchmark on {meta.get('device')} ({meta.get('date')}, "
                f"torch {meta.get('torch')}, transformers {meta.get('transformers')}, "
                f"{meta.get('dtype')}{', quick' if meta.get('quick') else ''})\n\n")
        f.write("egs / peer: egs time divided by the peer's (< 1: egs faster). fwd under no_grad; "
                "fwd+bwd with gradients wrt x and all weights. Peak = allocator peak above inputs.\n\n")
        f.write(layer_summary(rows))
        f.write("\n## All rows\n\n")
        f.write(layer_table(rows))
    made = [prefix + "-table.md"]
    p = layer_plot(rows, prefix + "-ratios.png")
    if p:
        made.append(p)
    return made


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--outdir", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args()
    meta, rows = load(args.results)
    if meta.get("bench") == "layer":
        for p in render_layer(args.results, args.outdir):
            print(p)
        return
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
