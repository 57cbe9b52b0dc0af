"""Int and bool arguments of every public function: a bool, float, str, list
or None where an int belongs, an int or str where a bool belongs, raise
TypeError; an int out of range (2**70, negative, past the op's bound) raises
ValueError; both name the function and the argument, and come before any
compilation (so never as egs.CompileError). NumPy integers (and NumPy bools
for flags) are accepted and give the same result as the Python values.

Paths: the egs.* functions on NumPy arrays and on torch tensors (after a
valid call with the same tensors, so that a replayed plan cannot skip the
checks), the torch custom-op functions of egs.nn.ops, and the constructors
of egs.nn's modules."""
import types

import numpy as np
import pytest
import torch

import egs
import egs.nn
from egs.nn import ops as tops

T, E, K, I, J, k = 4, 2, 3, 8, 6, 2
MAX = 2**31 - 1


def arrays(fw):
    rng = np.random.default_rng(7)
    a = dict(x=rng.standard_normal((T, I)), ind=rng.integers(0, T, (E, K)),
             w=rng.standard_normal((E, I, J)), y=rng.standard_normal((E, K, J)),
             w2=rng.standard_normal((E, J, I)), ids=rng.integers(0, E, (T, k)),
             probs=rng.random((T, k)))
    a = {n: v.astype(np.int32 if v.dtype.kind == "i" else np.float32) for n, v in a.items()}
    if fw != "numpy":
        a = {n: torch.from_numpy(v) for n, v in a.items()}
    return types.SimpleNamespace(**a)


# (function named in the message, argument, call(arrays, value), a valid value).
# egs.* keyword calls serve NumPy arrays and torch tensors alike.
INTS = [
    ("matmul_scatter", "num_tokens", lambda a, v: egs.matmul_scatter(a.y, a.ind, a.w2,
                                                                     num_tokens=v), T),
    ("permute", "num_experts", lambda a, v: egs.permute(a.x, a.ids, v), E),
    ("permute", "num_out_tokens", lambda a, v: egs.permute(a.x, a.ids, E, num_out_tokens=v), 5),
    ("route", "num_experts", lambda a, v: egs.route(a.ids, v), E),
    ("route", "num_experts", lambda a, v: egs.route(a.ids, v, weights=a.probs), E),
]
FLAGS = [
    ("gather_matmul", "w_transposed", lambda a, v: egs.gather_matmul(a.x, a.ind, a.w,
                                                                     w_transposed=v), False),
    ("gather_matmul", "interleaved", lambda a, v: egs.gather_matmul(
        a.x, a.ind, a.w, activation="swiglu", interleaved=v), True),
    ("matmul_scatter", "deterministic", lambda a, v: egs.matmul_scatter(
        a.y, a.ind, a.w2, num_tokens=T, deterministic=v), True),
    ("matmul_scatter", "w_transposed", lambda a, v: egs.matmul_scatter(
        a.y, a.ind, a.w2, num_tokens=T, w_transposed=v), False),
]
# The same through the torch custom-op functions (positional, as torch.ops.egs.*).
TORCH_INTS = [
    ("matmul_scatter", "num_tokens", lambda a, v: tops.matmul_scatter(a.y, a.ind, a.w2, None, v),
     T),
    ("permute", "num_experts", lambda a, v: tops.permute(a.x, a.ids, v), E),
    ("permute", "num_out_tokens", lambda a, v: tops.permute(a.x, a.ids, E, v), 5),
    ("route", "num_experts", lambda a, v: tops.route(a.ids, v), E),
    ("route_weighted", "num_experts", lambda a, v: tops.route_weighted(a.ids, a.probs, v), E),
]
TORCH_FLAGS = [
    ("gather_matmul", "w_transposed", lambda a, v: tops.gather_matmul(a.x, a.ind, a.w, None, None,
                                                                      v), False),
    ("gather_matmul", "interleaved", lambda a, v: tops.gather_matmul(
        a.x, a.ind, a.w, None, None, False, "swiglu", None, None, v), True),
    ("matmul_scatter", "deterministic", lambda a, v: tops.matmul_scatter(
        a.y, a.ind, a.w2, None, T, None, None, v), True),
    ("matmul_scatter", "w_transposed", lambda a, v: tops.matmul_scatter(
        a.y, a.ind, a.w2, None, T, None, None, False, v), False),
    ("weight_grad", "out_f32", lambda a, v: tops.weight_grad(a.y, a.y, None, None, None, None, v),
     False),
]

BAD_INTS = [(True, TypeError), (False, TypeError), (2.0, TypeError), ("2", TypeError),
            ([2], TypeError), (np.bool_(True), TypeError), (np.float64(2), TypeError),
            (2**70, ValueError), (-1, ValueError), (-(2**70), ValueError), (2**31, ValueError)]
