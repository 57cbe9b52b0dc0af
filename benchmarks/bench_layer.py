#!/usr/bin/env python3
"""The whole MoE layer: egs vs transformers' MoE blocks vs ScatterMoE, in one process
(PERFORMANCE.md section L, "How to measure").

Every layer gets one set of weights (router [E,H], w_up [E,H,2F] gate first, w_down
[E,F,H]); each implementation receives a copy in its own layout. Before timing, each
one's output and gradients (x, router, up, down) are compared with an fp32 reference
that routes exactly as the bf16 layers do (same bf16 router logits, same top-k); the
relative errors are printed and recorded, and a mismatch is reported, never hidden.

Timing: warm-up, then CUDA events around eager calls, median of N. "fwd" runs under
torch.no_grad() (inference); "fwd+bwd" is forward + backward(dy) with autograd,
gradients wrt x and every weight (set to None between calls, outside the events).
Peak memory = allocator peak above the inputs (weights, x, dy).

Rows (JSON lines, --out FILE, default stdout):
  {"case": "layer", "layer", "shape", "dtype", "peer", "mode": "fwd"|"fwd+bwd", "ms",
   "tflops", "peak_mib", "rel_err" (max over out/grads), "rel_errs", "compare", "note"}
  {"case": "wgrad", "name", "shape", "dtype", "peer", "ms", "tflops", "peak_mib",
   "rel_err", "note"}   egs.weight_grad vs torch._grouped_mm (2D x 2D, ragged K)
A summary (ratios egs / peer per layer and mode) is printed at the end; plot.py
--layer FILE renders the Markdown table and the ratio plot.

  bench_layer.py [--out F] [--quick] [--layers qwen3,mixtral,olmoe,gptoss,decode,wgrad]
  bench_layer.py --smoke          # CPU, tiny shapes: checks every CPU-capable peer

ScatterMoE is looked up under $EGS_PEERS or <repo>/.peers/ (scattermoe/scattermoe),
then ../shared/peers; it needs CUDA + Triton and is skipped with the reason otherwise.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# egs's float64 op references (pure Python: loads without a built egs).
sys.path.append(os.path.join(REPO, "python", "egs"))
import _reference as op_reference  # noqa: E402

# name: (model, E, k, H, F, T)
LAYERS = {
    "qwen3": ("qwen3_moe", 128, 8, 2048, 768, 4096),
    "mixtral": ("mixtral", 8, 2, 4096, 14336, 4096),
    "olmoe": ("olmoe", 64, 8, 2048, 1024, 8192),
    "gptoss": ("gpt_oss", 128, 4, 2880, 2880, 4096),
    "decode": ("qwen3_moe", 128, 8, 2048, 768, 64),
}
SMOKE_LAYERS = {
    "qwen3": ("qwen3_moe", 8, 2, 64, 32, 32),
    "mixtral": ("mixtral", 4, 2, 64, 48, 32),
    "olmoe": ("olmoe", 8, 4, 32, 32, 32),
    "gptoss": ("gpt_oss", 8, 2, 64, 32, 32),
    "decode": ("qwen3_moe", 8, 2, 64, 32, 8),
}
# Routing as the released models are configured (norm_topk_prob): Qwen3-30B-A3B True,
# OLMoE False, Mixtral always renormalises, GPT-OSS softmax over the top-k logits
# (= renormalised top-k of the softmax).
NORMALIZE = {"qwen3_moe": True, "mixtral": True, "olmoe": False, "gpt_oss": True}
WGRAD = [("qwen3", 128, 8, 2048, 768), ("mixtral", 8, 2, 4096, 14336),
         ("olmoe", 64, 8, 2048, 1024)]
SMOKE_WGRAD = [("qwen3", 8, 2, 64, 32), ("mixtral", 4, 2, 64, 48)]

OUT = sys.stdout
SUMMARY = []


def emit(rec):
    print(json.dumps(rec), file=OUT, flush=True)
    SUMMARY.append(rec)


def say(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Optional providers
# --------------------------------------------------------------------------

def import_egs(dev):
    try:
        import egs
        import egs.integrations.transformers  # noqa: F401  (registers "egs")
        import egs.nn  # noqa: F401
    except Exception as e:
        return None, f"egs not importable: {type(e).__name__}: {e}"
    if dev == "cuda":
        ok, why = egs.target_available("cuda")
        if not ok:
            return None, f"egs CUDA target not available: {why}"
    return egs, ""


def import_scattermoe(dev):
    cands = []
    if os.environ.get("EGS_PEERS"):
        cands.append(os.environ["EGS_PEERS"])
    cands += [os.path.join(REPO, ".peers"), os.path.join(REPO, "..", "shared", "peers")]
    root = next((c for c in cands if os.path.isdir(os.path.join(c, "scattermoe", "scattermoe"))), None)
    if root is None:
        return None, "ScatterMoE not found (looked in $EGS_PEERS, <repo>/.peers, ../shared/peers)"
    if dev != "cuda":
        return None, "ScatterMoE needs CUDA + Triton (found at %s)" % root
    sys.path.insert(0, os.path.join(root, "scattermoe"))
    # Importing scattermoe runs scattermoe.utils.replace_moe, which replaces
    # transformers' GptOssExperts.forward by its own (written for an older router that
    # returned dense [T,E] scores). Keep that function for the ScatterMoE GPT-OSS row
    # (fed dense scores) and put transformers' own forward back.
    from transformers.models.gpt_oss.modeling_gpt_oss import GptOssExperts
    hf_forward = GptOssExperts.forward
    try:
        from scattermoe.mlp import GLUMLP
    except Exception as e:
        return None, f"ScatterMoE import failed: {type(e).__name__}: {e}"
    finally:
        SCATTER_GPTOSS["fn"] = GptOssExperts.forward if GptOssExperts.forward is not hf_forward else None
        GptOssExperts.forward = hf_forward
    say(f"ScatterMoE: {os.path.join(root, 'scattermoe')}")
    return GLUMLP, ""


SCATTER_GPTOSS = {"fn": None}


class ScatterGptOss(nn.Module):
    """transformers' GPT-OSS router + ScatterMoE's GPT-OSS experts forward
    (scattermoe.utils.replace_moe), given the dense [T,E] scores it expects."""

    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, x):
        _, w, ids = self.block.router(x)
        dense = torch.zeros(x.shape[0], self.block.experts.num_experts, dtype=w.dtype,
                            device=x.device).scatter(1, ids, w)
        return SCATTER_GPTOSS["fn"](self.block.experts, x, ids, dense).reshape(x.shape)


def hf_block(model, E, k, H, Fd, impl):
    """transformers' own MoE block for `model`, built from a small config."""
    if model == "mixtral":
        from transformers.models.mixtral import configuration_mixtral as c, modeling_mixtral as m
        cfg = c.MixtralConfig(hidden_size=H, intermediate_size=Fd, num_local_experts=E,
                              num_experts_per_tok=k, hidden_act="silu")
        cls = m.MixtralSparseMoeBlock
    elif model == "qwen3_moe":
        from transformers.models.qwen3_moe import configuration_qwen3_moe as c, modeling_qwen3_moe as m
        cfg = c.Qwen3MoeConfig(hidden_size=H, moe_intermediate_size=Fd, num_experts=E,
                               num_experts_per_tok=k, norm_topk_prob=NORMALIZE[model],
                               hidden_act="silu")
        cls = m.Qwen3MoeSparseMoeBlock
    elif model == "olmoe":
        from transformers.models.olmoe import configuration_olmoe as c, modeling_olmoe as m
        cfg = c.OlmoeConfig(hidden_size=H, intermediate_size=Fd, num_experts=E,
                            num_experts_per_tok=k, norm_topk_prob=NORMALIZE[model],
                            hidden_act="silu")
        cls = m.OlmoeSparseMoeBlock
    elif model == "gpt_oss":
        from transformers.models.gpt_oss import configuration_gpt_oss as c, modeling_gpt_oss as m
        cfg = c.GptOssConfig(hidden_size=H, intermediate_size=Fd, num_local_experts=E,
                             num_experts_per_tok=k)
        cls = m.GptOssMLP
    else:
        raise ValueError(model)
    cfg._experts_implementation = impl
    return cls(cfg)


