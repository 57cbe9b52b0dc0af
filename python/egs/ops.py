"""The egs ops as functions on arrays (semantics: docs/UserGuide.md; usage: docs/Python.md).

Every function checks its arguments before anything runs (framework, device,
dtype, rank, shape agreement, contiguity, index dtype; ints and flags through
_int and _flag) and raises TypeError or ValueError naming the argument;
index values are checked by the compiled CPU kernel, which raises IndexError
(out-of-range token, bad expert_offsets) without writing outside any buffer
(CUDA kernels read zeros for an out-of-range index and write nothing, without
an error).

CUDA kernels cannot stop at a bad index without a host sync; they read
zeros and write nothing instead. egs.check_indices(True) (or the
environment variable EGS_CHECK_INDICES=1) makes every call on CUDA tensors
first check the index values on the device (one sync) and raise the same
IndexError as the CPU kernels: a debugging mode, like CUDA_LAUNCH_BLOCKING.

A checked call leaves a plan (kernel, output allocation, argument order)
under the signature of its arguments: for torch tensors, each one's dtype,
device, shape and contiguity, plus the scalar arguments. The next call with
the same signature skips the checks, which could only pass again, and
replays the plan in one extension call (_egs.Dispatcher): signature, dict
lookup, output allocation (by torch) and launch.
"""
import operator
import os
import struct

from . import _ir, _kernels
from ._arrays import DATA_DTYPES, INDEX_DTYPES, as_native, framework_of

__all__ = ["gather_matmul", "matmul_scatter", "weight_grad", "permute", "unpermute", "route", "sinkhorn",
           "check_indices"]


class _Call:
    """Argument checking for one op call: framework, device, dtypes, shapes."""

    __slots__ = ("op", "fw", "device", "dims", "dtypes")

    def __init__(self, op, first, first_name):
        self.op = op
        self.fw = framework_of(first, first_name)
        self.device = self.fw.device
        self.dims = {}
        self.dtypes = {}

    def error(self, cls, message):
        return cls(f"egs.{self.op}: {message}")

    def array(self, name, a, kinds, layout):
        """Checks argument `name` and binds the dims of `layout` ("B,T,I")."""
        syms = _LAYOUTS.get(layout)
        if syms is None:
            syms = _LAYOUTS.setdefault(layout, tuple(layout.split(",")))
        if a is None:
            raise self.error(TypeError, f"argument '{name}' must be an array, got None")
        fw = self.fw
        if not fw.accepts(a):
            a = as_native(fw, a, name)
        dt = fw.dtype(a)
        if dt not in kinds:
            what = "an index dtype (int32 or int64)" if kinds is INDEX_DTYPES else \
                "a float dtype (float32, float16 or bfloat16)"
            raise self.error(TypeError, f"argument '{name}' has dtype {dt}; expected {what}")
        if fw.device_of(a) != self.device:
            raise self.error(ValueError, f"argument '{name}' is on {fw.device_of(a)} but the "
                                         f"other arguments are on {self.device}")
        shape = a.shape
        if len(shape) != len(syms):
            raise self.error(ValueError, f"argument '{name}' must have rank {len(syms)} "
                                         f"[{layout}], got shape {tuple(shape)}")
        dims = self.dims
        for i, s in enumerate(syms):
            d = shape[i]
            have = dims.get(s)
            # The common case inline: a new dim, or one that agrees.
            if have is None and s != "E+1":
                dims[s] = (d, name)
            elif have is None or have[0] != d:
                self.bind(s, d, name, i)
        if not fw.contiguous(a):
            raise self.error(ValueError, f"argument '{name}' must be contiguous (row-major, "
                                         "dense); call .contiguous() / np.ascontiguousarray")
        why = fw.unreadable(a)
        if why:
            raise self.error(ValueError, f"argument '{name}' {why}")
        self.dtypes[name] = dt
        return a

    def routed(self, name, a, a_layout, ind, w, w_layout, expert_offsets, batched):
        """The operands gather_matmul and matmul_scatter share: the data `a`,
        the indices (ind [B,E,K]/[E,K], or rows [R] with expert_offsets
        [E+1] for the ragged form) and the weights w, of a's dtype."""
        ragged = expert_offsets is not None
        a = self.array(name, a, DATA_DTYPES, a_layout)
        if ragged:
            ind = self.array("rows", ind, INDEX_DTYPES, "R")
        else:
            ind = self.array("ind", ind, INDEX_DTYPES, "B,E,K" if batched else "E,K")
        w = self.array("w", w, DATA_DTYPES, w_layout)
        self.same_dtype("w", name)
        if ragged:
            expert_offsets = self.array("expert_offsets", expert_offsets, INDEX_DTYPES, "E+1")
        return a, ind, w, expert_offsets

    def bind(self, sym, d, name, dim):
        if sym == "E+1":
            e = self.dims.get("E")
            if e is not None and d != e[0] + 1:
                raise self.error(ValueError, f"argument '{name}' must have E+1 = {e[0] + 1} "
                                             f"entries (E = {e[0]} from '{e[1]}'), got {d}")
            return
        have = self.dims.get(sym)
        if have is None:
            self.dims[sym] = (d, name)
        elif have[0] != d:
            raise self.error(ValueError, f"argument '{name}' has {sym} = {d} at dim {dim}, "
                                         f"but '{have[1]}' has {sym} = {have[0]}")

    def same_dtype(self, name, other):
        if self.dtypes[name] != self.dtypes[other]:
            raise self.error(TypeError, f"argument '{name}' has dtype {self.dtypes[name]} "
                                        f"but '{other}' has {self.dtypes[other]}; they must match")

    def dim(self, sym):
        return self.dims[sym][0]

    @staticmethod
    def output(shape, dtype, zero=False):
        """An output allocated fresh (zero-filled when `zero`)."""
        return ("zeros" if zero else "empty", tuple(shape), dtype, -1)

    @staticmethod
    def copy_of(source):
        """An output that starts as a copy of array argument `source`."""
        return ("copy", None, None, source)

    def plan(self, key, build, outputs, order, results=(0,)):
        """The plan of this call: kernel `key` (compiled from build() once)
        run on the array arguments and fresh outputs (see _Plan)."""
        exe, fn = _kernels.kernel(key, build, self.fw.target())
        return _Plan(exe, fn, self.fw, outputs, order, results)


