"""float64 references of the egs ops, written from their semantics (docs/UserGuide.md).

The one reference every check compares with: the Python tests
(test/python), the generated integration tests (test/Integration/CPU/
gen_tests.py), the GPU checks (scripts/gpu-check/gpu_check.py) and the
benchmarks. Each function takes NumPy arrays or torch tensors (on any device:
the GPU checks run it on CUDA tensors at their full shapes) and returns
float64 results, int32 for routing metadata, in the framework of its first
argument. Pure Python over NumPy or torch, with no imports from the package:
scripts without the compiled extension load this file by path.

Ragged forms: slot r belongs to expert e when offsets[e] <= r < offsets[e+1]
(offsets non-decreasing); slots of no expert are zero in gather_matmul's
result and contribute nothing elsewhere.
"""
import sys

import numpy as np


class _NumPy:
    """The array operations the references need, on NumPy arrays."""

    int32 = np.int32

    @staticmethod
    def f64(a):
        return np.asarray(a, np.float64)

    @staticmethod
    def index(a):
        return np.asarray(a).astype(np.int64)

    @staticmethod
    def ints(a):
        return [int(v) for v in np.asarray(a).reshape(-1)]

    @staticmethod
    def zeros(shape, like):
        return np.zeros(shape)

    @staticmethod
    def full(shape, value, dtype, like):
        return np.full(shape, value, dtype)

    @staticmethod
    def arange(n, like):
        return np.arange(n)

    @staticmethod
    def astype(a, dtype):
        return a.astype(dtype)

    exp, tanh, einsum, abs = np.exp, np.tanh, np.einsum, np.abs

    @staticmethod
    def clip(a, lo, hi):
        return np.clip(a, lo, hi) if lo is not None else np.minimum(a, hi)

    @staticmethod
    def row_max(a):
        return a.max(axis=1, keepdims=True)

    @staticmethod
    def ones(n, like):
        return np.ones(n)

    @staticmethod
    def concatenate(parts, axis=0):
        return np.concatenate(parts, axis=axis)

    @staticmethod
    def stack(parts):
        return np.stack(parts)

    @staticmethod
    def cumsum(a):
        return np.cumsum(a)

    @staticmethod
    def bincount(a, n):
        return np.bincount(a, minlength=n)

    @staticmethod
    def stable_argsort(a):
        return np.argsort(a, kind="stable")

    @staticmethod
    def transpose(a, perm):
        return np.transpose(a, perm)

    @staticmethod
    def take(a, ind, axis):
        return np.take(a, ind, axis=axis)

    @staticmethod
    def index_add(out, axis, ind, values):
        """out[..., ind[q], ...] += values[..., q, ...] along `axis`, in place,
        in the order of q."""
        np.add.at(out, (slice(None),) * axis + (ind,), values)


class _Torch:
    """The same operations on torch tensors (on the tensors' device)."""

    def __init__(self, torch):
        self.torch = torch
        self.int32 = torch.int32

    @staticmethod
    def f64(a):
        return a.double()

    @staticmethod
    def index(a):
        return a.long()

    @staticmethod
    def ints(a):
        return [int(v) for v in a.reshape(-1).tolist()]

    def zeros(self, shape, like):
        return self.torch.zeros(shape, dtype=self.torch.float64, device=like.device)

    def full(self, shape, value, dtype, like):
        return self.torch.full(shape, value, dtype=dtype, device=like.device)

    def arange(self, n, like):
        return self.torch.arange(n, device=like.device)

    @staticmethod
    def astype(a, dtype):
        return a.to(dtype)

    def exp(self, a):
        return self.torch.exp(a)

    def tanh(self, a):
        return self.torch.tanh(a)

    def einsum(self, spec, *operands):
        return self.torch.einsum(spec, *operands)

    def abs(self, a):
        return self.torch.abs(a)

    @staticmethod
    def clip(a, lo, hi):
        return a.clamp(lo, hi)

    @staticmethod
    def row_max(a):
        return a.amax(dim=1, keepdim=True)

    def ones(self, n, like):
        return self.torch.ones(n, dtype=self.torch.float64, device=like.device)

    def concatenate(self, parts, axis=0):
        return self.torch.cat(parts, dim=axis)

    def stack(self, parts):
        return self.torch.stack(parts)

    def cumsum(self, a):
        return self.torch.cumsum(a, 0)

    def bincount(self, a, n):
        return self.torch.bincount(a, minlength=n)

    def stable_argsort(self, a):
        return self.torch.sort(a, stable=True).indices

    @staticmethod
    def transpose(a, perm):
        return a.permute(*perm)

    @staticmethod
    def take(a, ind, axis):
        flat = a.index_select(axis, ind.reshape(-1))
        return flat.reshape(a.shape[:axis] + ind.shape + a.shape[axis + 1:])

    @staticmethod
    def index_add(out, axis, ind, values):
        out.index_add_(axis, ind, values)