# --------------------------------------------------------------------------
# Weights and layouts
# --------------------------------------------------------------------------

class Weights:
    """Master weights in egs layout (fp32, on the device) + GPT-OSS extras."""

    def __init__(self, model, E, k, H, Fd, dev, gen):
        def r(*s, scale):
            return (torch.randn(*s, generator=gen, device=dev) * scale)
        self.wr = r(E, H, scale=1 / math.sqrt(H))
        self.w_up = r(E, H, 2 * Fd, scale=1 / math.sqrt(H))
        self.w_down = r(E, Fd, H, scale=1 / math.sqrt(Fd))
        self.gptoss = model == "gpt_oss"
        if self.gptoss:  # biases; w_up columns interleaved (gate0, up0, gate1, ...)
            self.br = r(E, scale=0.1)
            self.b_up = r(E, 2 * Fd, scale=0.1)
            self.b_down = r(E, H, scale=0.1)


def set_(p, v):
    with torch.no_grad():
        p.copy_(v)


def load_hf(block, model, W, dtype):
    """Copy W into a transformers block; returns {grad name: fn(block) -> egs-layout grad}."""
    block.to(dtype)
    if model == "gpt_oss":  # router (weight, bias); experts [E,H,2F] interleaved, [E,F,H]
        ro, ex = block.router, block.experts
        set_(ro.weight, W.wr); set_(ro.bias, W.br)
        set_(ex.gate_up_proj, W.w_up); set_(ex.down_proj, W.w_down)
        set_(ex.gate_up_proj_bias, W.b_up); set_(ex.down_proj_bias, W.b_down)
        return {"router": lambda b: b.router.weight.grad, "up": lambda b: b.experts.gate_up_proj.grad,
                "down": lambda b: b.experts.down_proj.grad}
    # gate.weight [E,H]; gate_up_proj [E,2F,H] (gate first), down_proj [E,H,F]
    set_(block.gate.weight, W.wr)
    set_(block.experts.gate_up_proj, W.w_up.transpose(1, 2))
    set_(block.experts.down_proj, W.w_down.transpose(1, 2))
    return {"router": lambda b: b.gate.weight.grad,
            "up": lambda b: b.experts.gate_up_proj.grad.transpose(1, 2),
            "down": lambda b: b.experts.down_proj.grad.transpose(1, 2)}