class _Plan:
    """What a checked call resolved to, replayed for every call whose
    arguments have the same signature (see the module doc):
      outputs: (kind, shape, dtype, source, allocator) per output: kind
               "empty" or "zeros" (shape, dtype), or "copy" of array
               argument `source`; allocator makes one in the arrays'
               framework (called with arrays[source] for a copy);
      order:   the kernel's arguments as indices into arrays ++ outputs;
      results: the outputs returned (one is returned bare).
    For torch tensors the same plan runs in the extension (_kernels.dispatcher)."""

    __slots__ = ("exe", "fn", "fw", "cuda", "device", "outputs", "order", "results",
                 "convert", "args")

    def __init__(self, exe, fn, fw, outputs, order, results):
        self.exe, self.fn, self.fw = exe, fn, fw
        self.outputs = [(kind, shape, dtype, source,
                         fw.copy if kind == "copy" else fw.allocator(shape, dtype, kind == "zeros"))
                        for kind, shape, dtype, source in outputs]
        self.order, self.results = tuple(order), tuple(results)
        self.cuda = fw.target() == "cuda"
        self.device = fw.device_index() if self.cuda else -1
        self.args = None  # the kernel's arguments of the last launch
        # Results of foreign (DLPack) frameworks go back through it.
        self.convert = fw.result if fw.converts_results else None

    def stream_function(self):
        """Zero-argument callable giving the CUstream to queue on, or None."""
        return self.fw.stream_function() if self.cuda else None

    def launch(self, arrays):
        outs = tuple(alloc() if src < 0 else alloc(arrays[src])
                     for _, _, _, src, alloc in self.outputs)
        full = tuple(arrays) + outs
        self.args = args = tuple(full[i] for i in self.order)
        # CUDA: queued on the caller's current stream, set in the same call.
        stream = self.fw.stream() if self.cuda else None
        self.exe.run(self.fn, self.fw.kernel_args(args), stream, self.device)
        results = tuple(outs[i] if self.convert is None else self.convert(outs[i])
                        for i in self.results)
        return results[0] if len(results) == 1 else results

    def remember(self, dispatcher, op, arrays, scalars):
        """Leaves this plan (after launch, torch tensors) with the dispatcher;
        output dtypes go as torch's."""
        outputs = [(kind, shape, dtype and self.fw.native_dtype(dtype), source, alloc)
                   for kind, shape, dtype, source, alloc in self.outputs]
        dispatcher.add(op, arrays, scalars, self.exe, self.fn, self.device, self.args,
                       outputs, self.order, self.results, len(self.results) == 1,
                       self.stream_function())
        self.args = None


# The largest count (tokens, experts, rows) an argument may give: the
# kernels' dims and index values are int32.
MAX_COUNT = 2**31 - 1


def _int(value, name, op, lo=0, hi=MAX_COUNT, bounds=None):
    """An int argument: a Python int or a NumPy integer (anything
    operator.index takes, except bools) in [lo, hi], as a Python int; else
    TypeError (wrong type, None included) or ValueError (out of range)
    naming egs.<op> and the argument. `bounds` spells the range in the
    message (e.g. "[0, T*k] = [0, 8]")."""
    if type(value) is int:  # the common case
        v = value
    else:
        try:
            v = None if isinstance(value, bool) or "bool" in str(getattr(value, "dtype", "")) \
                else operator.index(value)
        except TypeError:
            v = None
    if v is None or not lo <= v <= hi:
        raise (TypeError if v is None else ValueError)(
            f"egs.{op}: {name} must be an int in {bounds or f'[{lo}, {hi}]'}, got {value!r}")
    return v


