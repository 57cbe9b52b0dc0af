"""PyTorch modules over the egs ops, with autograd and torch.compile support.

    ExpertGather(E, I, J, bias=False)   y = x[ind] @ weight[e] (+ bias[e])
    ExpertScatter(E, J, I)              out = init + scatter-add of scale * (y @ weight[e])
    MoE(hidden, ffn, num_experts, top_k, activation="swiglu")
        router -> softmax -> top-k -> egs.route -> fused up-projection
        -> activation -> fused down-projection with the weighted combine

The ops behind them are torch custom operators (egs::gather_matmul, ...;
see egs._torch_ops for the backward formulas), so torch.compile keeps them
in one graph.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from . import _torch_ops as ops

__all__ = ["ExpertGather", "ExpertScatter", "MoE", "ops"]


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
        self.num_experts, self.in_features, self.out_features = num_experts, in_features, out_features
        self.weight = nn.Parameter(torch.empty(num_experts, in_features, out_features, **kw))
        self.bias = nn.Parameter(torch.empty(num_experts, out_features, **kw)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        _init_experts(self.weight, self.in_features)
        if self.bias is not None:
            _init_experts(self.bias, self.in_features)

    def forward(self, x, ind, expert_offsets=None):
        return ops.gather_matmul(x, ind, self.weight, self.bias, expert_offsets)

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
        self.num_experts, self.in_features, self.out_features = num_experts, in_features, out_features
        self.deterministic = deterministic
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


_ACTIVATIONS = ("swiglu", "silu", "gelu", "relu")


class MoE(nn.Module):
    """Token-choice top-k Mixture-of-Experts feed-forward layer.

    x [..., hidden] -> router logits [T, E] -> softmax -> top-k (weights
    renormalized to sum to 1 when `normalize_topk`) -> egs.route -> up
    projection of the routed rows read in place (egs.gather_matmul, ragged)
    -> activation (swiglu: silu(a) * b over the two halves) -> down
    projection scattered back to the tokens with the routing weights
    (egs.matmul_scatter, ragged, scale = weight of each slot).
    """

    def __init__(self, hidden, ffn, num_experts, top_k, activation="swiglu",
                 normalize_topk=True, device=None, dtype=None):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {_ACTIVATIONS}, got {activation!r}")
        if not 1 <= top_k <= num_experts:
            raise ValueError(f"top_k must be in [1, num_experts={num_experts}], got {top_k}")
        kw = {"device": device, "dtype": dtype}
        self.hidden, self.ffn, self.num_experts, self.top_k = hidden, ffn, num_experts, top_k
        self.activation, self.normalize_topk = activation, normalize_topk
        up = 2 * ffn if activation == "swiglu" else ffn
        self.router = nn.Linear(hidden, num_experts, bias=False, **kw)
        self.w_up = nn.Parameter(torch.empty(num_experts, hidden, up, **kw))
        self.w_down = nn.Parameter(torch.empty(num_experts, ffn, hidden, **kw))
        _init_experts(self.w_up, hidden)
        _init_experts(self.w_down, ffn)

    def route(self, x2):
        """(topk weights [T,k], topk expert ids [T,k] int32)."""
        logits = self.router(x2)
        probs = torch.softmax(logits.float(), dim=-1)
        weights, ids = torch.topk(probs, self.top_k, dim=-1)
        if self.normalize_topk:
            weights = weights / weights.sum(dim=-1, keepdim=True)
        return weights.to(x2.dtype), ids.to(torch.int32)

    def _activate(self, h):
        if self.activation == "swiglu":
            a, b = h.chunk(2, dim=-1)
            return F.silu(a) * b
        if self.activation == "silu":
            return F.silu(h)
        if self.activation == "gelu":
            return F.gelu(h, approximate="tanh")
        return F.relu(h)

    def forward(self, x):
        shape = x.shape
        x2 = x.reshape(-1, self.hidden).contiguous()
        t = x2.shape[0]
        weights, ids = self.route(x2)
        rows, offsets, row_id_map = ops.route(ids, self.num_experts)
        # Slot r holds choice j of token t where row_id_map[j*T + t] = r; its
        # weight is weights[t, j].
        slot_of = torch.empty_like(row_id_map, dtype=torch.long)
        slot_of.scatter_(0, row_id_map.long(),
                         torch.arange(row_id_map.shape[0], device=x.device))
        scale = weights.t().reshape(-1)[slot_of]
        h = ops.gather_matmul(x2, rows, self.w_up, None, offsets)
        a = self._activate(h)
        out = ops.matmul_scatter(a.contiguous(), rows, self.w_down, None, t, scale.contiguous(),
                                 offsets, False)
        return out.reshape(shape)

    def extra_repr(self):
        return (f"hidden={self.hidden}, ffn={self.ffn}, num_experts={self.num_experts}, "
                f"top_k={self.top_k}, activation={self.activation!r}")
