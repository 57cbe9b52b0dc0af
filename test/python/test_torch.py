"""egs with PyTorch: tensors in, tensors out; egs.nn modules forward and
backward against PyTorch references (float32); torch.library registration
(opcheck) and torch.compile without graph breaks."""
import warnings

import numpy as np
import pytest

import torch
import egs  # noqa: E402
import egs.nn  # noqa: E402
from egs.nn import ops as tops  # noqa: E402


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def close(a, b, tol=1e-4):
    a, b = a.double(), b.double()
    return (a - b).norm().item() <= tol * max(b.norm().item(), 1.0)


# --- references written with torch ops only -------------------------------

def ref_gather_matmul(x, ind, w, bias=None):
    if ind.dim() == 3:
        xg = x[torch.arange(x.shape[0])[:, None, None], ind.long()]
        y = torch.einsum("beki,eij->bekj", xg, w)
        return y if bias is None else y + bias[None, :, None, :]
    y = torch.einsum("eki,eij->ekj", x[ind.long()], w)
    return y if bias is None else y + bias[:, None, :]


def ref_matmul_scatter(y, ind, w, init, scale=None):
    contrib = torch.einsum("bekj,eji->beki", y, w)
    if scale is not None:
        contrib = contrib * scale[..., None]
    B, T, I = init.shape
    flat = (torch.arange(B)[:, None, None] * T + ind.long()).reshape(-1)
    return init.reshape(B * T, I).index_add(0, flat, contrib.reshape(-1, I)).reshape(B, T, I)


def ref_moe(m, x):
    x2 = x.reshape(-1, m.hidden)
    weights, ids = m.route(x2)
    out = torch.zeros_like(x2)
    for t in range(x2.shape[0]):
        for j in range(m.top_k):
            e = int(ids[t, j])
            h = x2[t] @ m.w_up[e]
            out[t] = out[t] + weights[t, j] * (m._activate(h[None])[0] @ m.w_down[e])
    return out.reshape(x.shape)


# --- functions on tensors --------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_functions_return_torch_tensors(dtype):
    x = torch.randn(2, 12, 8, generator=gen()).to(dtype)
    ind = torch.randint(0, 12, (2, 3, 4), generator=gen(), dtype=torch.int32)
    w = torch.randn(3, 8, 6, generator=gen()).to(dtype)
    y = egs.gather_matmul(x, ind, w)
    assert isinstance(y, torch.Tensor) and y.dtype == dtype and y.shape == (2, 3, 4, 6)
    assert close(y.float(), ref_gather_matmul(x.float(), ind, w.float()), 1e-2 if dtype != torch.float32 else 1e-5)
    w2 = torch.randn(3, 6, 8, generator=gen()).to(dtype)
    out = egs.matmul_scatter(y, ind, w2, num_tokens=12)
    assert out.dtype == dtype and out.shape == (2, 12, 8)
    ref = ref_matmul_scatter(y.float(), ind, w2.float(), torch.zeros(2, 12, 8))
    assert close(out.float(), ref, 2e-2 if dtype != torch.float32 else 1e-5)


def test_mixed_frameworks_and_devices_rejected():
    x = torch.zeros(4, 8)
    with pytest.raises(TypeError, match="'ind'"):
        egs.gather_matmul(x, np.zeros((2, 2), np.int32), torch.zeros(2, 8, 3))
    with pytest.raises(ValueError, match="must be contiguous"):
        egs.gather_matmul(x, torch.zeros(2, 2, dtype=torch.int32), torch.zeros(2, 3, 8).transpose(1, 2))