class HFWrap(nn.Module):
    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, x):
        out = self.block(x.unsqueeze(0))
        return (out[0] if isinstance(out, tuple) else out).squeeze(0)


class ScatterWrap(nn.Module):
    """egs.nn.MoE's router (Linear, softmax, top-k, renormalise) + ScatterMoE GLUMLP."""

    def __init__(self, GLUMLP, E, k, H, Fd, norm, dev, dtype):
        super().__init__()
        self.k, self.norm = k, norm
        self.router = nn.Linear(H, E, bias=False, device=dev, dtype=dtype)
        self.mlp = GLUMLP(H, Fd, E, k).to(dev, dtype)

    def forward(self, x):
        probs = torch.softmax(self.router(x).float(), dim=-1)
        w, ids = torch.topk(probs, self.k, dim=-1)
        if self.norm:
            w = w / w.sum(-1, keepdim=True)
        return self.mlp(x, w.to(x.dtype), ids)


# --------------------------------------------------------------------------
# Reference (fp32, routing identical to the bf16 layers)
# --------------------------------------------------------------------------

def reference(model, W, x, dy, k, norm, dtype, gate_fn=None):
    """fp32 layer on W; top-k ids from the bf16 router logits (as every layer computes
    them), routing weights and everything else in fp32. Returns out, grads (fp32)."""
    E = W.wr.shape[0]
    xb = x.detach().to(dtype)
    p = {n: getattr(W, n).detach().clone().requires_grad_(True)
         for n in ("wr", "w_up", "w_down") + (("br", "b_up", "b_down") if W.gptoss else ())}
    xf = xb.float().requires_grad_(True)
    with torch.no_grad():
        lb = F.linear(xb, W.wr.to(dtype), W.br.to(dtype) if W.gptoss else None)
        ids = torch.topk(lb if W.gptoss else torch.softmax(lb.float(), -1), k, dim=-1)[1]
    logits = F.linear(xf, p["wr"], p.get("br"))
    probs = torch.softmax(logits, -1).gather(1, ids)
    if norm:
        probs = probs / probs.sum(-1, keepdim=True)
    out = torch.zeros_like(xf)
    flat = ids.reshape(-1)
    for e in range(E):
        sel = (flat == e).nonzero().squeeze(1)
        if sel.numel() == 0:
            continue
        t = sel // k
        h = xf[t] @ p["w_up"][e]
        if W.gptoss:
            a = gate_fn(h + p["b_up"][e])
        else:
            a = F.silu(h[:, :h.shape[1] // 2]) * h[:, h.shape[1] // 2:]
        o = a @ p["w_down"][e]
        if W.gptoss:
            o = o + p["b_down"][e]
        out = out.index_add(0, t, o * probs.reshape(-1)[sel, None])
    out.backward(dy.float())
    g = {"x": xf.grad, "router": p["wr"].grad, "up": p["w_up"].grad, "down": p["w_down"].grad}
    return out.detach(), g


def rel(a, b):
    a, b = a.detach().double(), b.detach().double()
    if not torch.isfinite(a).all():
        return float("nan")
    return (torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b).clamp_min(1e-30)).item()


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------

class Timer:
    def __init__(self, dev):
        self.dev = dev

    def sync(self):
        if self.dev == "cuda":
            torch.cuda.synchronize()

    def ms(self, fn, pre, reps, warm):
        for _ in range(warm):
            pre(); fn()
        self.sync()
        ts = []
        for _ in range(reps):
            pre()
            self.sync()
            if self.dev == "cuda":
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                a.record(); fn(); b.record(); b.synchronize()
                ts.append(a.elapsed_time(b))
            else:
                t0 = time.perf_counter(); fn(); ts.append((time.perf_counter() - t0) * 1e3)
        return statistics.median(ts)

    def peak_mib(self, fn, pre):
        if self.dev != "cuda":
            return None
        pre(); torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn(); torch.cuda.synchronize()
        return round((torch.cuda.max_memory_allocated() - base) / 2**20, 1)


# --------------------------------------------------------------------------
# One layer
# --------------------------------------------------------------------------

def run_layer(name, spec, args, ctx):
    model, E, k, H, Fd, T = spec
    dev, dtype, timer = ctx["dev"], ctx["dtype"], ctx["timer"]
    norm = NORMALIZE[model]
    shape = dict(model=model, T=T, E=E, k=k, H=H, F=Fd)
    flops = 6 * T * k * H * Fd + 2 * T * H * E  # up (2F) + down + router
    gen = torch.Generator(device=dev).manual_seed(1234)
    W = Weights(model, E, k, H, Fd, dev, gen)
    x = torch.randn(T, H, generator=gen, device=dev).to(dtype).requires_grad_(True)
    dy = torch.randn(T, H, generator=gen, device=dev).to(dtype)
    tol = 3e-2 if dtype == torch.bfloat16 else 1e-3

    gate_fn = None
    if model == "gpt_oss":  # transformers' GPT-OSS gate, bound to a tiny instance
        probe = hf_block(model, 1, 1, 8, 8, "eager")
        gate_fn = probe.experts._apply_gate
    ref_out, ref_g = reference(model, W, x, dy, k, norm, dtype, gate_fn)

    impls = []  # (peer, builder -> (module, grads{name: fn(module)}), compare, note)

    def egs_moe():
        m = ctx["egs"].nn.MoE(H, Fd, E, k, normalize_topk=norm, device=dev, dtype=dtype)
        set_(m.router.weight, W.wr); set_(m.w_up, W.w_up); set_(m.w_down, W.w_down)
        return m, {"router": lambda m: m.router.weight.grad, "up": lambda m: m.w_up.grad,
                   "down": lambda m: m.w_down.grad}

    def hf(impl):
        def b():
            with torch.device(dev):
                blk = hf_block(model, E, k, H, Fd, impl)
            g = load_hf(blk, model, W, dtype)
            return HFWrap(blk), {n: (lambda m, f=f: f(m.block)) for n, f in g.items()}
        return b


    def scatter():
        m = ScatterWrap(ctx["scatter"], E, k, H, Fd, norm, dev, dtype)
        set_(m.router.weight, W.wr)
        # GLUMLP: experts.weight [E,2F,H], first half ungated value, second half gate
        set_(m.mlp.experts.weight, torch.cat([W.w_up[:, :, Fd:], W.w_up[:, :, :Fd]], 2).transpose(1, 2))
        set_(m.mlp.output_experts.weight, W.w_down.transpose(1, 2))
        def up(m):
            g = m.mlp.experts.weight.grad.transpose(1, 2)
            return torch.cat([g[:, :, Fd:], g[:, :, :Fd]], 2)
        return m, {"router": lambda m: m.router.weight.grad, "up": up,
                   "down": lambda m: m.mlp.output_experts.weight.grad.transpose(1, 2)}

    if model == "gpt_oss":
        if ctx["egs"]:
            # transformers' own block with the "egs" experts implementation
            # (egs.integrations.transformers: route + ragged GEMMs, biases, its gate fn).
            impls.append(("egs (hf experts_implementation=egs)", hf("egs"),
                          "whole layer (transformers' router + gate fn, egs route/GEMMs)", ""))
            impls.append(("egs.nn.MoE", egs_moe, "not compared",
                          "timed only: egs.nn.MoE has plain swiglu, no biases (same FLOPs)"))
        else:
            emit({"case": "layer", "layer": name, "shape": shape, "peer": "egs",
                  "note": "skipped: " + ctx["egs_note"]})
    elif ctx["egs"]:
        impls.append(("egs.nn.MoE", egs_moe, "whole layer", ""))
    else:
        emit({"case": "layer", "layer": name, "shape": shape, "peer": "egs.nn.MoE",
              "note": "skipped: " + ctx["egs_note"]})
    impls.append(("hf grouped_mm", hf("grouped_mm"), "whole layer", ""))
    if E <= 32 or args.smoke:
        impls.append(("hf eager", hf("eager"), "whole layer", ""))
    if model == "gpt_oss" and ctx["scatter"] and SCATTER_GPTOSS["fn"]:
        def scatter_gptoss():
            with torch.device(dev):
                blk = hf_block(model, E, k, H, Fd, "eager")
            g = load_hf(blk, model, W, dtype)
            return ScatterGptOss(blk), {n: (lambda m, f=f: f(m.block)) for n, f in g.items()}
        impls.append(("ScatterMoE (replace_moe GPT-OSS)", scatter_gptoss,
                      "whole layer (transformers' router, ScatterMoE's GPT-OSS experts)", ""))
    elif model == "gpt_oss":
        emit({"case": "layer", "layer": name, "shape": shape, "peer": "ScatterMoE (replace_moe GPT-OSS)",
              "note": "skipped: " + (ctx["scatter_note"] or "scattermoe.utils.replace_moe has no GPT-OSS forward")
              + "; GLUMLP has no GPT-OSS gate (interleaved, clamped, +1) or biases"})
    elif ctx["scatter"]:
        impls.append(("ScatterMoE GLUMLP", scatter, "whole layer (egs.nn.MoE's router)", ""))
    else:
        emit({"case": "layer", "layer": name, "shape": shape, "peer": "ScatterMoE GLUMLP",
              "note": "skipped: " + ctx["scatter_note"]})

    for peer, build, compare, note in impls:
        base = {"case": "layer", "layer": name, "shape": shape, "dtype": str(dtype)[6:],
                "peer": peer, "compare": compare}
        try:
            mod, grads = build()
            params = list(mod.parameters())

            def zero():
                x.grad = None
                for p in params:
                    p.grad = None

            # check
            zero()
            out = mod(x)
            out.backward(dy)
            errs = {}
            if compare != "not compared":
                errs["out"] = rel(out, ref_out)
                errs["dx"] = rel(x.grad, ref_g["x"])
                for gname, f in grads.items():
                    errs["d" + gname] = rel(f(mod), ref_g[gname])
            del out
            worst = max(errs.values()) if errs else None
            bad = worst is not None and not (worst <= tol)
            if errs:
                say(f"[{name}] {peer}: rel err vs fp32 reference ({compare}): "
                    + ", ".join(f"{n} {v:.1e}" for n, v in errs.items())
                    + ("   ** MISMATCH **" if bad else ""))
            else:
                say(f"[{name}] {peer}: {note}")

            def fwd():
                with torch.no_grad():
                    mod(x)

            def fwdbwd():
                mod(x).backward(dy)

            for mode, fn, reps, warm, fl in (("fwd", fwd, ctx["reps_f"], 3, flops),
                                              ("fwd+bwd", fwdbwd, ctx["reps_b"], 2, 3 * flops)):
                ms = timer.ms(fn, zero, reps, warm)
                pk = timer.peak_mib(fn, zero)
                emit(dict(base, mode=mode, ms=round(ms, 3),
                          tflops=round(fl / (ms * 1e-3) / 1e12, 2),
                          peak_mib=pk, rel_err=worst,
                          rel_errs={n: float("%.3g" % v) for n, v in errs.items()},
                          mismatch=bad,
                          note="; ".join(s for s in (note, "MISMATCH vs reference" if bad else "") if s)))
            zero()
            del mod, params
        except Exception as e:
            emit(dict(base, note=f"error: {type(e).__name__}: {str(e)[:300]}"))
            say(f"[{name}] {peer}: error {type(e).__name__}: {str(e)[:300]}")
        if dev == "cuda":
            torch.cuda.empty_cache()
    return ref_out


def smoke_self_check(ctx):
    """The comparison must catch a wrong layer: swapped SwiGLU halves and a missing
    renormalisation are both flagged."""
    if not ctx["egs"]:
        return []
    model, E, k, H, Fd, T = SMOKE_LAYERS["qwen3"]
    dev, dtype = ctx["dev"], ctx["dtype"]
    gen = torch.Generator(device=dev).manual_seed(7)
    W = Weights(model, E, k, H, Fd, dev, gen)
    x = torch.randn(T, H, generator=gen, device=dev).to(dtype)
    dy = torch.randn(T, H, generator=gen, device=dev).to(dtype)
    ref_out, _ = reference(model, W, x, dy, k, True, dtype)
    res = []
    for what, w_up, norm in (("swapped gate/up halves", torch.cat([W.w_up[:, :, Fd:], W.w_up[:, :, :Fd]], 2), True),
                             ("no top-k renormalisation", W.w_up, False)):
        m = ctx["egs"].nn.MoE(H, Fd, E, k, normalize_topk=norm, device=dev, dtype=dtype)
        set_(m.router.weight, W.wr); set_(m.w_up, w_up); set_(m.w_down, W.w_down)
        with torch.no_grad():
            e = rel(m(x), ref_out)
        ok = e > 1e-2
        say(f"[self-check] {what}: rel err {e:.2e} -> {'flagged' if ok else 'NOT FLAGGED'}")
        res.append(ok)
    return res


# --------------------------------------------------------------------------
# Weight gradient: egs.weight_grad vs torch._grouped_mm (2D x 2D, ragged K)
# --------------------------------------------------------------------------

def run_wgrad(name, E, k, H, Fd, T, ctx):
    dev, dtype, timer = ctx["dev"], ctx["dtype"], ctx["timer"]
    gen = torch.Generator(device=dev).manual_seed(99)
    R = T * k
    ids = torch.rand(T, E, generator=gen, device=dev).topk(k, dim=-1)[1]
    flat = ids.reshape(-1)
    order = torch.argsort(flat, stable=True)
    rows = (order // k).to(torch.int32)
    offs = torch.zeros(E + 1, dtype=torch.int32, device=dev)
    offs[1:] = torch.cumsum(torch.bincount(flat, minlength=E), 0)
    offs_t = offs[1:].contiguous()  # torch: cumulative ends, int32
    egs = ctx["egs"]
    have_wg = egs is not None and hasattr(egs, "weight_grad")
    why = ctx["egs_note"] if egs is None else "egs.weight_grad not in this egs build"
    nothing = lambda: None  # noqa: E731
    # up: dW_up[e] = sum_r x[rows[r]]^T dy[r]   x [T,H], dy [R,2F]
    # down: dW_down[e] = sum_r a[r]^T dout[rows[r]]   a [R,F] (slot order), dout [T,H]
    for proj, (I, J) in (("up", (H, 2 * Fd)), ("down", (Fd, H))):
        shape = dict(T=T, E=E, k=k, I=I, J=J, R=R)
        fl = 2 * R * I * J
        if proj == "up":
            lhs = torch.randn(T, I, generator=gen, device=dev).to(dtype)
            rhs = torch.randn(R, J, generator=gen, device=dev).to(dtype)
            lhs_s, rhs_s = lhs[rows.long()], rhs
            egs_kw = dict(lhs_ind=rows)
        else:
            lhs = torch.randn(R, I, generator=gen, device=dev).to(dtype)
            rhs = torch.randn(T, J, generator=gen, device=dev).to(dtype)
            lhs_s, rhs_s = lhs, rhs[rows.long()]
            egs_kw = dict(rhs_ind=rows)
        ref = op_reference.weight_grad(lhs, rhs, offsets=offs, **egs_kw)
        peers = [("torch._grouped_mm (pre-gathered)",
                  lambda: torch._grouped_mm(lhs_s.t(), rhs_s, offs=offs_t), ""),
                 ("gather + torch._grouped_mm",
                  (lambda: torch._grouped_mm(lhs[rows.long()].t(), rhs, offs=offs_t)) if proj == "up"
                  else (lambda: torch._grouped_mm(lhs.t(), rhs[rows.long()], offs=offs_t)), "")]
        if have_wg:
            peers.insert(0, ("egs.weight_grad", lambda: egs.weight_grad(lhs, rhs, expert_offsets=offs, **egs_kw), ""))
            peers.insert(1, ("egs.weight_grad f32 out",
                             lambda: egs.weight_grad(lhs, rhs, expert_offsets=offs, out_dtype=torch.float32, **egs_kw),
                             ""))
        else:
            emit({"case": "wgrad", "name": f"{name}-{proj}", "shape": shape, "peer": "egs.weight_grad",
                  "note": "skipped: " + why})
        for peer, fn, note in peers:
            base = {"case": "wgrad", "name": f"{name}-{proj}", "shape": shape,
                    "dtype": str(dtype)[6:], "peer": peer}
            try:
                e = rel(fn(), ref)
                bad = not (e <= (2e-2 if dtype == torch.bfloat16 else 1e-4))
                ms = timer.ms(fn, nothing, ctx["reps_f"], 3)
                pk = timer.peak_mib(fn, nothing)
                say(f"[wgrad {name}-{proj}] {peer}: rel err {e:.1e}{'   ** MISMATCH **' if bad else ''}, {ms:.3f} ms")
                emit(dict(base, ms=round(ms, 4), tflops=round(fl / (ms * 1e-3) / 1e12, 2),
                          peak_mib=pk, rel_err=e, mismatch=bad,
                          note="; ".join(s for s in (note, "MISMATCH vs reference" if bad else "") if s)))
            except Exception as ex:
                emit(dict(base, note=f"error: {type(ex).__name__}: {str(ex)[:300]}"))
                say(f"[wgrad {name}-{proj}] {peer}: error {type(ex).__name__}: {str(ex)[:200]}")
        if dev == "cuda":
            torch.cuda.empty_cache()


# --------------------------------------------------------------------------

def main():
    global OUT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="-", help="JSON lines file (appended), default stdout")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (fwd 5, fwd+bwd 3)")
    ap.add_argument("--layers", default="qwen3,mixtral,olmoe,gptoss,decode,wgrad",
                    help="comma-separated subset of " + ",".join(list(LAYERS) + ["wgrad"]))
    ap.add_argument("--smoke", action="store_true", help="CPU, tiny shapes (T=32): checks the comparisons")
    ap.add_argument("--dtype", default=None, help="bfloat16 (default) or float32 (default with --smoke)")
    ap.add_argument("--table", action="store_true", help="also write the Markdown table/plot (plot.py) next to --out")
    args = ap.parse_args()

    dev = "cpu" if args.smoke else "cuda"
    if dev == "cuda" and not torch.cuda.is_available():
        say("bench_layer.py: no CUDA device (use --smoke on the CPU)")
        return 2
    dtype = getattr(torch, args.dtype or ("float32" if args.smoke else "bfloat16"))
    OUT = sys.stdout if args.out == "-" else open(args.out, "a")
    torch.manual_seed(0)
    egs, egs_note = import_egs(dev)
    scat, scat_note = import_scattermoe(dev)
    for what, n in (("egs", egs_note), ("ScatterMoE", scat_note)):
        if n:
            say(f"{what}: skipped: {n}")
    ctx = dict(dev=dev, dtype=dtype, timer=Timer(dev), egs=egs, egs_note=egs_note,
               scatter=scat, scatter_note=scat_note,
               reps_f=5 if (args.quick or args.smoke) else 20,
               reps_b=3 if (args.quick or args.smoke) else 10)
    import transformers
    emit({"case": "meta", "bench": "layer",
          "device": torch.cuda.get_device_name() if dev == "cuda" else "CPU (smoke)",
          "torch": torch.__version__, "transformers": transformers.__version__,
          "date": time.strftime("%Y-%m-%d"), "dtype": str(dtype)[6:], "quick": args.quick,
          "smoke": args.smoke})
    sel = [s for s in args.layers.split(",") if s]
    unknown = [s for s in sel if s not in LAYERS and s != "wgrad"]
    if unknown:
        ap.error(f"unknown layers {unknown}")
    table = SMOKE_LAYERS if args.smoke else LAYERS
    t0 = time.time()
    for name in sel:
        if name == "wgrad":
            continue
        say(f"== {name} {table[name]} ({time.time() - t0:.0f} s)")
        run_layer(name, table[name], args, ctx)
    if "wgrad" in sel:
        say(f"== wgrad ({time.time() - t0:.0f} s)")
        for (name, E, k, H, Fd) in (SMOKE_WGRAD if args.smoke else WGRAD):
            run_wgrad(name, E, k, H, Fd, 32 if args.smoke else 4096, ctx)
    checks = smoke_self_check(ctx) if args.smoke else []
    say(f"== done in {time.time() - t0:.0f} s")

    import plot
    say(plot.layer_summary(SUMMARY))
    bad = [r for r in SUMMARY if r.get("mismatch")]
    errs = [r for r in SUMMARY if str(r.get("note", "")).startswith("error")]
    if bad:
        say("MISMATCHES: " + ", ".join(f"{r.get('layer') or r.get('name')}/{r['peer']}" for r in bad))
    if args.table and args.out != "-":
        OUT.close()
        for p in plot.render_layer(args.out, os.path.dirname(os.path.abspath(args.out))):
            say(p)
    if args.smoke:
        ok = not bad and not errs and all(checks)
        say("smoke: " + ("OK" if ok else "FAILED") +
            f" ({len([r for r in SUMMARY if r.get('ms') is not None])} timed rows, "
            f"{len(bad)} mismatches, {len(errs)} errors, self-checks {sum(checks)}/{len(checks)} flagged)")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
