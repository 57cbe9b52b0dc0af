"""PyTorch modules over the egs ops, with autograd and torch.compile support.

    ExpertGather(E, I, J, bias=False)   y = x[ind] @ weight[e] (+ bias[e])
    ExpertScatter(E, J, I)              out = init + scatter-add of scale * (y @ weight[e])
    MoE(hidden, ffn, num_experts, top_k, activation="swiglu")
        router -> softmax -> top-k -> egs.route -> fused up-projection
        -> activation -> fused down-projection with the weighted combine
    MoE.from_transformers(block)        the same layer on a transformers
                                        sparse-MoE block's own parameters
    slot_weights(weights, row_id_map)   routing weight of each ragged slot

The ops behind them are torch custom operators (egs::gather_matmul, ...;
see egs._torch_ops for the backward formulas), so torch.compile keeps them
in one graph.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from . import _torch_ops as ops
from .ops import MAX_COUNT, _f32_bits, _flag, _int

__all__ = ["ExpertGather", "ExpertParallelMoE", "ExpertParallelMode", "ExpertScatter", "MoE", "ops",
           "slot_weights"]


def _sizes(module, num_experts, in_features, out_features):
    """A module's (E, in, out), checked (ints as egs.ops._int takes them)."""
    op = "nn." + module
    return (_int(num_experts, "num_experts", op, 1, MAX_COUNT - 1),
            _int(in_features, "in_features", op), _int(out_features, "out_features", op))


def _init_experts(weight, fan_in):
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    with torch.no_grad():
        weight.uniform_(-bound, bound)


