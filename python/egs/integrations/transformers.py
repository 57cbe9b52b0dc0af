"""An "egs" experts implementation for Hugging Face transformers (5.x).

transformers 5 runs the routed experts of its MoE models through an
interface: the experts class of each model is decorated with
`@use_experts_implementation`, and its forward(hidden_states [T,H],
top_k_index [T,k], top_k_weights [T,k]) -> [T,H] dispatches on
`config._experts_implementation` ("eager", "grouped_mm", "batched_mm", ...
and whatever is registered in `transformers.integrations.moe.ExpertsInterface`).
Importing this module registers "egs" there:

    import egs.integrations.transformers            # registers "egs"
    model = AutoModelForCausalLM.from_pretrained(name, experts_implementation="egs")
    model.set_experts_implementation("egs")         # or switch a loaded model

The model keeps its own router; the egs implementation then runs, per MoE layer,

    rows, offsets, row_id_map, scale = egs::route_weighted(top_k_index, top_k_weights, E)
    a   = egs::gather_matmul(x, rows, gate_up_proj (+ bias), offsets, w_transposed,
                             activation)     (the gate in the GEMM's epilogue)
    out = egs::matmul_scatter(a, rows, down_proj, init, T, scale, offsets, w_transposed)

reading the model's own expert parameters in place: transformers stores them
[E,out,in] (`is_transposed=False`: Mixtral, Qwen2/3-MoE, OLMoE, DeepSeek-V3,
...), read with w_transposed=True, or [E,in,out] (`is_transposed=True`:
GPT-OSS), read as is. `scale` is the routing weight of each ragged slot,
written by the route kernel (no host sync, no extra kernel); the down bias
(GPT-OSS) enters through `init` as sum_j w[t,j] * b[ids[t,j]]
(F.embedding_bag, no [T,k,H] copy). The activation is the model's own gate
function, fused into the up projection's epilogue where egs has it (silu *
up; GPT-OSS's interleaved clamped swiglu with alpha/limit: checked on values
once per module) and no gradient is recorded; when training (h kept for the
backward) or for another gate it runs in torch as the model defines it.
Autograd and torch.compile come from the egs::* custom operators.

Where egs cannot run a layer exactly, the call falls back to the experts
class's own (eager) forward with one warning per reason (see
`unsupported_reason`): never a silently different result.
"""
import warnings

import torch
import torch.nn.functional as F

from .. import _torch_ops
from .. import target_available as _target_available

__all__ = ["NAME", "register", "egs_experts_forward", "unsupported_reason", "reset_warnings"]

NAME = "egs"

_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
# (available, reason) per device type, asked once (the C call is not traceable
# by torch.compile).
_TARGETS = {}
_WARNED = set()


def _target(device_type):
    got = _TARGETS.get(device_type)
    if got is None:
        if device_type in ("cpu", "cuda"):
            ok, why = _target_available(device_type)
            got = (bool(ok), why or "")
        else:
            got = (False, "egs has no target for this device type")
        _TARGETS[device_type] = got
    return got


for _t in ("cpu", "cuda"):
    _target(_t)


def _plain_tensor(t):
    return type(t) in (torch.Tensor, torch.nn.Parameter)


