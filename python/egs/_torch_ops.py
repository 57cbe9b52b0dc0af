"""The egs ops as PyTorch custom operators (torch.library), with autograd.

Registered as egs::gather_matmul, egs::matmul_scatter, egs::weight_grad,
egs::permute, egs::unpermute, egs::route, egs::route_weighted. Each has a fake (meta)
implementation, so torch.compile traces through them without graph breaks,
and an autograd formula; the weight gradients and bias gradients run as egs
kernels (egs.weight_grad) with no host sync and no float32 copies:

  gather_matmul   (with an activation: h recomputed without it, dy = act'(h) dy)
                  dx     = matmul_scatter(dy, ind, w^T)        (egs, the scatter dual,
                                                                 reading w transposed)
                  dw     = weight_grad(x[ind] * dy)              (egs)
                  dbias  = weight_grad(ones * dy): dy summed over each expert's rows (egs)
  matmul_scatter  h      = gather_matmul(dout, ind, w^T)        (egs, the gather dual,
                                                                 reading w transposed)
                  dy     = scale * h,  dscale = sum_j y * h,  dinit = dout
                  dw     = weight_grad(y * dout[ind], scale)     (egs)
  weight_grad     (no autograd: it is the last step of a backward)
  permute         dx     = unpermute(dx_sorted, row_id_map, ones)   (egs)
  unpermute       dx_sorted, dprobs: torch index_add / gather over row_id_map
  route           (integer outputs, no gradient)
  route_weighted  dweights[t, j] = dscale[row_id_map[j*T + t]]      (torch gather)

The custom operators are the objects <name>_op (torch.ops.egs.<name>; for
torch.library.opcheck and torch.library registrations). The functions users
call, <name>, check their int and bool arguments first (egs.ops._int,
egs.ops._flag: the same TypeError/ValueError naming egs.<name> and the
argument as the NumPy path), before torch's schema parser would turn a bool
into an int or an out-of-range int into a RuntimeError; tensor arguments are
checked by egs.ops when the op runs. egs.nn and egs.integrations call the
*_op objects directly with values they have checked.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from . import ops as _ops
from .ops import _flag


def _c(t):
    return None if t is None else t.contiguous()


# --------------------------------------------------------------------------
# gather_matmul
# --------------------------------------------------------------------------

@torch.library.custom_op("egs::gather_matmul", mutates_args=())
def gather_matmul_op(x: Tensor, ind: Tensor, w: Tensor, bias: Optional[Tensor] = None,
                     expert_offsets: Optional[Tensor] = None, w_transposed: bool = False,
                     activation: Optional[str] = None, alpha: Optional[float] = None,
                     limit: Optional[float] = None, interleaved: bool = False) -> Tensor:
    return _ops.gather_matmul(_c(x), _c(ind), _c(w), bias=_c(bias),
                              expert_offsets=_c(expert_offsets), w_transposed=w_transposed,
                              activation=activation, alpha=alpha, limit=limit,
                              interleaved=interleaved)


@gather_matmul_op.register_fake
def _(x, ind, w, bias=None, expert_offsets=None, w_transposed=False, activation=None,
      alpha=None, limit=None, interleaved=False):
    j = w.shape[1 if w_transposed else 2]
    if activation in GATED:
        j //= 2
    if expert_offsets is not None:
        return x.new_empty((ind.shape[0], j))
    return x.new_empty(tuple(ind.shape) + (j,))


GATED = ("swiglu", "clamped_swiglu")


def needs_grad(*tensors):
    """Whether autograd records a call on these tensors (None ignored)."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def up_projection(x, rows, w, bias, offsets, w_transposed, activation=None, alpha=None,
                  limit=None, interleaved=False):
    """act(x[rows] @ w[e] + bias[e]), ragged: the activation fused into the
    GEMM's epilogue when no gradient is recorded (inference: one kernel, no
    [R, J] pre-activation in memory); when training, h is kept for the
    backward and the activation runs in torch (no recompute of h)."""
    if activation is None or not needs_grad(x, w, bias):
        return gather_matmul_op(x, rows, w, bias, offsets, w_transposed, activation, alpha, limit,
                                interleaved)
    h = gather_matmul_op(x, rows, w, bias, offsets, w_transposed)
    return apply_activation(h, activation, alpha, limit, interleaved)