BAD_FLAGS = [1, 0, "no", "", 1.0, np.int64(1), [True]]
NUMPY_INTS = [np.int64, np.int32, np.uint16, np.intp]
PATHS = ["numpy", "torch", "torch_ops"]


def cases(path, ints):
    if path == "torch_ops":
        return TORCH_INTS if ints else TORCH_FLAGS
    return INTS if ints else FLAGS


def ident(case):
    return f"{case[0]}-{case[1]}"


def same(a, b):
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


def rejects(call, cls, op, name):
    """call() raises cls naming egs.<op> and `name`, compiling nothing."""
    before = egs.cache_info()
    with pytest.raises(cls) as info:
        call()
    message = str(info.value)
    assert f"egs.{op}:" in message and name in message, message
    after = egs.cache_info()
    assert (after["compilations"], after["disk_cache_loads"]) == \
        (before["compilations"], before["disk_cache_loads"])
    return message


def expand(ints, bad):
    return [pytest.param(path, c, v, cls, id=f"{path}-{ident(c)}-{v!r}")
            for path in PATHS for c in cases(path, ints) for v, cls in bad]


@pytest.mark.parametrize("path,case,value,cls", expand(True, BAD_INTS))
def test_bad_int_argument(path, case, value, cls):
    op, name, call, good = case
    a = arrays(path)
    call(a, good)  # a valid call first: its plan must not let the bad one through
    message = rejects(lambda: call(a, value), cls, op, name)
    assert "must be an int in [" in message and f"got {value!r}" in message


@pytest.mark.parametrize("path,case,value,cls",
                         expand(False, [(v, TypeError) for v in BAD_FLAGS]))
def test_bad_flag_argument(path, case, value, cls):
    op, name, call, good = case
    a = arrays(path)
    call(a, good)
    message = rejects(lambda: call(a, value), cls, op, name)
    assert "must be a bool" in message and f"got {value!r}" in message


@pytest.mark.parametrize("path", PATHS)
def test_required_int_none_is_a_type_error(path):
    a = arrays(path)
    f = tops.permute if path == "torch_ops" else egs.permute
    rejects(lambda: f(a.x, a.ids, None), TypeError, "permute", "num_experts")
    f = tops.route if path == "torch_ops" else egs.route
    rejects(lambda: f(a.ids, None), TypeError, "route", "num_experts")


@pytest.mark.parametrize("path", PATHS)
def test_op_specific_bounds(path):
    a = arrays(path)
    def p(x, ids, num_experts, num_out_tokens=None):
        if path == "torch_ops":
            return tops.permute(x, ids, num_experts, num_out_tokens)
        return egs.permute(x, ids, num_experts, num_out_tokens=num_out_tokens)

    m = rejects(lambda: p(a.x, a.ids, E, T * k + 1), ValueError, "permute", "num_out_tokens")
    assert f"[0, T*k] = [0, {T * k}], got {T * k + 1}" in m
    m = rejects(lambda: p(a.x, a.ids, 0), ValueError, "permute", "num_experts")
    assert "[1, " in m
    # E+1 offsets must be countable in int32.
    rejects(lambda: p(a.x, a.ids, MAX), ValueError, "permute", "num_experts")


@pytest.mark.parametrize("path,case", [(p, c) for p in PATHS for c in cases(p, True)],
                         ids=lambda p: p if isinstance(p, str) else ident(p))
def test_numpy_integers_match_python_ints(path, case):
    _, _, call, good = case
    a = arrays(path)
    want = call(a, good)
    if path != "numpy":
        want = tuple(t.numpy() for t in want) if isinstance(want, tuple) else want.numpy()
    for conv in NUMPY_INTS:
        got = call(a, conv(good))
        if path != "numpy":
            got = tuple(t.numpy() for t in got) if isinstance(got, tuple) else got.numpy()
        assert same(got, want), conv


@pytest.mark.parametrize("path,case", [(p, c) for p in PATHS for c in cases(p, False)],
                         ids=lambda p: p if isinstance(p, str) else ident(p))
def test_numpy_bools_match_python_bools(path, case):
    _, _, call, good = case
    a = arrays(path)
    want, got = call(a, good), call(a, np.bool_(good))
    assert same(np.asarray(got), np.asarray(want))


def test_deterministic_str_is_not_true():
    # Used to run as deterministic=True (a non-empty str is truthy).
    a = arrays("numpy")
    rejects(lambda: egs.matmul_scatter(a.y, a.ind, a.w2, num_tokens=T, deterministic="no"),
            TypeError, "matmul_scatter", "deterministic")


