#!/usr/bin/env python3
"""Generates the CPU integration tests of egs (test/Integration/CPU/*.mlir).

The inputs are drawn here (seeded), the expected outputs are computed here with
NumPy in float64 from the semantics in docs/DESIGN section 1 (never from the
code under test), and every test file is written with its inputs as dense
constants and its expected numbers as FileCheck lines.

Regenerate (from the repository root):

    python3 test/Integration/CPU/gen_tests.py

Robustness of the expected text:
  * "exact" cases use small integer (or quarter-integer) data, so that every
    product and every partial sum is exact in f32, f16 and bf16 whatever the
    summation order; the generator asserts this (see `assert_exact`).
    printMemref* prints 6 significant digits, which is then exact too.
  * "close" cases (activations, random data) embed the float64 reference in
    the program as an f32 constant, compute max_i |y_i - ref_i| / (1 + |ref_i|)
    in MLIR and print a 0/1 flag (error below the tolerance of the output type).
"""
import os
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REGEN = "python3 test/Integration/CPU/gen_tests.py"
RUN_DEFAULT = "// RUN: egs-runner %s -e main --entry-point-result=void | FileCheck %s --enable-var-scope"

# Tolerance of the "close" checks, on max |y - ref| / (1 + |ref|), by the type
# the result is stored in (16-bit types: half an ulp is 2^-11 / 2^-8).
TOL = {"f32": 1e-5, "f16": 2e-3, "bf16": 1e-2}
# Largest integer up to which every integer is exact.
EXACT_INT = {"f32": 2 ** 24, "f16": 2048, "bf16": 256}


# ----------------------------------------------------------------------------
# Number formats
# ----------------------------------------------------------------------------

def bf16_round(a):
    """Round float32 values to bfloat16 (round to nearest even), as float32."""
    a = np.ascontiguousarray(np.asarray(a, np.float32))
    b = a.view(np.uint32).astype(np.uint64)
    b = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) << 16
    return b.astype(np.uint32).view(np.float32)


def round_to(a, dt):
    """float64 values of `a` rounded to the element type `dt`."""
    a = np.asarray(a, np.float64)
    if dt == "f32":
        return a.astype(np.float32).astype(np.float64)
    if dt == "f16":
        return a.astype(np.float16).astype(np.float64)
    if dt == "bf16":
        return bf16_round(a.astype(np.float32)).astype(np.float64)
    assert dt in ("i32", "i64")
    return a


def is_float(dt):
    return dt in ("f32", "f16", "bf16")


def assert_exact(a, dt, what):
    a = np.asarray(a, np.float64)
    assert np.array_equal(round_to(a, dt), a), f"{what}: not exact in {dt}"


def fmt_attr(v, dt):
    """A number as an MLIR dense-attribute literal."""
    if not is_float(dt):
        return str(int(v))
    v = float(v)
    if v == int(v) and abs(v) < 1e7:
        return f"{int(v)}.0"
    return "%.9e" % v


def fmt_print(v, dt):
    """A number as printMemref* prints it (C++ ostream default: %g)."""
    if not is_float(dt):
        return str(int(v))
    return "%g" % float(v)


def dense(a, dt):
    a = np.asarray(a)

    def rec(x):
        if x.ndim == 0:
            return fmt_attr(x, dt)
        return "[" + ", ".join(rec(s) for s in x) + "]"

    return f"dense<{rec(a)}>"


def ttype(shape, dt, dynamic=False):
    if len(shape) == 0:
        return f"tensor<{dt}>"
    dims = ["?" if dynamic else str(d) for d in shape]
    return f"tensor<{'x'.join(dims)}x{dt}>"


def expected_lines(a, dt):
    """The data lines printMemref* prints for `a` (rank >= 1, size > 0), with
    FileCheck's `[[` escaped."""
    a = np.asarray(a)
    if a.ndim == 0:
        return ["[" + fmt_print(a, dt) + "]"]
    lines = []
    shape = a.shape
    for idx in np.ndindex(*shape[:-1]):
        row = a[idx]
        opens = 1
        for d in reversed(range(len(idx))):
            if idx[d] == 0:
                opens += 1
            else:
                break
        closes = 1
        for d in reversed(range(len(idx))):
            if idx[d] == shape[d] - 1:
                closes += 1
            else:
                break
        last_all = all(idx[d] == shape[d] - 1 for d in range(len(idx)))
        text = ", ".join(fmt_print(v, dt) for v in row)
        line = "[" * opens + text + "]" * closes + ("" if last_all else ",")
        if opens > 1:
            line = "{{" + "\\[" * opens + "}}" + line[opens:]
        lines.append(line)
    return lines


PRINT_FN = {
    "f32": ("printMemrefF32", ""),
    "f16": ("printMemrefF16", " attributes {llvm.emit_c_interface}"),
    "bf16": ("printMemrefBF16", " attributes {llvm.emit_c_interface}"),
    "i32": ("printMemrefI32", ""),
    "i64": ("printMemrefI64", ""),
}


# ----------------------------------------------------------------------------
# Test-file builder
# ----------------------------------------------------------------------------

class Result:
    """An expected result: values (float64 or int), element type, how to check."""

    def __init__(self, value, dt, check="exact", tol=None):
        self.value = np.asarray(value)
        self.dt = dt
        self.check = check
        self.tol = tol if tol is not None else TOL.get(dt)
        if check == "exact" and is_float(dt):
            assert_exact(self.value, dt, "expected result")