def unsupported_reason(experts, hidden_states, top_k_index, top_k_weights):
    """Why egs cannot run this experts call exactly (a string), or None.

    Falls back for: expert parallelism (sentinel expert ids); a norm after
    each expert (it would have to run between the down projection and the
    fused combine); weights that are not plain dense tensors (quantized,
    DTensor), not contiguous, or of a dtype egs has no kernels for
    (float32/float16/bfloat16 only); a device egs has no target for; and
    [E,out,in] weights on a device whose kernels cannot read them
    transposed in place (`egs._torch_ops._READS_TRANSPOSED_W`; CPU and CUDA
    both do), where every call would need a transposed copy."""
    if not hasattr(experts, "has_gate") or not hasattr(experts, "is_transposed"):
        return (f"{type(experts).__name__} is not an experts class of the transformers "
                "experts interface (@use_experts_implementation)")
    if getattr(experts, "_is_expert_parallel", False):
        return "expert parallelism (sentinel expert ids) is not supported by the egs backend"
    if getattr(experts, "has_post_expert_norm", False):
        return ("a norm after each expert cannot run inside egs's fused down projection + "
                "weighted combine")
    up = experts.gate_up_proj if experts.has_gate else getattr(experts, "up_proj", None)
    down = getattr(experts, "down_proj", None)
    params = [("up projection", up), ("down projection", down)]
    if experts.has_bias:
        params += [("up bias", experts.gate_up_proj_bias if experts.has_gate
                    else getattr(experts, "up_proj_bias", None)),
                   ("down bias", getattr(experts, "down_proj_bias", None))]
    for what, p in params:
        if not isinstance(p, torch.Tensor):
            return f"the {what} weight is missing ({type(p).__name__})"
        if not _plain_tensor(p):
            return (f"the {what} weight is a {type(p).__name__} (quantized or distributed "
                    "tensors are not supported)")
        if p.dtype not in _DTYPES:
            return f"the {what} weight has dtype {p.dtype} (egs runs float32/float16/bfloat16)"
        if not p.is_contiguous():
            return f"the {what} weight is not contiguous"
    if up.dim() != 3 or down.dim() != 3:
        return "expert weights must be [E, ., .] tensors"
    if down.dtype != up.dtype or (experts.has_bias and any(p.dtype != up.dtype
                                                           for _, p in params[2:])):
        return "the expert weights have different dtypes"
    if not hidden_states.is_floating_point() or hidden_states.dim() != 2:
        return "hidden_states must be a [tokens, hidden] float tensor"
    if top_k_index.dtype not in (torch.int32, torch.int64) or top_k_index.dim() != 2:
        return f"top_k_index must be a [tokens, k] int32/int64 tensor, got {top_k_index.dtype}"
    dev = up.device
    if any(p.device != dev for _, p in params) or hidden_states.device != dev \
            or top_k_index.device != dev or top_k_weights.device != dev:
        return "the expert weights and the inputs are on different devices"
    ok, why = _target(dev.type)
    if not ok:
        return f"egs has no {dev.type} target in this build ({why})"
    if not experts.is_transposed and not _torch_ops._READS_TRANSPOSED_W.get(dev.type, False):
        return (f"egs's {dev.type} kernels cannot read [E,out,in] expert weights in place yet "
                f"(egs._torch_ops._READS_TRANSPOSED_W[{dev.type!r}] is False); a transposed "
                "copy of every expert weight per call would defeat the purpose")
    return None


def _warn_once(reason, experts):
    if reason not in _WARNED:
        _WARNED.add(reason)
        warnings.warn(f"egs experts backend: falling back to {type(experts).__name__}'s eager "
                      f"forward: {reason}", UserWarning, stacklevel=3)


def reset_warnings():
    """Warn again for reasons already reported (tests)."""
    _WARNED.clear()


def _eager_forward(experts):
    fwd = type(experts).forward
    return getattr(fwd, "__wrapped__", None)