def test_num_tokens_must_match_init_even_as_numpy_int():
    a = arrays("numpy")
    init = np.ones((T, I), np.float32)
    out = egs.matmul_scatter(a.y, a.ind, a.w2, init=init, num_tokens=np.int64(T))
    assert same(out, egs.matmul_scatter(a.y, a.ind, a.w2, init=init))
    with pytest.raises(ValueError, match="num_tokens = 5 disagrees with argument 'init'"):
        egs.matmul_scatter(a.y, a.ind, a.w2, init=init, num_tokens=np.int64(5))
    # A 1-D init is a rank error, not an IndexError from its shape.
    with pytest.raises(ValueError, match="'init' must have rank 2"):
        egs.matmul_scatter(a.y, a.ind, a.w2, init=np.ones(I, np.float32), num_tokens=T)


def test_check_indices_flag():
    previous = egs.check_indices(False)
    try:
        rejects(lambda: egs.check_indices("no"), TypeError, "check_indices", "enabled")
        assert egs.check_indices(np.bool_(True)) is False
        assert egs.check_indices(False) is True
    finally:
        egs.check_indices(previous)


# egs.nn modules: (class, argument, build(value), a valid value).
MODULES = [
    ("MoE", "hidden", lambda v: egs.nn.MoE(v, 6, 4, 2), 8),
    ("MoE", "ffn", lambda v: egs.nn.MoE(8, v, 4, 2), 6),
    ("MoE", "num_experts", lambda v: egs.nn.MoE(8, 6, v, 2), 4),
    ("MoE", "top_k", lambda v: egs.nn.MoE(8, 6, 4, v), 2),
    ("ExpertGather", "num_experts", lambda v: egs.nn.ExpertGather(v, 8, 6), 4),
    ("ExpertGather", "in_features", lambda v: egs.nn.ExpertGather(4, v, 6), 8),
    ("ExpertScatter", "out_features", lambda v: egs.nn.ExpertScatter(4, 6, v), 8),
]
MODULE_FLAGS = [
    ("MoE", "normalize_topk", lambda v: egs.nn.MoE(8, 6, 4, 2, normalize_topk=v), False),
    ("MoE", "w_transposed", lambda v: egs.nn.MoE(8, 6, 4, 2, w_transposed=v), True),
    ("MoE", "interleaved", lambda v: egs.nn.MoE(8, 6, 4, 2, interleaved=v), True),
    ("ExpertGather", "bias", lambda v: egs.nn.ExpertGather(4, 8, 6, bias=v), True),
    ("ExpertScatter", "deterministic", lambda v: egs.nn.ExpertScatter(4, 6, 8, deterministic=v),
     True),
]


@pytest.mark.parametrize("case,value,cls", [
    pytest.param(c, v, cls, id=f"{ident(c)}-{v!r}") for c in MODULES for v, cls in BAD_INTS])
def test_module_bad_int(case, value, cls):
    module, name, build, _ = case
    rejects(lambda: build(value), cls, f"nn.{module}", name)


@pytest.mark.parametrize("case,value", [
    pytest.param(c, v, id=f"{ident(c)}-{v!r}") for c in MODULE_FLAGS for v in BAD_FLAGS])
def test_module_bad_flag(case, value):
    module, name, build, _ = case
    rejects(lambda: build(value), TypeError, f"nn.{module}", name)


def test_moe_top_k_bound_names_num_experts():
    m = rejects(lambda: egs.nn.MoE(8, 6, 4, 5), ValueError, "nn.MoE", "top_k")
    assert "[1, num_experts] = [1, 4], got 5" in m


@pytest.mark.parametrize("case", MODULES + MODULE_FLAGS, ids=ident)
def test_module_numpy_scalars_build_the_same_module(case):
    _, _, build, good = case
    conv = np.bool_ if isinstance(good, bool) else np.int64
    torch.manual_seed(3)
    want = build(good)
    torch.manual_seed(3)
    got = build(conv(good))
    assert repr(got) == repr(want)
    for (n, p), (n2, q) in zip(got.named_parameters(), want.named_parameters()):
        assert n == n2 and torch.equal(p, q)
    if isinstance(got, egs.nn.MoE):
        x = torch.randn(5, 8)
        assert torch.equal(got(x), want(x))


@pytest.mark.skipif(not torch.cuda.is_available() or not egs.target_available("cuda")[0],
                    reason="needs a CUDA device and the CUDA target")
def test_cuda_index_checks_take_numpy_counts():
    # check_indices(True) checks topk_ids against num_experts and the routed
    # token indices against num_tokens on the device: with NumPy integers too.
    a = types.SimpleNamespace(**{n: v.cuda() for n, v in vars(arrays("torch")).items()})
    previous = egs.check_indices(True)
    try:
        want = egs.route(a.ids, E)
        got = egs.route(a.ids, np.int64(E))
        assert all(torch.equal(g, w) for g, w in zip(got, want))
        with pytest.raises(IndexError, match="expert id"):
            egs.permute(a.x, a.ids, np.int64(1))
        assert torch.allclose(egs.matmul_scatter(a.y, a.ind, a.w2, num_tokens=np.int32(T)),
                              egs.matmul_scatter(a.y, a.ind, a.w2, num_tokens=T), atol=1e-5)
        with pytest.raises(IndexError, match="routed token index"):
            egs.matmul_scatter(a.y, a.ind, a.w2, num_tokens=np.int64(1))
    finally:
        egs.check_indices(previous)