def _flag(value, name, op):
    """A bool argument: True/False (NumPy bools too), nothing else."""
    if value is True or value is False:
        return value
    if type(value).__name__ in ("bool_", "bool"):  # numpy.bool_ (numpy.bool in NumPy 2)
        return bool(value)
    raise TypeError(f"egs.{op}: argument '{name}' must be a bool, got {value!r}")


_check_indices = os.environ.get("EGS_CHECK_INDICES", "") not in ("", "0")


def check_indices(enabled=True):
    """Checks index values of calls on CUDA tensors before they run (one
    device sync per call) and raises IndexError for a bad one, as the CPU
    kernels always do. Returns the previous setting."""
    global _check_indices
    previous, _check_indices = _check_indices, _flag(enabled, "enabled", "check_indices")
    return previous


def _index_error(op, what, value, lo, hi):
    return IndexError(f"egs.{op}: index error: {what}: value {value} is outside [{lo}, {hi})")


# The index checks of check_indices() run on the device, on torch tensors or
# CuPy arrays alike (the few operations they need spelled for both).
def _numel(t):
    return t.numel() if callable(getattr(t, "numel", None)) else t.size


def _as_int64(t):
    return t.long() if hasattr(t, "long") else t.astype("int64")


def _first_true(mask):
    nz = mask.nonzero()  # torch: [n, 1] tensor; CuPy: a tuple of arrays
    return int(nz[0][0]) if isinstance(nz, tuple) else int(nz[0])


def _check_range(op, what, t, lo, hi):
    """IndexError unless every value of the device array t is in [lo, hi)."""
    if _numel(t) == 0:
        return
    bad = (t < lo) | (t >= hi)
    if bool(bad.any()):
        raise _index_error(op, what, int(t[bad][0]), lo, hi)


def _check_offsets(op, off, rows):
    """expert_offsets: within [0, rows] and non-decreasing."""
    o = _as_int64(off)
    _check_range(op, "expert_offsets", o, 0, rows + 1)
    step = o[1:] - o[:-1]
    if _numel(step) and bool((step < 0).any()):
        e = _first_true(step < 0)
        raise IndexError(f"egs.{op}: index error: expert_offsets (must be non-decreasing): "
                         f"expert_offsets[{e + 1}] = {int(o[e + 1])} < expert_offsets[{e}] = {int(o[e])}")


def _check_index_values(op, arrays, scalars):
    """The device-side index checks of check_indices(), for CUDA arrays (CPU
    kernels check in place)."""
    if op == "gather_matmul":
        x, ind, _, _, off = arrays
        _check_range(op, "routed token index (operand 'rows' or 'ind')", ind, 0, x.shape[-2])
        if off is not None:
            _check_offsets(op, off, ind.shape[0])
    elif op == "matmul_scatter":
        y, ind, _, init, _, off = arrays
        # (scalars passed the argument checks: num_tokens is an int when init is absent)
        tokens = init.shape[-2] if init is not None else operator.index(scalars[0])
        _check_range(op, "routed token index (operand 'rows' or 'ind')", ind, 0, tokens)
        if off is not None:
            _check_offsets(op, off, ind.shape[0])
    elif op == "weight_grad":
        lhs, lind, rhs, rind, off, _ = arrays
        for name, data, ind in (("lhs_ind", lhs, lind), ("rhs_ind", rhs, rind)):
            if ind is not None:
                _check_range(op, f"routed row index (operand '{name}')", ind, 0, data.shape[-2])
        if off is not None:
            slots = next(a for a in (lind, rind, lhs) if a is not None)
            _check_offsets(op, off, slots.shape[0])
    elif op in ("permute", "route"):
        _check_range(op, "expert id (operand 'topk_ids')", arrays[1 if op == "permute" else 0],
                     0, operator.index(scalars[0]))
    elif op == "unpermute":
        xs, rid, _ = arrays
        _check_range(op, "row_id_map entry", rid, -1, xs.shape[0])


def _call(op, check, arrays, scalars=()):
    """Runs op on `arrays` (positional array arguments, None for absent ones):
    in the extension, the plan of an earlier call with the same signature;
    else check(*arrays, *scalars) -> (plan, native arrays), run it and
    remember it (torch tensors only)."""
    if _check_indices:
        return _call_checked(op, check, arrays, scalars)
    dispatcher = _kernels.dispatcher()
    if dispatcher is not None:
        results = dispatcher.run(op, arrays, scalars)
        if results is not None:
            return results
    plan, native = check(*arrays, *scalars)
    results = plan.launch(native)
    if dispatcher is not None and plan.fw.name == "torch":
        plan.remember(dispatcher, op, arrays, scalars)
    return results


def _call_checked(op, check, arrays, scalars):
    """_call with the argument checks always run, then the index checks."""
    plan, native = check(*arrays, *scalars)
    if plan.cuda:
        with plan.fw.device_context():
            _check_index_values(op, native, scalars)
    return plan.launch(native)


# "B,T,I" -> ("B", "T", "I"), split once per layout string.
_LAYOUTS = {}

_mr = _ir.memref


def _source(operands, op):
    """The kernel's MLIR text: func.func @kernel over `operands`, body `op`."""
    return _ir.func("kernel", operands, op) + "\n"


