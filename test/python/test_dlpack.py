"""Arrays of another framework through DLPack (here JAX on the CPU): egs
reads them in place and returns results in that framework. Skipped without
JAX (CuPy follows the same path, for CUDA arrays through torch)."""
import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
import egs  # noqa: E402


def test_jax_arrays_in_jax_arrays_out():
    rng = np.random.default_rng(0)
    xn = rng.standard_normal((2, 6, 4), dtype=np.float32)
    indn = rng.integers(0, 6, (2, 3, 2)).astype(np.int32)
    wn = rng.standard_normal((3, 4, 5), dtype=np.float32)
    y = egs.gather_matmul(jnp.asarray(xn), jnp.asarray(indn), jnp.asarray(wn))
    assert isinstance(y, jax.Array) and y.shape == (2, 3, 2, 5)
    ref = np.einsum("beki,eij->bekj", xn[np.arange(2)[:, None, None], indn], wn)
    np.testing.assert_allclose(np.asarray(y), ref, rtol=1e-5, atol=1e-5)
    out = egs.matmul_scatter(y, jnp.asarray(indn), jnp.asarray(wn.transpose(0, 2, 1).copy()),
                             num_tokens=6)
    assert isinstance(out, jax.Array) and out.shape == (2, 6, 4)
    ids = jnp.asarray(np.array([[0, 2], [1, 0], [2, 1]], np.int32))
    rows, off, rid = egs.route(ids, 3)
    assert all(isinstance(a, jax.Array) for a in (rows, off, rid))
    assert np.asarray(off).tolist() == [0, 2, 4, 6]


def test_numpy_arguments_join_a_jax_call():
    # NumPy arrays are read directly beside host DLPack arrays; the results
    # belong to the first argument's framework.
    y = egs.gather_matmul(jnp.ones((4, 8), jnp.float32), np.zeros((2, 2), np.int32),
                          jnp.ones((2, 8, 3), jnp.float32))
    assert isinstance(y, jax.Array) and float(y.sum()) == 2 * 2 * 3 * 8


def test_jax_mixed_with_torch_is_rejected_by_name():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="'ind'"):
        egs.gather_matmul(jnp.ones((4, 8), jnp.float32), torch.zeros(2, 2, dtype=torch.int32),
                          jnp.ones((2, 8, 3), jnp.float32))
