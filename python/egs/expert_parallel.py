"""Expert parallelism: egs.nn.MoE with its experts sharded over the ranks of a
torch.distributed process group (NCCL on GPUs, Gloo on CPUs).

    ExpertParallelMoE(hidden, ffn, num_experts, top_k, ..., group=None,
                      mode="fused", capacity_factor=None)
    ExpertParallelMoE.from_moe(moe, group=None, ...)  this rank's shard of a full MoE
    ExpertParallelMode                                "unfused", "fused_dispatch",
                                                      "fused_combine", "fused"

The group has W ranks; each holds L = num_experts / W experts, rank r the
contiguous block [r*L, (r+1)*L), and a replica of the router. A forward, run
by every rank of the group on its own tokens:

  route     router -> softmax -> top-k (egs.nn.MoE's), then the capacity drop
            when capacity_factor is set
  counts    all_to_all_single of [rows, slots, status] per destination rank:
            the split sizes of the exchanges (the one host sync), and each
            rank's status (so a rank whose input is bad stops every rank here,
            before the exchanges that would wait for it)
  dispatch  all_to_all_single of each token row ONCE per destination rank
            holding any of its top-k experts, with its top-k ids there (local
            ids, L where the choice is not on that rank) and routing weights
  experts   on the received buffer: the up projection (fused_dispatch: egs
            gather_matmul reads the received rows in place through egs.route's
            row index; otherwise egs.permute copies them sorted by expert and
            the GEMM runs on the copy), the activation, and the down projection
            with the weighted sum over this rank's experts of each received row
            (fused_combine: egs matmul_scatter with the routing weights as
            scale; otherwise a grouped GEMM, then egs.unpermute)
  combine   all_to_all_single of the results back (again one row per token and
            rank) and, on the source rank, the sum of each token's <= W
            partial rows (egs.unpermute)

The exchanges of rows and of routing weights are autograd Functions whose
backward is the reverse all_to_all_single of the gradient; the egs ops carry
their own autograd. The counts exchange also carries whether each rank records
autograd: the backward exchanges are collectives, so all ranks must (or none).

Every collective runs under the group's timeout (init_process_group /
new_group timeout=): a rank that never joins makes the others raise
RuntimeError when it expires, instead of hanging.
"""
import collections
import enum
import math
import zlib

import torch
import torch.distributed as dist
from torch import nn

from . import _torch_ops as ops
from .nn import MoE, _init_experts, _moe_args, _topk, _up_projection

__all__ = ["ExpertParallelMoE", "ExpertParallelMode"]

_OP = "nn.ExpertParallelMoE"


class ExpertParallelMode(enum.Enum):
    """Which exchange side is fused with the experts' GEMM. The name of a mode
    is its value, and ExpertParallelMode(str(mode)) is mode.

    unfused         egs.permute copies the received rows sorted by expert, a
                    grouped GEMM + activation, a grouped GEMM, egs.unpermute
                    sums each row's experts weighted
    fused_dispatch  the up projection reads the received rows in place
                    (egs.gather_matmul through a row index): no permuted copy
    fused_combine   the down projection scatters into the rows to send back
                    with the routing weights (egs.matmul_scatter): no [slots,
                    hidden] intermediate, no separate combine
    fused           both
    """
    UNFUSED = "unfused"
    FUSED_DISPATCH = "fused_dispatch"
    FUSED_COMBINE = "fused_combine"
    FUSED = "fused"

    def __str__(self):
        return self.value

    @classmethod
    def parse(cls, mode):
        """A mode from an ExpertParallelMode or its name; ValueError otherwise."""
        if isinstance(mode, cls):
            return mode
        if isinstance(mode, str):
            for m in cls:
                if m.value == mode:
                    return m
        raise ValueError(f"egs.{_OP}: mode must be one of {[m.value for m in cls]} "
                         f"(or an ExpertParallelMode), got {mode!r}")

    @property
    def fused_dispatch(self):
        return self in (ExpertParallelMode.FUSED_DISPATCH, ExpertParallelMode.FUSED)

    @property
    def fused_combine(self):
        return self in (ExpertParallelMode.FUSED_COMBINE, ExpertParallelMode.FUSED)