def apply_activation(h, activation=None, alpha=None, limit=None, interleaved=False):
    """The epilogue activations of gather_matmul in torch (the same math as
    the fused kernels; the backward differentiates through it)."""
    interleaved = _flag(interleaved, "interleaved", "nn.ops.apply_activation")
    if activation is None:
        return h
    if activation == "silu":
        return torch.nn.functional.silu(h)
    if activation == "gelu":
        return torch.nn.functional.gelu(h, approximate="tanh")
    if activation not in GATED:
        raise ValueError(f"unknown activation {activation!r}")
    if interleaved:
        g, u = h[..., 0::2], h[..., 1::2]
    else:
        g, u = h.chunk(2, dim=-1)
    if activation == "swiglu":
        return torch.nn.functional.silu(g) * u
    alpha = 1.702 if alpha is None else alpha
    limit = 7.0 if limit is None else limit
    g, u = g.clamp(max=limit), u.clamp(-limit, limit)
    return g * torch.sigmoid(g * alpha) * (u + 1)


# Devices whose kernels read a transposed w in place (w_transposed); elsewhere
# the backward's other orientation of w is a transposed copy.
_READS_TRANSPOSED_W = {"cpu": True, "cuda": True}


def _other_orientation(w, transposed):
    """(weight, w_transposed) that a kernel reads as the transpose of the
    matrices `w` (given with `transposed`) stand for."""
    if _READS_TRANSPOSED_W.get(w.device.type, False) or transposed:
        return w, not transposed
    return w.transpose(1, 2).contiguous(), False


def _gm_setup(ctx, inputs, output):
    x, ind, w, bias, off, w_transposed, activation, alpha, limit, interleaved = inputs
    ctx.save_for_backward(x, ind, w, off, bias if activation is not None else None)
    ctx.has_bias = bias is not None
    ctx.w_transposed = w_transposed
    ctx.activation = (activation, alpha, limit, interleaved)


def _expert_sum(dy, ind, off):
    """[E,J]: dy summed over each expert's rows (the bias gradient), as
    weight_grad with a column of ones on the left."""
    ones = dy.new_ones((dy.shape[0], 1) if off is not None else tuple(ind.shape) + (1,))
    return weight_grad_op(ones, dy, None, None, off, None, False).squeeze(1)


def _gm_backward(ctx, dy):
    x, ind, w, off, bias = ctx.saved_tensors
    if ctx.activation[0] is not None:
        # The fused epilogue kept no pre-activation h: recompute it (one
        # GEMM) and differentiate the activation in torch. (egs.nn.MoE keeps
        # h instead when it trains: no recompute.)
        h = gather_matmul_op(x, ind, w, bias, off, ctx.w_transposed)
        with torch.enable_grad():
            h = h.detach().requires_grad_()
            (dy,) = torch.autograd.grad(apply_activation(h, *ctx.activation), h, dy)
    dy = dy.contiguous().to(x.dtype)
    dx = dw = dbias = None
    if ctx.needs_input_grad[0]:
        wo, wo_t = _other_orientation(w, ctx.w_transposed)
        dx = matmul_scatter_op(dy, ind, wo, None, x.shape[-2], None, off, False, wo_t)
    if ctx.needs_input_grad[2]:
        # dW in w's own layout: [E,I,J] = x[ind]^T dy, or its transpose.
        dw = (weight_grad_op(dy, x, None, ind, off, None, False) if ctx.w_transposed
              else weight_grad_op(x, dy, ind, None, off, None, False))
    if ctx.has_bias and ctx.needs_input_grad[3]:
        dbias = _expert_sum(dy, ind, off)
    return dx, None, dw, dbias, None, None, None, None, None, None


gather_matmul_op.register_autograd(_gm_backward, setup_context=_gm_setup)


# --------------------------------------------------------------------------
# matmul_scatter
# --------------------------------------------------------------------------