class TestFile:
    def __init__(self, name, summary, runs=None, seed=None):
        self.name = name
        self.summary = summary
        self.runs = runs or [RUN_DEFAULT]
        self.rng = np.random.default_rng(zlib.crc32(name.encode()) if seed is None else seed)
        self.decls = {}
        self.helpers = {}
        self.kernels = []
        self.body = []
        self.checks = []
        self.labels = set()
        self.n = 0
        self.extra_check_text = []

    # -- data ------------------------------------------------------------------
    def ints(self, shape, lo, hi):
        return self.rng.integers(lo, hi + 1, size=shape).astype(np.float64)

    def index(self, shape, hi, lo=0):
        return self.rng.integers(lo, hi, size=shape).astype(np.int64)

    def quarters(self, shape, lo, hi):
        """Multiples of 1/4 in [lo, hi]."""
        return self.rng.integers(int(lo * 4), int(hi * 4) + 1, size=shape) / 4.0

    # -- emission ----------------------------------------------------------------
    def fresh(self, p="v"):
        self.n += 1
        return f"%{p}{self.n}"

    def const(self, arr, dt):
        name = self.fresh("c")
        t = ttype(np.shape(arr), dt)
        self.body.append(f"  {name} = arith.constant {dense(arr, dt)} : {t}")
        return name, t

    def marker(self, text):
        self.body.append(f'  vector.print str "{text}\\n"')

    def declare_print(self, dt):
        fn, attrs = PRINT_FN[dt]
        self.decls[fn] = f"func.func private @{fn}(tensor<*x{dt}>){attrs}"
        return fn

    def emit_print(self, name, t, dt):
        fn = self.declare_print(dt)
        u = self.fresh("u")
        self.body.append(f"  {u} = tensor.cast {name} : {t} to tensor<*x{dt}>")
        self.body.append(f"  call @{fn}({u}) : (tensor<*x{dt}>) -> ()")

    def check_print(self, label, value, dt):
        value = np.asarray(value)
        assert value.size > 0, "printMemref cannot print empty tensors"
        sizes = ", ".join(str(d) for d in value.shape)
        self.checks.append(f"// CHECK-LABEL: CASE {label}")
        self.checks.append(f"// CHECK-NEXT: rank = {value.ndim} offset = 0 sizes = [{sizes}] strides = {{{{.*}}}} data =")
        for line in expected_lines(value, dt):
            self.checks.append(f"// CHECK-NEXT: {line}")

    def close_helper(self, rank, dt):
        name = f"max_rel_err_{rank}d_{dt}"
        if name in self.helpers:
            return name
        dims = ", ".join(f"d{i}" for i in range(rank))
        ident = f"affine_map<({dims}) -> ({dims})>"
        scal = f"affine_map<({dims}) -> ()>"
        dyn = ttype([0] * rank, dt, dynamic=True)
        dynf = ttype([0] * rank, "f32", dynamic=True)
        iters = ", ".join(['"reduction"'] * rank)
        lines = [
            f"// max_i |y_i - ref_i| / (1 + |ref_i|); NaN propagates (maximumf).",
            f"func.func @{name}(%y: {dyn}, %ref: {dynf}) -> f32 {{",
            "  %zero = arith.constant 0.0 : f32",
            "  %one = arith.constant 1.0 : f32",
            "  %e = tensor.empty() : tensor<f32>",
            "  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>",
            f"  %m = linalg.generic {{indexing_maps = [{ident}, {ident}, {scal}],",
            f"      iterator_types = [{iters}]}}",
            f"      ins(%y, %ref : {dyn}, {dynf}) outs(%init : tensor<f32>) {{",
            f"  ^bb0(%a: {dt}, %r: f32, %acc: f32):",
        ]
        if dt == "f32":
            lines.append("    %af = arith.addf %a, %zero : f32")
        else:
            lines.append(f"    %af = arith.extf %a : {dt} to f32")
        lines += [
            "    %d = arith.subf %af, %r : f32",
            "    %ad = math.absf %d : f32",
            "    %ar = math.absf %r : f32",
            "    %den = arith.addf %ar, %one : f32",
            "    %q = arith.divf %ad, %den : f32",
            "    %mx = arith.maximumf %acc, %q : f32",
            "    linalg.yield %mx : f32",
            "  } -> tensor<f32>",
            "  %v = tensor.extract %m[] : tensor<f32>",
            "  return %v : f32",
            "}",
        ]
        self.helpers[name] = "\n".join(lines)
        return name

    def emit_close(self, label, name, t, res):
        rank = res.value.ndim
        helper = self.close_helper(rank, res.dt)
        ref_name, ref_t = self.const(res.value.astype(np.float32).astype(np.float64), "f32")
        dyn = ttype([0] * rank, res.dt, dynamic=True)
        dynf = ttype([0] * rank, "f32", dynamic=True)
        a = self.fresh("d")
        r = self.fresh("d")
        self.body.append(f"  {a} = tensor.cast {name} : {t} to {dyn}")
        self.body.append(f"  {r} = tensor.cast {ref_name} : {ref_t} to {dynf}")
        err = self.fresh("err")
        self.body.append(f"  {err} = call @{helper}({a}, {r}) : ({dyn}, {dynf}) -> f32")
        tol = self.fresh("tol")
        self.body.append(f"  {tol} = arith.constant {res.tol:.3e} : f32")
        ok = self.fresh("ok")
        self.body.append(f"  {ok} = arith.cmpf olt, {err}, {tol} : f32")
        self.body.append(f'  vector.print str "ERR {label}: "')
        self.body.append(f"  vector.print {err} : f32")
        self.body.append(f'  vector.print str "CLOSE {label} (tol {res.tol:g}): "')
        self.body.append(f"  vector.print {ok} : i1")
        self.checks.append(f"// CHECK-LABEL: ERR {label}: ")
        self.checks.append(f"// CHECK-NEXT: CLOSE {label} (tol {res.tol:g}): 1")

    def case(self, label, op, operands, results, dynamic=False, comment=None):
        """One op application.

        op:       the op text with {0}, {1}, ... for the operands, without the
                  type signature (appended here).
        operands: [(array, dtype)] in the op's operand (ODS) order.
        results:  [Result]
        dynamic:  pass everything through a function with all dims dynamic.
        """
        assert label not in self.labels, label
        self.labels.add(label)
        self.body.append("")
        self.body.append(f"  // {label}" + (f": {comment}" if comment else ""))
        names, types = [], []
        for arr, dt in operands:
            n, t = self.const(arr, dt)
            names.append(n)
            types.append(t)
        res_static = [ttype(r.value.shape, r.dt) for r in results]
        if dynamic:
            dtypes = [ttype(np.shape(a), dt, dynamic=True) for a, dt in operands]
            rtypes = [ttype(r.value.shape, r.dt, dynamic=True) for r in results]
            kname = "kernel_" + label.replace("-", "_")
            args = [f"%a{i}" for i in range(len(operands))]
            sig_in = ", ".join(dtypes)
            sig_out = rtypes[0] if len(rtypes) == 1 else "(" + ", ".join(rtypes) + ")"
            text = op.format(*args)
            k = [f"func.func @{kname}(" + ", ".join(f"{a}: {t}" for a, t in zip(args, dtypes)) + f") -> {sig_out} {{"]
            rn = [f"%r{i}" for i in range(len(results))]
            lhs = rn[0] if len(rn) == 1 else f"%r:{len(rn)}"
            k.append(f"  {lhs} = {text}")
            k.append(f"      : ({sig_in}) -> {sig_out}")
            if len(rn) == 1:
                k.append(f"  return %r0 : {rtypes[0]}")
            else:
                k.append("  return " + ", ".join(f"%r#{i}" for i in range(len(rn))) + " : " + ", ".join(rtypes))
            k.append("}")
            self.kernels.append("\n".join(k))
            casted = []
            for n, t, d in zip(names, types, dtypes):
                c = self.fresh("dyn")
                self.body.append(f"  {c} = tensor.cast {n} : {t} to {d}")
                casted.append(c)
            outs = [self.fresh("r") for _ in results]
            self.body.append(f"  {', '.join(outs)} = call @{kname}({', '.join(casted)}) : ({sig_in}) -> {sig_out}")
            out_types = rtypes
        else:
            outs = [self.fresh("r") for _ in results]
            text = op.format(*names)
            sig_out = res_static[0] if len(res_static) == 1 else "(" + ", ".join(res_static) + ")"
            self.body.append(f"  {', '.join(outs)} = {text}")
            self.body.append(f"      : ({', '.join(types)}) -> {sig_out}")
            out_types = res_static
        for i, (o, t, r) in enumerate(zip(outs, out_types, results)):
            sub = label if len(results) == 1 else f"{label}#{i}"
            if r.check == "exact":
                if r.value.size == 0:
                    continue
                self.marker(f"CASE {sub}")
                self.emit_print(o, t, r.dt)
                self.check_print(sub, r.value, r.dt)
            elif r.check == "close":
                self.emit_close(sub, o, t, r)
            elif r.check == "none":
                pass
            else:
                raise ValueError(r.check)
        return outs, out_types

    def text(self):
        head = [
            f"// Generated by test/Integration/CPU/gen_tests.py; do not edit by hand.",
            f"// Regenerate (from the repository root): {REGEN}",
            "//",
        ]
        head += [f"// {s}" if s else "//" for s in self.summary.split("\n")]
        head.append("")
        head += self.runs
        head.append("")
        parts = ["\n".join(head)]
        parts += [d for _, d in sorted(self.decls.items())]
        parts += list(self.helpers.values())
        parts += self.kernels
        main = ["func.func @main() {"] + self.body + ["  return", "}"]
        parts.append("\n".join(main))
        parts.append("\n".join(self.extra_check_text + self.checks))
        return "\n\n".join(parts) + "\n"

    def write(self, outdir=HERE):
        path = os.path.join(outdir, self.name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(self.text())
        return path


# ----------------------------------------------------------------------------
# Reference semantics (DESIGN.md section 1), in float64
# ----------------------------------------------------------------------------

def silu(v):
    return v / (1.0 + np.exp(-v))


def gelu_tanh(v):
    # The tanh approximation (torch.nn.functional.gelu(approximate="tanh")),
    # the form the CPU lowering documents in MatmulOps.cpp.
    return 0.5 * v * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (v + 0.044715 * v ** 3)))


