"""egs.gather_matmul / matmul_scatter / permute / unpermute / route on NumPy
arrays against the float64 references (egs._reference)."""
import numpy as np
import pytest

import egs
from egs import _reference as ref
from conftest import TOL, rel_err

rng = np.random.default_rng(0)


def rand(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def ec_ind(B, E, K, T, dtype=np.int32):
    return rng.integers(0, T, size=(B, E, K) if B else (E, K)).astype(dtype)


# --------------------------------------------------------------------------
# gather_matmul
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("idx", [np.int32, np.int64])
def test_gather_matmul_expert_choice_batched(dtype, idx):
    B, T, E, K, I, J = 3, 20, 4, 5, 16, 12
    x, w = rand(B, T, I, dtype=dtype), rand(E, I, J, dtype=dtype)
    ind = ec_ind(B, E, K, T, idx)
    y = egs.gather_matmul(x, ind, w)
    assert y.shape == (B, E, K, J) and y.dtype == dtype
    assert rel_err(y, ref.gather_matmul(x, ind, w)) < TOL[np.dtype(dtype).name]


def test_gather_matmul_unbatched_bias():
    T, E, K, I, J = 9, 3, 4, 8, 6
    x, w, b = rand(T, I), rand(E, I, J), rand(E, J)
    ind = ec_ind(0, E, K, T)
    y = egs.gather_matmul(x, ind, w, bias=b)
    assert y.shape == (E, K, J)
    assert rel_err(y, ref.gather_matmul(x, ind, w, b)) < 1e-5


def test_gather_matmul_single_expert_and_all_tokens_to_one_expert():
    T, I, J = 7, 8, 4
    x, w = rand(1, T, I), rand(1, I, J)
    ind = np.arange(T, dtype=np.int32)[None, None, :]  # E=1, K=T
    assert rel_err(egs.gather_matmul(x, ind, w), ref.gather_matmul(x, ind, w)) < 1e-5
    ind2 = np.zeros((1, 1, 3), np.int32)  # every slot reads token 0
    y = egs.gather_matmul(x, ind2, w)
    np.testing.assert_allclose(y[0, 0], np.broadcast_to(x[0, 0] @ w[0], (3, J)), rtol=1e-5)


def test_gather_matmul_ragged_with_empty_expert():
    T, E, I, J = 10, 4, 8, 6
    x, w, b = rand(T, I), rand(E, I, J), rand(E, J)
    offsets = np.array([0, 3, 3, 7, 9], np.int32)  # expert 1 empty, slot 9 uncovered
    rows = rng.integers(0, T, size=10).astype(np.int32)
    y = egs.gather_matmul(x, rows, w, bias=b, expert_offsets=offsets)
    assert y.shape == (10, J)
    expected = ref.gather_matmul(x, rows, w, b, offsets)
    assert rel_err(y, expected) < 1e-5
    assert np.all(y[9] == 0)  # rows past expert_offsets[E] are zero


def test_gather_matmul_new_token_count_reuses_kernel():
    E, K, I, J = 2, 3, 8, 4
    w = rand(E, I, J)
    egs.gather_matmul(rand(1, 5, I), ec_ind(1, E, K, 5), w)
    before = egs.cache_info()["compilations"]
    for T, K2 in ((11, 3), (40, 7), (2, 1)):
        x, ind = rand(2, T, I), ec_ind(2, E, K2, T)
        assert rel_err(egs.gather_matmul(x, ind, w), ref.gather_matmul(x, ind, w)) < 1e-5
    assert egs.cache_info()["compilations"] == before


# --------------------------------------------------------------------------
# matmul_scatter
# --------------------------------------------------------------------------

@pytest.mark.parametrize("deterministic", [False, True])
def test_matmul_scatter_expert_choice_duplicates_accumulate(deterministic):
    B, T, E, K, J, I = 2, 6, 3, 5, 4, 8
    y, w, init, s = rand(B, E, K, J), rand(E, J, I), rand(B, T, I), rand(B, E, K)
    ind = ec_ind(B, E, K, 3)  # only tokens 0..2: many duplicates
    out = egs.matmul_scatter(y, ind, w, init=init, scale=s, deterministic=deterministic)
    assert rel_err(out, ref.matmul_scatter(y, ind, w, init, s)) < 1e-5
    assert np.array_equal(out[:, 3:], init[:, 3:])  # untouched tokens keep init
    assert not np.shares_memory(out, init)


def test_matmul_scatter_num_tokens_zeros_unbatched():
    T, E, K, J, I = 9, 2, 4, 4, 6
    y, w = rand(E, K, J), rand(E, J, I)
    ind = ec_ind(0, E, K, T)
    out = egs.matmul_scatter(y, ind, w, num_tokens=T)
    assert out.shape == (T, I)
    assert rel_err(out, ref.matmul_scatter(y, ind, w, np.zeros((T, I)))) < 1e-5


def test_matmul_scatter_f16_with_f32_init():
    T, E, K, J, I = 8, 2, 3, 8, 8
    y, w = rand(E, K, J, dtype=np.float16), rand(E, J, I, dtype=np.float16)
    init = rand(T, I)
    ind = ec_ind(0, E, K, T)
    out = egs.matmul_scatter(y, ind, w, init=init)
    assert out.dtype == np.float32
    assert rel_err(out, ref.matmul_scatter(y, ind, w, init)) < 1e-2


def test_matmul_scatter_ragged_scale():
    T, E, J, I = 6, 3, 4, 5
    offsets = np.array([0, 2, 2, 5], np.int32)
    rows = np.array([1, 1, 0, 5, 1], np.int32)
    y, w, s, init = rand(5, J), rand(E, J, I), rand(5), rand(T, I)
    out = egs.matmul_scatter(y, rows, w, init=init, scale=s, expert_offsets=offsets)
    assert rel_err(out, ref.matmul_scatter(y, rows, w, init, s, offsets)) < 1e-5


# --------------------------------------------------------------------------
# token choice: permute / unpermute / route
# --------------------------------------------------------------------------

def test_transposed_weights_are_read_in_place():
    T, E, K, I, J = 9, 3, 4, 8, 6
    x, w, b = rand(T, I), rand(E, I, J), rand(E, J)
    ind = ec_ind(0, E, K, T)
    wt = np.ascontiguousarray(w.transpose(0, 2, 1))  # [E,J,I], as checkpoints store it
    y = egs.gather_matmul(x, ind, wt, bias=b, w_transposed=True)
    assert rel_err(y, ref.gather_matmul(x, ind, w, b)) < 1e-5
    with pytest.raises(ValueError, match="argument 'w' has I = 6 at dim 2"):
        egs.gather_matmul(x, ind, w, w_transposed=True)
    init = rand(T, I)
    out = egs.matmul_scatter(y, ind, w, init=init, w_transposed=True)  # y @ w[e]^T
    assert rel_err(out, ref.matmul_scatter(y, ind, wt, init)) < 1e-5


# --------------------------------------------------------------------------
# weight_grad
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("out_f32", [False, True])
def test_weight_grad_ragged_gathered_lhs(dtype, out_f32):
    """dW of gather_matmul: x rows read through rows, an empty expert, uncovered slots."""
    T, I, J, R = 11, 6, 5, 14
    x, dy = rand(T, I, dtype=dtype), rand(R, J, dtype=dtype)
    rows = rng.integers(0, T, R).astype(np.int32)
    rows[-2:] = -7  # uncovered slots: never read
    off = np.array([1, 5, 5, 12], np.int32)
    dw = egs.weight_grad(x, dy, lhs_ind=rows, expert_offsets=off,
                         out_dtype="float32" if out_f32 else None)
    assert dw.shape == (3, I, J) and dw.dtype == (np.float32 if out_f32 else dtype)
    expect = ref.weight_grad(x, dy, lhs_ind=rows, offsets=off)
    assert np.all(dw[1] == 0)
    assert rel_err(dw, expect) < TOL[np.dtype(dtype).name]


def test_weight_grad_ragged_gathered_rhs_scale_duplicates():
    """dW of matmul_scatter: y in slot order, dout read through rows (duplicates), scale."""
    T, I, J, R = 4, 7, 3, 9
    y, dout = rand(R, J), rand(T, I)
    rows = np.array([0, 0, 3, 3, 3, 1, 2, 2, 0], np.int64)
    off = np.array([0, 2, 9], np.int64)
    s = rand(R)
    dw = egs.weight_grad(y, dout, rhs_ind=rows, expert_offsets=off, scale=s)
    assert dw.shape == (2, J, I)
    assert rel_err(dw, ref.weight_grad(y, dout, rhs_ind=rows, offsets=off, scale=s)) < 1e-5


@pytest.mark.parametrize("batched", [True, False])
def test_weight_grad_expert_choice(batched):
    B, T, E, K, I, J = 2, 9, 3, 4, 5, 6
    ind = ec_ind(B if batched else 0, E, K, T)
    x = rand(*((B, T, I) if batched else (T, I)))
    dy = rand(*(ind.shape + (J,)))
    s = rand(*ind.shape)
    dw = egs.weight_grad(x, dy, lhs_ind=ind, scale=s)
    assert dw.shape == (E, I, J)
    assert rel_err(dw, ref.weight_grad(x, dy, lhs_ind=ind, scale=s)) < 1e-5
    # Both in slot order: a batched matmul over (B, K).
    a = rand(*(ind.shape + (I,)))
    assert rel_err(egs.weight_grad(a, dy), ref.weight_grad(a, dy)) < 1e-5
    # Both gathered.
    ind2 = ec_ind(B if batched else 0, E, K, T)
    d2 = rand(*((B, T, J) if batched else (T, J)))
    got = egs.weight_grad(x, d2, lhs_ind=ind, rhs_ind=ind2)
    assert rel_err(got, ref.weight_grad(x, d2, lhs_ind=ind, rhs_ind=ind2)) < 1e-5


def test_weight_grad_is_bitwise_reproducible_and_checks_arguments():
    T, I, J, R = 50, 8, 8, 200
    x, dy = rand(T, I), rand(R, J)
    rows = rng.integers(0, T, R).astype(np.int32)
    off = np.array([0, 150, 200], np.int32)
    a = egs.weight_grad(x, dy, lhs_ind=rows, expert_offsets=off)
    b = egs.weight_grad(x, dy, lhs_ind=rows, expert_offsets=off)
    assert a.tobytes() == b.tobytes()
    with pytest.raises(ValueError, match="argument 'rhs' has R = 199"):
        egs.weight_grad(x, dy[:-1], lhs_ind=rows, expert_offsets=off)
    with pytest.raises(TypeError, match="'rhs' has dtype f16 but 'lhs' has f32"):
        egs.weight_grad(x, dy.astype(np.float16), lhs_ind=rows, expert_offsets=off)
    with pytest.raises(TypeError, match="out_dtype must be None"):
        egs.weight_grad(x, dy, lhs_ind=rows, expert_offsets=off, out_dtype="int8")
    with pytest.raises(ValueError, match="wrong rank for the expert-choice form"):
        egs.weight_grad(x, dy, lhs_ind=rows)
    bad = rows.copy()
    bad[3] = T
    with pytest.raises(IndexError, match="lhs_ind"):
        egs.weight_grad(x, dy, lhs_ind=bad, expert_offsets=off)
    with pytest.raises(IndexError, match="expert_offsets"):
        egs.weight_grad(x, dy, lhs_ind=rows, expert_offsets=np.array([0, 150, 201], np.int32))


@pytest.mark.parametrize("num_out_tokens", [None, 9])
def test_permute(num_out_tokens):
    T, k, E, H = 7, 2, 4, 6
    x = rand(T, H)
    ids = np.stack([rng.permutation(E)[:k] for _ in range(T)]).astype(np.int32)
    xs, row_id_map, offsets = egs.permute(x, ids, E, num_out_tokens=num_out_tokens)
    rxs, rmap, roff = ref.permute(x, ids, E, num_out_tokens)
    assert row_id_map.dtype == np.int32 and offsets.dtype == np.int32
    np.testing.assert_array_equal(row_id_map, rmap)
    np.testing.assert_array_equal(offsets, roff)
    np.testing.assert_array_equal(xs, rxs.astype(np.float32))
    if num_out_tokens is not None:
        assert (row_id_map == -1).sum() == T * k - num_out_tokens


def test_route_matches_permute_and_all_to_one_expert():
    T, k, E = 6, 2, 5
    ids = rng.integers(0, E, size=(T, k)).astype(np.int64)
    rows, offsets, row_id_map = egs.route(ids, E)
    rr, ro, rm = ref.route(ids, E)
    np.testing.assert_array_equal(rows, rr)
    np.testing.assert_array_equal(offsets, ro)
    np.testing.assert_array_equal(row_id_map, rm)
    ones = np.full((T, k), 3, np.int64)  # every choice to expert 3
    rows, offsets, _ = egs.route(ones, E)
    np.testing.assert_array_equal(offsets, [0, 0, 0, 0, T * k, T * k])


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_route_with_weights_gives_the_slot_scale(dtype):
    """scale[row_id_map[j*T + t]] = weights[t, j], in the weights' dtype,
    from the same call (the routing metadata unchanged)."""
    T, k, E = 9, 3, 4
    ids = rng.integers(0, E, size=(T, k)).astype(np.int32)
    w = rng.random((T, k)).astype(dtype)
    rows, offsets, row_id_map, scale = egs.route(ids, E, weights=w)
    rr, ro, rm = ref.route(ids, E)
    np.testing.assert_array_equal(rows, rr)
    np.testing.assert_array_equal(offsets, ro)
    np.testing.assert_array_equal(row_id_map, rm)
    assert scale.dtype == dtype and scale.shape == (T * k,)
    want = np.empty(T * k, dtype)
    want[rm.reshape(k, T)] = w.T
    np.testing.assert_array_equal(scale, want)
    with pytest.raises(TypeError, match="argument 'weights' has dtype i32; expected a float dtype"):
        egs.route(ids, E, weights=ids)
    with pytest.raises(ValueError, match="argument 'weights' has k = 2 at dim 1"):
        egs.route(ids, E, weights=w[:, :2])


def test_unpermute_roundtrip_and_dropped_rows():
    T, k, E, H = 8, 2, 3, 5
    x = rand(T, H)
    ids = np.stack([rng.permutation(E)[:k] for _ in range(T)]).astype(np.int32)
    probs = rand(T, k)
    xs, row_id_map, _ = egs.permute(x, ids, E, num_out_tokens=11)
    out = egs.unpermute(xs, row_id_map, probs)
    assert rel_err(out, ref.unpermute(xs, row_id_map, probs)) < 1e-5


def test_token_choice_layer_matches_dense_reference():
    """route -> ragged gather_matmul -> ragged matmul_scatter = the MoE sum."""
    T, k, E, H, F = 12, 2, 4, 8, 6
    x, w1, w2 = rand(T, H), rand(E, H, F), rand(E, F, H)
    ids = np.stack([rng.permutation(E)[:k] for _ in range(T)]).astype(np.int32)
    probs = rng.random((T, k)).astype(np.float32)
    rows, offsets, row_id_map = egs.route(ids, E)
    h = egs.gather_matmul(x, rows, w1, expert_offsets=offsets)
    slot_probs = np.empty(T * k, np.float32)
    slot_probs[row_id_map] = probs.T.reshape(-1)
    out = egs.matmul_scatter(h, rows, w2, num_tokens=T, scale=slot_probs, expert_offsets=offsets)
    dense = np.zeros((T, H))
    for t in range(T):
        for j in range(k):
            e = ids[t, j]
            dense[t] += probs[t, j] * (x[t].astype(np.float64) @ w1[e] @ w2[e])
    assert rel_err(out, dense) < 1e-5


def test_empty_sizes():
    y = egs.gather_matmul(rand(2, 5, 4), np.zeros((2, 3, 0), np.int32), rand(3, 4, 6))
    assert y.shape == (2, 3, 0, 6)
    out = egs.matmul_scatter(y, np.zeros((2, 3, 0), np.int32), rand(3, 6, 4), num_tokens=5)
    assert out.shape == (2, 5, 4) and not out.any()
    xs, row_id_map, offsets = egs.permute(rand(0, 4), np.zeros((0, 2), np.int32), 3)
    assert xs.shape == (0, 4) and row_id_map.shape == (0,)
    np.testing.assert_array_equal(offsets, [0, 0, 0, 0])
    rows, offsets, _ = egs.route(np.zeros((3, 1), np.int64), 1)  # E = 1
    np.testing.assert_array_equal(rows, [0, 1, 2])
    np.testing.assert_array_equal(offsets, [0, 3])
