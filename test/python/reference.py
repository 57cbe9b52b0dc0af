"""NumPy (float64) references of the egs ops, written from the ops' semantics (docs/UserGuide.md)."""
import numpy as np


def gather_matmul(x, ind, w, bias=None, offsets=None):
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    b = None if bias is None else np.asarray(bias, np.float64)
    if offsets is not None:
        rows = np.asarray(ind)
        y = np.zeros((rows.shape[0], w.shape[2]))
        for e in range(w.shape[0]):
            for r in range(offsets[e], offsets[e + 1]):
                y[r] = x[rows[r]] @ w[e] + (0 if b is None else b[e])
        return y
    if x.ndim == 2:
        y = np.einsum("eki,eij->ekj", x[ind], w)
        return y if b is None else y + b[:, None, :]
    xg = x[np.arange(x.shape[0])[:, None, None], ind]
    y = np.einsum("beki,eij->bekj", xg, w)
    return y if b is None else y + b[None, :, None, :]


def matmul_scatter(y, ind, w, init, scale=None, offsets=None):
    y = np.asarray(y, np.float64)
    w = np.asarray(w, np.float64)
    out = np.array(init, np.float64)
    if offsets is not None:
        for e in range(w.shape[0]):
            for r in range(offsets[e], offsets[e + 1]):
                s = 1.0 if scale is None else float(scale[r])
                out[ind[r]] += s * (y[r] @ w[e])
        return out
    batched = y.ndim == 4
    if not batched:
        y, ind, out = y[None], np.asarray(ind)[None], out[None]
        scale = None if scale is None else np.asarray(scale)[None]
    B, E, K, _ = y.shape
    for b in range(B):
        for e in range(E):
            for k in range(K):
                s = 1.0 if scale is None else float(scale[b, e, k])
                out[b, ind[b, e, k]] += s * (y[b, e, k] @ w[e])
    return out if batched else out[0]


def permute(x, topk_ids, num_experts, num_out_tokens=None):
    T, k = topk_ids.shape
    order = sorted(((int(topk_ids[t, j]), t, j) for t in range(T) for j in range(k)))
    R = T * k if num_out_tokens is None else num_out_tokens
    xs = np.zeros((R, x.shape[1]), np.float64)
    row_id_map = np.full(k * T, -1, np.int32)
    counts = np.zeros(num_experts, np.int64)
    for r, (e, t, j) in enumerate(order[:R]):
        xs[r] = x[t]
        row_id_map[j * T + t] = r
        counts[e] += 1
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return xs, row_id_map, offsets


def route(topk_ids, num_experts):
    T, k = topk_ids.shape
    order = sorted(((int(topk_ids[t, j]), t, j) for t in range(T) for j in range(k)))
    rows = np.array([t for _, t, _ in order], np.int32)
    row_id_map = np.full(k * T, -1, np.int32)
    for r, (_, t, j) in enumerate(order):
        row_id_map[j * T + t] = r
    counts = np.bincount(topk_ids.reshape(-1), minlength=num_experts)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return rows, offsets, row_id_map


def unpermute(xs, row_id_map, probs):
    T, k = probs.shape
    out = np.zeros((T, xs.shape[1]))
    for t in range(T):
        for j in range(k):
            r = row_id_map[j * T + t]
            if r >= 0:
                out[t] += float(probs[t, j]) * np.asarray(xs[r], np.float64)
    return out


def weight_grad(lhs, rhs, lhs_ind=None, rhs_ind=None, offsets=None, scale=None):
    """dw[e] = sum over the slots s of expert e of scale[s] * outer(lhs(s), rhs(s))."""
    lhs, rhs = np.asarray(lhs, np.float64), np.asarray(rhs, np.float64)
    if offsets is not None:
        num_e = len(offsets) - 1
        slot_list = [(e, (r,), ()) for e in range(num_e) for r in range(offsets[e], offsets[e + 1])]
    else:
        ind = lhs_ind if lhs_ind is not None else rhs_ind
        shape = np.shape(ind) if ind is not None else lhs.shape[:-1]
        num_e = shape[-2]
        slot_list = [(s[-2], s, s[:-2]) for s in np.ndindex(*shape)]
    dw = np.zeros((num_e, lhs.shape[-1], rhs.shape[-1]))
    for e, s, b in slot_list:
        lrow = lhs[b + (int(lhs_ind[s]),)] if lhs_ind is not None else lhs[s]
        rrow = rhs[b + (int(rhs_ind[s]),)] if rhs_ind is not None else rhs[s]
        dw[e] += (1.0 if scale is None else float(scale[s])) * np.outer(lrow, rrow)
    return dw


def sinkhorn(logits, iterations, tolerance=0.0):
    """egs.sinkhorn in float64: (p, the number of iterations run)."""
    L = np.asarray(logits, np.float64)
    T, E = L.shape
    K = np.exp(L - L.max(axis=1, keepdims=True))
    c = np.ones(E)
    for it in range(1, iterations + 1):
        r = (1.0 / T) / (K @ c + 1e-8)
        cn = (1.0 / E) / (r @ K + 1e-8)
        delta = np.abs(cn - c).sum() / E
        c = cn
        if delta <= tolerance:
            break
    return r[:, None] * K * c[None, :], it