def activation(v, act):
    if act is None or act == "none":
        return v
    if act == "silu":
        return silu(v)
    if act == "gelu":
        return gelu_tanh(v)
    if act == "swiglu":
        h = v.shape[-1] // 2
        return silu(v[..., :h]) * v[..., h:]
    raise ValueError(act)


def ref_gather_matmul_ec(x, ind, w, bias=None, act=None):
    batched = x.ndim == 3
    if not batched:
        x, ind = x[None], ind[None]
    B, E, K = ind.shape
    J = w.shape[2]
    y = np.zeros((B, E, K, J))
    for b in range(B):
        for e in range(E):
            for k in range(K):
                y[b, e, k] = x[b, ind[b, e, k]] @ w[e]
                if bias is not None:
                    y[b, e, k] += bias[e]
    y = activation(y, act)
    return y if batched else y[0]


def expert_of_slot(off, r):
    """The expert e with off[e] <= r < off[e+1], or None."""
    for e in range(len(off) - 1):
        if off[e] <= r < off[e + 1]:
            return e
    return None


def ref_gather_matmul_ragged(x, rows, w, off, bias=None, act=None):
    R = rows.shape[0]
    J = w.shape[2]
    y = np.zeros((R, J))
    covered = np.zeros(R, bool)
    for r in range(R):
        e = expert_of_slot(off, r)
        if e is None:
            continue  # the tensor form leaves slots outside the experts zero
        covered[r] = True
        y[r] = x[rows[r]] @ w[e]
        if bias is not None:
            y[r] += bias[e]
    y = activation(y, act)
    y[~covered] = 0.0
    return y


def ref_matmul_scatter_ec(y, ind, w, init, scale=None, abs_sum=False):
    f = np.abs if abs_sum else (lambda a: a)
    batched = y.ndim == 4
    if not batched:
        y, ind, init = y[None], ind[None], init[None]
        scale = None if scale is None else scale[None]
    out = f(init).copy()
    B, E, K = ind.shape
    for b in range(B):
        for e in range(E):
            for k in range(K):
                s = 1.0 if scale is None else scale[b, e, k]
                out[b, ind[b, e, k]] += f(s * (y[b, e, k] @ w[e]))
    return out if batched else out[0]


def ref_matmul_scatter_ragged(y, rows, w, off, init, scale=None, abs_sum=False):
    f = np.abs if abs_sum else (lambda a: a)
    out = f(init).copy()
    for r in range(rows.shape[0]):
        e = expert_of_slot(off, r)
        if e is None:
            continue
        s = 1.0 if scale is None else scale[r]
        out[rows[r]] += f(s * (y[r] @ w[e]))
    return out