def egs_experts_forward(self, hidden_states, top_k_index, top_k_weights):
    """The "egs" experts implementation: forward of a transformers experts
    module (self) on hidden_states [T,H], top_k_index [T,k], top_k_weights
    [T,k] -> [T,H] in hidden_states' dtype."""
    reason = unsupported_reason(self, hidden_states, top_k_index, top_k_weights)
    if reason is not None:
        eager = _eager_forward(self)
        if eager is None:
            raise RuntimeError(f"egs experts backend: {reason}, and "
                               f"{type(self).__name__} has no eager forward to fall back to")
        _warn_once(reason, self)
        return eager(self, hidden_states, top_k_index, top_k_weights)

    ops = _torch_ops
    transposed = not self.is_transposed      # stored [E,out,in]: read w[e]^T in place
    if self.has_gate:
        w_up = self.gate_up_proj
        b_up = self.gate_up_proj_bias if self.has_bias else None
    else:
        w_up = self.up_proj
        b_up = self.up_proj_bias if self.has_bias else None
    w_down = self.down_proj
    dt = w_up.dtype
    # As transformers' grouped_mm: inputs in the weights' dtype (autocast), result
    # in hidden_states' dtype.
    x = hidden_states.to(dt).contiguous()
    t = x.shape[0]
    num_experts = w_up.shape[0]

    # Routing weights in float32 stay float32 (DeepSeek-V3's router; eager
    # multiplies in float32 too): matmul_scatter takes a float32 scale. The
    # route kernel also puts them in slot order (the scale).
    weights = top_k_weights if top_k_weights.dtype in (dt, torch.float32) else \
        top_k_weights.to(dt)
    rows, offsets, _, scale = ops.route_weighted_op(top_k_index, weights, num_experts)
    act = _fused_activation(self)
    if act is not None:
        # Inference: the gate in the GEMM's epilogue (one kernel, no [R, 2F]
        # tensor); training keeps h for the backward (up_projection).
        a = ops.up_projection(x, rows, w_up, b_up, offsets, transposed, *act)
    else:
        h = ops.gather_matmul_op(x, rows, w_up, b_up, offsets, transposed)
        a = self._apply_gate(h) if self.has_gate else self.act_fn(h)
    init = None
    if self.has_bias:
        # sum_j w[t,j] * down_bias[ids[t,j]]: the down bias of each routed slot,
        # weighted as its output is.
        # (In float32: CUDA has no bf16 backward of per-sample weights.)
        init = F.embedding_bag(top_k_index, self.down_proj_bias.float(), mode="sum",
                               per_sample_weights=weights.float()).to(dt).contiguous()
    out = ops.matmul_scatter_op(a.contiguous(), rows, w_down, init,
                                None if init is not None else t, scale, offsets, False, transposed)
    return out.to(hidden_states.dtype)


def _fused_activation(experts):
    """(activation, alpha, limit, interleaved) of gather_matmul's epilogue
    that computes exactly what the experts' gate does, or None (then the
    model's own function runs in torch). Found once per module, by value on a
    probe: silu(gate) * up over the two halves (the default gate with a silu
    act_fn), or GPT-OSS's clamped swiglu over interleaved columns with the
    module's alpha and limit; a silu act_fn without a gate is "silu".
    Under torch.compile the probe (torch code on values) is not traced: the
    answer of an earlier eager call is used (a constant to Dynamo), else the
    model's own gate runs (unfused, still one graph)."""
    if torch.compiler.is_compiling():
        return getattr(experts, "_egs_activation", None)
    cached = experts.__dict__.get("_egs_activation", False)
    if cached is not False:
        return cached
    probe = torch.linspace(-9.0, 9.0, 2 * 48, dtype=torch.float32).reshape(2, 48)
    candidates = []
    if experts.has_gate:
        candidates.append(("swiglu", None, None, False))
        alpha, limit = getattr(experts, "alpha", None), getattr(experts, "limit", None)
        if isinstance(alpha, (int, float)) and isinstance(limit, (int, float)) and limit > 0:
            candidates.append(("clamped_swiglu", float(alpha), float(limit), True))
        run = experts._apply_gate
    else:
        candidates.append(("silu", None, None, False))
        run = getattr(experts, "act_fn", None)
    found = None
    try:
        with torch.no_grad():
            want = run(probe)
            for cand in candidates:
                got = _torch_ops.apply_activation(probe, *cand)
                if got.shape == want.shape and torch.allclose(got, want, rtol=1e-5, atol=1e-6):
                    found = cand
                    break
    except Exception:  # noqa: BLE001  a gate that does not run on the probe
        found = None
    experts.__dict__["_egs_activation"] = found
    return found


def register(name=NAME):
    """Registers egs_experts_forward as experts implementation `name` (done on import)."""
    from transformers.integrations.moe import ExpertsInterface
    ExpertsInterface.register(name, egs_experts_forward)


register()