def _b(batched, dims):
    return ([None] if batched else []) + dims


def gather_matmul(x, ind, w, *, bias=None, expert_offsets=None, w_transposed=False,
                  activation=None, alpha=None, limit=None, interleaved=False):
    """y = act(x[ind] @ w[e] (+ bias[e])): expert-choice (ind [B,E,K] or
    [E,K]) or ragged (expert_offsets [E+1], ind = rows [R]). Returns y
    [B,E,K,J], [E,K,J] or [R,J] (rows past expert_offsets[E] are zero). w is
    [E,I,J], or [E,J,I] (each expert's [out, in] matrix, as checkpoints store
    it) with w_transposed=True, read in place.

    activation, fused into the kernel's epilogue (after the bias): None,
    "silu", "gelu" (tanh approximation), or a gated one, which halves J (y has
    J/2 columns, each from a gate value g and an up value u of h; g from the
    first half of the columns and u from the second, or with
    interleaved=True g = h[..., 2j], u = h[..., 2j+1]): "swiglu" silu(g) * u,
    "clamped_swiglu" (GPT-OSS's) g' * sigmoid(alpha * g') * (u' + 1) with
    g' = min(g, limit), u' = clamp(u, -limit, limit), alpha (default 1.702)
    and limit (default 7.0) as float32."""
    act = _activation_scalars(activation, alpha, limit, interleaved)
    return _call("gather_matmul", _check_gather_matmul, (x, ind, w, bias, expert_offsets),
                 (_flag(w_transposed, "w_transposed", "gather_matmul"),) + act)


# gather_matmul's activations: name -> the dialect's enum value.
ACTIVATIONS = {None: 0, "silu": 1, "gelu": 2, "swiglu": 3, "clamped_swiglu": 4}
_ACTIVATION_NAMES = {v: k for k, v in ACTIVATIONS.items()}
_GATED = (3, 4)