def ref_sort_by_expert(ids, E, R=None):
    """grouped_gemm permute order: slots (t, j) grouped by expert, then by
    (token, choice); the first R are kept."""
    T, k = ids.shape
    if R is None:
        R = T * k
    pairs = sorted(((int(ids[t, j]), t, j) for t in range(T) for j in range(k)))
    row_id_map = -np.ones(k * T, np.int64)
    rows = []
    for s, (e, t, j) in enumerate(pairs):
        if s < R:
            row_id_map[j * T + t] = s
            rows.append(t)
    counts = np.bincount(ids.reshape(-1).astype(np.int64), minlength=E)
    off = np.minimum(np.concatenate([[0], np.cumsum(counts)]), R).astype(np.int64)
    return np.array(rows, np.int64), off, row_id_map


def ref_permute(x, ids, E, R=None):
    rows, off, row_id_map = ref_sort_by_expert(ids, E, R)
    xs = x[rows] if len(rows) else np.zeros((0, x.shape[1]))
    return xs, row_id_map, off


def ref_unpermute(xs, row_id_map, probs):
    T, k = probs.shape
    out = np.zeros((T, xs.shape[1]))
    for t in range(T):
        for j in range(k):
            r = row_id_map[j * T + t]
            if r >= 0:
                out[t] += probs[t, j] * xs[r]
    return out


def take(x, ind, axis, batch_dims=0):
    """g[b.., p.., q.., s..] = x[b.., p.., ind[b.., q..], s..]"""
    if batch_dims == 0:
        return np.take(x, ind, axis=axis)
    bshape = x.shape[:batch_dims]
    parts = [take(x[b], ind[b], axis - batch_dims, 0) for b in np.ndindex(*bshape)]
    return np.stack(parts).reshape(bshape + parts[0].shape)


def ref_gather(x, ind, axis, batch_dims=0, perm=None):
    g = take(x, ind, axis, batch_dims)
    return g if perm is None else np.transpose(g, perm)


def ref_scatter_add(src, ind, init, axis, batch_dims=0, abs_sum=False):
    f = np.abs if abs_sum else (lambda a: a)
    out = f(init).copy()
    nq = ind.ndim - batch_dims
    for g in np.ndindex(*src.shape):
        ind_idx = g[:batch_dims] + g[axis:axis + nq]
        t = ind[ind_idx]
        dst = g[:axis] + (t,) + g[axis + nq:]
        out[dst] += f(src[g])
    return out


def ref_gather_concat(xs, inds, axis, dim, perms=None):
    pieces = []
    for s, (x, i) in enumerate(zip(xs, inds)):
        g = np.take(x, i, axis=axis)
        if perms is not None:
            g = np.transpose(g, perms[s])
        pieces.append(g)
    return np.concatenate(pieces, axis=dim)


def assert_partial_sums_exact(abs_total, dt, what):
    """Every partial sum of integer terms is exact when the sum of |terms| is."""
    assert np.max(abs_total) <= EXACT_INT[dt], f"{what}: partial sums may round in {dt}"


def perm_attr(p):
    return "array<i64: " + ", ".join(str(i) for i in p) + ">"


# ----------------------------------------------------------------------------
# Op text builders
# ----------------------------------------------------------------------------

def act_attr(act):
    return f" {{{{activation = #egs.activation<{act}>}}}}" if act else ""


def gm_ec_op(bias=False, act=None):
    return "egs.gather_matmul {0}[{1}] * {2}" + (" + {3}" if bias else "") + act_attr(act)


def gm_ragged_op(bias=False, act=None):
    return "egs.gather_matmul {0}[{1}] * {2} offsets {3}" + (" + {4}" if bias else "") + act_attr(act)


def ms_ec_op(scale=False, deterministic=False):
    return ("egs.matmul_scatter {0} * {2} into {3}[{1}]" + (" scale {4}" if scale else "")
            + (" {{deterministic}}" if deterministic else ""))


def ms_ragged_op(scale=False, deterministic=False):
    return ("egs.matmul_scatter {0} * {2} offsets {3} into {4}[{1}]" + (" scale {5}" if scale else "")
            + (" {{deterministic}}" if deterministic else ""))


def random_offsets(f, E, R, empty=()):
    """Non-decreasing offsets [E+1] over [0, R] with the experts in `empty` empty."""
    while True:
        cuts = np.sort(f.rng.integers(0, R + 1, size=E - 1))
        off = np.concatenate([[0], cuts, [R]]).astype(np.int64)
        sizes = np.diff(off)
        if all((sizes[e] == 0) == (e in empty) for e in range(E)):
            return off


# ----------------------------------------------------------------------------
# gather_matmul
# ----------------------------------------------------------------------------

def gen_gather_matmul_ec(dt):
    f = TestFile(f"gather_matmul_expert_choice_{dt}.mlir",
                 f"egs.gather_matmul, expert-choice form (batched [B,T,I] and unbatched [T,I]),\n"
                 f"{dt} data, i32 and i64 indices, static and dynamic shapes; E=1, K=1, T=1,\n"
                 f"every row routed to one token, and J = 45 (vector blocks, single vectors\n"
                 f"and scalar tail of the lowering).",
                 runs=[RUN_DEFAULT] + ([
                     "// RUN: egs-runner %s -e main --entry-point-result=void --check-indices=false | FileCheck %s --enable-var-scope"
                 ] if dt == "f32" else []))
    wide = "f32"

    def add(label, B, T, I, E, K, J, idt, out, dynamic=False, ind=None, comment=None):
        xs = (B, T, I) if B else (T, I)
        x = f.ints(xs, -3, 3)
        w = f.ints((E, I, J), -3, 3)
        if ind is None:
            ind = f.index((B, E, K) if B else (E, K), T)
        y = ref_gather_matmul_ec(x, ind, w)
        f.case(label, gm_ec_op(), [(x, dt), (ind, idt), (w, dt)], [Result(y, out)],
               dynamic=dynamic, comment=comment)

    add("batched_i32", 2, 5, 6, 3, 4, 5, "i32", dt)
    add("unbatched_i64_out_f32", 0, 7, 4, 2, 3, 3, "i64", wide)
    add("batched_dynamic_i64", 2, 6, 5, 3, 2, 7, "i64", dt, dynamic=True)
    add("unbatched_dynamic_i32_J16", 0, 5, 3, 2, 3, 16, "i32", dt, dynamic=True)
    add("J45", 0, 4, 3, 2, 2, 45, "i32", dt, comment="32-wide blocks + 8-wide vector + 5 scalars")
    add("E1", 1, 4, 3, 1, 4, 4, "i64", dt, ind=np.array([[[3, 1, 0, 2]]]),
        comment="one expert takes every token")
    add("K1", 0, 5, 3, 4, 1, 2, "i32", dt)
    add("T1", 2, 1, 3, 3, 2, 3, "i32", dt, ind=np.zeros((2, 3, 2), np.int64), comment="T = 1")
    add("one_token", 0, 6, 4, 3, 2, 3, "i64", dt, ind=np.full((3, 2), 4), comment="every row reads token 4")
    if dt != "f32":
        add("batched_dynamic_out_f32", 2, 4, 5, 2, 3, 6, "i32", wide, dynamic=True)
    return f