def _xp(a):
    """The operations for `a`'s framework: torch for a torch tensor, else NumPy."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(a, torch.Tensor):
        return _Torch(torch)
    return _NumPy


# ----------------------------------------------------------------------------
# gather_matmul's epilogue activations
# ----------------------------------------------------------------------------

def silu(xp, v):
    """v * sigmoid(v)."""
    return v / (1.0 + xp.exp(-v))


def gelu_tanh(xp, v):
    """GELU, tanh approximation (torch.nn.functional.gelu(approximate="tanh"))."""
    return 0.5 * v * (1.0 + xp.tanh(np.sqrt(2.0 / np.pi) * (v + 0.044715 * v ** 3)))


def activate(xp, h, activation, interleaved=False, alpha=None, limit=None):
    """gather_matmul's epilogue on h [..., J]: None, "silu", "gelu", or the
    gated "swiglu" / "clamped_swiglu" ([..., J/2]; gate and up are the two
    column halves, or the even and odd columns when `interleaved`);
    clamped_swiglu (GPT-OSS) takes alpha (default 1.702) and limit (7.0)."""
    if activation is None:
        return h
    if activation == "silu":
        return silu(xp, h)
    if activation == "gelu":
        return gelu_tanh(xp, h)
    half = h.shape[-1] // 2
    gate, up = (h[..., 0::2], h[..., 1::2]) if interleaved else (h[..., :half], h[..., half:])
    if activation == "swiglu":
        return silu(xp, gate) * up
    if activation == "clamped_swiglu":
        alpha = 1.702 if alpha is None else float(alpha)
        limit = 7.0 if limit is None else float(limit)
        g = xp.clip(gate, None, limit)
        u = xp.clip(up, -limit, limit)
        return g / (1.0 + xp.exp(-alpha * g)) * (u + 1.0)
    raise ValueError(f"unknown activation {activation!r}")


def _expert_slots(xp, offsets, num_slots):
    """[(e, lo, hi)]: expert e's slots lo..hi-1 (non-empty ranges only)."""
    o = [min(max(v, 0), num_slots) for v in xp.ints(offsets)]
    return [(e, o[e], o[e + 1]) for e in range(len(o) - 1) if o[e + 1] > o[e]]


def _weights(xp, w, transposed):
    """w [E, reduce, cols] in float64 (stored [E, cols, reduce] when `transposed`)."""
    w = xp.f64(w)
    return xp.transpose(w, (0, 2, 1)) if transposed else w


def _gathered(xp, a, ind, batched):
    """The rows a[b, ind[b, ...]] (batched) or a[ind]."""
    ind = xp.index(ind)
    if not batched:
        return a[ind]
    bidx = xp.arange(a.shape[0], ind).reshape((-1,) + (1,) * (ind.ndim - 1))
    return a[bidx, ind]


# ----------------------------------------------------------------------------
# The ops
# ----------------------------------------------------------------------------

def gather_matmul(x, ind, w, bias=None, offsets=None, *, activation=None, interleaved=False,
                  alpha=None, limit=None, transposed=False):
    """y = act(x[ind] @ w[e] + bias[e]). Expert-choice: x [B,T,I] or [T,I],
    ind [B,E,K] or [E,K] -> y [B,E,K,J']; ragged (offsets [E+1]): ind =
    rows [R] -> y [R,J'] (zero rows outside the experts). w [E,I,J], or
    [E,J,I] when `transposed`; J' = J/2 for the gated activations."""
    xp = _xp(x)
    x, w = xp.f64(x), _weights(xp, w, transposed)
    b = None if bias is None else xp.f64(bias)
    act = dict(activation=activation, interleaved=interleaved, alpha=alpha, limit=limit)
    if offsets is not None:
        rows = xp.index(ind)
        out_cols = w.shape[2] // 2 if activation in ("swiglu", "clamped_swiglu") else w.shape[2]
        y = xp.zeros((rows.shape[0], out_cols), x)
        for e, lo, hi in _expert_slots(xp, offsets, rows.shape[0]):
            h = x[rows[lo:hi]] @ w[e]
            y[lo:hi] = activate(xp, h if b is None else h + b[e], **act)
        return y
    batched = x.ndim == 3
    xg = _gathered(xp, x, ind, batched)
    h = xp.einsum("...eki,eij->...ekj", xg, w)
    return activate(xp, h if b is None else h + b[:, None, :], **act)


