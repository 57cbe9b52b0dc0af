"""Arrays of another framework through DLPack (JAX here): egs reads them in
place and returns results in that framework; JAX CPU arrays directly, JAX
CUDA arrays through torch. Skipped without JAX."""
import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
import egs  # noqa: E402


def on(device_kind, a):
    return jax.device_put(jnp.asarray(a), jax.devices(device_kind)[0])


def jax_has(kind):
    try:
        return bool(jax.devices(kind))
    except RuntimeError:
        return False


def check_ops(put):
    rng = np.random.default_rng(0)
    xn = rng.standard_normal((2, 6, 4), dtype=np.float32)
    indn = rng.integers(0, 6, (2, 3, 2)).astype(np.int32)
    wn = rng.standard_normal((3, 4, 5), dtype=np.float32)
    y = egs.gather_matmul(put(xn), put(indn), put(wn))
    assert isinstance(y, jax.Array) and y.shape == (2, 3, 2, 5)
    ref = np.einsum("beki,eij->bekj", xn[np.arange(2)[:, None, None], indn], wn)
    np.testing.assert_allclose(np.asarray(y), ref, rtol=1e-5, atol=1e-5)
    out = egs.matmul_scatter(y, put(indn), put(wn.transpose(0, 2, 1).copy()), num_tokens=6)
    assert isinstance(out, jax.Array) and out.shape == (2, 6, 4)
    rows, off, rid = egs.route(put(np.array([[0, 2], [1, 0], [2, 1]], np.int32)), 3)
    assert all(isinstance(a, jax.Array) for a in (rows, off, rid))
    assert np.asarray(off).tolist() == [0, 2, 4, 6]


def test_jax_cpu_arrays_in_jax_arrays_out():
    check_ops(lambda a: on("cpu", a))


def test_jax_gpu_arrays_in_jax_arrays_out():
    # Asked here, not at collection: JAX's CUDA start-up touches every device.
    if not egs.target_available("cuda")[0] or not jax_has("gpu"):
        pytest.skip("needs JAX with a GPU and egs with the CUDA target")
    pytest.importorskip("torch")
    check_ops(lambda a: on("gpu", a))


def test_numpy_arguments_join_a_jax_cpu_call():
    # NumPy arrays are read directly beside host DLPack arrays; the results
    # belong to the first argument's framework.
    y = egs.gather_matmul(on("cpu", np.ones((4, 8), np.float32)), np.zeros((2, 2), np.int32),
                          on("cpu", np.ones((2, 8, 3), np.float32)))
    assert isinstance(y, jax.Array) and float(y.sum()) == 2 * 2 * 3 * 8


def test_jax_cpu_mixed_with_torch_is_rejected_by_name():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="'ind'"):
        egs.gather_matmul(on("cpu", np.ones((4, 8), np.float32)), torch.zeros(2, 2, dtype=torch.int32),
                          on("cpu", np.ones((2, 8, 3), np.float32)))