def gen_gather_matmul_bias():
    f = TestFile("gather_matmul_bias.mlir",
                 "egs.gather_matmul with bias [E,J] (in the data type or f32), expert-choice and\n"
                 "ragged, f32/f16/bf16, static and dynamic.")

    def ec(label, dt, bdt, out, B, T, I, E, K, J, idt, dynamic=False):
        x = f.ints((B, T, I) if B else (T, I), -3, 3)
        w = f.ints((E, I, J), -3, 3)
        bias = f.ints((E, J), -8, 8)
        ind = f.index((B, E, K) if B else (E, K), T)
        y = ref_gather_matmul_ec(x, ind, w, bias)
        f.case(label, gm_ec_op(bias=True), [(x, dt), (ind, idt), (w, dt), (bias, bdt)],
               [Result(y, out)], dynamic=dynamic)

    def rg(label, dt, bdt, out, T, I, E, R, J, idt, odt, dynamic=False, empty=()):
        x = f.ints((T, I), -3, 3)
        w = f.ints((E, I, J), -3, 3)
        bias = f.ints((E, J), -8, 8)
        rows = f.index((R,), T)
        off = random_offsets(f, E, R, empty)
        y = ref_gather_matmul_ragged(x, rows, w, off, bias)
        f.case(label, gm_ragged_op(bias=True), [(x, dt), (rows, idt), (w, dt), (off, odt), (bias, bdt)],
               [Result(y, out)], dynamic=dynamic, comment=f"offsets {list(off)}")

    ec("ec_f32_batched", "f32", "f32", "f32", 2, 4, 3, 2, 3, 5, "i32")
    ec("ec_f16_bias_f16", "f16", "f16", "f16", 0, 5, 4, 3, 2, 4, "i64")
    ec("ec_bf16_bias_f32_dynamic", "bf16", "f32", "f32", 0, 5, 4, 3, 2, 4, "i32", dynamic=True)
    ec("ec_bf16_bias_bf16_J40", "bf16", "bf16", "bf16", 0, 4, 3, 2, 2, 40, "i64")
    ec("ec_f16_dynamic_batched", "f16", "f16", "f16", 2, 3, 4, 2, 2, 3, "i64", dynamic=True)
    rg("ragged_f32", "f32", "f32", "f32", 5, 3, 3, 7, 4, "i32", "i32", empty=(1,))
    rg("ragged_f16_bias_f32_dynamic", "f16", "f32", "f32", 6, 4, 3, 8, 5, "i64", "i64", dynamic=True)
    rg("ragged_bf16_J36", "bf16", "bf16", "bf16", 4, 3, 2, 5, 36, "i32", "i32")
    return f


def gen_gather_matmul_ragged():
    f = TestFile("gather_matmul_ragged.mlir",
                 "egs.gather_matmul, ragged (token-choice) form: rows [R] + expert_offsets [E+1],\n"
                 "f32/f16/bf16, i32/i64 rows and offsets, static and dynamic. Edge cases: an\n"
                 "expert with no rows, all rows in one expert, E=1, R=T=1, slots outside\n"
                 "[offsets[0], offsets[E]) (left zero in the tensor form; their rows entries\n"
                 "are padding and are never read), identity rows (plain grouped GEMM), and\n"
                 "metadata from the routing of random top-k ids.")

    def rg(label, dt, out, T, I, E, J, rows, off, idt, odt, dynamic=False, comment=None):
        x = f.ints((T, I), -3, 3)
        w = f.ints((E, I, J), -3, 3)
        rows = np.asarray(rows, np.int64)
        off = np.asarray(off, np.int64)
        y = ref_gather_matmul_ragged(x, rows, w, off)
        c = f"offsets {list(off)}" + (f"; {comment}" if comment else "")
        f.case(label, gm_ragged_op(), [(x, dt), (rows, idt), (w, dt), (off, odt)],
               [Result(y, out)], dynamic=dynamic, comment=c)

    for dt in ("f32", "f16", "bf16"):
        rg(f"{dt}_empty_expert", dt, dt, 6, 4, 4, 5, f.index((10,), 6), [0, 3, 3, 7, 10], "i32", "i32",
           comment="expert 1 gets no rows")
        rows = f.index((10,), 5)
        rows[[0, 1, 7, 8, 9]] = -1
        rg(f"{dt}_uncovered_slots_i64", dt, dt, 5, 3, 3, 4, rows, [2, 4, 6, 7], "i64", "i64",
           comment="slots 0-1 and 7-9 belong to no expert (padding rows -1)")
        rg(f"{dt}_identity_rows_one_expert", dt, dt, 5, 3, 3, 33, np.arange(5), [0, 0, 5, 5], "i32", "i32",
           comment="grouped GEMM, all rows in expert 1, J = 33")
        rg(f"{dt}_E1_dynamic", dt, dt, 4, 5, 1, 6, f.index((7,), 4), [0, 7], "i64", "i32", dynamic=True)
        rg(f"{dt}_R1_T1", dt, dt, 1, 3, 2, 4, [0], [0, 1, 1], "i32", "i64")
        ids = np.array([[0, 2], [2, 1], [0, 2], [2, 0], [1, 2], [2, 0]])
        rows_r, off_r, _ = ref_sort_by_expert(ids, 3)
        rg(f"{dt}_routed_dynamic", dt, "f32" if dt != "f32" else dt, 6, 4, 3, 3, rows_r, off_r, "i32", "i32",
           dynamic=True, comment="rows/offsets of top-2 routing")
    rg("f32_J45_empty_first_last", "f32", "f32", 5, 3, 4, 45, f.index((6,), 5), [0, 0, 3, 6, 6], "i32", "i32",
       comment="experts 0 and 3 empty")
    return f