def test_repeated_calls_replay_only_identical_signatures(replay):
    """A repeated call skips the checks (a plan per argument signature), so
    every property the checks read must tell signatures apart: a new token
    count, dtype, layout or scalar type is checked again, never replayed."""
    x = torch.randn(12, 8, generator=gen())
    ind = torch.randint(0, 12, (3, 4), generator=gen(), dtype=torch.int32)
    w = torch.randn(3, 8, 6, generator=gen())
    info = egs.cache_info()
    for _ in range(3):
        y = egs.gather_matmul(x, ind, w)
        assert close(y, ref_gather_matmul(x, ind, w), 1e-5)
    after = egs.cache_info()
    assert after["memory_hits"] >= info["memory_hits"] + 2
    # A new K (same kernel) gives a new plan with its own output shape.
    ind2 = torch.randint(0, 12, (3, 9), generator=gen(), dtype=torch.int32)
    assert egs.gather_matmul(x, ind2, w).shape == (3, 9, 6)
    assert close(egs.gather_matmul(x, ind2, w), ref_gather_matmul(x, ind2, w), 1e-5)
    # Same shapes, other dtype / layout / device-agnostic checks: still caught.
    with pytest.raises(TypeError, match="'w' has dtype f64"):
        egs.gather_matmul(x, ind, w.double())
    with pytest.raises(ValueError, match="'w' must be contiguous"):
        egs.gather_matmul(x, ind, w.transpose(1, 2).contiguous().transpose(1, 2))
    with pytest.raises(TypeError, match="'ind'"):
        egs.gather_matmul(x, ind.float(), w)
    # Typed scalars: True == 1 but bools are rejected, after a valid call too.
    ids = torch.randint(0, 2, (5, 1), generator=gen(), dtype=torch.int32)
    rows, off, _ = egs.route(ids, 1 + 1)
    assert off.tolist()[-1] == 5
    with pytest.raises(TypeError, match="egs.route: num_experts must be an int"):
        egs.route(torch.zeros(5, 1, dtype=torch.int32), True)
    egs.route(torch.zeros(5, 1, dtype=torch.int32), 1)
    with pytest.raises(TypeError, match="egs.route: num_experts must be an int"):
        egs.route(torch.zeros(5, 1, dtype=torch.int32), True)
    with pytest.raises(TypeError, match="egs.route: num_experts must be an int"):
        egs.route(torch.zeros(5, 1, dtype=torch.int32), 1.0)
    with pytest.raises(TypeError, match="egs.route: num_experts must be an int"):
        egs.route(torch.zeros(5, 1, dtype=torch.int32), [1])
    # Outputs are fresh tensors on every replay, never shared.
    a, b = egs.gather_matmul(x, ind, w), egs.gather_matmul(x, ind, w)
    assert a.data_ptr() != b.data_ptr()


def replays(f, n=3):
    """f() called n times: the first call checked, the others replayed (the
    replay count must grow by n - 1); returns the results."""
    hits = egs.cache_info()["memory_hits"]
    results = [f() for _ in range(n)]
    assert egs.cache_info()["memory_hits"] >= hits + n - 1
    return results


def same(a, b):
    a, b = (a if isinstance(a, tuple) else (a,)), (b if isinstance(b, tuple) else (b,))
    return len(a) == len(b) and all(x.dtype == y.dtype and x.shape == y.shape and
                                    torch.equal(x, y) for x, y in zip(a, b))


def test_replayed_calls_match_checked_calls(replay):
    """Every op and form, replayed: fresh outputs of the checked call's
    dtypes and shapes (zero-filled, or a copy of init, where the op says so),
    the same values, inputs untouched."""
    E, T, I, J, k = 4, 10, 8, 6, 2
    x = torch.randn(T, I, generator=gen())
    w = torch.nn.Parameter(torch.randn(E, I, J, generator=gen()))  # a Parameter too
    w2 = torch.randn(E, J, I, generator=gen())
    bias = torch.randn(E, J, generator=gen())
    ids = torch.randint(0, E, (T, k), generator=gen(), dtype=torch.int32)
    probs = torch.rand(T, k, generator=gen())
    init = torch.randn(T, I, generator=gen())
    init_before = init.clone()
    rows, off, rid = replays(lambda: egs.route(ids, E))[-1]
    ind = torch.randint(0, T, (E, 3), generator=gen(), dtype=torch.int32)
    cases = [
        lambda: egs.gather_matmul(x, ind, w, bias=bias),
        lambda: egs.gather_matmul(x[None].expand(2, T, I).contiguous(), ind[None].repeat(2, 1, 1), w),
        lambda: egs.gather_matmul(x, rows, w, expert_offsets=off),
        lambda: egs.matmul_scatter(torch.randn(E, 3, J, generator=gen(0)), ind, w2, init=init),
        lambda: egs.matmul_scatter(torch.randn(E, 3, J, generator=gen(0)), ind, w2, num_tokens=T,
                                   scale=torch.rand(E, 3, generator=gen(1)), deterministic=True),
        lambda: egs.matmul_scatter(torch.randn(T * k, J, generator=gen(0)), rows, w2,
                                   num_tokens=T, expert_offsets=off),
        lambda: egs.permute(x, ids, E, num_out_tokens=T * k - 3),
        lambda: egs.unpermute(torch.randn(T * k, I, generator=gen(0)), rid, probs),
        lambda: egs.route(ids, E),
    ]
    for i, f in enumerate(cases):
        first, *again = replays(f)
        for r in again:
            assert same(r, first), f"case {i}"
            outs = r if isinstance(r, tuple) else (r,)
            assert all(o.data_ptr() != p.data_ptr() for o, p in
                       zip(outs, first if isinstance(first, tuple) else (first,)))
    assert torch.equal(init, init_before)
    # Ragged rows past expert_offsets[E] come back zero on every replay.
    short = off.clone()
    short[-1] = short[-2] = off[-3]
    for y in replays(lambda: egs.gather_matmul(x, rows, w, expert_offsets=short)):
        assert float(y[int(off[-3]):].abs().max()) == 0.0


