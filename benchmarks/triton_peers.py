"""A Triton peer for the expert-choice gather_matmul (the expert-choice seed shape).

The original egs kernel is a Triton kernel: one program per (batch, expert)
and output-column tile, gathering its K token rows and multiplying them by
the expert's weight. This is our own kernel of that design (not the original
code), so that bench_moe.py can time a Triton launch side by side with egs:
GPU time and, above all, the per-call (launcher) cost from Python.
"""
import torch

try:
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - the benchmark notes the skip
    triton = None


if triton is not None:
    @triton.jit
    def _gather_matmul_kernel(x_ptr, ind_ptr, w_ptr, y_ptr, T, E, K,
                              I: tl.constexpr, J: tl.constexpr, BLOCK_K: tl.constexpr,
                              BLOCK_I: tl.constexpr, BLOCK_J: tl.constexpr):
        be = tl.program_id(0)  # (batch, expert)
        pj = tl.program_id(1)  # output-column tile
        pk = tl.program_id(2)  # routed-row tile
        b = be // E
        e = be % E
        rk = pk * BLOCK_K + tl.arange(0, BLOCK_K)
        in_k = rk < K
        rows = tl.load(ind_ptr + be * K + rk, mask=in_k, other=0)
        rj = pj * BLOCK_J + tl.arange(0, BLOCK_J)
        in_j = rj < J
        acc = tl.zeros((BLOCK_K, BLOCK_J), dtype=tl.float32)
        for i0 in range(0, I, BLOCK_I):
            ri = i0 + tl.arange(0, BLOCK_I)
            in_i = ri < I
            a = tl.load(x_ptr + (b * T + rows[:, None]).to(tl.int64) * I + ri[None, :],
                        mask=in_k[:, None] & in_i[None, :], other=0.0)
            w = tl.load(w_ptr + e.to(tl.int64) * I * J + ri[:, None] * J + rj[None, :],
                        mask=in_i[:, None] & in_j[None, :], other=0.0)
            acc += tl.dot(a, w)
        out = y_ptr + (be * K + rk[:, None]).to(tl.int64) * J + rj[None, :]
        tl.store(out, acc.to(y_ptr.dtype.element_ty), mask=in_k[:, None] & in_j[None, :])


def available():
    return triton is not None


def gather_matmul(x, ind, w):
    """y[b,e,k] = x[b, ind[b,e,k]] @ w[e]: x [B,T,I], ind [B,E,K], w [E,I,J]."""
    B, T, I = x.shape
    _, E, K = ind.shape
    J = w.shape[2]
    y = torch.empty(B, E, K, J, device=x.device, dtype=x.dtype)
    block_k = 32 if K <= 32 else 64
    block_j = min(64, triton.next_power_of_2(J))
    grid = (B * E, triton.cdiv(J, block_j), triton.cdiv(K, block_k))
    _gather_matmul_kernel[grid](x, ind, w, y, T, E, K, I=I, J=J, BLOCK_K=block_k,
                                BLOCK_I=min(64, triton.next_power_of_2(I)), BLOCK_J=block_j,
                                num_warps=4)
    return y
