"""egs.sinkhorn (CPU; test_cuda.py has the CUDA cases): against the float64
reference of its semantics, its fixed point (row and column sums), the early
stop, dtypes, argument errors and the torch custom op."""
import numpy as np
import pytest

import egs
from egs import _reference as ref

rng = np.random.default_rng(7)


def logits(T, E, scale=2.0, dtype=np.float32):
    return (rng.standard_normal((T, E)) * scale).astype(dtype)


@pytest.mark.parametrize("T,E,iterations", [(64, 8, 1), (256, 64, 30), (33, 5, 7), (1, 4, 3), (5, 1, 3)])
def test_matches_reference(T, E, iterations):
    x = logits(T, E)
    p = egs.sinkhorn(x, iterations)
    want, _ = ref.sinkhorn(x, iterations)
    assert p.dtype == np.float32 and p.shape == (T, E)
    np.testing.assert_allclose(p, want, rtol=2e-5, atol=1e-9)


def test_fixed_point_row_and_column_sums():
    """Converged: every column sums to 1/E and every row to 1/T, and a
    further iteration changes nothing."""
    T, E = 512, 16
    x = logits(T, E, scale=1.0)
    p = egs.sinkhorn(x, 500).astype(np.float64)
    np.testing.assert_allclose(p.sum(0), 1.0 / E, rtol=1e-5)
    np.testing.assert_allclose(p.sum(1), 1.0 / T, rtol=1e-4)
    np.testing.assert_allclose(egs.sinkhorn(x, 501), p, rtol=1e-5, atol=1e-12)


def test_balances_a_skewed_router():
    """Logits that favour expert 0 for every token: plain top-1 sends all
    tokens there, top-1 of the Sinkhorn scores spreads them evenly."""
    T, E = 256, 8
    x = logits(T, E, scale=0.5)
    x[:, 0] += 3.0
    assert np.bincount(x.argmax(1), minlength=E)[0] == T
    loads = np.bincount(egs.sinkhorn(x, 200).argmax(1), minlength=E)
    assert loads.max() <= 2 * T // E, loads


def test_tolerance_stops_early():
    x = logits(40, 6)
    tol = 1e-3
    want, deltas = ref.sinkhorn(x, 100, tol)
    ran = len(deltas)
    assert 1 < ran < 100
    np.testing.assert_allclose(egs.sinkhorn(x, 100, tolerance=tol), want, rtol=2e-5, atol=1e-9)
    # The same as running exactly that many iterations, and not the same as all 100.
    np.testing.assert_allclose(egs.sinkhorn(x, ran), want, rtol=2e-5, atol=1e-9)
    assert not np.allclose(egs.sinkhorn(x, 100), want, rtol=1e-6, atol=0)


def test_large_logits_do_not_overflow():
    """exp(logits) alone overflows float32 past ~88; the row maximum is
    subtracted first."""
    x = logits(16, 4) + 200.0
    p = egs.sinkhorn(x, 20)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, ref.sinkhorn(x, 20)[0], rtol=2e-5, atol=1e-9)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_logits(dtype):
    import torch
    x = torch.from_numpy(logits(32, 8)).to(getattr(torch, dtype))
    p = egs.sinkhorn(x, 10)
    assert p.dtype == torch.float32
    want, _ = ref.sinkhorn(x.float().numpy(), 10)
    np.testing.assert_allclose(p.numpy(), want, rtol=2e-5, atol=1e-9)


def test_deterministic():
    x = logits(300, 24)
    assert np.array_equal(egs.sinkhorn(x, 9), egs.sinkhorn(x, 9))


@pytest.mark.parametrize("args,kwargs,err,match", [
    ((np.zeros((4, 3), np.float32), 0), {}, ValueError, "iterations"),
    ((np.zeros((4, 3), np.float32), 2.5), {}, TypeError, "iterations"),
    ((np.zeros((4, 3), np.float32), 3), {"tolerance": -1.0}, ValueError, "tolerance"),
    ((np.zeros((4, 3), np.float32), 3), {"tolerance": float("nan")}, ValueError, "tolerance"),
    ((np.zeros((4, 3), np.float32), 3), {"tolerance": True}, TypeError, "tolerance"),
    ((np.zeros((4, 3), np.float32), 3), {"tolerance": "0.1"}, TypeError, "tolerance"),
    ((np.zeros((12,), np.float32), 3), {}, ValueError, "rank 2"),
    ((np.zeros((4, 3), np.int32), 3), {}, TypeError, "logits"),
])
def test_argument_errors(args, kwargs, err, match):
    with pytest.raises(err, match=match):
        egs.sinkhorn(*args, **kwargs)


def test_torch_custom_op():
    import torch
    from egs import _torch_ops as tops
    x = torch.from_numpy(logits(48, 6))
    p = tops.sinkhorn(x, 12, 1e-6)
    want, _ = ref.sinkhorn(x.numpy(), 12, 1e-6)
    np.testing.assert_allclose(p.numpy(), want, rtol=2e-5, atol=1e-9)
    torch.library.opcheck(tops.sinkhorn_op, (x, 12, 1e-6))
    compiled = torch.compile(lambda t: tops.sinkhorn(t, 12, 1e-6), fullgraph=True, backend="aot_eager")
    np.testing.assert_allclose(compiled(x).numpy(), p.numpy(), rtol=0, atol=0)