@torch.library.custom_op("egs::matmul_scatter", mutates_args=())
def matmul_scatter_op(y: Tensor, ind: Tensor, w: Tensor, init: Optional[Tensor] = None,
                      num_tokens: Optional[int] = None, scale: Optional[Tensor] = None,
                      expert_offsets: Optional[Tensor] = None,
                      deterministic: bool = False, w_transposed: bool = False) -> Tensor:
    return _ops.matmul_scatter(_c(y), _c(ind), _c(w), init=_c(init), num_tokens=num_tokens,
                               scale=_c(scale), expert_offsets=_c(expert_offsets),
                               deterministic=deterministic, w_transposed=w_transposed)


@matmul_scatter_op.register_fake
def _(y, ind, w, init=None, num_tokens=None, scale=None, expert_offsets=None,
      deterministic=False, w_transposed=False):
    if init is not None:
        return torch.empty_like(init, memory_format=torch.contiguous_format)
    batched = expert_offsets is None and y.dim() == 4
    shape = ((y.shape[0],) if batched else ()) + (num_tokens, w.shape[1 if w_transposed else 2])
    return y.new_empty(shape)


def _ms_setup(ctx, inputs, output):
    y, ind, w, init, num_tokens, scale, off, _, w_transposed = inputs
    ctx.save_for_backward(y, ind, w, scale, off)
    ctx.has_init = init is not None
    ctx.init_dtype = None if init is None else init.dtype
    ctx.w_transposed = w_transposed


def _ms_backward(ctx, dout):
    y, ind, w, scale, off = ctx.saved_tensors
    dout = dout.contiguous().to(y.dtype)
    need_h = ctx.needs_input_grad[0] or (scale is not None and ctx.needs_input_grad[5])
    h = None
    if need_h:
        wo, wo_t = _other_orientation(w, ctx.w_transposed)
        h = gather_matmul_op(dout, ind, wo, None, off, wo_t)
    dy = dw = dinit = dscale = None
    if ctx.needs_input_grad[0]:
        dy = h if scale is None else h * scale.to(h.dtype)[..., None]
    if scale is not None and ctx.needs_input_grad[5]:
        # Row dot products accumulated in f32 (no f32 copies of h or y).
        dscale = (h * y).sum(-1, dtype=torch.float32).to(scale.dtype)
    if ctx.needs_input_grad[2]:
        # dW in w's own layout: [E,J,I] = (scale*y)^T dout[ind], or its transpose.
        dw = (weight_grad_op(dout, y, ind, None, off, scale, False) if ctx.w_transposed
              else weight_grad_op(y, dout, None, ind, off, scale, False))
    if ctx.has_init and ctx.needs_input_grad[3]:
        dinit = dout.to(ctx.init_dtype)
    return dy, None, dw, dinit, None, dscale, None, None, None


matmul_scatter_op.register_autograd(_ms_backward, setup_context=_ms_setup)


# --------------------------------------------------------------------------
# weight_grad: dw[e] = sum over e's slots of scale * lhs(s)^T rhs(s)
# --------------------------------------------------------------------------

@torch.library.custom_op("egs::weight_grad", mutates_args=())
def weight_grad_op(lhs: Tensor, rhs: Tensor, lhs_ind: Optional[Tensor] = None,
                   rhs_ind: Optional[Tensor] = None, expert_offsets: Optional[Tensor] = None,
                   scale: Optional[Tensor] = None, out_f32: bool = False) -> Tensor:
    return _ops.weight_grad(_c(lhs), _c(rhs), lhs_ind=_c(lhs_ind), rhs_ind=_c(rhs_ind),
                            expert_offsets=_c(expert_offsets), scale=_c(scale),
                            out_dtype="float32" if out_f32 else None)


@weight_grad_op.register_fake
def _(lhs, rhs, lhs_ind=None, rhs_ind=None, expert_offsets=None, scale=None, out_f32=False):
    if expert_offsets is not None:
        e = expert_offsets.shape[0] - 1
    else:
        ind = lhs_ind if lhs_ind is not None else rhs_ind
        batched = ind.dim() == 3 if ind is not None else lhs.dim() == 4
        e = (ind if ind is not None else lhs).shape[1 if batched else 0]
    return lhs.new_empty((e, lhs.shape[-1], rhs.shape[-1]),
                         dtype=torch.float32 if out_f32 else lhs.dtype)


# --------------------------------------------------------------------------
# permute / unpermute / route
# --------------------------------------------------------------------------