def matmul_scatter(y, ind, w, init, scale=None, offsets=None, *, transposed=False,
                   abs_terms=False):
    """out = init + the scatter-add over slots s of scale[s] * (y[s] @ w[e])
    into the row ind[s]. Expert-choice: y [B,E,K,J] or [E,K,J], ind and scale
    [B,E,K] or [E,K], init [B,T,I] or [T,I]; ragged (offsets [E+1]): y [R,J],
    ind = rows [R], scale [R], init [T,I]. w [E,J,I], or [E,I,J] when
    `transposed`. Slots add in slot order. `abs_terms`: |init| plus the sum
    of the terms' magnitudes instead (what bounds every partial sum)."""
    xp = _xp(y)
    y, w = xp.f64(y), _weights(xp, w, transposed)
    mag = xp.abs if abs_terms else (lambda a: a)
    out = mag(xp.f64(init) + 0.0)  # a fresh array
    if offsets is not None:
        rows = xp.index(ind)
        for e, lo, hi in _expert_slots(xp, offsets, rows.shape[0]):
            t = y[lo:hi] @ w[e]
            if scale is not None:
                t = xp.f64(scale)[lo:hi, None] * t
            xp.index_add(out, 0, rows[lo:hi], mag(t))
        return out
    batched = y.ndim == 4
    t = xp.einsum("...ekj,eji->...eki", y, w)
    if scale is not None:
        t = xp.f64(scale)[..., None] * t
    t, ind = mag(t), xp.index(ind)
    if not batched:
        xp.index_add(out, 0, ind.reshape(-1), t.reshape(-1, t.shape[-1]))
        return out
    B, T, I = out.shape
    flat = (ind + xp.arange(B, ind).reshape(-1, 1, 1) * T).reshape(-1)
    xp.index_add(out.reshape(B * T, I), 0, flat, t.reshape(-1, I))
    return out


def weight_grad(lhs, rhs, lhs_ind=None, rhs_ind=None, offsets=None, scale=None):
    """dw[e] = the sum over the slots s of expert e of scale[s] *
    outer(lhs(s), rhs(s)), lhs(s) = lhs[lhs_ind[s]] (batch-wise) with an
    index, else lhs[s]; likewise rhs. Ragged (offsets [E+1]): slots [R];
    expert-choice: slots [B,E,K] or [E,K]."""
    xp = _xp(lhs)
    lhs, rhs = xp.f64(lhs), xp.f64(rhs)
    if offsets is not None:
        a = lhs if lhs_ind is None else lhs[xp.index(lhs_ind)]
        b = rhs if rhs_ind is None else rhs[xp.index(rhs_ind)]
        if scale is not None:
            a = xp.f64(scale)[:, None] * a
        dw = xp.zeros((len(xp.ints(offsets)) - 1, a.shape[1], b.shape[1]), a)
        for e, lo, hi in _expert_slots(xp, offsets, a.shape[0]):
            dw[e] = a[lo:hi].T @ b[lo:hi]
        return dw
    ind = lhs_ind if lhs_ind is not None else rhs_ind
    batched = (ind.ndim if ind is not None else lhs.ndim - 1) == 3
    a = lhs if lhs_ind is None else _gathered(xp, lhs, lhs_ind, batched)
    b = rhs if rhs_ind is None else _gathered(xp, rhs, rhs_ind, batched)
    if scale is not None:
        a = xp.f64(scale)[..., None] * a
    return xp.einsum("beki,bekj->eij" if batched else "eki,ekj->eij", a, b)


