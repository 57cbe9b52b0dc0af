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
