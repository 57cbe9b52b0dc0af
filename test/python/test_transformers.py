"""egs as a transformers experts backend (egs.integrations.transformers) and
egs.nn.MoE.from_transformers, on tiny random-weight models on the CPU:
logits and gradients against experts_implementation="eager", egs ops really
used on the model's own weight tensors, torch.compile without graph breaks,
and the warned fallback where egs cannot run a layer."""
import copy
import math
import warnings

import pytest

import torch  # noqa: E402
from op_recorder import OpRecorder  # noqa: E402
from transformers import (AutoModelForCausalLM, DeepseekV3Config, GptOssConfig,  # noqa: E402
                          MixtralConfig, OlmoeConfig, Qwen2MoeConfig, Qwen3MoeConfig)
from transformers.utils import logging as hf_logging  # noqa: E402

import egs.integrations.transformers as egs_hf  # noqa: E402
import egs.nn  # noqa: E402
from egs import _torch_ops  # noqa: E402

hf_logging.set_verbosity_error()

VOCAB, H, F, E, K = 96, 32, 32, 4, 2
COMMON = dict(vocab_size=VOCAB, hidden_size=H, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=64, num_experts_per_tok=K,
              attn_implementation="eager")


def _config(name):
    if name == "mixtral":
        return MixtralConfig(**COMMON, intermediate_size=F, num_local_experts=E, head_dim=8)
    if name == "qwen2_moe":
        return Qwen2MoeConfig(**COMMON, intermediate_size=64, moe_intermediate_size=F,
                              num_experts=E, shared_expert_intermediate_size=F,
                              decoder_sparse_step=1, norm_topk_prob=True)
    if name == "qwen3_moe":
        return Qwen3MoeConfig(**COMMON, intermediate_size=64, moe_intermediate_size=F,
                              num_experts=E, head_dim=8, norm_topk_prob=True)
    if name == "olmoe":
        return OlmoeConfig(**COMMON, intermediate_size=F, num_experts=E, norm_topk_prob=False)
    if name == "gpt_oss":
        return GptOssConfig(**COMMON, intermediate_size=F, num_local_experts=E, head_dim=8,
                            sliding_window=8)
    if name == "deepseek_v3":
        return DeepseekV3Config(**dict(COMMON, num_key_value_heads=4), intermediate_size=64, moe_intermediate_size=F,
                                n_routed_experts=E, n_shared_experts=1, n_group=2, topk_group=1,
                                first_k_dense_replace=0, q_lora_rank=16, kv_lora_rank=16,
                                qk_rope_head_dim=4, qk_nope_head_dim=4, v_head_dim=8)
    raise ValueError(name)


