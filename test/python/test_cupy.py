"""CuPy arrays: read in place, results allocated by CuPy on the arrays'
device, kernels queued on CuPy's current stream, no torch needed. Runs where
CuPy sees a GPU and egs has the CUDA target."""
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import rel_err

cupy = pytest.importorskip("cupy")
import egs  # noqa: E402


def _gpu():
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no driver / no device
        return False


pytestmark = [
    pytest.mark.skipif(not _gpu(), reason="needs CuPy with a CUDA device"),
    pytest.mark.skipif(not egs.target_available("cuda")[0], reason="egs built without CUDA"),
]

TOL = {np.float32: 1e-5, np.float16: 1e-2}


def data(seed, shape, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_expert_choice_ops_on_cupy_arrays(dtype):
    B, T, E, K, I, J = 2, 40, 4, 8, 32, 16
    x, w, w2 = data(0, (B, T, I), dtype), data(1, (E, I, J), dtype), data(2, (E, J, I), dtype)
    ind = np.random.default_rng(3).integers(0, T, (B, E, K)).astype(np.int32)
    y = egs.gather_matmul(cupy.asarray(x), cupy.asarray(ind), cupy.asarray(w))
    assert isinstance(y, cupy.ndarray) and y.dtype == dtype and y.shape == (B, E, K, J)
    xg = x.astype(np.float64)[np.arange(B)[:, None, None], ind]
    ref = np.einsum("beki,eij->bekj", xg, w.astype(np.float64))
    assert rel_err(cupy.asnumpy(y), ref) < TOL[dtype]
    init = data(4, (B, T, I), np.float32)
    out = egs.matmul_scatter(y, cupy.asarray(ind), cupy.asarray(w2), init=cupy.asarray(init))
    assert isinstance(out, cupy.ndarray) and out.dtype == np.float32
    contrib = np.einsum("bekj,eji->beki", cupy.asnumpy(y).astype(np.float64), w2.astype(np.float64))
    expect = init.astype(np.float64).copy()
    for b in range(B):
        np.add.at(expect[b], ind[b].reshape(-1), contrib[b].reshape(-1, I))
    assert rel_err(cupy.asnumpy(out), expect) < TOL[dtype] * 2


def test_token_choice_ops_on_cupy_arrays():
    T, E, k, H, N = 50, 4, 2, 32, 24
    x, w = data(0, (T, H)), data(1, (E, H, N))
    ids = np.random.default_rng(2).integers(0, E, (T, k)).astype(np.int32)
    probs = np.random.default_rng(3).random((T, k)).astype(np.float32)
    xd, idsd = cupy.asarray(x), cupy.asarray(ids)
    rows, off, rid = egs.route(idsd, E)
    assert all(isinstance(a, cupy.ndarray) for a in (rows, off, rid))
    h = egs.gather_matmul(xd, rows, cupy.asarray(w), expert_offsets=off)
    rows_np, off_np = cupy.asnumpy(rows), cupy.asnumpy(off)
    expert = np.searchsorted(off_np, np.arange(T * k), side="right") - 1
    ref = np.einsum("ri,rij->rj", x[rows_np].astype(np.float64), w[expert].astype(np.float64))
    assert rel_err(cupy.asnumpy(h), ref) < 1e-5
    xs, rid2, off2 = egs.permute(xd, idsd, E)
    assert cupy.array_equal(off2, off) and cupy.array_equal(rid2, rid)
    back = egs.unpermute(xs, rid2, cupy.asarray(probs))
    assert rel_err(cupy.asnumpy(back), x * probs.sum(1, keepdims=True)) < 1e-5


def test_work_on_a_cupy_stream_is_ordered():
    """Produced on a non-blocking CuPy stream, consumed there by egs: the
    kernel queues behind the producer (CuPy's current stream)."""
    a = cupy.asarray(data(0, (2048, 2048)))
    ind = cupy.asarray(np.random.default_rng(1).integers(0, 256, (8, 32)).astype(np.int32))
    w = cupy.asarray(data(2, (8, 64, 32)))
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        x = (a @ a)[:256, :64] * 1e-3  # long producer on the side stream
        x = cupy.ascontiguousarray(x)
        y = egs.gather_matmul(x, ind, w)
    stream.synchronize()
    xh = cupy.asnumpy(x).astype(np.float64)
    ref = np.einsum("eki,eij->ekj", xh[cupy.asnumpy(ind)], cupy.asnumpy(w).astype(np.float64))
    assert rel_err(cupy.asnumpy(y), ref) < 1e-5


def test_bad_arguments_name_the_argument():
    x = cupy.zeros((10, 8), np.float32)
    w = cupy.zeros((2, 8, 4), np.float32)
    with pytest.raises(TypeError, match="'ind'.*one framework"):
        egs.gather_matmul(x, np.zeros((2, 3), np.int32), w)
    with pytest.raises(TypeError, match="argument 'ind' has dtype f32"):
        egs.gather_matmul(x, cupy.zeros((2, 3), np.float32), w)
    with pytest.raises(ValueError, match="'w' must be contiguous"):
        egs.gather_matmul(x, cupy.zeros((2, 3), np.int32), cupy.zeros((2, 4, 8), np.float32).transpose(0, 2, 1))
    previous = egs.check_indices(True)
    try:
        with pytest.raises(IndexError, match=r"value 10 is outside \[0, 10\)"):
            egs.gather_matmul(x, cupy.asarray([[0, 10, 1]], np.int32), w[:1])
        with pytest.raises(IndexError, match="expert_offsets .must be non-decreasing"):
            egs.gather_matmul(x, cupy.zeros(4, np.int32), w,
                              expert_offsets=cupy.asarray([0, 3, 2], np.int32))
    finally:
        egs.check_indices(previous)


def test_cupy_works_without_torch():
    """torch is never imported for CuPy arrays (it is blocked here)."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np, cupy, egs\n"
        "x = cupy.arange(40, dtype=np.float32).reshape(10, 4)\n"
        "ind = cupy.asarray([[1, 2], [3, 9]], np.int32)\n"
        "w = cupy.ones((2, 4, 3), np.float32)\n"
        "y = egs.gather_matmul(x, ind, w)\n"
        "assert isinstance(y, cupy.ndarray)\n"
        "expect = cupy.asnumpy(x).sum(1)[[[1, 2], [3, 9]]]\n"
        "assert np.allclose(cupy.asnumpy(y)[..., 0], expect)\n"
        "print('ok')\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-2000:]


@pytest.mark.skipif(_gpu() and cupy.cuda.runtime.getDeviceCount() < 2,
                    reason="needs two CUDA devices")
def test_cupy_arrays_on_a_second_device():
    with cupy.cuda.Device(1):
        x = cupy.asarray(data(0, (30, 16)))
        ind = cupy.asarray(np.random.default_rng(1).integers(0, 30, (3, 5)).astype(np.int32))
        w = cupy.asarray(data(2, (3, 16, 8)))
    y = egs.gather_matmul(x, ind, w)  # device 0 current
    assert y.device.id == 1
    ref = np.einsum("eki,eij->ekj", cupy.asnumpy(x)[cupy.asnumpy(ind)], cupy.asnumpy(w))
    assert rel_err(cupy.asnumpy(y), ref) < 1e-5
    with pytest.raises(ValueError, match="'w' is on cuda:0 but the other arguments are on cuda:1"):
        egs.gather_matmul(x, ind, cupy.asarray(data(2, (3, 16, 8))))