def _all_to_all(x, out_rows, in_rows, group):
    """x [sum(in_rows), ...] -> [sum(out_rows), ...]: in_rows[d] rows go to
    group rank d, out_rows[s] rows come from group rank s, in rank order."""
    x = x.contiguous()
    out = x.new_empty((sum(out_rows),) + tuple(x.shape[1:]))
    dist.all_to_all_single(out, x, list(out_rows), list(in_rows), group=group)
    return out


class _Exchange(torch.autograd.Function):
    """_all_to_all of one or more tensors with the same rows, with autograd:
    the backward sends the gradients back along the reverse path (out_rows
    and in_rows swapped). One node for all of them, so that every rank's
    backward runs the exchanges in the same order: the combine's node, then
    the dispatch's, which depends on it."""

    @staticmethod
    def forward(ctx, out_rows, in_rows, group, *tensors):
        ctx.rows, ctx.group = (out_rows, in_rows), group
        return tuple(_all_to_all(t, out_rows, in_rows, group) for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        out_rows, in_rows = ctx.rows
        return (None, None, None) + tuple(_all_to_all(g, in_rows, out_rows, ctx.group)
                                          for g in grads)


# What dispatch hands to experts and combine.
#   x, ids, weights  received rows [N, hidden], their top-k ids here [N, k]
#                    (int32, local ids, L = not on this rank) and routing
#                    weights [N, k] (0 where the id is L)
#   num_slots        received (row, expert) pairs: ids < L
#   send_rows        rows this rank sent to each rank; recv_rows: received
#   combine_map      [W*T] int32: the sent row of (rank d, token t) at d*T + t,
#                    -1 where t sent nothing to d
#   shape            the input's shape
Dispatched = collections.namedtuple(
    "Dispatched", "x ids weights num_slots send_rows recv_rows combine_map shape")


def _fingerprint(t):
    """An int64 checksum of t's bits (exact and order-independent)."""
    bits = {8: torch.int64, 4: torch.int32, 2: torch.int16, 1: torch.int8}[t.element_size()]
    return t.detach().contiguous().view(bits).sum(dtype=torch.int64)


class ExpertParallelMoE(nn.Module):
    """egs.nn.MoE with its experts sharded over a torch.distributed group
    (see the module docstring for the data flow).

    Arguments as egs.nn.MoE's, plus:
      group            the process group (default: the world group). Every
                       rank of it constructs the layer and calls forward (and
                       backward) together; a rank may have zero tokens.
      mode             an ExpertParallelMode or its name (see there); all
                       modes compute the same function. Settable later.
      capacity_factor  None (no drop) or a number > 0: each rank sends each
                       expert at most C = ceil(capacity_factor * T * top_k /
                       num_experts) of its slots (T: the rank's tokens in this
                       call), the first C in token order (egs.route's slot
                       order); a dropped slot contributes nothing (the token's
                       other weights are not renormalized; a token with every
                       slot dropped gets zeros). last_dropped_slots counts the
                       rank's dropped slots in the last forward.

    Parameters: router.weight [E, hidden] (replicated: group rank 0's at
    construction), w_up [L, hidden, up] and w_down [L, ffn, hidden] (or
    transposed, w_transposed=True), this rank's experts first_expert ...
    first_expert + L - 1. The router's gradient on each rank comes from that
    rank's tokens only: sum it over the ranks as data parallelism does (DDP,
    or all_reduce); the experts' gradients already cover every rank's tokens.

    Errors: num_experts not divisible by the world size (ValueError), ranks
    constructing with different arguments (ValueError naming the argument,
    on every rank), an input a rank rejects (ValueError there, RuntimeError
    naming that rank on the others), ranks disagreeing on recording autograd
    (RuntimeError). A rank that never joins a collective makes the others
    raise when the group's timeout expires.
    """

    def __init__(self, hidden, ffn, num_experts, top_k, activation="swiglu",
                 normalize_topk=True, device=None, dtype=None, *, group=None, mode="fused",
                 capacity_factor=None, w_transposed=False, interleaved=False, alpha=None,
                 limit=None):
        super().__init__()
        (hidden, ffn, num_experts, top_k, normalize_topk, w_transposed, interleaved) = _moe_args(
            _OP, hidden, ffn, num_experts, top_k, activation, normalize_topk, w_transposed,
            interleaved, alpha, limit)
        self.mode = mode
        self.capacity_factor = capacity_factor
        if not dist.is_available() or not dist.is_initialized():
            raise RuntimeError(f"egs.{_OP}: torch.distributed is not initialized: call "
                               "torch.distributed.init_process_group first (argument 'group' is "
                               "a process group of it, default the world)")
        self.group = dist.group.WORLD if group is None else group
        self.rank = dist.get_rank(self.group)
        if self.rank < 0:
            raise ValueError(f"egs.{_OP}: argument 'group': this process (global rank "
                             f"{dist.get_rank()}) is not a member of the group")
        self.world_size = dist.get_world_size(self.group)
        if num_experts % self.world_size:
            raise ValueError(f"egs.{_OP}: num_experts = {num_experts} must be divisible by the "
                             f"group's world size {self.world_size} (each rank holds "
                             "num_experts / world_size experts)")
        self.hidden, self.ffn, self.num_experts, self.top_k = hidden, ffn, num_experts, top_k
        self.activation, self.normalize_topk = activation, normalize_topk
        self.interleaved, self.alpha, self.limit = interleaved, alpha, limit
        self.w_transposed = w_transposed
        self.local_experts = num_experts // self.world_size
        self.first_expert = self.rank * self.local_experts
        self.last_dropped_slots = 0
        nccl = "nccl" in str(dist.get_backend(self.group)).lower()
        self._comm_device = (torch.device("cuda", torch.cuda.current_device()) if nccl
                             else torch.device("cpu"))

        kw = {"device": device, "dtype": dtype}
        L, up = self.local_experts, 2 * ffn if activation in ops.GATED else ffn
        self.router = nn.Linear(hidden, num_experts, bias=False, **kw)
        self.w_up = nn.Parameter(torch.empty(*((L, up, hidden) if w_transposed
                                                else (L, hidden, up)), **kw))
        self.w_down = nn.Parameter(torch.empty(*((L, hidden, ffn) if w_transposed
                                                  else (L, ffn, hidden)), **kw))
        if nccl and self.w_up.device.type not in ("cuda", "meta"):
            raise ValueError(f"egs.{_OP}: argument 'device': the group's backend is NCCL, "
                             f"which exchanges CUDA tensors; got device {self.w_up.device}")
        self._check_agreement()
        if self.w_up.device.type != "meta":
            _init_experts(self.w_up, hidden)
            _init_experts(self.w_down, ffn)
            with torch.no_grad():
                dist.broadcast(self.router.weight, src=dist.get_global_rank(self.group, 0),
                               group=self.group)

    # --- configuration ------------------------------------------------------

    @property
    def mode(self):
        return self._mode

    @mode.setter
    def mode(self, mode):
        self._mode = ExpertParallelMode.parse(mode)

    @property
    def capacity_factor(self):
        return self._capacity_factor

    @capacity_factor.setter
    def capacity_factor(self, value):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"egs.{_OP}: capacity_factor must be None or a number > 0, "
                                f"got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"egs.{_OP}: capacity_factor must be None or a finite number "
                                 f"> 0, got {value!r}")
            value = float(value)
        self._capacity_factor = value

    def _gather(self, values):
        """[W, len(values)] int64: every rank's values (a collective)."""
        t = torch.tensor(values, dtype=torch.int64, device=self._comm_device)
        parts = [torch.empty_like(t) for _ in range(self.world_size)]
        dist.all_gather(parts, t, group=self.group)
        return torch.stack(parts).tolist()

    def _check_agreement(self):
        """ValueError on every rank unless every rank constructed the layer
        with the same arguments (one all_gather of a few ints)."""
        def code(v):  # strings, floats, dtypes: a stable 32-bit code
            return zlib.crc32(repr(v).encode())
        fields = {"hidden": self.hidden, "ffn": self.ffn, "num_experts": self.num_experts,
                  "top_k": self.top_k, "activation": code(self.activation),
                  "normalize_topk": int(self.normalize_topk),
                  "w_transposed": int(self.w_transposed), "interleaved": int(self.interleaved),
                  "alpha": code(self.alpha), "limit": code(self.limit),
                  "dtype": code(self.w_up.dtype)}
        every = self._gather(list(fields.values()))
        for i, name in enumerate(fields):
            column = [row[i] for row in every]
            if len(set(column)) > 1:
                if name in ("hidden", "ffn", "num_experts", "top_k"):
                    what = ", ".join(f"{v} on rank {r}" for r, v in enumerate(column))
                else:
                    groups = collections.defaultdict(list)
                    for r, v in enumerate(column):
                        groups[v].append(r)
                    what = " vs ".join(f"ranks {rs}" for rs in groups.values())
                raise ValueError(f"egs.{_OP}: argument '{name}' differs across the ranks of the "
                                 f"group ({what}); every rank must build the same layer")

    @classmethod
    def from_moe(cls, moe, *, group=None, mode="fused", capacity_factor=None):
        """This rank's shard of a full egs.nn.MoE: the same function as `moe`
        (copies of its router and of the experts this rank holds). Every
        rank passes the same MoE (same seed or checkpoint): checked, with a
        checksum of the weights' bits, ValueError if they differ."""
        if not isinstance(moe, MoE):
            raise TypeError(f"egs.{_OP}.from_moe: argument 'moe' must be an egs.nn.MoE, "
                            f"got {type(moe).__name__}")
        ep = cls(moe.hidden, moe.ffn, moe.num_experts, moe.top_k, moe.activation,
                 moe.normalize_topk, device="meta", dtype=moe.w_up.dtype, group=group, mode=mode,
                 capacity_factor=capacity_factor, w_transposed=moe.w_transposed,
                 interleaved=moe.interleaved, alpha=moe.alpha, limit=moe.limit)
        sums = ep._gather([int(_fingerprint(t)) for t in (moe.router.weight, moe.w_up,
                                                           moe.w_down)])
        if any(row != sums[0] for row in sums):
            raise ValueError(f"egs.{_OP}.from_moe: the ranks passed different MoE weights "
                             "(argument 'moe'); build it identically on every rank")
        lo, hi = ep.first_expert, ep.first_expert + ep.local_experts

        def own(p, t):
            return nn.Parameter(t.detach().clone(), requires_grad=p.requires_grad)
        ep.router.weight = own(moe.router.weight, moe.router.weight)
        ep.w_up = own(moe.w_up, moe.w_up[lo:hi])
        ep.w_down = own(moe.w_down, moe.w_down[lo:hi])
        return ep

    def gather_full(self, grad=False):
        """{"router.weight", "w_up", "w_down"}: the full tensors, [E, ...], on
        every rank (a collective: every rank calls it). grad=True: their
        gradients instead, the router's summed over the ranks (each rank's
        covers its own tokens), the experts' gathered (each shard's already
        covers every rank's tokens); a missing .grad counts as zeros."""
        def value(p):
            if not grad:
                return p.detach()
            return p.grad.detach() if p.grad is not None else torch.zeros_like(p)
        router = value(self.router.weight).clone()
        if grad:
            dist.all_reduce(router, group=self.group)
        full = {"router.weight": router}
        for name in ("w_up", "w_down"):
            shard = value(getattr(self, name)).contiguous()
            parts = [torch.empty_like(shard) for _ in range(self.world_size)]
            dist.all_gather(parts, shard, group=self.group)
            full[name] = torch.cat(parts)
        return full

    # --- forward --------------------------------------------------------------

    def forward(self, x):
        d = self.dispatch(x)
        return self.combine(self.experts(d), d)

    def _input_problem(self, x):
        """Why forward cannot take x, or None."""
        if not isinstance(x, torch.Tensor):
            return f"egs.{_OP}: argument 'x' must be a torch.Tensor, got {type(x).__name__}"
        if x.dim() < 1 or x.shape[-1] != self.hidden:
            return (f"egs.{_OP}: argument 'x' must be [..., hidden] with hidden = {self.hidden}, "
                    f"got shape {tuple(x.shape)}")
        if x.dtype != self.w_up.dtype or x.device != self.w_up.device:
            return (f"egs.{_OP}: argument 'x' is {x.dtype} on {x.device}; the layer's weights "
                    f"are {self.w_up.dtype} on {self.w_up.device}")
        return None

    def _within_capacity(self, ids):
        """[T,k] bool: the slots kept under capacity_factor (see the class)."""
        t, k = ids.shape
        cap = math.ceil(self.capacity_factor * t * k / self.num_experts)
        _, offsets, row_map = ops.route_op(ids, self.num_experts)
        pos = row_map.long().view(k, t).t() - offsets.long()[ids.long()]
        return pos < cap

    def dispatch(self, x):
        """Routes this rank's tokens x [..., hidden] and exchanges counts,
        rows, ids and weights: the Dispatched the experts of this rank run
        on (a collective)."""
        W, L, k = self.world_size, self.local_experts, self.top_k
        dev = self.w_up.device
        problem = self._input_problem(x)
        if problem is None:
            x2 = x.reshape(-1, self.hidden)
            recording = torch.is_grad_enabled() and (
                x2.requires_grad or any(p.requires_grad for p in self.parameters()))
            if recording and not x2.requires_grad:
                # The dispatch exchange's backward is a collective: every
                # recording rank runs it, whatever its input requires.
                x2 = x2.detach().requires_grad_()
            t = x2.shape[0]
            weights, ids = _topk(self.router(x2), k, self.normalize_topk, x2.dtype)
            dest = ids.long() // L                                       # [T,k] rank
            if self.capacity_factor is not None:
                dest = dest.masked_fill(~self._within_capacity(ids), W)  # W: dropped
            hit = torch.zeros(t, W + 1, dtype=torch.bool, device=dev).scatter_(1, dest, True)
            hit = hit[:, :W]                                              # [T,W] sends
            slots = torch.bincount(dest.reshape(-1), minlength=W + 1)[:W]
            status = torch.full((W,), 2 if recording else 1, dtype=torch.int64, device=dev)
            counts = torch.stack([hit.sum(0), slots, status], 1)
        else:
            counts = torch.zeros(W, 3, dtype=torch.int64, device=dev)
        received = _all_to_all(counts, [1] * W, [1] * W, self.group)
        host = torch.cat([counts, received]).tolist()
        sent, received = host[:W], host[W:]
        if problem is not None:
            raise ValueError(problem)
        self._check_statuses([row[2] for row in received])
        send_rows, recv_rows = [row[0] for row in sent], [row[0] for row in received]
        self.last_dropped_slots = t * k - sum(row[1] for row in sent)

        # The (rank d, token t) pairs to send, ordered by d then t.
        n = sum(send_rows)
        order = torch.argsort((~hit).t().reshape(-1).to(torch.uint8), stable=True)[:n]
        to_rank, token = order // max(t, 1), order % max(t, 1)
        here = dest[token] == to_rank[:, None]                           # [n,k]
        send_ids = torch.where(here, ids[token] - (to_rank * L)[:, None], L).to(torch.int32)
        send_w = torch.where(here, weights[token], 0)
        combine_map = torch.full((W * t,), -1, dtype=torch.int32, device=dev)
        combine_map[order] = torch.arange(n, dtype=torch.int32, device=dev)
        recv_x, recv_w = _Exchange.apply(recv_rows, send_rows, self.group, x2[token], send_w)
        return Dispatched(
            x=recv_x, ids=_all_to_all(send_ids, recv_rows, send_rows, self.group), weights=recv_w,
            num_slots=sum(row[1] for row in received), send_rows=send_rows,
            recv_rows=recv_rows, combine_map=combine_map, shape=x.shape)

    def _check_statuses(self, statuses):
        bad = [r for r, s in enumerate(statuses) if s == 0]
        if bad:
            raise RuntimeError(f"egs.{_OP}: rank(s) {bad} of the group rejected their input to "
                               "forward (their ValueError says why); every rank stops before "
                               "the dispatch exchange")
        if len(set(statuses)) > 1:
            rec = [r for r, s in enumerate(statuses) if s == 2]
            rest = [r for r, s in enumerate(statuses) if s != 2]
            raise RuntimeError(f"egs.{_OP}: the ranks disagree on recording autograd: ranks "
                               f"{rec} record a graph (grad mode on and x or a parameter "
                               f"requiring grad), ranks {rest} do not; the backward exchanges "
                               "are collectives every rank must run")

    def experts(self, d):
        """This rank's experts on the received rows of `d` (a Dispatched):
        [N, hidden], row i the routing-weighted sum over this rank's experts
        of received row i's results. No collective."""
        L, S, n = self.local_experts, d.num_slots, d.x.shape[0]
        mode = self._mode
        act = (self.w_transposed, self.activation, self.alpha, self.limit, self.interleaved)
        if mode.fused_combine:
            rows, offsets, row_map, scale = ops.route_weighted_op(d.ids, d.weights, L + 1)
        elif mode.fused_dispatch:
            rows, offsets, row_map = ops.route_op(d.ids, L + 1)
            row_map = torch.where(row_map < S, row_map, -1)  # as permute's, for unpermute
        if mode.fused_dispatch or mode.fused_combine:
            # Slots past S hold the ids L (not on this rank): left out.
            rows, offsets = rows[:S], offsets[:L + 1]
        slot_rows = torch.arange(S, dtype=torch.int32, device=d.x.device)  # grouped GEMMs
        if mode.fused_dispatch:
            a = _up_projection(d.x, rows, offsets, self.w_up, *act)
        else:
            x_sorted, row_map, offsets = ops.permute_op(d.x, d.ids, L + 1, S)
            offsets = offsets[:L + 1]
            a = _up_projection(x_sorted, slot_rows, offsets, self.w_up, *act)
        a = a.contiguous()
        if mode.fused_combine:
            return ops.matmul_scatter_op(a, rows, self.w_down, None, n, scale[:S], offsets,
                                         False, self.w_transposed)
        y = ops.gather_matmul_op(a, slot_rows, self.w_down, None, offsets, self.w_transposed)
        return ops.unpermute_op(y, row_map, d.weights)

    def combine(self, rows, d):
        """Sends the experts' results `rows` [N, hidden] back along the
        dispatch's path and sums each token's partial rows: [*shape] (a
        collective)."""
        (back,) = _Exchange.apply(d.send_rows, d.recv_rows, self.group, rows)
        t = d.combine_map.shape[0] // self.world_size
        out = ops.unpermute_op(back, d.combine_map, back.new_ones((t, self.world_size)))
        return out.reshape(d.shape)

    def extra_repr(self):
        return (f"hidden={self.hidden}, ffn={self.ffn}, num_experts={self.num_experts}, "
                f"top_k={self.top_k}, activation={self.activation!r}, "
                f"experts={self.first_expert}..{self.first_expert + self.local_experts - 1} "
                f"of rank {self.rank}/{self.world_size}, mode={str(self._mode)!r}"
                + (f", capacity_factor={self._capacity_factor}"
                   if self._capacity_factor is not None else "")
                + (", interleaved=True" if self.interleaved else "")
                + (f", alpha={self.alpha}" if self.alpha is not None else "")
                + (f", limit={self.limit}" if self.limit is not None else "")
                + (", w_transposed=True" if self.w_transposed else ""))