def test_tensor_subclasses_are_checked_every_call(replay):
    class Tagged(torch.Tensor):
        pass

    x = torch.randn(12, 8, generator=gen()).as_subclass(Tagged)
    ind = torch.randint(0, 12, (3, 4), generator=gen(), dtype=torch.int32)
    w = torch.randn(3, 8, 6, generator=gen())
    for _ in range(3):
        y = egs.gather_matmul(x, ind, w)
        assert close(torch.Tensor(y), ref_gather_matmul(torch.Tensor(x), ind, w), 1e-5)


def test_tensors_kernels_cannot_read_are_rejected_by_name(replay):
    """A lazily negated view, or a Parameter whose storage was freed (as FSDP
    does), has a plan's signature but not its memory: checked, rejected."""
    x = torch.randn(12, 8, generator=gen())
    ind = torch.randint(0, 12, (3, 4), generator=gen(), dtype=torch.int32)
    w = torch.nn.Parameter(torch.randn(3, 8, 6, generator=gen()))
    for _ in range(2):
        egs.gather_matmul(x, ind, w)  # a plan for these shapes
    with pytest.raises(ValueError, match="'x' is a lazily negated"):
        egs.gather_matmul(torch._neg_view(x), ind, w)
    with torch.no_grad():
        w.untyped_storage().resize_(0)
    with pytest.raises(ValueError, match="'w' has no memory behind it"):
        egs.gather_matmul(x, ind, w)


