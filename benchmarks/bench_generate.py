#!/usr/bin/env python3
"""Generation speed of a small multi-layer MoE model (random weights) with
transformers' experts backends: experts_implementation in {"egs",
"grouped_mm", "eager"} (whichever this transformers has), one process.

The model is a Qwen3-MoE (default: 4 layers, H 1024, E 64, k 8, F 512,
vocab 8192) in bfloat16 on CUDA. Each backend greedily generates
--new-tokens tokens for a batch of random prompts (after one warm-up run);
the rows give tokens/s (batch * new tokens / wall time) and how many of the
generated tokens agree with grouped_mm's (greedy decoding amplifies bf16
rounding differences, so agreement below 100% is expected after the first
few tokens; the first generated token of every sequence is compared too).

  bench_generate.py [--out FILE.md] [--new-tokens N] [--batch B]
  bench_generate.py --smoke      # CPU, float32, tiny model: egs vs eager
"""
import argparse
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.environ.get("EGS_BUILD", os.path.join(os.path.dirname(HERE), "build")),
                                "python_packages"))


def build_model(args, dev, dtype):
    from transformers import AutoModelForCausalLM, Qwen3MoeConfig
    cfg = Qwen3MoeConfig(vocab_size=args.vocab, hidden_size=args.hidden, num_hidden_layers=args.layers,
                         num_attention_heads=8, num_key_value_heads=4, head_dim=args.hidden // 8,
                         intermediate_size=2 * args.ffn, moe_intermediate_size=args.ffn,
                         num_experts=args.experts, num_experts_per_tok=args.top_k, norm_topk_prob=True,
                         max_position_embeddings=4096)
    cfg._experts_implementation = "eager"
    torch.manual_seed(0)
    m = AutoModelForCausalLM.from_config(cfg)
    with torch.no_grad():
        for p in m.parameters():
            if p.dim() >= 2:
                p.normal_(0, args.hidden ** -0.5)
    return m.to(dev, dtype).eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--ffn", type=int, default=512)
    ap.add_argument("--experts", type=int, default=64)
    ap.add_argument("--top-k", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--prompt", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=64)
    args = ap.parse_args()
    if args.smoke:
        args.layers, args.hidden, args.ffn, args.experts, args.top_k, args.vocab = 2, 64, 32, 8, 2, 128
        args.batch, args.prompt, args.new_tokens = 2, 8, 4
    dev = "cpu" if args.smoke else "cuda"
    dtype = torch.float32 if args.smoke else torch.bfloat16
    import egs.integrations.transformers as egs_tf
    egs_tf.register()
    model = build_model(args, dev, dtype)
    gen = torch.Generator(device="cpu").manual_seed(1)
    prompts = torch.randint(0, args.vocab, (args.batch, args.prompt), generator=gen).to(dev)
    impls = ["egs", "grouped_mm", "eager"] if not args.smoke else ["egs", "eager"]
    rows, outs = [], {}
    for impl in impls:
        try:
            model.set_experts_implementation(impl)
        except Exception as e:  # noqa: BLE001 (a backend this transformers lacks)
            rows.append((impl, None, None, None, f"unavailable: {str(e)[:80]}"))
            continue

        def run():
            with torch.no_grad():
                return model.generate(prompts, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                                      do_sample=False, pad_token_id=0)
        run()
        if dev == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        out = run()
        if dev == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t
        outs[impl] = out[:, args.prompt:]
        rows.append((impl, dt, args.batch * args.new_tokens / dt, None, ""))
    ref_name = "grouped_mm" if "grouped_mm" in outs else "eager"
    ref = outs.get(ref_name)
    table = [f"# generation, Qwen3-MoE {args.layers} layers H{args.hidden} E{args.experts} k{args.top_k} "
             f"F{args.ffn} vocab {args.vocab}, batch {args.batch}, prompt {args.prompt}, "
             f"{args.new_tokens} new tokens, {dtype}, "
             f"{torch.cuda.get_device_name() if dev == 'cuda' else 'CPU'}",
             "", f"| experts_implementation | s | tokens/s | vs {ref_name} | tokens equal to {ref_name}'s "
             f"| first token equal | note |", "|---|---|---|---|---|---|---|"]
    base = next((r[2] for r in rows if r[0] == ref_name and r[2]), None)
    for impl, dt, tps, _, note in rows:
        if dt is None:
            table.append(f"| {impl} | - | - | - | - | - | {note} |")
            continue
        o = outs[impl]
        same = (o == ref).float().mean().item() if ref is not None else float("nan")
        first = (o[:, 0] == ref[:, 0]).float().mean().item() if ref is not None else float("nan")
        table.append(f"| {impl} | {dt:.3f} | {tps:.0f} | {tps / base:.2f}x | {same:.0%} | {first:.0%} | {note} |")
    text = "\n".join(table)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    if args.smoke:
        # egs must agree with eager exactly in the greedy tokens on this tiny float32 model.
        assert torch.equal(outs["egs"], outs["eager"]), "egs and eager generated different tokens"


if __name__ == "__main__":
    main()