MODELS = ["mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "gpt_oss", "deepseek_v3"]
_CACHE = {}


def _model(name, impl="eager"):
    """A tiny random model (matrices ~ N(0, 1/H), expert biases ~ 0.1, so
    the experts matter in the logits), as a fresh copy with `impl`."""
    if name not in _CACHE:
        cfg = _config(name)
        cfg._experts_implementation = "eager"
        torch.manual_seed(0)
        m = AutoModelForCausalLM.from_config(cfg).float().eval()
        with torch.no_grad():
            for pname, p in m.named_parameters():
                if p.dim() >= 2:
                    p.normal_(0, 1 / math.sqrt(H))
                elif "proj_bias" in pname or "router.bias" in pname:
                    p.normal_(0, 0.1)
        _CACHE[name] = m
    m = copy.deepcopy(_CACHE[name])
    if impl != "eager":
        m.set_experts_implementation(impl)
    return m


def _experts(model):
    return [mod for mod in model.modules() if hasattr(mod, "has_gate")]


def _batch(seed=1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, VOCAB, (2, 6), generator=g)
    return ids, torch.randint(0, VOCAB, (2, 6), generator=g)


_Ops = OpRecorder


def _close(a, b, what, rtol=1e-4, atol=1e-5):
    err = (a - b).abs().max().item()
    scale = b.abs().max().item()
    assert err <= atol + rtol * scale, f"{what}: max abs err {err:.3g} (max |ref| {scale:.3g})"


def test_registered():
    from transformers.integrations.moe import ALL_EXPERTS_FUNCTIONS
    assert ALL_EXPERTS_FUNCTIONS["egs"] is egs_hf.egs_experts_forward


@pytest.mark.parametrize("name", MODELS)
def test_model_matches_eager(name):
    """Logits and one training step's gradients (experts, router, embeddings,
    everything) agree with "eager"; the egs ops read the model's own expert
    weights in place and no eager fallback runs."""
    ref, m = _model(name), _model(name, "egs")
    assert m.config._experts_implementation == "egs"
    ids, labels = _batch()
    egs_hf.reset_warnings()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a fallback would warn
        with _Ops() as rec:
            out = m(ids, labels=labels)
    want = ref(ids, labels=labels)
    _close(out.logits, want.logits, f"{name} logits")
    names = [c for c, _ in rec.calls]
    ex = _experts(m)
    assert names.count("egs.route_weighted") == len(ex)   # scale from the route kernel
    assert names.count("egs.gather_matmul") == len(ex)
    assert names.count("egs.matmul_scatter") == len(ex)
    ups = {e.gate_up_proj.data_ptr() for e in ex}
    for c, args in rec.calls:
        if c == "egs.gather_matmul":   # the model's tensor, in place, in its own layout
            assert args[2].data_ptr() in ups
            transposed = args[5] if len(args) > 5 else False   # defaults are dropped
            assert transposed is (not ex[0].is_transposed)
    # training step
    m.train(); ref.train()
    out, want = m(ids, labels=labels), ref(ids, labels=labels)
    _close(out.loss, want.loss, f"{name} loss")
    out.loss.backward()
    want.loss.backward()
    grads = dict(ref.named_parameters())
    checked = 0
    for pname, p in m.named_parameters():
        g_ref = grads[pname].grad
        if g_ref is None:
            assert p.grad is None, pname
            continue
        assert p.grad is not None, f"{name}: no gradient for {pname}"
        _close(p.grad, g_ref, f"{name} grad {pname}", rtol=1e-3)
        checked += 1
    expected = [n for n, _ in m.named_parameters() if "experts" in n or "gate.weight" in n
                or "router" in n or "embed_tokens" in n]
    assert all(grads[n].grad is not None for n in expected if "shared" not in n), expected
    assert checked >= len(expected)


@pytest.mark.parametrize("name", MODELS)
def test_inference_fuses_the_models_gate_into_the_up_projection(name):
    """Without autograd, each layer's gate runs in the up projection's
    epilogue (silu * up; GPT-OSS's clamped swiglu over interleaved columns
    with the model's alpha and limit) and the logits still match eager."""
    ref, m = _model(name), _model(name, "egs")
    ids, _ = _batch()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        with _Ops() as rec:
            out = m(ids)
        want = ref(ids)
    _close(out.logits, want.logits, f"{name} logits")
    ex = _experts(m)
    calls = [args for c, args in rec.calls if c == "egs.gather_matmul"]
    assert len(calls) == len(ex)
    for args in calls:
        if name == "gpt_oss":
            assert tuple(args[6:10]) == ("clamped_swiglu", ex[0].alpha, ex[0].limit, True)
        else:
            assert args[6] == "swiglu" and not any(args[7:])


def test_from_pretrained_experts_implementation_egs(tmp_path):
    ref = _model("olmoe")
    ref.save_pretrained(tmp_path)
    m = AutoModelForCausalLM.from_pretrained(tmp_path, experts_implementation="egs")
    assert m.config._experts_implementation == "egs"
    ids, _ = _batch(2)
    with _Ops() as rec:
        out = m(ids).logits
    assert any(c == "egs.gather_matmul" for c, _ in rec.calls)
    _close(out, ref(ids).logits, "from_pretrained(experts_implementation='egs')")


def test_egs_after_switching_back_and_forth():
    m = _model("olmoe", "egs")
    ids, _ = _batch(3)
    a = m(ids).logits
    m.set_experts_implementation("eager")
    b = m(ids).logits
    _close(a, b, "olmoe egs vs eager after set_experts_implementation")


def test_bfloat16_runs_through_egs():
    ref, m = _model("qwen3_moe").to(torch.bfloat16), _model("qwen3_moe", "egs").to(torch.bfloat16)
    ids, _ = _batch(4)
    egs_hf.reset_warnings()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        with _Ops() as rec:
            out = m(ids).logits
    assert any(c == "egs.gather_matmul" for c, _ in rec.calls)
    want = ref(ids).logits
    assert out.dtype == torch.bfloat16
    err = ((out.float() - want.float()).norm() / want.float().norm()).item()
    assert err < 3e-2, err


def test_torch_compile_fullgraph_no_graph_break():
    """A model using egs compiles into one graph (aot_eager: forward and the
    backward graph through the egs autograd formulas)."""
    torch._dynamo.reset()
    ref, m = _model("qwen3_moe"), _model("qwen3_moe", "egs")
    m.train(); ref.train()
    ids, labels = _batch(5)
    graphs = []

    def backend(gm, example_inputs):   # aot_eager, keeping the Dynamo graphs
        graphs.append(gm)
        return torch._dynamo.lookup_backend("aot_eager")(gm, example_inputs)

    cm = torch.compile(m, fullgraph=True, backend=backend)
    out = cm(ids, labels=labels)
    want = ref(ids, labels=labels)
    _close(out.logits, want.logits, "compiled logits")
    out.loss.backward()
    want.loss.backward()
    assert len(graphs) == 1
    code = graphs[0].code
    for op in ("egs.route", "egs.gather_matmul", "egs.matmul_scatter"):
        assert code.count(op) == 2, (op, code.count(op))   # one per layer
    gr = dict(ref.named_parameters())
    for pname, p in m.named_parameters():
        if "experts" in pname or "gate.weight" in pname:
            _close(p.grad, gr[pname].grad, f"compiled grad {pname}", rtol=1e-3)


def test_unsupported_device_layout_warns_and_falls_back(monkeypatch):
    """No in-place transposed read on the device (as on CUDA today): one
    warning naming the reason, eager's result, no egs op."""
    monkeypatch.setitem(_torch_ops._READS_TRANSPOSED_W, "cpu", False)
    egs_hf.reset_warnings()
    ref, m = _model("mixtral"), _model("mixtral", "egs")
    ids, _ = _batch(6)
    with pytest.warns(UserWarning, match=r"cannot read \[E,out,in\] expert weights in place"
                                         r".*_READS_TRANSPOSED_W\['cpu'\] is False") as rec_w:
        with _Ops() as rec:
            out = m(ids).logits
    assert len([w for w in rec_w if "egs experts backend" in str(w.message)]) == 1  # once
    assert not any(c.startswith("egs.") for c, _ in rec.calls)
    _close(out, ref(ids).logits, "fallback logits", rtol=0, atol=0)
    # GPT-OSS stores [E,in,out]: it needs no transposed read and still runs on egs.
    g = _model("gpt_oss", "egs")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        with _Ops() as rec:
            g(ids)
    assert any(c == "egs.gather_matmul" for c, _ in rec.calls)


def test_unsupported_dtype_warns_and_falls_back():
    egs_hf.reset_warnings()
    ref, m = _model("olmoe").double(), _model("olmoe", "egs").double()
    ids, _ = _batch(7)
    with pytest.warns(UserWarning, match="dtype torch.float64"):
        out = m(ids).logits
    _close(out, ref(ids).logits, "float64 fallback", rtol=0, atol=0)


def test_moe_from_transformers_shares_weights():
    m = _model("mixtral")
    block = m.model.layers[0].mlp
    moe = egs.nn.MoE.from_transformers(block)
    assert moe.w_transposed and moe.w_up is block.experts.gate_up_proj
    assert moe.w_down is block.experts.down_proj and moe.router.weight is block.gate.weight
    x = torch.randn(2, 5, H)
    _close(moe(x), block(x), "MoE.from_transformers (shared) vs block")
    moe(x).square().sum().backward()
    assert block.experts.gate_up_proj.grad is not None  # the block's own parameters train
    g = block.experts.down_proj.grad.clone()
    block.zero_grad()
    block(x).square().sum().backward()
    _close(g, block.experts.down_proj.grad, "shared dW_down", rtol=1e-3)


@pytest.mark.parametrize("name", ["qwen3_moe", "olmoe"])
def test_moe_from_transformers_copy(name):
    block = _model(name).model.layers[1].mlp
    moe = egs.nn.MoE.from_transformers(block, copy=True)
    assert not moe.w_transposed and moe.w_up.shape == (E, H, 2 * F)
    assert moe.w_up.data_ptr() != block.experts.gate_up_proj.data_ptr()
    assert moe.normalize_topk == block.gate.norm_topk_prob
    x = torch.randn(3, 4, H)
    _close(moe(x), block(x), f"MoE.from_transformers(copy=True) vs {name} block")


@pytest.mark.parametrize("name,match", [("gpt_oss", "GPT-OSS"), ("deepseek_v3", "router"),
                                        ("qwen2_moe", "shared expert")])
def test_moe_from_transformers_refuses_other_blocks(name, match):
    block = _model(name).model.layers[0].mlp
    with pytest.raises(ValueError, match=match):
        egs.nn.MoE.from_transformers(block)