def _f32_bits(value, name, op="gather_matmul"):
    import math
    import struct
    if isinstance(value, bool) or not isinstance(value, (int, float)) and \
            type(value).__name__ not in ("float32", "float64", "float16"):
        raise TypeError(f"egs.{op}: argument '{name}' must be a float, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or (name == "limit" and v <= 0):
        raise ValueError(f"egs.{op}: argument '{name}' must be "
                         + ("positive and finite" if name == "limit" else "finite") + f", got {v}")
    return struct.unpack("<I", struct.pack("<f", v))[0]


def _activation_scalars(activation, alpha, limit, interleaved):
    """(activation code, interleaved, alpha bits, limit bits): ints and
    bools, so that repeated calls take the extension's fast path."""
    code = ACTIVATIONS.get(activation) if isinstance(activation, (str, type(None))) else None
    if code is None:
        raise ValueError(f"egs.gather_matmul: argument 'activation' must be one of "
                         f"{[k for k in ACTIVATIONS if k]} or None, got {activation!r}")
    interleaved = _flag(interleaved, "interleaved", "gather_matmul")
    if interleaved and code not in _GATED:
        raise ValueError("egs.gather_matmul: interleaved=True needs a gated activation "
                         f"('swiglu' or 'clamped_swiglu'), got activation={activation!r}")
    if (alpha is not None or limit is not None) and code != 4:
        raise ValueError("egs.gather_matmul: alpha and limit belong to "
                         f"activation='clamped_swiglu', got activation={activation!r}")
    return (code, interleaved, 0 if alpha is None else _f32_bits(alpha, "alpha"),
            0 if limit is None else _f32_bits(limit, "limit"))


def _activation_attrs(code, interleaved, alpha_bits, limit_bits):
    """The attribute entries of gather_matmul's activation (alpha and limit
    as exact f32 bit patterns), () without one."""
    return tuple(_ir.activation_attrs(_ACTIVATION_NAMES[code], interleaved,
                                      alpha_bits and f"0x{alpha_bits:08X}",
                                      limit_bits and f"0x{limit_bits:08X}"))


def _check_gather_matmul(x, ind, w, bias, expert_offsets, w_transposed, act=0, interleaved=False,
                         alpha_bits=0, limit_bits=0):
    c = _Call("gather_matmul", x, "x")
    ragged = expert_offsets is not None
    batched = not ragged and getattr(x, "ndim", len(getattr(x, "shape", ()))) == 3
    x, ind, w, expert_offsets = c.routed(
        "x", x, "B,T,I" if batched else "T,I", ind, w, "E,J,I" if w_transposed else "E,I,J",
        expert_offsets, batched)
    if bias is not None:
        bias = c.array("bias", bias, DATA_DTYPES, "E,J")
        c.same_dtype("bias", "x")
    dt = c.dtypes["x"]
    idt = c.dtypes["rows" if ragged else "ind"]
    E, I, J = c.dim("E"), c.dim("I"), c.dim("J")
    odt = c.dtypes.get("expert_offsets")
    gated = act in _GATED
    if gated and J % 2:
        raise c.error(ValueError, f"activation={_ACTIVATION_NAMES[act]!r} pairs the columns of "
                                  f"'w': J must be even, got J = {J}")
    attrs = _activation_attrs(act, interleaved, alpha_bits, limit_bits)
    key = ("gather_matmul", "ragged" if ragged else ("ec3" if batched else "ec2"),
           dt, idt, odt, bias is not None, w_transposed, E, I, J, attrs)
    J_out = J // 2 if gated else J

    def build():
        ops = [("x", _mr(_b(batched, [None, I]), dt)),
               ("ind", _mr([None] if ragged else _b(batched, [E, None]), idt)),
               ("w", _mr([E, J, I] if w_transposed else [E, I, J], dt))]
        if ragged:
            ops.append(("off", _mr([E + 1], odt)))
        if bias is not None:
            ops.append(("bias", _mr([E, J], dt)))
        ops.append(("y", _mr([None, J_out] if ragged else _b(batched, [E, None, J_out]), dt)))
        return _source(ops, _ir.gather_matmul(
            "%x", "%ind", "%w", offsets=ragged and "%off", bias=bias is not None and "%bias",
            transposed=w_transposed, outs=["%y"], attrs=attrs))

    # arrays (x, ind, w, bias, off) ++ (y,); ragged: rows past
    # expert_offsets[E] stay zero.
    out = c.output((c.dim("R"), J_out) if ragged else tuple(ind.shape) + (J_out,), dt, zero=ragged)
    order = [0, 1, 2] + ([4] if ragged else []) + ([3] if bias is not None else []) + [5]
    return c.plan(key, build, [out], order), (x, ind, w, bias, expert_offsets)


def matmul_scatter(y, ind, w, *, init=None, num_tokens=None, scale=None,
                   expert_offsets=None, deterministic=False, w_transposed=False):
    """out = init + scatter-add over routed rows of scale * (y @ w[e]).

    Expert-choice: y [B,E,K,J] or [E,K,J], ind [B,E,K] or [E,K], w [E,J,I],
    init [B,T,I] or [T,I], scale like ind. Ragged (expert_offsets [E+1]):
    y [R,J], ind = rows [R], init [T,I], scale [R]. Without init the sum
    starts from zeros of num_tokens rows (T) in y's dtype; init's dtype (y's
    or float32) is the result's. Duplicate indices accumulate. w is
    [E,J,I], or [E,I,J] read in place as w[e]^T with w_transposed=True (the
    weight of a gather_matmul, in its backward)."""
    return _call("matmul_scatter", _check_matmul_scatter, (y, ind, w, init, scale, expert_offsets),
                 (num_tokens, deterministic, w_transposed))


def _check_matmul_scatter(y, ind, w, init, scale, expert_offsets, num_tokens, deterministic,
                          w_transposed):
    c = _Call("matmul_scatter", y, "y")
    deterministic = _flag(deterministic, "deterministic", "matmul_scatter")
    w_transposed = _flag(w_transposed, "w_transposed", "matmul_scatter")
    if num_tokens is not None:
        num_tokens = _int(num_tokens, "num_tokens", "matmul_scatter")
    ragged = expert_offsets is not None
    batched = not ragged and len(y.shape) == 4
    y_layout = "R,J" if ragged else ("B,E,K,J" if batched else "E,K,J")
    y, ind, w, expert_offsets = c.routed("y", y, y_layout, ind, w,
                                         "E,I,J" if w_transposed else "E,J,I",
                                         expert_offsets, batched)
    tl = "B,T,I" if batched else "T,I"
    if init is not None:
        init = c.array("init", init, DATA_DTYPES, tl)
        if num_tokens is not None and num_tokens != init.shape[-2]:
            raise c.error(ValueError, f"num_tokens = {num_tokens} disagrees with argument "
                                      f"'init' ({init.shape[-2]} rows)")
        if c.dtypes["init"] not in (c.dtypes["y"], "f32"):
            raise c.error(TypeError, f"argument 'init' has dtype {c.dtypes['init']}; it must "
                                     f"be float32 or match 'y' ({c.dtypes['y']})")
    elif num_tokens is None:
        raise c.error(TypeError, "pass 'init' or 'num_tokens' (the number of token rows T)")
    if scale is not None:
        scale = c.array("scale", scale, DATA_DTYPES, "R" if ragged else
                        ("B,E,K" if batched else "E,K"))
    dt, idt = c.dtypes["y"], c.dtypes["rows" if ragged else "ind"]
    out_dt = c.dtypes.get("init", dt)
    sdt, odt = c.dtypes.get("scale"), c.dtypes.get("expert_offsets")
    E, J, I = c.dim("E"), c.dim("J"), c.dim("I")
    key = ("matmul_scatter", "ragged" if ragged else ("ec3" if batched else "ec2"),
           dt, idt, odt, out_dt, sdt, deterministic, w_transposed, E, J, I)

    def build():
        ops = [("y", _mr([None, J] if ragged else _b(batched, [E, None, J]), dt)),
               ("ind", _mr([None] if ragged else _b(batched, [E, None]), idt)),
               ("w", _mr([E, I, J] if w_transposed else [E, J, I], dt))]
        if ragged:
            ops.append(("off", _mr([E + 1], odt)))
        ops.append(("init", _mr(_b(batched, [None, I]), out_dt)))
        if scale is not None:
            ops.append(("scale", _mr([None] if ragged else _b(batched, [E, None]), sdt)))
        return _source(ops, _ir.matmul_scatter(
            "%y", "%ind", "%w", "%init", offsets=ragged and "%off",
            scale=scale is not None and "%scale", transposed=w_transposed,
            attrs=["deterministic"] if deterministic else []))

    # arrays (y, ind, w, init, scale, off) ++ (out,): a copy of init, or zeros
    if init is not None:
        out = c.copy_of(3)
    else:
        out = c.output(((y.shape[0],) if batched else ()) + (num_tokens, I), out_dt, zero=True)
    order = [0, 1, 2] + ([5] if ragged else []) + [6] + ([4] if scale is not None else [])
    return c.plan(key, build, [out], order), (y, ind, w, init, scale, expert_offsets)


def weight_grad(lhs, rhs, *, lhs_ind=None, rhs_ind=None, expert_offsets=None, scale=None,
                out_dtype=None):
    """dw[e] = sum over the slots s of expert e of scale[s] * lhs(s)^T rhs(s):
    the weight gradient of an MoE layer, with f32 accumulation in a fixed
    order (bitwise reproducible).

    lhs(s) is lhs[lhs_ind[s]] when lhs_ind is given (rows gathered from a
    token-indexed lhs) else the slot's own row lhs[s]; likewise rhs.
    Ragged (expert_offsets [E+1]): slots [R]; lhs [R,I] or [T,I] with lhs_ind
    [R]; rhs [R,J] or [T,J] with rhs_ind [R]; scale [R]; slots outside
    [offsets[0], offsets[E]) contribute nothing. Expert-choice: slots
    [B,E,K] or [E,K]; lhs [B,E,K,I] or [B,T,I] with lhs_ind [B,E,K] (B
    optional), likewise rhs and scale. Returns dw [E,I,J] in lhs's dtype, or
    float32 with out_dtype=float32 (any framework's float32, or "float32").

    dW of gather_matmul(x, rows, w): weight_grad(x, dy, lhs_ind=rows,
    expert_offsets=off); of matmul_scatter(y, rows, w, scale=s):
    weight_grad(y, dout, rhs_ind=rows, expert_offsets=off, scale=s)."""
    return _call("weight_grad", _check_weight_grad,
                 (lhs, lhs_ind, rhs, rhs_ind, expert_offsets, scale), (_wants_f32(out_dtype),))


def _wants_f32(out_dtype):
    """out_dtype -> True (float32), False (the data type), or TypeError."""
    if out_dtype is None:
        return False
    name = out_dtype if isinstance(out_dtype, str) else str(out_dtype)
    if name.rsplit(".", 1)[-1] in ("float32", "f32"):
        return True
    raise TypeError(f"egs.weight_grad: out_dtype must be None (the data type) or float32, "
                    f"got {out_dtype!r}")


def _check_weight_grad(lhs, lhs_ind, rhs, rhs_ind, expert_offsets, scale, out_f32):
    c = _Call("weight_grad", lhs, "lhs")
    ragged = expert_offsets is not None
    batched = False
    if ragged:
        slots, tokens = "R", "T"
    else:
        ind = lhs_ind if lhs_ind is not None else rhs_ind
        rank = len(ind.shape) if ind is not None else len(lhs.shape) - 1
        if rank not in (2, 3):
            what = ("'lhs_ind'" if lhs_ind is not None else "'rhs_ind'") if ind is not None \
                else "'lhs' (in slot order: [B,E,K,I] or [E,K,I])"
            raise c.error(ValueError, f"argument {what} has the wrong rank for the "
                                      "expert-choice form (slots [B,E,K] or [E,K]; pass "
                                      "expert_offsets for the ragged form)")
        batched = rank == 3
        slots, tokens = ("B,E,K", "B,T") if batched else ("E,K", "T")
    sides = []
    for name, data, ind, width in (("lhs", lhs, lhs_ind, "I"), ("rhs", rhs, rhs_ind, "J")):
        if ind is not None:
            ind = c.array(name + "_ind", ind, INDEX_DTYPES, slots)
            data = c.array(name, data, DATA_DTYPES, f"{tokens},{width}")
        else:
            data = c.array(name, data, DATA_DTYPES, f"{slots},{width}")
        sides += [data, ind]
    lhs, lhs_ind, rhs, rhs_ind = sides
    c.same_dtype("rhs", "lhs")
    if ragged:
        expert_offsets = c.array("expert_offsets", expert_offsets, INDEX_DTYPES, "E+1")
        if expert_offsets.shape[0] < 1:
            raise c.error(ValueError, "argument 'expert_offsets' must have E+1 >= 1 entries")
        c.bind("E", expert_offsets.shape[0] - 1, "expert_offsets", 0)
    if scale is not None:
        scale = c.array("scale", scale, DATA_DTYPES, slots)
    dt = c.dtypes["lhs"]
    out_dt = "f32" if out_f32 else dt
    E, I, J = c.dim("E"), c.dim("I"), c.dim("J")
    lidt, ridt = c.dtypes.get("lhs_ind"), c.dtypes.get("rhs_ind")
    odt, sdt = c.dtypes.get("expert_offsets"), c.dtypes.get("scale")
    key = ("weight_grad", "ragged" if ragged else ("ec3" if batched else "ec2"),
           dt, lidt, ridt, odt, sdt, out_dt, E, I, J)

    def build():
        slot = [None] if ragged else _b(batched, [E, None])
        token = _b(batched, [None])
        ops = [("lhs", _mr((token if lidt else slot) + [I], dt))]
        if lidt:
            ops.append(("li", _mr(slot, lidt)))
        ops.append(("rhs", _mr((token if ridt else slot) + [J], dt)))
        if ridt:
            ops.append(("ri", _mr(slot, ridt)))
        if ragged:
            ops.append(("off", _mr([E + 1], odt)))
        if sdt:
            ops.append(("scale", _mr(slot, sdt)))
        ops.append(("dw", _mr([E, I, J], out_dt)))
        return _source(ops, _ir.weight_grad(
            "%lhs", "%rhs", lhs_ind=lidt and "%li", rhs_ind=ridt and "%ri",
            offsets=ragged and "%off", scale=sdt and "%scale", outs=["%dw"]))

    # arrays (lhs, lhs_ind, rhs, rhs_ind, off, scale) ++ (dw,): every
    # element of dw is written (zeros for an empty expert).
    out = c.output((E, I, J), out_dt)
    order = ([0] + ([1] if lidt else []) + [2] + ([3] if ridt else []) + ([4] if ragged else [])
             + ([5] if sdt else []) + [6])
    return c.plan(key, build, [out], order), (lhs, lhs_ind, rhs, rhs_ind, expert_offsets, scale)


def _num_experts(num_experts, op):
    # E+1 offsets, a static dim.
    return _int(num_experts, "num_experts", op, 1, MAX_COUNT - 1)


def permute(x, topk_ids, num_experts, *, num_out_tokens=None):
    """Sorts token rows by expert (grouped_gemm.ops.permute): returns
    (x_sorted [R,H], row_id_map [k*T] int32, expert_offsets [E+1] int32) with
    R = num_out_tokens or T*k (rows past num_out_tokens are dropped, -1 in
    row_id_map)."""
    return _call("permute", _check_permute, (x, topk_ids), (num_experts, num_out_tokens))


def _check_permute(x, topk_ids, num_experts, num_out_tokens):
    c = _Call("permute", x, "x")
    x = c.array("x", x, DATA_DTYPES, "T,H")
    topk_ids = c.array("topk_ids", topk_ids, INDEX_DTYPES, "T,k")
    E = _num_experts(num_experts, "permute")
    T, k, H = c.dim("T"), c.dim("k"), c.dim("H")
    if num_out_tokens is not None:
        num_out_tokens = _int(num_out_tokens, "num_out_tokens", "permute", 0, T * k,
                              f"[0, T*k] = [0, {T * k}]")
    R = T * k if num_out_tokens is None else num_out_tokens
    dt, idt = c.dtypes["x"], c.dtypes["topk_ids"]
    key = ("permute", dt, idt, E, k, H, num_out_tokens)

    def build():
        ops = [("x", _mr([None, H], dt)), ("ids", _mr([None, k], idt)),
               ("xs", _mr([num_out_tokens, H], dt)), ("map", _mr([None], "i32")),
               ("off", _mr([E + 1], "i32"))]
        return _source(ops, _ir.permute("%x", "%ids", E, out_tokens=num_out_tokens,
                                        outs=["%xs", "%map", "%off"]))

    outs = [c.output((R, H), dt), c.output((k * T,), "i32"), c.output((E + 1,), "i32")]
    return c.plan(key, build, outs, [0, 1, 2, 3, 4], (0, 1, 2)), (x, topk_ids)


def unpermute(x_sorted, row_id_map, probs):
    """out[t,:] = sum_j probs[t,j] * x_sorted[row_id_map[j*T+t], :] (skipping
    -1): x_sorted [R,H], row_id_map [k*T], probs [T,k]; out [T,H] in
    x_sorted's dtype."""
    return _call("unpermute", _check_unpermute, (x_sorted, row_id_map, probs))


def _check_unpermute(x_sorted, row_id_map, probs):
    c = _Call("unpermute", x_sorted, "x_sorted")
    x_sorted = c.array("x_sorted", x_sorted, DATA_DTYPES, "R,H")
    probs = c.array("probs", probs, DATA_DTYPES, "T,k")
    T, k, H = c.dim("T"), c.dim("k"), c.dim("H")
    row_id_map = c.array("row_id_map", row_id_map, INDEX_DTYPES, "kT")
    if c.dim("kT") != k * T:
        raise c.error(ValueError, f"argument 'row_id_map' must have k*T = {k * T} entries "
                                  f"(T = {T}, k = {k} from 'probs'), got {c.dim('kT')}")
    dt, mdt, pdt = c.dtypes["x_sorted"], c.dtypes["row_id_map"], c.dtypes["probs"]
    key = ("unpermute", dt, mdt, pdt, k, H)

    def build():
        ops = [("xs", _mr([None, H], dt)), ("map", _mr([None], mdt)),
               ("probs", _mr([None, k], pdt)), ("out", _mr([None, H], dt))]
        return _source(ops, _ir.unpermute("%xs", "%map", "%probs", outs=["%out"]))

    outs = [c.output((T, H), dt)]
    return c.plan(key, build, outs, [0, 1, 2, 3]), (x_sorted, row_id_map, probs)


def sinkhorn(logits, iterations, *, tolerance=0.0):
    """Sinkhorn-Knopp balancing of router logits [T,E] (float32, float16 or
    bfloat16) into p [T,E] float32 whose columns sum to 1/E and, once
    converged, rows to 1/T; top-k of each row of p balances expert loads.
    With K = exp(logits - row max) and c = 1, each of at most `iterations`
    iterations computes r = (1/T) / (K c + 1e-8), c' = (1/E) / (r K + 1e-8)
    and stops after one whose mean |c' - c| <= `tolerance` (0: all run);
    p = r K c. Megatron-LM's sinkhorn(exp(logits), tol) with an iteration
    bound; fixed-order sums (reproducible); no host sync on CUDA."""
    iterations = _int(iterations, "iterations", "sinkhorn", 1, 1 << 20)
    return _call("sinkhorn", _check_sinkhorn, (logits,), (iterations, _tolerance(tolerance)))


def _tolerance(value):
    """egs.sinkhorn's tolerance: a real number (not a bool), finite, >= 0."""
    if isinstance(value, bool) or not hasattr(value, "__float__") or hasattr(value, "shape") \
            and getattr(value, "shape", ()) != ():
        raise TypeError(f"egs.sinkhorn: argument 'tolerance' must be a float, got {value!r}")
    tol = float(value)
    if not 0.0 <= tol < float("inf"):
        raise ValueError(f"egs.sinkhorn: argument 'tolerance' must be a finite value >= 0, got {tol}")
    return tol


def _check_sinkhorn(logits, iterations, tolerance):
    c = _Call("sinkhorn", logits, "logits")
    logits = c.array("logits", logits, DATA_DTYPES, "T,E")
    T, E = c.dim("T"), c.dim("E")
    dt = c.dtypes["logits"]
    # The tolerance as the op's f32 attribute (9 significant digits round-trip).
    tol = struct.unpack("f", struct.pack("f", tolerance))[0]
    key = ("sinkhorn", dt, E, iterations, tol)

    def build():
        ops = [("logits", _mr([None, E], dt)), ("p", _mr([None, E], "f32"))]
        return _source(ops, _ir.sinkhorn("%logits", iterations, tolerance=f"{tol:.9e}",
                                         outs=["%p"]))

    outs = [c.output((T, E), "f32")]
    return c.plan(key, build, outs, [0, 1]), (logits,)


def route(topk_ids, num_experts, *, weights=None):
    """Routing metadata for the ragged forms: (rows [T*k], expert_offsets
    [E+1], row_id_map [k*T]), all int32, slots ordered as egs.permute orders
    x_sorted. With the routing weights [T,k] (float), a fourth result: the
    weights in slot order, scale[row_id_map[j*T + t]] = weights[t, j] (in
    their dtype), the `scale` of the ragged matmul_scatter, from the same
    kernel."""
    return _call("route", _check_route, (topk_ids, weights), (num_experts,))


def _check_route(topk_ids, weights, num_experts):
    c = _Call("route", topk_ids, "topk_ids")
    topk_ids = c.array("topk_ids", topk_ids, INDEX_DTYPES, "T,k")
    E = _num_experts(num_experts, "route")
    if weights is not None:
        weights = c.array("weights", weights, DATA_DTYPES, "T,k")
    T, k = c.dim("T"), c.dim("k")
    idt = c.dtypes["topk_ids"]
    wdt = c.dtypes.get("weights")
    key = ("route", idt, E, k, wdt)

    def build():
        ops = [("ids", _mr([None, k], idt))] + ([("w", _mr([None, k], wdt))] if wdt else []) + \
              [("rows", _mr([None], "i32")), ("off", _mr([E + 1], "i32")),
               ("map", _mr([None], "i32"))] + ([("s", _mr([None], wdt))] if wdt else [])
        return _source(ops, _ir.route("%ids", E, weights=wdt and "%w",
                                      outs=["%rows", "%off", "%map"] + (["%s"] if wdt else [])))

    outs = [c.output((T * k,), "i32"), c.output((E + 1,), "i32"), c.output((k * T,), "i32")]
    if wdt:
        outs.append(c.output((k * T,), wdt))
    # arrays (ids, weights) ++ outputs
    order = [0] + ([1] if wdt else []) + [2, 3, 4] + ([5] if wdt else [])
    return c.plan(key, build, outs, order, tuple(range(len(outs)))), (topk_ids, weights)
