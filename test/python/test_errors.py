"""Bad input raises a Python exception naming the argument, before anything
runs; out-of-range indices are caught by the compiled checks (IndexError)."""
import numpy as np
import pytest

import egs

x = np.zeros((2, 10, 8), np.float32)
ind = np.zeros((2, 3, 4), np.int32)
w = np.zeros((3, 8, 6), np.float32)


def test_wrong_dtype_names_argument():
    with pytest.raises(TypeError, match="'x' has dtype f64"):
        egs.gather_matmul(x.astype(np.float64), ind, w)
    with pytest.raises(TypeError, match="'ind' has dtype f32"):
        egs.gather_matmul(x, ind.astype(np.float32), w)
    with pytest.raises(TypeError, match="'w' has dtype f16 but 'x' has f32"):
        egs.gather_matmul(x, ind, w.astype(np.float16))


def test_wrong_rank_and_shape_names_argument():
    with pytest.raises(ValueError, match=r"'ind' must have rank 3 \[B,E,K\]"):
        egs.gather_matmul(x, ind[0], w)
    with pytest.raises(ValueError, match="'w' has I = 7 at dim 1, but 'x' has I = 8"):
        egs.gather_matmul(x, ind, np.zeros((3, 7, 6), np.float32))
    with pytest.raises(ValueError, match="'w' has E = 2 at dim 0, but 'ind' has E = 3"):
        egs.gather_matmul(x, ind, np.zeros((2, 8, 6), np.float32))
    with pytest.raises(ValueError, match="'bias' has J = 5"):
        egs.gather_matmul(x, ind, w, bias=np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="'expert_offsets' must have E\\+1 = 4"):
        egs.gather_matmul(x[0], ind[0, 0], w, expert_offsets=np.zeros(3, np.int32))


def test_non_contiguous_rejected():
    wt = np.zeros((3, 6, 8), np.float32).transpose(0, 2, 1)
    with pytest.raises(ValueError, match="'w' must be contiguous"):
        egs.gather_matmul(x, ind, wt)


def test_not_an_array():
    with pytest.raises(TypeError, match="'x' must be an array"):
        egs.gather_matmul([[1.0]], ind, w)


def test_matmul_scatter_needs_tokens():
    y = np.zeros((3, 4, 6), np.float32)
    with pytest.raises(TypeError, match="'init' or 'num_tokens'"):
        egs.matmul_scatter(y, ind[0], np.zeros((3, 6, 8), np.float32))
    with pytest.raises(TypeError, match="'init' has dtype f16"):
        egs.matmul_scatter(y, ind[0], np.zeros((3, 6, 8), np.float32),
                           init=np.zeros((10, 8), np.float16))


def test_permute_bad_attributes():
    xt = np.zeros((4, 8), np.float32)
    ids = np.zeros((4, 2), np.int32)
    with pytest.raises(ValueError, match="num_out_tokens must be an int in \\[0, T\\*k\\] = \\[0, 8\\]"):
        egs.permute(xt, ids, 4, num_out_tokens=9)
    with pytest.raises(ValueError, match="egs.route: num_experts must be an int in \\[1, "):
        egs.route(ids, 0)
    with pytest.raises(ValueError, match="'row_id_map' must have k\\*T = 8"):
        egs.unpermute(np.zeros((8, 8), np.float32), np.zeros(7, np.int32),
                      np.zeros((4, 2), np.float32))


def test_out_of_range_index_raises_index_error():
    bad = ind.copy()
    bad[1, 2, 3] = 10  # T = 10
    with pytest.raises(IndexError, match="routed token index.*value 10 is outside \\[0, 10\\)"):
        egs.gather_matmul(x, bad, w)
    bad[1, 2, 3] = -1
    with pytest.raises(IndexError):
        egs.matmul_scatter(np.zeros((2, 3, 4, 6), np.float32), bad,
                           np.zeros((3, 6, 8), np.float32), num_tokens=10)
    # The interpreter is fine and the kernel still works afterwards.
    assert egs.gather_matmul(x, ind, w).shape == (2, 3, 4, 6)


def test_bad_expert_offsets_raise_index_error():
    xt = np.zeros((5, 8), np.float32)
    rows = np.zeros(4, np.int32)
    with pytest.raises(IndexError, match="expert_offsets"):
        egs.gather_matmul(xt, rows, w, expert_offsets=np.array([0, 3, 2, 4], np.int32))
    with pytest.raises(IndexError):
        egs.route(np.array([[0, 7]], np.int32), 4)