def gen_gather_matmul_activation():
    f = TestFile("gather_matmul_activation.mlir",
                 "egs.gather_matmul with the fused epilogue activation silu, gelu (tanh\n"
                 "approximation) and swiglu (silu(y[..,:J/2]) * y[..,J/2:], bias added before\n"
                 "the activation), expert-choice and ragged, f32/f16/bf16, static and dynamic.\n"
                 "Checked in the program against the embedded float64 reference:\n"
                 "max |y - ref| / (1 + |ref|) below 1e-5 (f32 result), 2e-3 (f16), 1e-2 (bf16).")

    def ec(label, act, dt, out, B, T, I, E, K, J, idt, bias=None, dynamic=False):
        x = f.quarters((B, T, I) if B else (T, I), -1.5, 1.5)
        w = f.quarters((E, I, J), -1.5, 1.5)
        ind = f.index((B, E, K) if B else (E, K), T)
        ops = [(x, dt), (ind, idt), (w, dt)]
        b = None
        if bias:
            b = f.quarters((E, J), -2, 2)
            ops.append((b, bias))
        y = ref_gather_matmul_ec(x, ind, w, b, act)
        f.case(label, gm_ec_op(bool(bias), act), ops, [Result(y, out, "close")], dynamic=dynamic)

    def rg(label, act, dt, out, T, I, E, R, J, idt, bias=None, dynamic=False, off=None):
        x = f.quarters((T, I), -1.5, 1.5)
        w = f.quarters((E, I, J), -1.5, 1.5)
        rows = f.index((R,), T)
        off = random_offsets(f, E, R) if off is None else np.asarray(off)
        ops = [(x, dt), (rows, idt), (w, dt), (off, "i32")]
        b = None
        if bias:
            b = f.quarters((E, J), -2, 2)
            ops.append((b, bias))
        y = ref_gather_matmul_ragged(x, rows, w, off, b, act)
        f.case(label, gm_ragged_op(bool(bias), act), ops, [Result(y, out, "close")], dynamic=dynamic,
               comment=f"offsets {list(off)}")

    ec("silu_f32_batched", "silu", "f32", "f32", 2, 5, 4, 2, 3, 6, "i32")
    ec("gelu_f32", "gelu", "f32", "f32", 0, 6, 4, 3, 2, 9, "i64")
    ec("swiglu_f32_bias", "swiglu", "f32", "f32", 0, 5, 4, 2, 3, 8, "i32", bias="f32")
    ec("swiglu_f32_J80", "swiglu", "f32", "f32", 0, 4, 3, 2, 2, 80, "i32")
    ec("gelu_bf16", "gelu", "bf16", "bf16", 0, 5, 4, 2, 3, 6, "i32")
    ec("silu_bf16_out_f32_dynamic", "silu", "bf16", "f32", 2, 4, 4, 2, 2, 5, "i64", dynamic=True)
    ec("swiglu_f16_out_f32_dynamic", "swiglu", "f16", "f32", 0, 5, 4, 3, 2, 6, "i64", dynamic=True)
    ec("silu_f16_bias_f16", "silu", "f16", "f16", 0, 4, 5, 2, 2, 7, "i32", bias="f16")
    rg("silu_f16_ragged", "silu", "f16", "f16", 5, 4, 3, 8, 5, "i32", off=[1, 3, 3, 7])
    rg("swiglu_bf16_ragged_bias", "swiglu", "bf16", "bf16", 6, 4, 3, 7, 6, "i64", bias="bf16")
    rg("gelu_f16_ragged_bias_f32_dynamic", "gelu", "f16", "f16", 5, 4, 2, 6, 5, "i32", bias="f32",
       dynamic=True)
    rg("gelu_f32_ragged", "gelu", "f32", "f32", 4, 3, 2, 5, 4, "i32")
    rg("swiglu_f32_ragged_dynamic_uncovered", "swiglu", "f32", "f32", 4, 3, 3, 8, 10, "i64", dynamic=True,
       off=[2, 3, 3, 6])
    return f


# ----------------------------------------------------------------------------
# matmul_scatter
# ----------------------------------------------------------------------------

def gen_matmul_scatter_ec():
    f = TestFile("matmul_scatter_expert_choice.mlir",
                 "egs.matmul_scatter, expert-choice form (batched and unbatched), with and\n"
                 "without scale, f32/f16/bf16 (init in the data type or f32), i32/i64,\n"
                 "static and dynamic. Duplicate indices accumulate; E=1, K=1, T=1 and all\n"
                 "rows into one token; I = 37 and 40 take the vector path.")

    def add(label, dt, initdt, B, T, J, I, E, K, idt, scale=None, dynamic=False, ind=None, det=False,
            yr=(-2, 2), comment=None):
        y = f.ints((B, E, K, J) if B else (E, K, J), *yr)
        w = f.ints((E, J, I), -2, 2)
        init = f.ints((B, T, I) if B else (T, I), -3, 3)
        if ind is None:
            ind = f.index((B, E, K) if B else (E, K), T)
        ops = [(y, dt), (ind, idt), (w, dt), (init, initdt)]
        s = None
        if scale:
            s = f.ints((B, E, K) if B else (E, K), -2, 2)
            ops.append((s, scale))
        out = ref_matmul_scatter_ec(y, ind, w, init, s)
        assert_partial_sums_exact(ref_matmul_scatter_ec(y, ind, w, init, s, abs_sum=True), initdt, label)
        f.case(label, ms_ec_op(bool(scale), det), ops, [Result(out, initdt)], dynamic=dynamic, comment=comment)

    add("f32_batched_i32", "f32", "f32", 2, 4, 4, 5, 3, 2, "i32")
    add("f32_scale_i64_I37", "f32", "f32", 0, 5, 3, 37, 3, 3, "i64", scale="f32")
    add("f32_dynamic_scale_deterministic", "f32", "f32", 2, 3, 3, 4, 2, 3, "i32", scale="f32", dynamic=True,
        det=True)
    add("f16_init_f32_scale_f16", "f16", "f32", 0, 4, 4, 6, 2, 3, "i32", scale="f16")
    add("f16_batched_dynamic", "f16", "f16", 2, 4, 3, 5, 2, 2, "i64", dynamic=True)
    add("bf16_batched_scale_bf16", "bf16", "bf16", 2, 4, 3, 4, 2, 2, "i32", scale="bf16")
    add("bf16_init_f32_dynamic_I40", "bf16", "f32", 0, 5, 3, 40, 3, 2, "i64", scale="f32", dynamic=True)
    add("f32_E1", "f32", "f32", 0, 4, 3, 4, 1, 4, "i32", ind=np.array([[2, 0, 3, 1]]),
        comment="the one expert takes every token once")
    add("f16_K1", "f16", "f16", 0, 5, 2, 3, 4, 1, "i64")
    add("bf16_T1", "bf16", "bf16", 2, 1, 2, 3, 3, 2, "i32", ind=np.zeros((2, 3, 2), np.int64), yr=(-1, 1),
        comment="T = 1: every row accumulates into token 0")
    add("f32_all_rows_one_token", "f32", "f32", 0, 6, 3, 4, 3, 3, "i64", scale="f32", ind=np.full((3, 3), 2),
        comment="9 rows accumulate into token 2, the others keep init")
    return f