def route(topk_ids, num_experts, num_out_tokens=None):
    """(rows [R], offsets [E+1], row_id_map [k*T]), int32: the slots (t, j)
    sorted by expert, then token, then choice; the first R = num_out_tokens
    (default T*k) are kept: rows[s] is slot s's token, offsets[e] the first
    slot of expert e (at most R), row_id_map[j*T + t] the slot of (t, j) or
    -1 when dropped."""
    xp = _xp(topk_ids)
    T, k = topk_ids.shape
    R = T * k if num_out_tokens is None else min(num_out_tokens, T * k)
    flat = xp.index(topk_ids).reshape(-1)
    order = xp.stable_argsort(flat)[:R]  # flat slot t*k + j, by expert
    rows = xp.astype(order // k, xp.int32)
    row_id_map = xp.full((k * T,), -1, xp.int32, flat)
    row_id_map[(order % k) * T + order // k] = xp.astype(xp.arange(R, flat), xp.int32)
    offsets = xp.full((num_experts + 1,), 0, xp.int32, flat)
    offsets[1:] = xp.clip(xp.cumsum(xp.bincount(flat, num_experts)), 0, R)
    return rows, offsets, row_id_map


def permute(x, topk_ids, num_experts, num_out_tokens=None):
    """(x_sorted [R,H] float64, row_id_map, offsets): x's rows in route's
    slot order; R = num_out_tokens (default T*k), rows past T*k zero."""
    xp = _xp(x)
    T, k = topk_ids.shape
    R = T * k if num_out_tokens is None else num_out_tokens
    rows, offsets, row_id_map = route(topk_ids, num_experts, R)
    xs = xp.zeros((R, x.shape[1]), x)
    xs[:rows.shape[0]] = xp.f64(x)[xp.index(rows)]
    return xs, row_id_map, offsets


def unpermute(x_sorted, row_id_map, probs):
    """out[t] = sum over j of probs[t, j] * x_sorted[row_id_map[j*T + t]]
    (in order of j, skipping -1)."""
    xp = _xp(x_sorted)
    xs, p = xp.f64(x_sorted), xp.f64(probs)
    T, k = p.shape
    rid = xp.index(row_id_map).reshape(k, T)
    out = xp.zeros((T, xs.shape[1]), xs)
    for j in range(k):
        kept = rid[j] >= 0
        out[kept] += p[kept, j][:, None] * xs[rid[j][kept]]
    return out


def sinkhorn(logits, iterations, tolerance=0.0):
    """egs.sinkhorn: (p [T,E], the per-iteration deltas; their number is the
    iterations run). K = exp(logits - row max), c = 1; each iteration r =
    (1/T) / (K c + 1e-8), c' = (1/E) / (r K + 1e-8), delta = mean |c' - c|,
    stopping after one with delta <= tolerance; p = r K c."""
    xp = _xp(logits)
    L = xp.f64(logits)
    T, E = L.shape
    K = xp.exp(L - xp.row_max(L))
    c = xp.ones(E, L)
    deltas = []
    for _ in range(iterations):
        r = (1.0 / T) / (K @ c + 1e-8)
        cn = (1.0 / E) / (r @ K + 1e-8)
        deltas.append(float(xp.abs(cn - c).sum() / E))
        c = cn
        if deltas[-1] <= tolerance:
            break
    return r[:, None] * K * c[None, :], deltas


def _take(xp, x, ind, axis, batch_dims):
    """g[b.., p.., ind[b.., q..], s..] = x[b.., p.., ind[b.., q..], s..]."""
    if batch_dims == 0:
        return xp.take(x, xp.index(ind), axis)
    parts = [_take(xp, x[b], ind[b], axis - batch_dims, 0) for b in np.ndindex(*x.shape[:batch_dims])]
    return xp.stack(parts).reshape(x.shape[:batch_dims] + parts[0].shape)


def gather(x, ind, axis, batch_dims=0, permutation=None):
    """egs.gather: numpy.take along `axis` with `batch_dims` shared leading
    dims, optionally transposed by `permutation`."""
    xp = _xp(x)
    g = _take(xp, xp.f64(x), ind, axis, batch_dims)
    return g if permutation is None else xp.transpose(g, permutation)


def scatter_add(src, ind, init, axis, batch_dims=0):
    """egs.scatter_add, the adjoint of gather: out = init, then
    out[b.., p.., ind[b.., q..], s..] += src[b.., p.., q.., s..]."""
    xp = _xp(src)
    out = xp.f64(init) + 0.0
    src, ind = xp.f64(src), xp.index(ind)
    if batch_dims:
        for b in np.ndindex(*src.shape[:batch_dims]):
            out[b] = scatter_add(src[b], ind[b], out[b], axis - batch_dims)
        return out
    nq = ind.ndim
    flat_src = src.reshape(src.shape[:axis] + (-1,) + src.shape[axis + nq:])
    xp.index_add(out, axis, ind.reshape(-1), flat_src)
    return out


def gather_concat(xs, inds, axis, dim, permutations=None):
    """egs.gather_concat: each source gathered along `axis` (then transposed
    by its permutation), concatenated along `dim`."""
    xp = _xp(xs[0])
    pieces = []
    for s, (x, i) in enumerate(zip(xs, inds)):
        g = xp.take(xp.f64(x), xp.index(i), axis)
        pieces.append(g if permutations is None else xp.transpose(g, permutations[s]))
    return xp.concatenate(pieces, dim)