@torch.library.custom_op("egs::permute", mutates_args=())
def permute_op(x: Tensor, topk_ids: Tensor, num_experts: int,
               num_out_tokens: Optional[int] = None) -> Tuple[Tensor, Tensor, Tensor]:
    return _ops.permute(_c(x), _c(topk_ids), num_experts, num_out_tokens=num_out_tokens)


@permute_op.register_fake
def _(x, topk_ids, num_experts, num_out_tokens=None):
    t, k = topk_ids.shape
    r = t * k if num_out_tokens is None else num_out_tokens
    return (x.new_empty((r, x.shape[1])),
            topk_ids.new_empty((k * t,), dtype=torch.int32),
            topk_ids.new_empty((num_experts + 1,), dtype=torch.int32))


def _perm_setup(ctx, inputs, output):
    _, topk_ids, _, _ = inputs
    ctx.save_for_backward(output[1])
    ctx.shape = tuple(topk_ids.shape)


def _perm_backward(ctx, dxs, _map, _off):
    (row_id_map,) = ctx.saved_tensors
    t, k = ctx.shape
    ones = dxs.new_ones((t, k))
    return unpermute_op(dxs.contiguous(), row_id_map, ones), None, None, None


permute_op.register_autograd(_perm_backward, setup_context=_perm_setup)


@torch.library.custom_op("egs::sinkhorn", mutates_args=())
def sinkhorn_op(logits: Tensor, iterations: int, tolerance: float) -> Tensor:
    return _ops.sinkhorn(_c(logits), iterations, tolerance=tolerance)


@sinkhorn_op.register_fake
def _(logits, iterations, tolerance):
    return logits.new_empty(logits.shape, dtype=torch.float32)


@torch.library.custom_op("egs::unpermute", mutates_args=())
def unpermute_op(x_sorted: Tensor, row_id_map: Tensor, probs: Tensor) -> Tensor:
    return _ops.unpermute(_c(x_sorted), _c(row_id_map), _c(probs))


@unpermute_op.register_fake
def _(x_sorted, row_id_map, probs):
    return x_sorted.new_empty((probs.shape[0], x_sorted.shape[1]))


def _unperm_setup(ctx, inputs, output):
    x_sorted, row_id_map, probs = inputs
    ctx.save_for_backward(x_sorted, row_id_map, probs)


def _unperm_backward(ctx, dout):
    x_sorted, row_id_map, probs = ctx.saved_tensors
    t, k = probs.shape
    m = row_id_map.long().view(k, t)               # m[j, t]
    valid = m >= 0
    src = m.clamp(min=0)
    dout_f = dout.float()
    dxs = dprobs = None
    if ctx.needs_input_grad[0]:
        contrib = probs.float().t()[..., None] * dout_f[None] * valid[..., None]  # [k,T,H]
        dxs = torch.zeros(x_sorted.shape, dtype=torch.float32, device=x_sorted.device)
        # (reshape to [k*t, H], not -1: t may be 0)
        dxs = dxs.index_add_(0, src.reshape(-1), contrib.reshape(k * t, dout.shape[-1]))
        dxs = dxs.to(x_sorted.dtype)
    if ctx.needs_input_grad[2]:
        rows = x_sorted.float()[src.reshape(-1)].view(k, t, x_sorted.shape[-1])
        dprobs = ((rows * dout_f[None]).sum(-1) * valid).t().to(probs.dtype)
    return dxs, None, dprobs


unpermute_op.register_autograd(_unperm_backward, setup_context=_unperm_setup)


@torch.library.custom_op("egs::route", mutates_args=())
def route_op(topk_ids: Tensor, num_experts: int) -> Tuple[Tensor, Tensor, Tensor]:
    return _ops.route(_c(topk_ids), num_experts)


@route_op.register_fake
def _(topk_ids, num_experts):
    t, k = topk_ids.shape
    return (topk_ids.new_empty((t * k,), dtype=torch.int32),
            topk_ids.new_empty((num_experts + 1,), dtype=torch.int32),
            topk_ids.new_empty((k * t,), dtype=torch.int32))