def gen_matmul_scatter_ragged():
    f = TestFile("matmul_scatter_ragged.mlir",
                 "egs.matmul_scatter, ragged form (rows [R] + expert_offsets [E+1]): the MoE\n"
                 "combine. f32/f16/bf16, with and without scale, static and dynamic; an expert\n"
                 "with no rows, all rows in one expert, E=1, T=1 (every row into one token),\n"
                 "slots outside [offsets[0], offsets[E]) ignored (padding rows -1), and the\n"
                 "metadata of top-k routing with the routing weights as scale.")

    def add(label, dt, initdt, T, J, I, E, rows, off, idt, odt, scale=None, dynamic=False, det=False,
            s=None, comment=None):
        rows = np.asarray(rows, np.int64)
        off = np.asarray(off, np.int64)
        R = rows.shape[0]
        y = f.ints((R, J), -2, 2)
        w = f.ints((E, J, I), -2, 2)
        init = f.ints((T, I), -3, 3)
        ops = [(y, dt), (rows, idt), (w, dt), (off, odt), (init, initdt)]
        if scale:
            s = f.ints((R,), -2, 2) if s is None else s
            ops.append((s, scale))
        out = ref_matmul_scatter_ragged(y, rows, w, off, init, s)
        assert_partial_sums_exact(ref_matmul_scatter_ragged(y, rows, w, off, init, s, abs_sum=True), initdt,
                                  label)
        c = f"offsets {list(off)}" + (f"; {comment}" if comment else "")
        f.case(label, ms_ragged_op(bool(scale), det), ops, [Result(out, initdt)], dynamic=dynamic, comment=c)

    add("f32_scale_empty_expert", "f32", "f32", 4, 3, 5, 4, f.index((8,), 4), [0, 2, 2, 5, 8], "i32", "i32",
        scale="f32", comment="expert 1 gets no rows")
    rows = f.index((9,), 5)
    rows[[0, 7, 8]] = -1
    add("f16_init_f32_uncovered", "f16", "f32", 5, 3, 4, 3, rows, [1, 3, 5, 7], "i64", "i64",
        comment="slots 0, 7, 8 belong to no expert (padding rows -1)")
    add("bf16_one_expert_scale", "bf16", "bf16", 5, 3, 4, 3, f.index((6,), 5), [0, 6, 6, 6], "i32", "i32",
        scale="bf16", comment="all rows in expert 0")
    add("f32_E1_dynamic_I37", "f32", "f32", 4, 3, 37, 1, f.index((5,), 4), [0, 5], "i64", "i32",
        dynamic=True)
    add("f16_T1", "f16", "f16", 1, 2, 3, 2, [0, 0, 0, 0], [0, 1, 4], "i32", "i32", scale="f16",
        comment="T = 1: every row into token 0")
    ids = np.array([[1, 0], [2, 1], [1, 2], [0, 1], [2, 0]])
    probs = np.array([[0.75, 0.25], [0.5, 0.5], [1.0, 0.0], [0.25, 0.75], [0.5, 0.5]]) * 2
    rows_r, off_r, map_r = ref_sort_by_expert(ids, 3)
    T, k = ids.shape
    s = np.zeros(T * k)
    for t in range(T):
        for j in range(k):
            s[map_r[j * T + t]] = probs[t, j]
    for dt in ("f32", "bf16"):
        add(f"{dt}_routed_probs_dynamic", dt, dt, 5, 3, 4, 3, rows_r, off_r, "i32", "i32", scale=dt, s=s,
            dynamic=True, det=(dt == "bf16"), comment="top-2 routing, scale = 2 * routing weight")
    return f


def bits_helper(f, rank):
    """tensor<?x..xf32> -> tensor<?x..xi32> holding the bit patterns."""
    name = f"bits_{rank}d"
    if name in f.helpers:
        return name
    dims = ", ".join(f"d{i}" for i in range(rank))
    ident = f"affine_map<({dims}) -> ({dims})>"
    dynf = ttype([0] * rank, "f32", dynamic=True)
    dyni = ttype([0] * rank, "i32", dynamic=True)
    iters = ", ".join(['"parallel"'] * rank)
    dims_v = "\n".join(f"  %c{i} = arith.constant {i} : index\n  %n{i} = tensor.dim %x, %c{i} : {dynf}"
                       for i in range(rank))
    f.helpers[name] = "\n".join([
        f"func.func @{name}(%x: {dynf}) -> {dyni} {{",
        dims_v,
        f"  %e = tensor.empty({', '.join(f'%n{i}' for i in range(rank))}) : {dyni}",
        f"  %b = linalg.generic {{indexing_maps = [{ident}, {ident}], iterator_types = [{iters}]}}",
        f"      ins(%x : {dynf}) outs(%e : {dyni}) {{",
        "  ^bb0(%a: f32, %o: i32):",
        "    %i = arith.bitcast %a : f32 to i32",
        "    linalg.yield %i : i32",
        f"  }} -> {dyni}",
        f"  return %b : {dyni}",
        "}",
    ])
    return name