class ExpertGather(nn.Module):
    """Expert-choice gather + expert GEMM: x [B,T,I] (or [T,I]), ind [B,E,K]
    (or [E,K]) -> y [B,E,K,J]; with expert_offsets (ragged), ind = rows [R]
    and y [R,J]."""

    def __init__(self, num_experts, in_features, out_features, bias=False,
                 device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        num_experts, in_features, out_features = _sizes("ExpertGather", num_experts, in_features,
                                                        out_features)
        bias = _flag(bias, "bias", "nn.ExpertGather")
        self.num_experts, self.in_features, self.out_features = num_experts, in_features, out_features
        self.weight = nn.Parameter(torch.empty(num_experts, in_features, out_features, **kw))
        self.bias = nn.Parameter(torch.empty(num_experts, out_features, **kw)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        _init_experts(self.weight, self.in_features)
        if self.bias is not None:
            _init_experts(self.bias, self.in_features)

    def forward(self, x, ind, expert_offsets=None):
        return ops.gather_matmul_op(x, ind, self.weight, self.bias, expert_offsets)

    def extra_repr(self):
        return (f"num_experts={self.num_experts}, in_features={self.in_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class ExpertScatter(nn.Module):
    """Expert GEMM + scatter-add combine: y [B,E,K,J] (or [E,K,J]), ind like
    ExpertGather's, weight [E,J,I] -> out [B,T,I] = init + sum over routed
    rows of scale * y @ weight[e]. Give `init` or `num_tokens` (T)."""

    def __init__(self, num_experts, in_features, out_features, deterministic=False,
                 device=None, dtype=None):
        super().__init__()
        num_experts, in_features, out_features = _sizes("ExpertScatter", num_experts, in_features,
                                                        out_features)
        self.num_experts, self.in_features, self.out_features = num_experts, in_features, out_features
        self.deterministic = _flag(deterministic, "deterministic", "nn.ExpertScatter")
        self.weight = nn.Parameter(torch.empty(num_experts, in_features, out_features,
                                               device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        _init_experts(self.weight, self.in_features)

    def forward(self, y, ind, num_tokens=None, *, init=None, scale=None, expert_offsets=None):
        if init is None and num_tokens is None:
            raise TypeError("ExpertScatter: pass num_tokens (T) or init")
        return ops.matmul_scatter(y, ind, self.weight, init, None if init is not None else num_tokens,
                                  scale, expert_offsets, self.deterministic)

    def extra_repr(self):
        return (f"num_experts={self.num_experts}, in_features={self.in_features}, "
                f"out_features={self.out_features}, deterministic={self.deterministic}")


_ACTIVATIONS = ("swiglu", "silu", "gelu", "relu", "clamped_swiglu")


def slot_weights(weights, row_id_map):
    """[T*k]: the routing weight of each ragged slot, in slot order.

    egs.route orders the slots of choice j of token t at row_id_map[j*T + t];
    weights [T,k] is scattered there on the device (no host sync, autograd
    flows back to weights): the `scale` of the ragged matmul_scatter."""
    flat = weights.t().reshape(-1)
    return flat.new_empty(flat.shape).scatter(0, row_id_map.long(), flat)


def _moe_args(op, hidden, ffn, num_experts, top_k, activation, normalize_topk, w_transposed,
              interleaved, alpha, limit):
    """The checked (hidden, ffn, num_experts, top_k, normalize_topk,
    w_transposed, interleaved) of a MoE layer's arguments; errors name
    egs.<op> and the argument."""
    hidden = _int(hidden, "hidden", op, 1)
    ffn = _int(ffn, "ffn", op, 1)
    num_experts = _int(num_experts, "num_experts", op, 1, MAX_COUNT - 1)
    top_k = _int(top_k, "top_k", op, 1, num_experts, f"[1, num_experts] = [1, {num_experts}]")
    normalize_topk = _flag(normalize_topk, "normalize_topk", op)
    interleaved = _flag(interleaved, "interleaved", op)
    w_transposed = _flag(w_transposed, "w_transposed", op)
    for name, value in (("alpha", alpha), ("limit", limit)):
        if value is not None:
            _f32_bits(value, name, op)
    if activation not in _ACTIVATIONS:
        raise ValueError(f"egs.{op}: activation must be one of {_ACTIVATIONS}, "
                         f"got {activation!r}")
    if interleaved and activation not in ops.GATED:
        raise ValueError(f"egs.{op}: interleaved=True needs a gated activation {ops.GATED}, "
                         f"got {activation!r}")
    if (alpha is not None or limit is not None) and activation != "clamped_swiglu":
        raise ValueError(f"egs.{op}: alpha and limit belong to activation='clamped_swiglu', "
                         f"got {activation!r}")
    return hidden, ffn, num_experts, top_k, normalize_topk, w_transposed, interleaved


def _topk(logits, top_k, normalize_topk, dtype):
    """Router logits [T,E] -> (top-k weights [T,k] in dtype, expert ids [T,k]
    int32): softmax in float32, top-k, optionally renormalized."""
    probs = torch.softmax(logits.float(), dim=-1)
    weights, ids = torch.topk(probs, top_k, dim=-1)
    if normalize_topk:
        weights = weights / weights.sum(dim=-1, keepdim=True)
    return weights.to(dtype), ids.to(torch.int32)


def _up_projection(x2, rows, offsets, w_up, w_transposed, activation, alpha, limit, interleaved):
    """act(x2[rows] @ w_up[e]), ragged: the activation fused into the GEMM
    when no gradient is recorded (relu, not an epilogue, always in torch)."""
    if activation == "relu":
        return F.relu(ops.gather_matmul_op(x2, rows, w_up, None, offsets, w_transposed))
    return ops.up_projection(x2, rows, w_up, None, offsets, w_transposed, activation, alpha,
                             limit, interleaved)


def _is_silu(act):
    """Whether act (a transformers ACT2FN module) is silu: checked on values."""
    if not callable(act):
        return False
    t = torch.linspace(-4.0, 4.0, 17)
    try:
        return torch.allclose(act(t), F.silu(t))
    except Exception:
        return False


# transformers routers egs.nn.MoE reproduces exactly: class name -> attribute
# that says whether the top-k weights are renormalized (None: always).
_HF_ROUTERS = {"MixtralTopKRouter": None, "Qwen3MoeTopKRouter": "norm_topk_prob",
               "Qwen2MoeTopKRouter": "norm_topk_prob", "OlmoeTopKRouter": "norm_topk_prob"}


class MoE(nn.Module):
    """Token-choice top-k Mixture-of-Experts feed-forward layer.

    x [..., hidden] -> router logits [T, E] -> softmax -> top-k (weights
    renormalized to sum to 1 when `normalize_topk`) -> egs.route -> up
    projection of the routed rows read in place (egs.gather_matmul, ragged)
    -> activation (swiglu: silu(a) * b over the two halves; clamped_swiglu:
    GPT-OSS's, with alpha and limit; interleaved=True takes gate and up from
    alternate columns) -> down projection scattered back to the tokens with
    the routing weights (egs.matmul_scatter, ragged, scale = weight of each
    slot). Without autograd (inference) the activation runs in the up
    projection's epilogue: one kernel each way; when training, the
    pre-activation is kept for the backward.

    Weights: w_up [E, hidden, up] and w_down [E, ffn, hidden] (up = 2*ffn for
    the gated activations, gate half first); with w_transposed=True they are
    stored as transformers stores experts, w_up [E, up, hidden] and w_down
    [E, hidden, ffn], and read in place.
    """

    def __init__(self, hidden, ffn, num_experts, top_k, activation="swiglu",
                 normalize_topk=True, device=None, dtype=None, *, w_transposed=False,
                 interleaved=False, alpha=None, limit=None):
        super().__init__()
        (hidden, ffn, num_experts, top_k, normalize_topk, w_transposed, interleaved) = _moe_args(
            "nn.MoE", hidden, ffn, num_experts, top_k, activation, normalize_topk, w_transposed,
            interleaved, alpha, limit)
        gated = activation in ops.GATED
        kw = {"device": device, "dtype": dtype}
        self.hidden, self.ffn, self.num_experts, self.top_k = hidden, ffn, num_experts, top_k
        self.activation, self.normalize_topk = activation, normalize_topk
        self.interleaved, self.alpha, self.limit = interleaved, alpha, limit
        self.w_transposed = w_transposed
        up = 2 * ffn if gated else ffn
        self.router = nn.Linear(hidden, num_experts, bias=False, **kw)
        if self.w_transposed:
            self.w_up = nn.Parameter(torch.empty(num_experts, up, hidden, **kw))
            self.w_down = nn.Parameter(torch.empty(num_experts, hidden, ffn, **kw))
        else:
            self.w_up = nn.Parameter(torch.empty(num_experts, hidden, up, **kw))
            self.w_down = nn.Parameter(torch.empty(num_experts, ffn, hidden, **kw))
        _init_experts(self.w_up, hidden)
        _init_experts(self.w_down, ffn)

    def route(self, x2):
        """(topk weights [T,k], topk expert ids [T,k] int32)."""
        return _topk(self.router(x2), self.top_k, self.normalize_topk, x2.dtype)

    def _activate(self, h):
        """The activation in torch ops (what the fused epilogue computes)."""
        if self.activation == "relu":
            return F.relu(h)
        return ops.apply_activation(h, self.activation, self.alpha, self.limit, self.interleaved)

    def _up(self, x2, rows, offsets):
        """The up projection and the activation (fused when no gradient is
        recorded)."""
        return _up_projection(x2, rows, offsets, self.w_up, self.w_transposed, self.activation,
                              self.alpha, self.limit, self.interleaved)

    def forward(self, x):
        shape = x.shape
        x2 = x.reshape(-1, self.hidden).contiguous()
        t = x2.shape[0]
        weights, ids = self.route(x2)
        # Slot r holds choice j of token t where row_id_map[j*T + t] = r; its
        # scale is weights[t, j], put in slot order by the route kernel.
        rows, offsets, _, scale = ops.route_weighted_op(ids, weights, self.num_experts)
        a = self._up(x2, rows, offsets)
        out = ops.matmul_scatter_op(a.contiguous(), rows, self.w_down, None, t, scale,
                                    offsets, False, self.w_transposed)
        return out.reshape(shape)

    def extra_repr(self):
        return (f"hidden={self.hidden}, ffn={self.ffn}, num_experts={self.num_experts}, "
                f"top_k={self.top_k}, activation={self.activation!r}"
                + (", interleaved=True" if self.interleaved else "")
                + (f", alpha={self.alpha}" if self.alpha is not None else "")
                + (f", limit={self.limit}" if self.limit is not None else "")
                + (", w_transposed=True" if self.w_transposed else ""))

    @classmethod
    def from_transformers(cls, block, *, copy=None):
        """An egs.nn.MoE computing what the transformers sparse-MoE `block`
        computes (router, softmax, top-k, optional renormalization, SwiGLU
        experts), for swapping modules by hand.

        Supported: Mixtral (MixtralSparseMoeBlock), Qwen3-MoE
        (Qwen3MoeSparseMoeBlock), OLMoE (OlmoeSparseMoeBlock): a softmax
        top-k router without bias and SiLU-gated experts stored
        [E, out, in] without biases. Other blocks raise ValueError saying
        why (GPT-OSS's biased router and clamped gate, DeepSeek-V3's
        group-limited sigmoid routing and Qwen2-MoE's shared expert are not
        what MoE computes): run them through
        `experts_implementation="egs"` (egs.integrations.transformers),
        which keeps the model's own router.

        copy=False shares the block's Parameters (router weight,
        gate_up_proj, down_proj: the same tensor objects, no copy; the
        MoE reads [E, out, in] in place with w_transposed=True, so
        training either module trains both). copy=True copies them into
        MoE's own layout ([E, in, out], independent parameters). The
        default (None) shares where the weights' device reads transposed
        weights in place (CPU) and copies elsewhere (CUDA today)."""
        gate = getattr(block, "gate", None)
        experts = getattr(block, "experts", None)
        name = type(block).__name__
        if gate is None or experts is None:
            raise ValueError(f"MoE.from_transformers: {name} has no .gate router and .experts "
                             "(GPT-OSS's GptOssMLP: biased router, clamped interleaved gate "
                             "and expert biases are not what egs.nn.MoE computes; use "
                             "experts_implementation=\"egs\" from egs.integrations.transformers)")
        router_kind = type(gate).__name__
        if router_kind not in _HF_ROUTERS:
            raise ValueError(f"MoE.from_transformers: {name}'s router {router_kind} is not a "
                             "softmax top-k router egs.nn.MoE reproduces (supported: "
                             f"{', '.join(sorted(_HF_ROUTERS))}); use experts_implementation="
                             "\"egs\" (egs.integrations.transformers), which keeps the "
                             "model's router")
        for shared in ("shared_expert", "shared_experts"):
            if getattr(block, shared, None) is not None:
                raise ValueError(f"MoE.from_transformers: {name} has a shared expert, which "
                                 "egs.nn.MoE does not compute; use experts_implementation="
                                 "\"egs\" (egs.integrations.transformers)")
        if getattr(block, "jitter_noise", 0) and block.jitter_noise > 0:
            raise ValueError(f"MoE.from_transformers: {name} has router jitter noise "
                             f"{block.jitter_noise}, which egs.nn.MoE does not apply")
        wu, wd = getattr(experts, "gate_up_proj", None), getattr(experts, "down_proj", None)
        if (not isinstance(wu, torch.Tensor) or not isinstance(wd, torch.Tensor)
                or getattr(experts, "has_bias", False) or getattr(experts, "is_transposed", False)
                or not getattr(experts, "has_gate", True)):
            raise ValueError(f"MoE.from_transformers: {name}'s experts are not gated, "
                             "bias-free [E, out, in] gate_up_proj/down_proj")
        from transformers.integrations.moe import _default_apply_gate
        if getattr(type(experts), "_apply_gate", _default_apply_gate) is not _default_apply_gate \
                or not _is_silu(getattr(experts, "act_fn", None)):
            raise ValueError(f"MoE.from_transformers: {name}'s experts gate is not "
                             "silu(gate) * up (egs.nn.MoE's swiglu)")
        num_experts, up, hidden = wu.shape
        ffn = wd.shape[2]
        if up != 2 * ffn or tuple(wd.shape) != (num_experts, hidden, ffn) \
                or tuple(gate.weight.shape) != (num_experts, hidden):
            raise ValueError(f"MoE.from_transformers: {name}'s weights have unexpected shapes "
                             f"router {tuple(gate.weight.shape)}, gate_up_proj {tuple(wu.shape)},"
                             f" down_proj {tuple(wd.shape)}")
        norm_attr = _HF_ROUTERS[router_kind]
        normalize = True if norm_attr is None else bool(getattr(gate, norm_attr))
        if copy is not None:
            copy = _flag(copy, "copy", "nn.MoE.from_transformers")
        if copy is None:
            copy = not ops._READS_TRANSPOSED_W.get(wu.device.type, False)
            if copy:
                import warnings
                warnings.warn(f"MoE.from_transformers: egs's {wu.device.type} kernels cannot "
                              "read [E, out, in] weights in place yet; copying them into "
                              "egs.nn.MoE's layout (the MoE's parameters are not the block's)",
                              UserWarning, stacklevel=2)
        elif not copy and not ops._READS_TRANSPOSED_W.get(wu.device.type, False):
            raise ValueError(f"MoE.from_transformers: copy=False needs kernels that read "
                             f"[E, out, in] weights in place, which {wu.device.type} has not yet")
        moe = cls(hidden, ffn, num_experts, gate.top_k, "swiglu", normalize_topk=normalize,
                  device="meta", dtype=wu.dtype, w_transposed=not copy)
        if copy:
            def own(p, t):
                return nn.Parameter(t.detach().contiguous().clone(), requires_grad=p.requires_grad)
            moe.router.weight = own(gate.weight, gate.weight)
            moe.w_up = own(wu, wu.transpose(1, 2))
            moe.w_down = own(wd, wd.transpose(1, 2))
        else:
            moe.router.weight = gate.weight
            moe.w_up = wu
            moe.w_down = wd
        return moe


from .expert_parallel import ExpertParallelMoE, ExpertParallelMode  # noqa: E402 (uses MoE)