@torch.library.custom_op("egs::route_weighted", mutates_args=())
def route_weighted_op(topk_ids: Tensor, weights: Tensor,
                      num_experts: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """route, plus the routing weights in slot order (matmul_scatter's scale)."""
    return _ops.route(_c(topk_ids), num_experts, weights=_c(weights))


@route_weighted_op.register_fake
def _(topk_ids, weights, num_experts):
    return route_op(topk_ids, num_experts) + (weights.new_empty((weights.numel(),)),)


def _route_w_setup(ctx, inputs, output):
    ctx.save_for_backward(output[2])
    ctx.shape = tuple(inputs[1].shape)


def _route_w_backward(ctx, _rows, _off, _map, dscale):
    # scale[row_id_map[j*T + t]] = weights[t, j]: dweights gathers dscale back.
    (row_id_map,) = ctx.saved_tensors
    t, k = ctx.shape
    return None, dscale[row_id_map.long()].view(k, t).t(), None


route_weighted_op.register_autograd(_route_w_backward, setup_context=_route_w_setup)


# --------------------------------------------------------------------------
# The functions users call: int and bool arguments checked, then the op
# --------------------------------------------------------------------------

def _count(value, name, op, lo=0, hi=_ops.MAX_COUNT):
    """egs.ops._int, except that a symbolic int (torch.compile with dynamic
    shapes) passes unchecked: checking it would specialize the graph, and
    the op checks the concrete value when it runs."""
    if type(value) is int and lo <= value <= hi or isinstance(value, torch.SymInt):
        return value
    return _ops._int(value, name, op, lo, hi)


def _optional_count(value, name, op):
    return value if value is None or type(value) is int and 0 <= value <= _ops.MAX_COUNT \
        else _count(value, name, op)


def gather_matmul(x, ind, w, bias=None, expert_offsets=None, w_transposed=False,
                  activation=None, alpha=None, limit=None, interleaved=False):
    """egs::gather_matmul: egs.gather_matmul's arguments, positional."""
    return gather_matmul_op(x, ind, w, bias, expert_offsets,
                            _flag(w_transposed, "w_transposed", "gather_matmul"), activation,
                            alpha, limit, _flag(interleaved, "interleaved", "gather_matmul"))


def matmul_scatter(y, ind, w, init=None, num_tokens=None, scale=None, expert_offsets=None,
                   deterministic=False, w_transposed=False):
    """egs::matmul_scatter: egs.matmul_scatter's arguments, positional."""
    op = "matmul_scatter"
    return matmul_scatter_op(y, ind, w, init, _optional_count(num_tokens, "num_tokens", op),
                             scale, expert_offsets, _flag(deterministic, "deterministic", op),
                             _flag(w_transposed, "w_transposed", op))


def weight_grad(lhs, rhs, lhs_ind=None, rhs_ind=None, expert_offsets=None, scale=None,
                out_f32=False):
    """egs::weight_grad: egs.weight_grad's arguments, positional (out_f32:
    a float32 result)."""
    return weight_grad_op(lhs, rhs, lhs_ind, rhs_ind, expert_offsets, scale,
                          _flag(out_f32, "out_f32", "weight_grad"))


def permute(x, topk_ids, num_experts, num_out_tokens=None):
    """egs::permute: egs.permute's arguments, positional."""
    return permute_op(x, topk_ids, _count(num_experts, "num_experts", "permute", 1,
                                          _ops.MAX_COUNT - 1),
                      _optional_count(num_out_tokens, "num_out_tokens", "permute"))


def unpermute(x_sorted, row_id_map, probs):
    """egs::unpermute (no scalar arguments)."""
    return unpermute_op(x_sorted, row_id_map, probs)


def sinkhorn(logits, iterations, tolerance=0.0):
    """egs::sinkhorn: egs.sinkhorn's arguments, positional (no autograd: its
    result only decides the routing)."""
    return sinkhorn_op(logits, _count(iterations, "iterations", "sinkhorn", 1, 1 << 20),
                       _ops._tolerance(tolerance))


def route(topk_ids, num_experts):
    """egs::route: egs.route's arguments without weights."""
    return route_op(topk_ids, _count(num_experts, "num_experts", "route", 1, _ops.MAX_COUNT - 1))


def route_weighted(topk_ids, weights, num_experts):
    """egs::route_weighted: egs.route with weights (four results)."""
    return route_weighted_op(topk_ids, weights, _count(num_experts, "num_experts",
                                                       "route_weighted", 1, _ops.MAX_COUNT - 1))