def same_helper(f, rank):
    """1 if two tensor<?x..xi32> are equal element by element."""
    name = f"all_equal_{rank}d"
    if name in f.helpers:
        return name
    dims = ", ".join(f"d{i}" for i in range(rank))
    ident = f"affine_map<({dims}) -> ({dims})>"
    scal = f"affine_map<({dims}) -> ()>"
    dyni = ttype([0] * rank, "i32", dynamic=True)
    iters = ", ".join(['"reduction"'] * rank)
    f.helpers[name] = "\n".join([
        f"func.func @{name}(%a: {dyni}, %b: {dyni}) -> i1 {{",
        "  %t = arith.constant true",
        "  %e = tensor.empty() : tensor<i1>",
        "  %init = linalg.fill ins(%t : i1) outs(%e : tensor<i1>) -> tensor<i1>",
        f"  %m = linalg.generic {{indexing_maps = [{ident}, {ident}, {scal}], iterator_types = [{iters}]}}",
        f"      ins(%a, %b : {dyni}, {dyni}) outs(%init : tensor<i1>) {{",
        "  ^bb0(%x: i32, %y: i32, %acc: i1):",
        "    %eq = arith.cmpi eq, %x, %y : i32",
        "    %r = arith.andi %acc, %eq : i1",
        "    linalg.yield %r : i1",
        "  } -> tensor<i1>",
        "  %v = tensor.extract %m[] : tensor<i1>",
        "  return %v : i1",
        "}",
    ])
    return name


def gen_matmul_scatter_deterministic():
    runs = [
        "// RUN: egs-runner %s -e main --entry-point-result=void > %t.run1",
        "// RUN: egs-runner %s -e main --entry-point-result=void > %t.run2",
        "// RUN: FileCheck %s --enable-var-scope --input-file=%t.run1",
        "// Bit-identical across runs (the printed addresses aside):",
        "// RUN: grep -v 'base@' %t.run1 > %t.data1",
        "// RUN: grep -v 'base@' %t.run2 > %t.data2",
        "// RUN: diff %t.data1 %t.data2",
    ]
    f = TestFile("matmul_scatter_deterministic.mlir",
                 "egs.matmul_scatter {deterministic} on random (non-integer) f32 data where many\n"
                 "rows accumulate into few tokens, so that the summation order shows in the low\n"
                 "bits: the f32 bit patterns of the result are printed and must be identical\n"
                 "across two runs and across two applications in one run, and the result must\n"
                 "be close to the float64 reference. Also a bf16 ragged form with bf16 init.",
                 runs=runs)
    # Expert-choice, f32: 4 experts x 16 rows into 5 tokens.
    E, K, J, I, T = 4, 16, 16, 8, 5
    y = f.rng.standard_normal((E, K, J)).astype(np.float32).astype(np.float64)
    w = f.rng.standard_normal((E, J, I)).astype(np.float32).astype(np.float64)
    init = f.rng.standard_normal((T, I)).astype(np.float32).astype(np.float64)
    s = f.rng.uniform(0, 1, (E, K)).astype(np.float32).astype(np.float64)
    ind = f.index((E, K), T)
    ref = ref_matmul_scatter_ec(y, ind, w, init, s)
    ops = [(y, "f32"), (ind, "i32"), (w, "f32"), (init, "f32"), (s, "f32")]
    f.body.append("")
    f.body.append("  // expert-choice f32, applied twice")
    names, types = [], []
    for arr, dt in ops:
        n, t = f.const(arr, dt)
        names.append(n)
        types.append(t)
    outs = []
    rt = ttype((T, I), "f32")
    for _ in range(2):
        o = f.fresh("r")
        f.body.append(f"  {o} = {ms_ec_op(True, True).format(*names)}")
        f.body.append(f"      : ({', '.join(types)}) -> {rt}")
        outs.append(o)
    bh = bits_helper(f, 2)
    sh = same_helper(f, 2)
    dynf = ttype((0, 0), "f32", True)
    dyni = ttype((0, 0), "i32", True)
    bits = []
    for o in outs:
        d = f.fresh("d")
        f.body.append(f"  {d} = tensor.cast {o} : {rt} to {dynf}")
        b = f.fresh("bits")
        f.body.append(f"  {b} = call @{bh}({d}) : ({dynf}) -> {dyni}")
        bits.append(b)
    same = f.fresh("same")
    f.body.append(f"  {same} = call @{sh}({bits[0]}, {bits[1]}) : ({dyni}, {dyni}) -> i1")
    f.body.append('  vector.print str "SAME ec_f32: "')
    f.body.append(f"  vector.print {same} : i1")
    f.checks.append("// CHECK-LABEL: SAME ec_f32: 1")
    f.marker("BITS ec_f32")
    f.emit_print(bits[0], dyni, "i32")
    f.checks.append("// CHECK-LABEL: BITS ec_f32")
    f.checks.append(f"// CHECK-NEXT: rank = 2 offset = 0 sizes = [{T}, {I}] strides = {{{{.*}}}} data =")
    f.emit_close("ec_f32", outs[0], rt, Result(ref, "f32", "close"))
    f.labels.add("ec_f32")

    # Ragged, bf16 data and bf16 init: every row rounds into the output.
    R, E2, T2, J2, I2 = 24, 3, 3, 8, 8
    y = round_to(f.rng.standard_normal((R, J2)), "bf16")
    w = round_to(f.rng.standard_normal((E2, J2, I2)), "bf16")
    init = round_to(f.rng.standard_normal((T2, I2)), "bf16")
    rows = f.index((R,), T2)
    off = random_offsets(f, E2, R)
    ref = ref_matmul_scatter_ragged(y, rows, w, off, init)
    f.case("ragged_bf16", ms_ragged_op(False, True), [(y, "bf16"), (rows, "i64"), (w, "bf16"), (off, "i32"),
                                                        (init, "bf16")],
           [Result(ref, "bf16", "close", tol=5e-2)], comment="bf16 output, rounded per row: loose tolerance")
    # The printed bf16 values (6 digits identify a bf16 value uniquely) go into the diff too.
    o, t = f.case("ragged_bf16_print", ms_ragged_op(False, True),
                  [(y, "bf16"), (rows, "i64"), (w, "bf16"), (off, "i32"), (init, "bf16")],
                  [Result(ref, "bf16", "none")])
    f.marker("VALUES ragged_bf16")
    f.emit_print(o[0], t[0], "bf16")
    f.checks.append("// CHECK-LABEL: VALUES ragged_bf16")
    return f