def test_torch_extension_of_another_torch_version_is_not_loaded(monkeypatch):
    from egs import _kernels

    build = pytest.importorskip("egs._torch_build", reason="egs._egs_torch not built")
    monkeypatch.setattr(build, "TORCH_VERSION", "0.0.0-other")
    previous = _kernels.use_torch_extension(True)
    try:
        with pytest.warns(RuntimeWarning, match="built for torch 0.0.0-other"):
            _kernels.dispatcher()
        assert egs.cache_info()["replay"] == "python"
        # Warnings as errors still leave the slower replay in place.
        _kernels.use_torch_extension(True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(RuntimeWarning):
                _kernels.dispatcher()
            assert egs.cache_info()["replay"] == "python"
        x = torch.randn(12, 8, generator=gen())
        ind = torch.randint(0, 12, (3, 4), generator=gen(), dtype=torch.int32)
        w = torch.randn(3, 8, 6, generator=gen())
        assert close(egs.gather_matmul(x, ind, w), ref_gather_matmul(x, ind, w), 1e-5)
    finally:
        _kernels.use_torch_extension(previous)


def test_requires_grad_tensors_are_accepted_by_functions():
    x = torch.randn(4, 8, requires_grad=True)
    y = egs.gather_matmul(x, torch.zeros(2, 2, dtype=torch.int32), torch.randn(2, 8, 3))
    assert y.shape == (2, 2, 3) and not y.requires_grad


# --- modules: forward and backward against references ------------------

def test_expert_gather_and_scatter_autograd():
    torch.manual_seed(0)
    B, T, E, K, I, J = 2, 10, 3, 4, 8, 6
    g = egs.nn.ExpertGather(E, I, J, bias=True)
    s = egs.nn.ExpertScatter(E, J, I)
    x = torch.randn(B, T, I, requires_grad=True)
    ind = torch.randint(0, T, (B, E, K), dtype=torch.int32)
    scale = torch.rand(B, E, K, requires_grad=True)
    init = torch.randn(B, T, I, requires_grad=True)
    out = s(g(x, ind), ind, init=init, scale=scale)
    upstream = torch.randn(B, T, I)
    (out * upstream).sum().backward()
    got = [t.grad.clone() for t in (x, scale, init, g.weight, g.bias, s.weight)]

    params = [t.detach().clone().requires_grad_() for t in (x, scale, init, g.weight, g.bias, s.weight)]
    xr, sr, ir, wg, bg, ws = params
    ref = ref_matmul_scatter(ref_gather_matmul(xr, ind, wg, bg), ind, ws, ir, sr)
    assert close(out.detach(), ref.detach(), 1e-5)
    (ref * upstream).sum().backward()
    for name, a, p in zip(["x", "scale", "init", "w_gather", "bias", "w_scatter"], got, params):
        assert close(a, p.grad, 1e-4), name


def test_ragged_ops_autograd():
    torch.manual_seed(1)
    T, E, I, J = 9, 3, 5, 4
    x = torch.randn(T, I, requires_grad=True)
    w = torch.randn(E, I, J, requires_grad=True)
    b = torch.randn(E, J, requires_grad=True)
    w2 = torch.randn(E, J, I, requires_grad=True)
    offsets = torch.tensor([0, 4, 4, 8], dtype=torch.int32)
    rows = torch.randint(0, T, (9,), dtype=torch.int32)  # slot 8 uncovered
    scale = torch.rand(9, requires_grad=True)
    y = tops.gather_matmul(x, rows, w, b, offsets)
    out = tops.matmul_scatter(y, rows, w2, None, T, scale, offsets, False)
    up = torch.randn(T, I)
    (out * up).sum().backward()
    got = [t.grad.clone() for t in (x, w, b, w2, scale)]

    leaves = [t.detach().clone().requires_grad_() for t in (x, w, b, w2, scale)]
    xr, wr, br, w2r, sr = leaves
    e_of = [0, 0, 0, 0, 2, 2, 2, 2]
    ref = torch.zeros(T, I)
    for r, e in enumerate(e_of):
        yr = xr[rows[r]] @ wr[e] + br[e]
        ref = ref.index_add(0, rows[r:r + 1].long(), (sr[r] * (yr @ w2r[e]))[None])
    assert close(out.detach(), ref.detach(), 1e-5)
    (ref * up).sum().backward()
    for name, a, p in zip(["x", "w", "bias", "w2", "scale"], got, leaves):
        assert close(a, p.grad, 1e-4), name


def test_permute_unpermute_autograd():
    torch.manual_seed(2)
    T, k, E, H = 6, 2, 4, 5
    x = torch.randn(T, H, requires_grad=True)
    ids = torch.stack([torch.randperm(E)[:k] for _ in range(T)]).to(torch.int32)
    probs = torch.rand(T, k, requires_grad=True)
    xs, row_id_map, offsets = tops.permute(x, ids, E, 10)
    out = tops.unpermute(xs * 2.0, row_id_map, probs)
    up = torch.randn(T, H)
    (out * up).sum().backward()
    m = row_id_map.long().view(k, T)
    keep = (m >= 0).t().float()  # [T,k]
    xr, pr = x.detach().clone().requires_grad_(), probs.detach().clone().requires_grad_()
    ref = ((pr * keep)[..., None] * 2.0 * xr[:, None, :]).sum(1)
    assert close(out.detach(), ref.detach(), 1e-5)
    (ref * up).sum().backward()
    assert close(x.grad, xr.grad) and close(probs.grad, pr.grad)


def test_unpermute_autograd_no_tokens():
    # A rank of an expert-parallel layer may have no tokens: zero rows in,
    # zero rows out, gradients of the right (empty) shapes.
    H, k = 5, 2
    xs = torch.randn(3, H, requires_grad=True)
    probs = torch.rand(0, k, requires_grad=True)
    out = tops.unpermute(xs, torch.empty(0, dtype=torch.int32), probs)
    assert out.shape == (0, H)
    out.sum().backward()
    assert xs.grad.shape == xs.shape and not xs.grad.any()
    assert probs.grad.shape == (0, k)


@pytest.mark.parametrize("activation", ["swiglu", "gelu"])
def test_moe_forward_backward(activation):
    torch.manual_seed(3)
    m = egs.nn.MoE(hidden=8, ffn=6, num_experts=4, top_k=2, activation=activation)
    x = torch.randn(2, 5, 8, requires_grad=True)
    out = m(x)
    assert out.shape == x.shape
    ref = ref_moe(m, x)
    assert close(out, ref.detach(), 1e-5)
    up = torch.randn_like(out)
    (out * up).sum().backward()
    got = {n: p.grad.clone() for n, p in m.named_parameters()}
    gx = x.grad.clone()
    m.zero_grad()
    x.grad = None
    (ref_moe(m, x) * up).sum().backward()
    assert close(gx, x.grad, 1e-4)
    for n, p in m.named_parameters():
        assert close(got[n], p.grad, 1e-4), n


def _leaves(*ts):
    return [t.detach().clone().requires_grad_() for t in ts]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("form", ["ec_batched", "ec_unbatched", "ragged"])
def test_gradients_of_every_form_against_float64(dtype, form):
    """gather_matmul (bias) -> matmul_scatter (scale) gradients in each form and
    dtype against a float64 torch reference; the ragged routing has an empty
    expert, an uncovered slot and a token routed twice to one expert."""
    torch.manual_seed(5)
    T, E, K, I, J, B = 7, 3, 3, 8, 6, 2
    tol = 1e-4 if dtype == torch.float32 else 3e-2
    if form == "ragged":
        rows = torch.tensor([4, 4, 0, 6, 1, 1, 5, 2, 3, 0], dtype=torch.int32)  # slot 9 uncovered
        off = torch.tensor([0, 4, 4, 9], dtype=torch.int32)
        xs, ss = (T, I), (10,)
        ind = rows
    else:
        off = None
        ind = torch.randint(0, T, (B, E, K) if form == "ec_batched" else (E, K), dtype=torch.int32)
        ind.view(-1)[:2] = 1  # a duplicate token
        xs = (B, T, I) if form == "ec_batched" else (T, I)
        ss = tuple(ind.shape)
    x, w, b = torch.randn(xs), torch.randn(E, I, J) / 3, torch.randn(E, J)
    w2, scale = torch.randn(E, J, I) / 3, torch.rand(ss)
    up = torch.randn(xs)
    leaves = _leaves(*(t.to(dtype) for t in (x, w, b, w2, scale)))
    y = tops.gather_matmul(leaves[0], ind, leaves[1], leaves[2], off)
    out = tops.matmul_scatter(y, ind, leaves[3], None, xs[-2], leaves[4], off, False)
    (out.float() * up).sum().backward()
    ref_leaves = _leaves(*(t.to(dtype).double() for t in (x, w, b, w2, scale)))
    xr, wr, br, w2r, sr = ref_leaves
    if off is None:
        yr, ib = ref_gather_matmul(xr, ind, wr, br), ind
        if form == "ec_unbatched":  # the reference takes a batch dimension
            yr, ib, srb = yr[None], ind[None], sr[None]
        else:
            srb = sr
        ref = ref_matmul_scatter(yr, ib, w2r, torch.zeros((B,) + xs[-2:] if form == "ec_batched"
                                                         else (1,) + xs, dtype=torch.float64), srb)
        ref = ref.reshape(xs)
    else:
        ref = torch.zeros(xs, dtype=torch.float64)
        for e in range(E):
            for r in range(int(off[e]), int(off[e + 1])):
                t = int(rows[r])
                ref = ref.index_add(0, torch.tensor([t]), (sr[r] * ((xr[t] @ wr[e] + br[e]) @ w2r[e]))[None])
    assert close(out.detach(), ref.detach(), tol)
    (ref * up.double()).sum().backward()
    for name, a, r in zip(["x", "w", "bias", "w2", "scale"], leaves, ref_leaves):
        assert a.grad.dtype == dtype, name
        assert close(a.grad, r.grad, tol), name


@pytest.mark.parametrize("ragged", [False, True])
def test_transposed_weights_forward_and_gradients(ragged):
    """Weights stored [E,out,in] (w_transposed) give the same results and
    gradients (in their own layout) as the untransposed weights."""
    torch.manual_seed(8)
    T, E, I, J = 9, 3, 6, 5
    x = torch.randn(T, I)
    if ragged:
        ind = torch.randint(0, T, (8,), dtype=torch.int32)
        off = torch.tensor([0, 3, 3, 7], dtype=torch.int32)  # slot 7 uncovered
        scale = torch.rand(8)
    else:
        ind, off = torch.randint(0, T, (E, 4), dtype=torch.int32), None
        scale = torch.rand(E, 4)
    w1, w2 = torch.randn(E, I, J), torch.randn(E, J, I)
    up = torch.randn(T, I)

    def run(transposed):
        a, b = (w1.transpose(1, 2), w2.transpose(1, 2)) if transposed else (w1, w2)
        leaves = _leaves(x, a.contiguous(), b.contiguous(), scale)
        y = tops.gather_matmul(leaves[0], ind, leaves[1], None, off, transposed)
        out = tops.matmul_scatter(y, ind, leaves[2], None, T, leaves[3], off, False, transposed)
        (out * up).sum().backward()
        grads = [t.grad for t in leaves]
        if transposed:
            grads[1], grads[2] = grads[1].transpose(1, 2), grads[2].transpose(1, 2)
        return out.detach(), grads

    out, grads = run(False)
    out_t, grads_t = run(True)
    assert close(out_t, out, 1e-5)
    for name, a, b in zip(["x", "w1", "w2", "scale"], grads_t, grads):
        assert close(a, b, 1e-5), name


FUSED = [("silu", False), ("gelu", False), ("swiglu", False), ("swiglu", True),
         ("clamped_swiglu", False), ("clamped_swiglu", True)]


@pytest.mark.parametrize("activation,interleaved", FUSED)
@pytest.mark.parametrize("ragged", [False, True])
def test_fused_activation_forward_and_gradients_against_float64(activation, interleaved, ragged):
    """gather_matmul with the activation in its epilogue (bias before it;
    clamped_swiglu with alpha 1.5 and limit 1 so that both clamps act on this
    data) against the same math in float64 torch; the gradients of x, w and
    bias (through the backward's recompute of h) against float64 autograd."""
    torch.manual_seed(11)
    T, E, I, J = 9, 3, 6, 10
    params = dict(alpha=1.5, limit=1.0) if activation == "clamped_swiglu" else {}
    x, w, bias = torch.randn(T, I), torch.randn(E, J, I), torch.randn(E, J)
    if ragged:
        ind, off = torch.randint(0, T, (8,), dtype=torch.int32), torch.tensor([0, 3, 3, 7],
                                                                              dtype=torch.int32)
    else:
        ind, off = torch.randint(0, T, (E, 4), dtype=torch.int32), None
    leaves = _leaves(x, w, bias)
    y = tops.gather_matmul(leaves[0], ind, leaves[1], leaves[2], off, True, activation,
                           params.get("alpha"), params.get("limit"), interleaved)
    refs = _leaves(x.double(), w.double(), bias.double())
    if ragged:
        e = torch.searchsorted(off.long(), torch.arange(8), right=True) - 1
        covered = (e >= 0) & (e < E)
        ec = e.clamp(0, E - 1)
        h = torch.einsum("ri,rji->rj", refs[0][ind.long()], refs[1][ec]) + refs[2][ec]
        want = tops.apply_activation(h, activation, interleaved=interleaved, **params)
        want = want * covered[:, None]
    else:
        h = torch.einsum("eki,eji->ekj", refs[0][ind.long()], refs[1]) + refs[2][:, None, :]
        want = tops.apply_activation(h, activation, interleaved=interleaved, **params)
    assert y.shape == want.shape
    assert (h.abs() > 1.0).any() and close(y.detach(), want.detach(), 1e-5)
    up = torch.randn(y.shape)
    (y * up).sum().backward()
    (want * up.double()).sum().backward()
    for name, a, r in zip(["x", "w", "bias"], leaves, refs):
        assert close(a.grad, r.grad, 1e-4), name


def test_gather_matmul_activation_arguments_are_checked():
    x, w = torch.randn(5, 4), torch.randn(2, 4, 6)
    ind = torch.zeros(2, 3, dtype=torch.int32)
    for kw, err, match in [
            (dict(activation="relu"), ValueError, "'activation' must be one of"),
            (dict(activation="silu", interleaved=True), ValueError, "needs a gated activation"),
            (dict(activation="swiglu", alpha=1.0), ValueError, "belong to activation='clamped_swiglu'"),
            (dict(activation="clamped_swiglu", limit=0.0), ValueError, "'limit' must be positive"),
            (dict(activation="clamped_swiglu", alpha=float("nan")), ValueError, "'alpha' must be finite"),
            (dict(activation="clamped_swiglu", alpha="1"), TypeError, "'alpha' must be a float"),
            (dict(activation="swiglu", interleaved=1), TypeError, "'interleaved' must be a bool")]:
        with pytest.raises(err, match=match):
            egs.gather_matmul(x, ind, w, **kw)
    with pytest.raises(ValueError, match="J must be even, got J = 5"):
        egs.gather_matmul(x, ind, torch.randn(2, 4, 5), activation="swiglu")


@pytest.mark.parametrize("activation,interleaved", [("swiglu", False), ("clamped_swiglu", True),
                                                    ("gelu", False)])
def test_moe_inference_fuses_the_activation(activation, interleaved):
    """Without autograd, egs.nn.MoE runs the activation in the up
    projection's epilogue (one gather_matmul with the activation, no
    separate activation kernel); with it, the pre-activation is kept. Both
    give the same output."""
    from op_recorder import OpRecorder

    torch.manual_seed(5)
    m = egs.nn.MoE(hidden=8, ffn=6, num_experts=4, top_k=2, activation=activation,
                   interleaved=interleaved, **({"limit": 1.0} if activation == "clamped_swiglu" else {}))
    x = torch.randn(7, 8)
    with torch.no_grad(), OpRecorder() as rec:
        fused = m(x)
    gm = [args for name, args in rec.calls if name == "egs.gather_matmul"]
    assert len(gm) == 1 and gm[0][6] == activation
    # router, top-k, then egs kernels only: the route (with the slot scales),
    # the up projection with its activation, the down projection.
    assert [n for n, _ in rec.calls if n.startswith("egs.")] == [
        "egs.route_weighted", "egs.gather_matmul", "egs.matmul_scatter"]
    assert not any("scatter" in n for n, _ in rec.calls if n.startswith("aten."))
    assert not any("silu" in name or "sigmoid" in name or "gelu" in name for name, _ in rec.calls)
    trained = m(x)
    assert trained.requires_grad
    assert close(fused, trained.detach(), 1e-5) and close(fused, ref_moe(m, x).detach(), 1e-5)


def test_route_weighted_gradient_flows_back_to_the_weights():
    torch.manual_seed(2)
    T, k, E = 7, 2, 3
    ids = torch.randint(0, E, (T, k), dtype=torch.int32)
    w = torch.rand(T, k, requires_grad=True)
    _, _, row_id_map, scale = tops.route_weighted(ids, w, E)
    up = torch.randn(T * k)
    (scale * up).sum().backward()
    want = up[row_id_map.long()].view(k, T).t()
    assert torch.equal(w.grad, want)
    assert torch.equal(scale.detach()[row_id_map.long()].view(k, T).t(), w.detach())


def test_weight_grad_op_matches_float64_and_empty_experts_are_zero():
    torch.manual_seed(6)
    T, I, J = 6, 5, 4
    x, dy = torch.randn(T, I), torch.randn(8, J)
    rows = torch.tensor([5, 0, 0, 2, 3, 1, 4, 4], dtype=torch.int32)
    off = torch.tensor([0, 3, 3, 8, 8], dtype=torch.int32)
    for dt in (torch.float32, torch.bfloat16):
        dw = tops.weight_grad(x.to(dt), dy.to(dt), rows, None, off, None, dt != torch.float32)
        assert dw.dtype == torch.float32 and dw.shape == (4, I, J)
        ref = torch.zeros(4, I, J, dtype=torch.float64)
        for e in range(4):
            for r in range(int(off[e]), int(off[e + 1])):
                ref[e] += torch.outer(x.to(dt)[rows[r]].double(), dy.to(dt)[r].double())
        assert close(dw, ref, 1e-5) and torch.all(dw[1] == 0) and torch.all(dw[3] == 0)


# --- torch.library and torch.compile -----------------------------------

def test_opcheck_custom_ops():
    T, E, K, I, J = 6, 2, 3, 4, 5
    x = torch.randn(T, I, requires_grad=True)
    ind = torch.randint(0, T, (E, K), dtype=torch.int32)
    w = torch.randn(E, I, J, requires_grad=True)
    tests = ("test_schema", "test_autograd_registration", "test_faketensor")
    torch.library.opcheck(tops.gather_matmul_op, (x, ind, w, None, None), test_utils=tests)
    wt = w.detach().transpose(1, 2).contiguous().requires_grad_()
    torch.library.opcheck(tops.gather_matmul_op, (x, ind, wt, None, None, True), test_utils=tests)
    w6 = torch.randn(E, I, 6, requires_grad=True)
    torch.library.opcheck(tops.gather_matmul_op, (x, ind, w6, torch.randn(E, 6, requires_grad=True),
                                                  None, False, "clamped_swiglu", 1.5, 2.0, True),
                          test_utils=tests)
    y = torch.randn(E, K, J, requires_grad=True)
    torch.library.opcheck(tops.matmul_scatter_op, (y, ind, w.detach().transpose(1, 2).contiguous(),
                                                   None, T, None, None, False), test_utils=tests)
    ids = torch.randint(0, E, (T, 2), dtype=torch.int32)
    torch.library.opcheck(tops.permute_op, (x, ids, E, None), test_utils=tests)
    torch.library.opcheck(tops.route_op, (ids, E), test_utils=tests)
    torch.library.opcheck(tops.route_weighted_op, (ids, torch.rand(T, 2, requires_grad=True), E),
                          test_utils=tests)
    rows = torch.randint(0, T, (7,), dtype=torch.int32)
    off = torch.tensor([0, 3, 7], dtype=torch.int32)
    torch.library.opcheck(tops.weight_grad_op, (x.detach(), torch.randn(7, J), rows, None, off,
                                                None, False), test_utils=tests)
    torch.library.opcheck(tops.weight_grad_op, (torch.randn(E, K, J), x.detach(), None, ind, None,
                                                torch.rand(E, K), True), test_utils=tests)


def test_torch_compile_without_graph_breaks():
    torch.manual_seed(4)
    torch._dynamo.reset()
    m = egs.nn.MoE(hidden=8, ffn=4, num_experts=4, top_k=2)
    compiled = torch.compile(m, backend="aot_eager", fullgraph=True, dynamic=False)
    x = torch.randn(6, 8, requires_grad=True)
    out = compiled(x)
    assert close(out.detach(), m(x).detach(), 1e-5)
    out.sum().backward()
    assert x.grad is not None and m.w_up.grad is not None
    explanation = torch._dynamo.explain(m)(torch.randn(6, 8))
    assert explanation.graph_break_count == 0


def test_readme_example():
    import torch, egs.nn
    moe = egs.nn.MoE(hidden=64, ffn=128, num_experts=8, top_k=2)
    x = torch.randn(16, 64, requires_grad=True)
    moe(x).sum().backward()
    print(x.grad.shape, moe.w_up.grad.shape)
    assert x.grad.shape == (16, 64) and moe.w_up.grad.shape == (8, 64, 256)


def test_plans_are_safe_across_threads(replay):
    """One thread replays a plan while another keeps adding plans (a new
    token count per call) and clearing the caches: every result stays right
    and nothing is freed under a running call."""
    import sys
    import threading
    E, J, I = 3, 6, 8
    w = torch.randn(E, J, I, generator=gen())
    y = torch.randn(E, 4, J, generator=gen())
    ind = torch.randint(0, 5, (E, 4), generator=gen(), dtype=torch.int32)
    init = torch.randn(5, I, generator=gen())
    ref = ref_matmul_scatter(y[None], ind[None], w, init[None].clone())[0]
    errors = []

    def replay():
        try:
            for _ in range(300):
                out = egs.matmul_scatter(y, ind, w, init=init)
                if not close(out, ref, 1e-5):
                    errors.append("wrong result")
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    def churn():
        try:
            for t in range(5, 305):
                egs.matmul_scatter(y, ind, w, init=torch.zeros(t, I))
                if t % 50 == 0:
                    egs.clear_cache()
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=replay), threading.Thread(target=churn)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]