SCALARS = """
func.func @f(%a: i64, %b: i32, %c: f32, %d: i1) -> (i64, f32) {
  %b64 = arith.extsi %b : i32 to i64
  %s = arith.addi %a, %b64 : i64
  %d64 = arith.extui %d : i1 to i64
  %t = arith.addi %s, %d64 : i64
  return %t, %c : i64, f32
}
"""


@pytest.mark.parametrize("kwargs,cls,name", [
    (dict(opt_level=True), TypeError, "opt_level"), (dict(opt_level=2.0), TypeError, "opt_level"),
    (dict(opt_level=2**70), ValueError, "opt_level"), (dict(opt_level=4), ValueError, "opt_level"),
    (dict(opt_level=-1), ValueError, "opt_level"), (dict(runner_utils="no"), TypeError,
                                                    "runner_utils"),
    (dict(runner_utils=1), TypeError, "runner_utils"),
    (dict(pipeline_options=None), TypeError, "pipeline_options")], ids=repr)
def test_compile_arguments(kwargs, cls, name):
    # Named errors, not CompileError (opt_level 4 used to reach the compiler).
    rejects(lambda: egs.compile(SCALARS, **kwargs), cls, "compile", name)


def test_compile_numpy_opt_level_is_accepted():
    assert egs.compile(SCALARS, opt_level=np.int64(2)).f(1, 2, 0.5, False) == (3, 0.5)


@pytest.mark.parametrize("args,cls,name", [
    ((2**70, 2, 0.5, False), ValueError, "argument 0 (i64)"),   # was pybind's "Unable to cast"
    ((1, 2**40, 0.5, False), ValueError, "argument 1 (i32)"),   # was truncated silently
    ((True, 2, 0.5, False), TypeError, "argument 0 (i64)"),
    ((1.5, 2, 0.5, False), TypeError, "argument 0 (i64)"),      # was truncated to 1
    (("1", 2, 0.5, False), TypeError, "argument 0 (i64)"),
    ((1, 2, True, False), TypeError, "argument 2 (f32)"),
    ((1, 2, "x", False), TypeError, "argument 2 (f32)"),
    ((1, 2, 0.5, 2), ValueError, "argument 3 (i1)")], ids=repr)
def test_program_scalar_arguments(args, cls, name):
    prog = egs.compile(SCALARS)
    rejects(lambda: prog.f(*args), cls, "Program @f", name)


def test_program_numpy_scalars_match_python_numbers():
    prog = egs.compile(SCALARS)
    want = prog.f(5, -2, 0.25, True)
    assert want == (4, 0.25)
    assert prog.f(np.int64(5), np.int32(-2), np.float32(0.25), np.bool_(True)) == want
    assert prog.f(5, 2**32 - 2, 0.25, 1) == want  # i32 read as signless: -2


@pytest.mark.parametrize("kwargs,cls,name", [
    (dict(interleaved="no", activation="silu"), TypeError, "interleaved"),  # before its use
    (dict(activation="clamped_swiglu", alpha="x"), TypeError, "alpha"),
    (dict(activation="clamped_swiglu", limit=-1.0), ValueError, "limit"),
    (dict(activation="clamped_swiglu", alpha=True), TypeError, "alpha")], ids=repr)
def test_moe_other_arguments(kwargs, cls, name):
    rejects(lambda: egs.nn.MoE(8, 6, 4, 2, **kwargs), cls, "nn.MoE", name)


def test_module_forward_and_helpers():
    a = arrays("torch")
    scatter = egs.nn.ExpertScatter(E, J, I)
    want = scatter(a.y, a.ind, T)
    assert torch.equal(scatter(a.y, a.ind, np.int64(T)), want)
    for value, cls in ((True, TypeError), (2**70, ValueError), (float(T), TypeError)):
        rejects(lambda: scatter(a.y, a.ind, value), cls, "matmul_scatter", "num_tokens")
    h = torch.randn(3, 8)
    assert torch.equal(tops.apply_activation(h, "swiglu", interleaved=np.bool_(True)),
                       tops.apply_activation(h, "swiglu", interleaved=True))
    rejects(lambda: tops.apply_activation(h, "swiglu", interleaved="no"), TypeError,
            "nn.ops.apply_activation", "interleaved")
