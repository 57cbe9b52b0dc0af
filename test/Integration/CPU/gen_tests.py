#!/usr/bin/env python3
"""Generates the CPU integration tests of egs (test/Integration/CPU/*.mlir).

The inputs are drawn here (seeded), the expected outputs are computed in
float64 by egs's reference module (python/egs/_reference.py, written from the
semantics in docs/UserGuide.md, never from the code under test), and every
test file is written with its inputs as dense constants and its expected
numbers as FileCheck lines.

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
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "python", "egs"))
import _reference as reference  # noqa: E402  (pure Python: no build needed)
import _ir as ir  # noqa: E402  (the op text, as the package writes it)
import re  # noqa: E402
REGEN = "python3 test/Integration/CPU/gen_tests.py"
RUN_DEFAULT = "// RUN: egs-runner %s -e main --entry-point-result=void | FileCheck %s --enable-var-scope"

RUN_NOCHECK = "// RUN: egs-runner %s -e main --entry-point-result=void --check-indices=false | FileCheck %s --enable-var-scope"

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
    return "%g" % (float(v) + 0.0)  # -0.0 prints as 0: every accumulator starts at +0


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


class SSA:
    """An operand already in the program (e.g. a slice): name, type and the
    NumPy value it holds."""

    def __init__(self, name, type, arr, dt):
        self.name, self.type, self.arr, self.dt = name, type, np.asarray(arr), dt


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

    def slice(self, arr, dt, offsets, sizes, strides):
        """A constant holding `arr` and a tensor.extract_slice of it; returns
        the slice as an SSA operand."""
        big, big_t = self.const(arr, dt)
        name = self.fresh("s")
        t = ttype(sizes, dt)
        lst = lambda v: "[" + ", ".join(map(str, v)) + "]"
        self.body.append(f"  {name} = tensor.extract_slice {big}{lst(offsets)}{lst(sizes)}{lst(strides)} : {big_t} to {t}")
        idx = tuple(slice(o, o + n * st, st) for o, n, st in zip(offsets, sizes, strides))
        return SSA(name, t, np.asarray(arr)[idx], dt)

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
        dynamic:  True: pass everything through a function whose arguments and
                  results have all dims dynamic; "cast": tensor.cast the
                  operands to all-dynamic types and apply the op in place.
        """
        assert label not in self.labels, label
        self.labels.add(label)
        self.body.append("")
        self.body.append(f"  // {label}" + (f": {comment}" if comment else ""))
        names, types = [], []
        for opnd in operands:
            if isinstance(opnd, SSA):
                names.append(opnd.name)
                types.append(opnd.type)
                continue
            n, t = self.const(*opnd)
            names.append(n)
            types.append(t)
        operands = [(o.arr, o.dt) if isinstance(o, SSA) else o for o in operands]
        res_static = [ttype(r.value.shape, r.dt) for r in results]
        if dynamic == "cast":
            # Dynamic shapes without a function boundary: tensor.cast in place.
            dtypes = [ttype(np.shape(a), dt, dynamic=True) for a, dt in operands]
            rtypes = [ttype(r.value.shape, r.dt, dynamic=True) for r in results]
            casted = []
            for n, t, d in zip(names, types, dtypes):
                c = self.fresh("dyn")
                self.body.append(f"  {c} = tensor.cast {n} : {t} to {d}")
                casted.append(c)
            outs = [self.fresh("r") for _ in results]
            sig_out = rtypes[0] if len(rtypes) == 1 else "(" + ", ".join(rtypes) + ")"
            if len(outs) == 1:
                self.body.append(f"  {outs[0]} = {op.format(*casted)}")
            else:
                self.body.append(f"  {outs[0]}:{len(outs)} = {op.format(*casted)}")
                outs = [f"{outs[0]}#{i}" for i in range(len(results))]
            self.body.append(f"      : ({', '.join(dtypes)}) -> {sig_out}")
            out_types = rtypes
        elif dynamic:
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
# Activation specs and exactness
# ----------------------------------------------------------------------------

def parse_act(act):
    """"name[,il][,alpha=A][,limit=L]" -> (name, interleaved, alpha, limit)."""
    name, *opts = act.split(",")
    kv = dict(o.split("=") for o in opts if "=" in o)
    return name, "il" in opts, kv.get("alpha"), kv.get("limit")


def act_kwargs(act):
    """The reference's activation arguments for an activation spec."""
    if act is None:
        return {}
    name, interleaved, alpha, limit = parse_act(act)
    return dict(activation=name, interleaved=interleaved, alpha=alpha, limit=limit)


def assert_partial_sums_exact(abs_total, dt, what):
    """Every partial sum of integer terms is exact when the sum of |terms| is."""
    assert np.max(abs_total) <= EXACT_INT[dt], f"{what}: partial sums may round in {dt}"


# ----------------------------------------------------------------------------
# Op text: egs._ir's builders, as TestFile.case templates
# ----------------------------------------------------------------------------

def S(i):
    """Operand i of a case, for an egs._ir builder (becomes {i})."""
    return f"@{i}@"


def template(text):
    """An egs._ir op text over S(i) operands as a str.format template: {i}
    for each operand, literal braces doubled."""
    text = text.replace("{", "{{").replace("}", "}}")
    return re.sub(r"@(\d+)@", r"{\1}", text)


def act_attrs(act):
    """gather_matmul's attribute entries for an activation spec (parse_act)."""
    if not act:
        return []
    name, interleaved, alpha, limit = parse_act(act)
    return ir.activation_attrs(name, interleaved, alpha, limit)


def gm_ec_op(bias=False, act=None):
    return template(ir.gather_matmul(S(0), S(1), S(2), bias=S(3) if bias else None,
                                     attrs=act_attrs(act)))


def gm_ragged_op(bias=False, act=None):
    return template(ir.gather_matmul(S(0), S(1), S(2), offsets=S(3), bias=S(4) if bias else None,
                                     attrs=act_attrs(act)))


def ms_ec_op(scale=False, deterministic=False):
    return template(ir.matmul_scatter(S(0), S(1), S(2), S(3), scale=S(4) if scale else None,
                                      attrs=["deterministic"] if deterministic else []))


def ms_ragged_op(scale=False, deterministic=False):
    return template(ir.matmul_scatter(S(0), S(1), S(2), S(4), offsets=S(3),
                                      scale=S(5) if scale else None,
                                      attrs=["deterministic"] if deterministic else []))


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
                 runs=[RUN_DEFAULT] + ([RUN_NOCHECK] if dt == "f32" else []))
    wide = "f32"

    def add(label, B, T, I, E, K, J, idt, out, dynamic=False, ind=None, comment=None):
        xs = (B, T, I) if B else (T, I)
        x = f.ints(xs, -3, 3)
        w = f.ints((E, I, J), -3, 3)
        if ind is None:
            ind = f.index((B, E, K) if B else (E, K), T)
        y = reference.gather_matmul(x, ind, w)
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
        y = reference.gather_matmul(x, ind, w, bias)
        f.case(label, gm_ec_op(bias=True), [(x, dt), (ind, idt), (w, dt), (bias, bdt)],
               [Result(y, out)], dynamic=dynamic)

    def rg(label, dt, bdt, out, T, I, E, R, J, idt, odt, dynamic=False, empty=()):
        x = f.ints((T, I), -3, 3)
        w = f.ints((E, I, J), -3, 3)
        bias = f.ints((E, J), -8, 8)
        rows = f.index((R,), T)
        off = random_offsets(f, E, R, empty)
        y = reference.gather_matmul(x, rows, w, bias, off)
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
                 "metadata from the routing of random top-k ids.",
                 runs=[RUN_DEFAULT, RUN_NOCHECK])

    def rg(label, dt, out, T, I, E, J, rows, off, idt, odt, dynamic=False, comment=None):
        x = f.ints((T, I), -3, 3)
        w = f.ints((E, I, J), -3, 3)
        rows = np.asarray(rows, np.int64)
        off = np.asarray(off, np.int64)
        y = reference.gather_matmul(x, rows, w, offsets=off)
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
        rows_r, off_r, _ = reference.route(ids, 3)
        rg(f"{dt}_routed_dynamic", dt, "f32" if dt != "f32" else dt, 6, 4, 3, 3, rows_r, off_r, "i32", "i32",
           dynamic=True, comment="rows/offsets of top-2 routing")
    rg("f32_J45_empty_first_last", "f32", "f32", 5, 3, 4, 45, f.index((6,), 5), [0, 0, 3, 6, 6], "i32", "i32",
       comment="experts 0 and 3 empty")
    return f


def gen_transposed_weights():
    f = TestFile("transposed_weights.mlir",
                 "egs.gather_matmul and egs.matmul_scatter with a transposed weight\n"
                 "('transposed': w stored [E,J,I] for gather_matmul, [E,I,J] for matmul_scatter,\n"
                 "read in place): expert-choice and ragged, with bias / scale, f32/f16/bf16,\n"
                 "static and dynamic; J = 45 crosses the vector widths of the untransposed path.",
                 runs=[RUN_DEFAULT, RUN_NOCHECK])
    tr = lambda w: np.ascontiguousarray(np.swapaxes(w, 1, 2))

    def gm(label, dt, B, T, I, E, K, J, bias=False, dynamic=False):
        x = f.ints((B, T, I) if B else (T, I), -3, 3)
        w = f.ints((E, I, J), -3, 3)
        ind = f.index((B, E, K) if B else (E, K), T)
        ops = [(x, dt), (ind, "i32"), (tr(w), dt)]
        b = None
        if bias:
            b = f.ints((E, J), -4, 4)
            ops.append((b, dt))
        f.case(label, template(ir.gather_matmul(S(0), S(1), S(2), transposed=True,
                                                bias=S(3) if bias else None)), ops,
               [Result(reference.gather_matmul(x, ind, w, b), dt)], dynamic=dynamic)

    def gm_ragged(label, dt, T, I, E, J, off, dynamic=False):
        x = f.ints((T, I), -3, 3)
        w = f.ints((E, I, J), -3, 3)
        off = np.asarray(off, np.int64)
        rows = f.index((int(off[-1]),), T)
        f.case(label, template(ir.gather_matmul(S(0), S(1), S(2), transposed=True, offsets=S(3))),
               [(x, dt), (rows, "i64"), (tr(w), dt), (off, "i32")],
               [Result(reference.gather_matmul(x, rows, w, offsets=off), dt)], dynamic=dynamic)

    def ms(label, dt, initdt, B, T, J, I, E, K, scale=False, dynamic=False):
        y = f.ints((B, E, K, J) if B else (E, K, J), -2, 2)
        w = f.ints((E, J, I), -2, 2)
        init = f.ints((B, T, I) if B else (T, I), -3, 3)
        ind = f.index((B, E, K) if B else (E, K), T)
        ops = [(y, dt), (ind, "i32"), (tr(w), dt), (init, initdt)]
        s = None
        if scale:
            s = f.ints((B, E, K) if B else (E, K), -2, 2)
            ops.append((s, dt))
        f.case(label, template(ir.matmul_scatter(S(0), S(1), S(2), S(3), transposed=True,
                                                 scale=S(4) if scale else None)),
               ops, [Result(reference.matmul_scatter(y, ind, w, init, s), initdt)], dynamic=dynamic)

    def ms_ragged(label, dt, T, J, I, E, off, scale=False):
        off = np.asarray(off, np.int64)
        R = int(off[-1]) + 1  # the last slot uncovered
        rows = f.index((R,), T)
        y = f.ints((R, J), -2, 2)
        w = f.ints((E, J, I), -2, 2)
        init = f.ints((T, I), -3, 3)
        ops = [(y, dt), (rows, "i32"), (tr(w), dt), (off, "i32"), (init, dt)]
        s = None
        if scale:
            s = f.ints((R,), -2, 2)
            ops.append((s, dt))
        f.case(label, template(ir.matmul_scatter(S(0), S(1), S(2), S(4), transposed=True, offsets=S(3),
                                                 scale=S(5) if scale else None)), ops,
               [Result(reference.matmul_scatter(y, rows, w, init, s, off), dt)])

    gm("gm_ec_f32_batched", "f32", 2, 5, 4, 3, 2, 6)
    gm("gm_ec_bf16_bias_J45", "bf16", 0, 4, 3, 2, 2, 45, bias=True)
    gm("gm_ec_f16_dynamic", "f16", 2, 4, 5, 2, 3, 3, dynamic=True)
    gm_ragged("gm_ragged_f32_empty_expert", "f32", 5, 4, 3, 5, [0, 3, 3, 7])
    gm_ragged("gm_ragged_bf16_dynamic", "bf16", 6, 3, 2, 4, [0, 2, 5], dynamic=True)
    ms("ms_ec_f32_scale", "f32", "f32", 2, 4, 3, 5, 3, 2, scale=True)
    ms("ms_ec_bf16_init_f32_I40", "bf16", "f32", 0, 5, 3, 40, 2, 3)
    ms("ms_ec_f16_dynamic", "f16", "f16", 2, 4, 3, 4, 2, 2, scale=True, dynamic="cast")
    ms_ragged("ms_ragged_f32_scale_uncovered", "f32", 4, 3, 5, 3, [1, 3, 3, 7], scale=True)
    return f


def wg_op(lind, rind, ragged, scale):
    """The op text over operands (lhs, [lhs_ind], rhs, [rhs_ind], [offsets], [scale])."""
    n = iter(range(6))
    lhs = S(next(n))
    lhs_ind = S(next(n)) if lind else None
    rhs = S(next(n))
    rhs_ind = S(next(n)) if rind else None
    offsets = S(next(n)) if ragged else None
    return template(ir.weight_grad(lhs, rhs, lhs_ind=lhs_ind, rhs_ind=rhs_ind, offsets=offsets,
                                   scale=S(next(n)) if scale else None))


def gen_weight_grad():
    f = TestFile("weight_grad.mlir",
                 "egs.weight_grad: dw[e] = sum over e's slots of scale * lhs(s)^T rhs(s), ragged\n"
                 "(expert_offsets) and expert-choice ([B,E,K], batched and not), lhs and/or rhs\n"
                 "read through a row index or in slot order, f32/f16/bf16 with dw in the data\n"
                 "type or f32, i32/i64 indices, static and dynamic. Edge cases: an empty expert\n"
                 "(zeros), slots outside [offsets[0], offsets[E]) (contribute nothing),\n"
                 "duplicate rows, E = 1.",
                 runs=[RUN_DEFAULT, RUN_NOCHECK])

    def rg(label, dt, out, T, I, J, off, lg, rg_, scale=False, idt="i32", odt="i32",
           dynamic=False, rows=None):
        off = np.asarray(off, np.int64)
        E, R = len(off) - 1, int(max(off[-1], 1)) + 2
        lind = (np.asarray(rows, np.int64) if rows is not None else f.index((R,), T)) if lg else None
        rind = f.index((R,), T) if rg_ else None
        lhs = f.ints((T if lg else R, I), -3, 3)
        rhs = f.ints((T if rg_ else R, J), -3, 3)
        sc = f.ints((R,), -2, 3) if scale else None
        dw = reference.weight_grad(lhs, rhs, lind, rind, off, sc)
        ops = [(lhs, dt)] + ([(lind, idt)] if lg else []) + [(rhs, dt)] + \
            ([(rind, idt)] if rg_ else []) + [(off, odt)] + ([(sc, dt)] if scale else [])
        f.case(label, wg_op(lg, rg_, True, scale), ops, [Result(dw, out)], dynamic=dynamic,
               comment=f"offsets {list(off)}, R = {R} (the last 2 slots uncovered)")

    def ec(label, dt, out, B, T, E, K, I, J, lg, rg_, scale=False, idt="i64", dynamic=False):
        slots = (B, E, K) if B else (E, K)
        tok = (B, T) if B else (T,)
        lind = f.index(slots, T) if lg else None
        rind = f.index(slots, T) if rg_ else None
        lhs = f.ints((tok if lg else slots) + (I,), -3, 3)
        rhs = f.ints((tok if rg_ else slots) + (J,), -3, 3)
        sc = f.ints(slots, -2, 3) if scale else None
        dw = reference.weight_grad(lhs, rhs, lind, rind, None, sc)
        ops = [(lhs, dt)] + ([(lind, idt)] if lg else []) + [(rhs, dt)] + \
            ([(rind, idt)] if rg_ else []) + ([(sc, dt)] if scale else [])
        f.case(label, wg_op(lg, rg_, False, scale), ops, [Result(dw, out)], dynamic=dynamic)

    for dt in ("f32", "f16", "bf16"):
        wide = "f32"
        rg(f"ragged_{dt}_gather_lhs_empty_expert", dt, dt, 5, 3, 4, [0, 3, 3, 6], True, False)
        rg(f"ragged_{dt}_scatter_rhs_scale_i64", dt, wide, 6, 4, 3, [1, 2, 5, 7], False, True,
           scale=True, idt="i64", odt="i64")
        rg(f"ragged_{dt}_dynamic", dt, wide, 4, 3, 5, [0, 2, 4, 4, 7], True, False, dynamic=True)
    rg("ragged_f32_slot_order", "f32", "f32", 1, 3, 33, [0, 4, 6], False, False)
    rg("ragged_bf16_both_gathered_duplicates", "bf16", "f32", 3, 4, 4, [0, 5], True, True,
       rows=[2, 2, 2, 0, 2, 1, 1])
    ec("ec_f32_batched_gather_lhs", "f32", "f32", 2, 5, 3, 4, 3, 5, True, False)
    ec("ec_f16_unbatched_scatter_rhs_scale", "f16", "f32", 0, 6, 3, 2, 4, 3, False, True,
       scale=True, idt="i32")
    ec("ec_bf16_batched_dynamic", "bf16", "bf16", 2, 4, 2, 3, 3, 4, True, False, dynamic=True)
    ec("ec_f32_slot_order_E1", "f32", "f32", 0, 0, 1, 5, 2, 6, False, False)
    return f


def gen_gather_matmul_activation():
    f = TestFile("gather_matmul_activation.mlir",
                 "egs.gather_matmul with the fused epilogue activation silu, gelu (tanh\n"
                 "approximation), swiglu (silu(y[..,:J/2]) * y[..,J/2:], bias added before\n"
                 "the activation) and GPT-OSS's clamped_swiglu, both also with interleaved\n"
                 "gate/up columns, expert-choice and ragged, f32/f16/bf16, static and dynamic.\n"
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
        y = reference.gather_matmul(x, ind, w, b, **act_kwargs(act))
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
        y = reference.gather_matmul(x, rows, w, b, off, **act_kwargs(act))
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
    # Interleaved gate/up (2j, 2j+1) and GPT-OSS's clamped swiglu; limit 2
    # and alpha 1.5 so that the clamps and alpha matter on this data
    # (|h| reaches ~9), the defaults (1.702, 7) once.
    ec("swiglu_il_f32_bias", "swiglu,il", "f32", "f32", 0, 5, 4, 2, 3, 8, "i32", bias="f32")
    ec("clamped_il_f32_bias", "clamped_swiglu,il,alpha=1.5,limit=2.0", "f32", "f32", 0, 5, 4, 2, 3,
       10, "i32", bias="f32")
    ec("clamped_halves_f32_defaults", "clamped_swiglu", "f32", "f32", 2, 4, 4, 2, 2, 6, "i64")
    rg("clamped_il_bf16_ragged_bias", "clamped_swiglu,il,alpha=1.5,limit=2.0", "bf16", "bf16", 6, 4,
       3, 7, 6, "i64", bias="bf16")
    rg("clamped_il_f16_ragged_dynamic_uncovered", "clamped_swiglu,il,limit=2.0", "f16", "f32", 4, 3,
       3, 8, 10, "i32", dynamic=True, off=[2, 3, 3, 6])
    rg("swiglu_il_f32_ragged", "swiglu,il", "f32", "f32", 5, 4, 3, 8, 12, "i32")
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
        out = reference.matmul_scatter(y, ind, w, init, s)
        assert_partial_sums_exact(reference.matmul_scatter(y, ind, w, init, s, abs_terms=True), initdt, label)
        f.case(label, ms_ec_op(bool(scale), det), ops, [Result(out, initdt)], dynamic=dynamic, comment=comment)

    add("f32_batched_i32", "f32", "f32", 2, 4, 4, 5, 3, 2, "i32")
    add("f32_scale_i64_I37", "f32", "f32", 0, 5, 3, 37, 3, 3, "i64", scale="f32")
    add("f32_dynamic_scale_deterministic", "f32", "f32", 2, 3, 3, 4, 2, 3, "i32", scale="f32", dynamic="cast",
        det=True)
    add("f16_init_f32_scale_f16", "f16", "f32", 0, 4, 4, 6, 2, 3, "i32", scale="f16")
    add("f16_batched_dynamic", "f16", "f16", 2, 4, 3, 5, 2, 2, "i64", dynamic="cast")
    add("bf16_batched_scale_bf16", "bf16", "bf16", 2, 4, 3, 4, 2, 2, "i32", scale="bf16")
    add("bf16_init_f32_dynamic_I40", "bf16", "f32", 0, 5, 3, 40, 3, 2, "i64", scale="f32", dynamic="cast")
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
                 "metadata of top-k routing with the routing weights as scale.",
                 runs=[RUN_DEFAULT, RUN_NOCHECK])

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
        out = reference.matmul_scatter(y, rows, w, init, s, off)
        assert_partial_sums_exact(reference.matmul_scatter(y, rows, w, init, s, off, abs_terms=True), initdt,
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
        dynamic="cast")
    add("f16_T1", "f16", "f16", 1, 2, 3, 2, [0, 0, 0, 0], [0, 1, 4], "i32", "i32", scale="f16",
        comment="T = 1: every row into token 0")
    ids = np.array([[1, 0], [2, 1], [1, 2], [0, 1], [2, 0]])
    probs = np.array([[0.75, 0.25], [0.5, 0.5], [1.0, 0.0], [0.25, 0.75], [0.5, 0.5]]) * 2
    rows_r, off_r, map_r = reference.route(ids, 3)
    T, k = ids.shape
    s = np.zeros(T * k)
    for t in range(T):
        for j in range(k):
            s[map_r[j * T + t]] = probs[t, j]
    for dt in ("f32", "bf16"):
        add(f"{dt}_routed_probs_dynamic", dt, dt, 5, 3, 4, 3, rows_r, off_r, "i32", "i32", scale=dt, s=s,
            dynamic="cast", det=(dt == "bf16"), comment="top-2 routing, scale = 2 * routing weight")
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
    ref = reference.matmul_scatter(y, ind, w, init, s)
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
    ref = reference.matmul_scatter(y, rows, w, init, offsets=off)
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


# ----------------------------------------------------------------------------
# permute / unpermute / route
# ----------------------------------------------------------------------------

def readable_rows(T, H):
    """x[t, h] = 10 * (t + 1) + h: the printed x_sorted shows which token it holds."""
    return np.array([[10 * (t + 1) + h for h in range(H)] for t in range(T)], np.float64)


def gen_permute():
    f = TestFile("permute.mlir",
                 "egs.permute (grouped_gemm.ops.permute semantics): x_sorted grouped by expert\n"
                 "in ascending order, (token, choice) order within an expert; row_id_map\n"
                 "[j*T + t]; expert_offsets [E+1]. With and without num_out_tokens (dropped\n"
                 "rows are -1 in row_id_map, offsets count kept rows only), f32/f16/bf16,\n"
                 "i32/i64 ids, static and dynamic; an expert with no tokens, E=1, all tokens to\n"
                 "one expert, k=1, T=1, num_out_tokens = 0 and = T*k. x[t, h] = 10*(t+1) + h.")

    def add(label, dt, ids, E, idt, H=3, R=None, dynamic=False, comment=None):
        ids = np.asarray(ids, np.int64)
        T = ids.shape[0]
        x = readable_rows(T, H)
        xs, rmap, off = reference.permute(x, ids, E, R)
        c = f"ids {ids.tolist()}" + (f"; {comment}" if comment else "")
        f.case(label, template(ir.permute(S(0), S(1), E, out_tokens=R)), [(x, dt), (ids, idt)],
               [Result(xs, dt), Result(rmap, "i32"), Result(off, "i32")], dynamic=dynamic, comment=c)

    ids = np.array([[0, 3], [3, 1], [1, 0], [3, 0], [0, 1], [1, 3]])
    add("f32_empty_expert", "f32", ids, 4, "i32", comment="expert 2 gets no token")
    add("f32_out_tokens_7", "f32", ids, 4, "i32", R=7, comment="keeps 7 of 12 rows")
    add("f32_out_tokens_7_dynamic", "f32", ids, 4, "i64", R=7, dynamic="cast")
    add("f16_dynamic_k3", "f16", f.index((5, 3), 3), 3, "i64", H=4, dynamic=True)
    add("f16_out_tokens_Tk", "f16", f.index((4, 2), 3), 3, "i32", R=8, comment="num_out_tokens = T*k")
    add("bf16_k1", "bf16", f.index((5, 1), 2), 2, "i32", H=5)
    add("bf16_E1", "bf16", np.zeros((3, 2)), 1, "i64", comment="E = 1")
    add("f32_one_expert", "f32", np.full((4, 1), 2), 4, "i64", comment="every token to expert 2")
    add("f16_T1", "f16", [[2, 0]], 3, "i32")
    add("bf16_out_tokens_0", "bf16", [[1, 0], [0, 1], [1, 1]], 2, "i32", R=0,
        comment="everything dropped (x_sorted is empty and not printed)")
    return f


def gen_route():
    f = TestFile("route.mlir",
                 "egs.route: rows (the source token of each slot, in egs.permute's order),\n"
                 "expert_offsets and row_id_map; i32/i64 ids, static and dynamic; an expert\n"
                 "with no tokens, E=1, all tokens to one expert, T=1.")

    def add(label, ids, E, idt, dynamic=False, comment=None):
        ids = np.asarray(ids, np.int64)
        rows, off, rmap = reference.route(ids, E)
        c = f"ids {ids.tolist()}" + (f"; {comment}" if comment else "")
        f.case(label, template(ir.route(S(0), E)), [(ids, idt)],
               [Result(rows, "i32"), Result(off, "i32"), Result(rmap, "i32")], dynamic=dynamic, comment=c)

    add("i32_empty_expert", [[0, 3], [3, 1], [1, 0], [3, 0], [0, 1], [1, 3]], 4, "i32",
        comment="expert 2 gets no token")
    add("i64_dynamic", f.index((5, 3), 3), 3, "i64", dynamic=True)
    add("E1", np.zeros((3, 2)), 1, "i32")
    add("one_expert_i64", np.full((4, 1), 3), 4, "i64")
    add("T1_dynamic", [[1]], 2, "i32", dynamic=True)
    add("k4_E8", f.index((6, 4), 8), 8, "i32")

    # With routing weights: scale[row_id_map[j*T + t]] = weights[t, j].
    def weighted(label, ids, E, idt, wdt, sdt, dynamic=False):
        ids = np.asarray(ids, np.int64)
        rows, off, rmap = reference.route(ids, E)
        w = f.quarters(ids.shape, -2, 2)
        T = ids.shape[0]
        scale = np.zeros(rows.shape[0])
        for t in range(T):
            for j in range(ids.shape[1]):
                scale[rmap[j * T + t]] = w[t, j]
        f.case(label, template(ir.route(S(0), E, weights=S(1))), [(ids, idt), (w, wdt)],
               [Result(rows, "i32"), Result(off, "i32"), Result(rmap, "i32"), Result(scale, sdt)],
               dynamic=dynamic, comment=f"ids {ids.tolist()}")

    weighted("weights_f32", [[0, 3], [3, 1], [1, 0], [3, 0], [0, 1], [1, 3]], 4, "i32", "f32", "f32")
    weighted("weights_bf16_to_f32_dynamic", f.index((5, 3), 3), 3, "i64", "bf16", "f32", dynamic=True)
    weighted("weights_f16_k1", f.index((4, 1), 2), 2, "i32", "f16", "f16")
    return f


def gen_unpermute():
    f = TestFile("unpermute.mlir",
                 "egs.unpermute: out[t,:] = sum_j probs[t,j] * x_sorted[row_id_map[j*T+t], :],\n"
                 "skipping -1 (dropped rows); f32/f16/bf16 (out in the data type or f32),\n"
                 "probs in any float type, i32/i64 maps, static and dynamic; a token whose\n"
                 "choices were all dropped (zero row), k=1, T=1.")

    def add(label, dt, pdt, out, ids, E, R, mdt, H=4, dynamic=False, rmap=None, comment=None):
        ids = np.asarray(ids, np.int64)
        T, k = ids.shape
        if rmap is None:
            _, _, rmap = reference.route(ids, E, R)
        R = R if R is not None else T * k
        xs = f.ints((R, H), -3, 3)
        probs = f.quarters((T, k), -1, 1)
        o = reference.unpermute(xs, rmap, probs)
        f.case(label, template(ir.unpermute(S(0), S(1), S(2))), [(xs, dt), (rmap, mdt), (probs, pdt)],
               [Result(o, out)], dynamic=dynamic,
               comment=f"row_id_map {rmap.tolist()}" + (f"; {comment}" if comment else ""))

    ids = np.array([[0, 2], [2, 1], [1, 0], [2, 2], [0, 1]])
    add("f32_drops", "f32", "f32", "f32", ids, 3, 6, "i32", comment="4 of 10 rows dropped")
    add("f16_out_f32_dynamic", "f16", "f16", "f32", ids, 3, None, "i64", dynamic=True)
    add("bf16_probs_f32_i64", "bf16", "f32", "bf16", f.index((6, 3), 4), 4, None, "i64", H=5)
    add("f32_all_dropped_token", "f32", "f32", "f32", ids, 3, None, "i32",
        rmap=np.array([0, 1, -1, 2, 3, 4, 5, -1, 6, 7]), comment="token 2 lost both choices")
    add("f16_k1", "f16", "f16", "f16", f.index((4, 1), 2), 2, None, "i32")
    add("bf16_T1_dynamic", "bf16", "bf16", "f32", [[1, 0]], 2, None, "i32", H=6, dynamic=True)
    return f


def gen_sinkhorn():
    f = TestFile("sinkhorn.mlir",
                 "egs.sinkhorn: Sinkhorn-Knopp balancing of [T,E] logits (f32/f16/bf16) into\n"
                 "an f32 [T,E] whose columns sum to 1/E; an iteration bound, an early stop\n"
                 "by tolerance, static and dynamic, T=1, E=1, one iteration.")

    def add(label, dt, T, E, iterations, tol=0.0, dynamic=False):
        logits = f.quarters((T, E), -2, 2)
        p, deltas = reference.sinkhorn(round_to(logits, dt), iterations, tol)
        # The stopping iteration must not hang on rounding: no delta within
        # 10% of the tolerance.
        assert all(abs(d - tol) > 0.1 * tol for d in deltas) or tol == 0, deltas
        op = template(ir.sinkhorn(S(0), iterations, tolerance=f"{tol:e}" if tol else None))
        f.case(label, op, [(logits, dt)], [Result(p, "f32", check="close", tol=1e-5)], dynamic=dynamic,
               comment=f"{len(deltas)} iteration(s) run")

    add("f32_converged", "f32", 6, 3, 200)
    add("f32_one_iteration", "f32", 5, 4, 1)
    add("bf16_dynamic", "bf16", 7, 4, 30, dynamic=True)
    add("f16_tolerance_stops_early", "f16", 8, 5, 100, tol=2e-3)
    add("f32_T1", "f32", 1, 4, 10)
    add("f32_E1_dynamic", "f32", 4, 1, 10, dynamic=True)
    return f


# ----------------------------------------------------------------------------
# gather / scatter_add / gather_concat
# ----------------------------------------------------------------------------

def gen_gather():
    f = TestFile("gather.mlir",
                 "egs.gather: numpy.take along `axis` with `batch_dims` shared leading dims,\n"
                 "optionally written in a permuted layout; f32/f16/bf16/i32/i64 data, i32/i64\n"
                 "indices (0-d, 1-d, 2-d), static and dynamic.")

    def add(label, dt, xshape, ishape, idt, axis, batch_dims=0, perm=None, dynamic=False):
        x = f.ints(xshape, -50, 50) if dt in ("i32", "i64", "f32") else f.ints(xshape, -99, 99)
        ind = f.index(ishape, xshape[axis])
        g = reference.gather(x, ind, axis, batch_dims, perm)
        op = template(ir.gather(S(0), S(1), axis, permutation=perm,
                                attrs=[f"batch_dims = {batch_dims}"] if batch_dims else []))
        f.case(label, op, [(x, dt), (ind, idt)], [Result(g, dt)], dynamic=dynamic,
               comment=f"x {list(xshape)}, ind {list(ishape)}")

    add("f32_axis0_dup", "f32", (10, 4), (6,), "i64", 0)
    add("f32_axis0_permuted", "f32", (7, 5), (4,), "i32", 0, perm=[1, 0])
    add("f16_axis1_2d_index", "f16", (3, 8, 4), (2, 3), "i32", 1)
    add("bf16_batch_dims1", "bf16", (2, 6, 3), (2, 4), "i64", 1, batch_dims=1)
    add("bf16_batch_dims1_permuted", "bf16", (2, 6, 3), (2, 4), "i32", 1, batch_dims=1, perm=[2, 0, 1])
    add("i32_permuted_dynamic", "i32", (6, 3), (5,), "i32", 0, perm=[1, 0], dynamic=True)
    add("f32_scalar_index", "f32", (5, 3), (), "i32", 0)
    add("f32_last_axis_permuted", "f32", (2, 3, 6), (4,), "i64", 2, perm=[2, 0, 1])
    add("i64_batch_dims1_axis2", "i64", (2, 3, 5), (2, 4), "i32", 2, batch_dims=1)
    add("f16_batch_dims1_dynamic_permuted", "f16", (3, 5, 2), (3, 2), "i64", 1, batch_dims=1, perm=[1, 2, 0],
        dynamic=True)
    add("f32_axis1_2d_index_permuted", "f32", (2, 5, 3), (2, 2), "i32", 1, perm=[3, 1, 0, 2])
    return f


def gen_scatter_add():
    f = TestFile("scatter_add.mlir",
                 "egs.scatter_add: out = init; out[b.., p.., ind[b.., q..], s..] += src[...];\n"
                 "duplicate indices accumulate. f32/f16/bf16/i32 data, i32/i64 indices, axis,\n"
                 "batch_dims, 2-d indices, static and dynamic.")

    def add(label, dt, init_shape, ishape, idt, axis, batch_dims=0, dynamic=False, ind=None):
        init = f.ints(init_shape, -5, 5)
        if ind is None:
            ind = f.index(ishape, init_shape[axis])
        ind = np.asarray(ind)
        src_shape = reference.gather(np.zeros(init_shape), ind, axis, batch_dims).shape
        src = f.ints(src_shape, -5, 5)
        out = reference.scatter_add(src, ind, init, axis, batch_dims)
        if is_float(dt):
            assert_partial_sums_exact(reference.scatter_add(np.abs(src), ind, np.abs(init), axis, batch_dims), dt, label)
        op = template(ir.scatter_add(S(0), S(1), S(2), axis,
                                     attrs=[f"batch_dims = {batch_dims}"] if batch_dims else []))
        f.case(label, op, [(src, dt), (ind, idt), (init, dt)], [Result(out, dt)], dynamic=dynamic,
               comment=f"init {list(init_shape)}, ind {ind.tolist()}")

    add("f32_axis0_dup", "f32", (5, 4), (7,), "i64", 0)
    add("i32_axis1_2d_index", "i32", (4, 6), (2, 3), "i32", 1)
    add("bf16_batch_dims1", "bf16", (2, 4, 3), (2, 5), "i32", 1, batch_dims=1)
    add("f16_dynamic", "f16", (4, 3), (6,), "i64", 0, dynamic="cast")
    add("f32_all_same_index", "f32", (4, 3), None, "i32", 0, ind=np.full((6,), 1))
    add("i64_axis2_dynamic", "i64", (2, 2, 5), (4,), "i32", 2, dynamic="cast")
    return f


def gen_gather_concat():
    f = TestFile("gather_concat.mlir",
                 "egs.gather_concat: concat_dim(transpose(take(src_s, ind_s, axis), perm_s))\n"
                 "for every source s; f32/f16/bf16/i32, i32/i64 indices, with and without\n"
                 "permutations, 1 to 3 sources, static and dynamic.")

    def add(label, dt, xshapes, ishapes, idts, axis, dim, perms=None, dynamic=False):
        xs = [f.ints(s, -99, 99) for s in xshapes]
        inds = [f.index(i, s[axis]) for s, i in zip(xshapes, ishapes)]
        out = reference.gather_concat(xs, inds, axis, dim, perms)
        n = len(xs)
        op = template(ir.gather_concat([S(i) for i in range(n)], [S(n + i) for i in range(n)], axis,
                                       dim, permutations=perms))
        f.case(label, op, [(x, dt) for x in xs] + [(i, d) for i, d in zip(inds, idts)], [Result(out, dt)],
               dynamic=dynamic, comment=f"sources {[list(s) for s in xshapes]}")

    add("f32_dim1", "f32", [(10, 4), (12, 4)], [(3,), (3,)], ["i32", "i64"], 0, 1)
    add("bf16_dim0", "bf16", [(10, 4), (12, 4)], [(3,), (5,)], ["i32", "i32"], 0, 0)
    add("f16_permutations", "f16", [(10, 4), (12, 4)], [(3,), (5,)], ["i32", "i64"], 0, 1,
        perms=[[1, 0], [1, 0]])
    add("f32_mixed_permutations", "f32", [(10, 4), (12, 3)], [(3,), (4,)], ["i64", "i32"], 0, 1,
        perms=[[0, 1], [1, 0]])
    add("i32_three_sources_dynamic", "i32", [(4, 10), (4, 7), (4, 10)], [(3,), (2,), (2,)],
        ["i32", "i32", "i64"], 1, 1, dynamic=True)
    add("bf16_3d_permuted_dynamic", "bf16", [(2, 5, 3), (2, 6, 3)], [(2,), (4,)], ["i64", "i32"], 1, 2,
        perms=[[2, 0, 1], [2, 0, 1]], dynamic=True)
    add("f32_one_source_2d_index", "f32", [(6, 3)], [(2, 2)], ["i32"], 0, 1, perms=[[2, 0, 1]])
    return f


# ----------------------------------------------------------------------------
# Function boundaries, strided operands, the memref form
# ----------------------------------------------------------------------------

def gen_function_boundary_inplace():
    f = TestFile("function_boundary_inplace.mlir",
                 "Ops that update their init in place (matmul_scatter, scatter_add) inside a\n"
                 "function whose (dynamically shaped) init argument is also its result: one-shot\n"
                 "bufferization writes into the argument and ownership-based deallocation\n"
                 "returns a bufferization.clone of it, which the pipeline must lower.")
    T, I, E, K, J = 4, 5, 3, 2, 3
    y = f.ints((E, K, J), -2, 2)
    w = f.ints((E, J, I), -2, 2)
    init = f.ints((T, I), -3, 3)
    ind = f.index((E, K), T)
    f.case("matmul_scatter_ec_f32", ms_ec_op(), [(y, "f32"), (ind, "i32"), (w, "f32"), (init, "f32")],
           [Result(reference.matmul_scatter(y, ind, w, init), "f32")], dynamic=True)
    rows = f.index((6,), T)
    off = np.array([0, 2, 2, 6])
    y = f.ints((6, J), -2, 2)
    s_ = f.ints((6,), -2, 2)
    f.case("matmul_scatter_ragged_bf16", ms_ragged_op(True),
           [(y, "bf16"), (rows, "i64"), (w, "bf16"), (off, "i32"), (init, "bf16"), (s_, "bf16")],
           [Result(reference.matmul_scatter(y, rows, w, init, s_, off), "bf16")], dynamic=True)
    src = f.ints((6, I), -3, 3)
    f.case("scatter_add_f16", template(ir.scatter_add(S(0), S(1), S(2), 0)),
           [(src, "f16"), (rows, "i32"), (init, "f16")],
           [Result(reference.scatter_add(src, rows, init, 0), "f16")], dynamic=True)
    return f


def gen_strided_operands():
    f = TestFile("strided_operands.mlir",
                 "Operands that are slices of larger tensors (tensor.extract_slice, so strided\n"
                 "memrefs with offsets after bufferization): inner strides other than 1 take\n"
                 "the scalar path of the lowering, row strides other than the row length and\n"
                 "non-zero offsets must be honoured; and a matmul_scatter whose init is a\n"
                 "slice of a larger tensor.")
    T, I, E, K, J = 5, 4, 2, 3, 6
    # x with inner stride 2, w with an offset and padded rows, ind from a slice.
    xs = f.slice(f.ints((T + 1, 2 * I), -3, 3), "f32", [1, 0], [T, I], [1, 2])
    ws = f.slice(f.ints((E + 1, I, J + 3), -3, 3), "f32", [1, 0, 2], [E, I, J], [1, 1, 1])
    inds = f.slice(f.index((E + 2, K + 1), T), "i32", [2, 1], [E, K], [1, 1])
    f.case("gather_matmul_ec_strided_x_offset_w", gm_ec_op(), [xs, inds, ws],
           [Result(reference.gather_matmul(xs.arr, inds.arr, ws.arr), "f32")])
    # w with inner stride 2 (no vectors), bf16, bias slice, J = 40.
    J2 = 40
    x = f.ints((T, I), -3, 3)
    ws2 = f.slice(f.ints((E, I, 2 * J2), -3, 3), "bf16", [0, 0, 1], [E, I, J2], [1, 1, 2])
    bs = f.slice(f.ints((E, J2 + 8), -5, 5), "bf16", [0, 8], [E, J2], [1, 1])
    rows = f.index((7,), T)
    off = np.array([0, 3, 7])
    f.case("gather_matmul_ragged_bf16_strided_w_bias", gm_ragged_op(True),
           [(x, "bf16"), (rows, "i32"), ws2, (off, "i32"), bs],
           [Result(reference.gather_matmul(x, rows, ws2.arr, bs.arr, off), "bf16")])
    # matmul_scatter reading a strided y and w.
    ys = f.slice(f.ints((E, K, 2 * J), -2, 2), "f32", [0, 0, 0], [E, K, J], [1, 1, 2])
    w3 = f.slice(f.ints((E, J, I + 5), -2, 2), "f32", [0, 0, 5], [E, J, I], [1, 1, 1])
    ind = f.index((E, K), T)
    init = f.ints((T, I), -3, 3)
    f.case("matmul_scatter_ec_strided", ms_ec_op(), [ys, (ind, "i64"), w3, (init, "f32")],
           [Result(reference.matmul_scatter(ys.arr, ind, w3.arr, init), "f32")])
    # Gathers from a strided source.
    gx = f.slice(f.ints((8, 9), -50, 50), "f16", [1, 1], [6, 4], [1, 2])
    gi = f.index((5,), 6)
    f.case("gather_strided_permuted", template(ir.gather(S(0), S(1), 0, permutation=[1, 0])), [gx, (gi, "i64")],
           [Result(reference.gather(gx.arr, gi, 0, 0, [1, 0]), "f16")])
    px = f.slice(readable_rows(8, 6), "f32", [2, 1], [5, 3], [1, 2])
    ids = np.array([[1, 0], [0, 2], [2, 2], [1, 1], [0, 1]])
    xs_, rmap, poff = reference.permute(px.arr, ids, 3)
    f.case("permute_strided_x", template(ir.permute(S(0), S(1), 3)), [px, (ids, "i32")],
           [Result(xs_, "f32"), Result(rmap, "i32"), Result(poff, "i32")])

    # matmul_scatter into a slice of a larger tensor, inserted back.
    big = f.ints((T + 2, I + 3), -3, 3)
    cb, tb = f.const(big, "f32")
    sl = f.fresh("s")
    ts = ttype((T, I), "f32")
    f.body.append("")
    f.body.append("  // matmul_scatter_into_slice: init = big[1:1+T, 2:2+I], inserted back into big")
    f.body.append(f"  {sl} = tensor.extract_slice {cb}[1, 2][{T}, {I}][1, 1] : {tb} to {ts}")
    y = f.ints((E, K, J), -2, 2)
    w = f.ints((E, J, I), -2, 2)
    ind = f.index((E, K), T)
    cy, ty = f.const(y, "f32")
    ci, ti = f.const(ind, "i32")
    cw, tw = f.const(w, "f32")
    r = f.fresh("r")
    f.body.append(f"  {r} = egs.matmul_scatter {cy} * {cw} into {sl}[{ci}] : ({ty}, {ti}, {tw}, {ts}) -> {ts}")
    ins = f.fresh("r")
    f.body.append(f"  {ins} = tensor.insert_slice {r} into {cb}[1, 2][{T}, {I}][1, 1] : {ts} into {tb}")
    expect = big.copy()
    expect[1:1 + T, 2:2 + I] = reference.matmul_scatter(y, ind, w, big[1:1 + T, 2:2 + I])
    f.marker("CASE matmul_scatter_into_slice")
    f.emit_print(ins, tb, "f32")
    f.check_print("matmul_scatter_into_slice", expect, "f32")
    return f


class MemrefFile(TestFile):
    def mcase(self, label, op, operands, results, comment=None):
        """An op in the memref (destination) form.

        operands: [(array, dtype, writable)]: read-only operands are
                  bufferization.to_buffer of a constant; writable ones (outs,
                  in-place init) are fresh allocations holding the array.
        results:  [(operand index, Result)]: the expected contents afterwards.
        """
        self.body.append("")
        self.body.append(f"  // {label}" + (f": {comment}" if comment else ""))
        names, types = [], []
        for arr, dt, writable in operands:
            c, t = self.const(arr, dt)
            mt = t.replace("tensor<", "memref<")
            m = self.fresh("m")
            self.body.append(f"  {m} = bufferization.to_buffer {c} read_only : {t} to {mt}")
            if writable:
                a = self.fresh("m")
                self.body.append(f"  {a} = memref.alloc() : {mt}")
                self.body.append(f"  memref.copy {m}, {a} : {mt} to {mt}")
                m = a
            names.append(m)
            types.append(mt)
        self.body.append(f"  {op.format(*names)}")
        self.body.append(f"      : ({', '.join(types)}) -> ()")
        for i, (k, res) in enumerate(results):
            sub = label if len(results) == 1 else f"{label}#{i}"
            t = types[k].replace("memref<", "tensor<")
            v = self.fresh("t")
            self.body.append(f"  {v} = bufferization.to_tensor {names[k]} restrict : {types[k]} to {t}")
            self.marker(f"CASE {sub}")
            self.emit_print(v, t, res.dt)
            self.check_print(sub, res.value, res.dt)


def gen_memref_form():
    f = MemrefFile("memref_form.mlir",
                   "Every op in the memref (destination) form, as bufferization produces it and\n"
                   "as a user may write it: results go to outs(...) buffers, matmul_scatter and\n"
                   "scatter_add accumulate into init in place.")
    T, I, E, K, J = 5, 4, 3, 2, 3
    x = f.ints((2, T, I), -3, 3)
    ind = f.index((2, E, K), T)
    w = f.ints((E, I, J), -3, 3)
    f.mcase("gather_matmul_ec", template(ir.gather_matmul(S(0), S(1), S(2), outs=[S(3)])),
            [(x, "f32", False), (ind, "i32", False), (w, "f32", False), (np.zeros((2, E, K, J)), "f32", True)],
            [(3, Result(reference.gather_matmul(x, ind, w), "f32"))])
    rows = f.index((6,), T)
    off = np.array([0, 2, 2, 6])
    bias = f.ints((E, J), -4, 4)
    f.mcase("gather_matmul_ragged_bias_bf16", template(ir.gather_matmul(S(0), S(1), S(2), offsets=S(3), bias=S(4), outs=[S(5)])),
            [(x[0], "bf16", False), (rows, "i64", False), (w, "bf16", False), (off, "i32", False),
             (bias, "bf16", False), (np.zeros((6, J)), "bf16", True)],
            [(5, Result(reference.gather_matmul(x[0], rows, w, bias, off), "bf16"))])
    y = f.ints((E, K, J), -2, 2)
    w2 = f.ints((E, J, I), -2, 2)
    init = f.ints((T, I), -3, 3)
    f.mcase("matmul_scatter_ec_in_place", template(ir.matmul_scatter(S(0), S(1), S(2), S(3))),
            [(y, "f32", False), (ind[0], "i64", False), (w2, "f32", False), (init, "f32", True)],
            [(3, Result(reference.matmul_scatter(y, ind[0], w2, init), "f32"))])
    yr = f.ints((6, J), -2, 2)
    sc = f.ints((6,), -2, 2)
    f.mcase("matmul_scatter_ragged_in_place_f16", template(ir.matmul_scatter(S(0), S(1), S(2), S(4), offsets=S(3), scale=S(5))),
            [(yr, "f16", False), (rows, "i32", False), (w2, "f16", False), (off, "i32", False), (init, "f16", True),
             (sc, "f16", False)],
            [(4, Result(reference.matmul_scatter(yr, rows, w2, init, sc, off), "f16"))])
    ids = np.array([[1, 0], [0, 2], [2, 2], [1, 1], [0, 1]])
    px = readable_rows(5, 3)
    xs_, rmap, poff = reference.permute(px, ids, 3, 8)
    f.mcase("permute_out_tokens_8", template(ir.permute(S(0), S(1), 3, out_tokens=8, outs=[S(2), S(3), S(4)])),
            [(px, "f32", False), (ids, "i32", False), (np.zeros((8, 3)), "f32", True),
             (np.zeros(10), "i32", True), (np.zeros(4), "i32", True)],
            [(2, Result(xs_, "f32")), (3, Result(rmap, "i32")), (4, Result(poff, "i32"))])
    rrows, roff, rmap2 = reference.route(ids, 3)
    f.mcase("route", template(ir.route(S(0), 3, outs=[S(1), S(2), S(3)])),
            [(ids, "i64", False), (np.zeros(10), "i32", True), (np.zeros(4), "i32", True),
             (np.zeros(10), "i32", True)],
            [(1, Result(rrows, "i32")), (2, Result(roff, "i32")), (3, Result(rmap2, "i32"))])
    xsu = f.ints((8, 3), -3, 3)
    probs = f.quarters((5, 2), -1, 1)
    f.mcase("unpermute", template(ir.unpermute(S(0), S(1), S(2), outs=[S(3)])),
            [(xsu, "bf16", False), (rmap, "i32", False), (probs, "f32", False), (np.zeros((5, 3)), "f32", True)],
            [(3, Result(reference.unpermute(xsu, rmap, probs), "f32"))])
    gx = f.ints((6, 4), -50, 50)
    gi = f.index((3,), 6)
    f.mcase("gather_permuted", template(ir.gather(S(0), S(1), 0, permutation=[1, 0], outs=[S(2)])),
            [(gx, "f32", False), (gi, "i64", False), (np.zeros((4, 3)), "f32", True)],
            [(2, Result(reference.gather(gx, gi, 0, 0, [1, 0]), "f32"))])
    src = f.ints((3, 4), -5, 5)
    f.mcase("scatter_add_in_place", template(ir.scatter_add(S(0), S(1), S(2), 0)),
            [(src, "i32", False), (np.array([1, 4, 1]), "i32", False), (gx, "i32", True)],
            [(2, Result(reference.scatter_add(src, np.array([1, 4, 1]), gx, 0), "i32"))])
    gb = f.ints((5, 4), -50, 50)
    gbi = f.index((2,), 5)
    f.mcase("gather_concat", template(ir.gather_concat([S(0), S(1)], [S(2), S(3)], 0, 0, outs=[S(4)])),
            [(gx, "f32", False), (gb, "f32", False), (gi, "i32", False), (gbi, "i64", False),
             (np.zeros((5, 4)), "f32", True)],
            [(4, Result(reference.gather_concat([gx, gb], [gi, gbi], 0, 0), "f32"))])
    return f


def gen_f32_accumulation():
    f = TestFile("matmul_scatter_f32_accumulation.mlir",
                 "With a bf16/f16 init the sum over all routed rows of a token is formed in f32\n"
                 "and rounded once (EGSOps.td): 256 + 4 x 1 = 260 in bf16, where rounding after\n"
                 "every row would print 256.",
                 runs=[RUN_DEFAULT])
    y = np.ones((4, 1, 1))
    w = np.ones((4, 1, 1))
    ind = np.zeros((4, 1))
    f.case("ec_bf16", ms_ec_op(), [(y, "bf16"), (ind, "i32"), (w, "bf16"), (np.full((1, 1), 256.0), "bf16")],
           [Result(np.full((1, 1), 260.0), "bf16")])
    f.case("ragged_f16", ms_ragged_op(), [(np.ones((4, 1)), "f16"), (np.zeros(4), "i32"), (np.ones((1, 1, 1)), "f16"),
                                          (np.array([0, 4]), "i32"), (np.full((1, 1), 2048.0), "f16")],
           [Result(np.full((1, 1), 2052.0), "f16")])
    return f


def gen_ragged_uncovered():
    f = MemrefFile("gather_matmul_ragged_memref_uncovered.mlir",
                   "Ragged gather_matmul: slots outside [offsets[0], offsets[E]) belong to no\n"
                   "expert and are written as zero, in the memref form too (EGSOps.td). Here y is\n"
                   "prefilled with 7 and slots 0 and 3 belong to no expert.",
                   runs=[RUN_DEFAULT])
    x = np.ones((3, 2))
    w = np.ones((1, 2, 2))
    expect = np.array([[0, 0], [2, 2], [2, 2], [0, 0]])
    f.mcase("ragged_uncovered", template(ir.gather_matmul(S(0), S(1), S(2), offsets=S(3), outs=[S(4)])),
            [(x, "f32", False), (np.zeros(4), "i32", False), (w, "f32", False), (np.array([1, 3]), "i32", False),
             (np.full((4, 2), 7.0), "f32", True)],
            [(4, Result(expect, "f32"))])
    return f


# ----------------------------------------------------------------------------
# Whole MoE layers, upstream-only programs, index errors
# ----------------------------------------------------------------------------

def gen_moe_token_choice():
    f = TestFile("moe_token_choice.mlir",
                 "A token-choice MoE layer (without activation, so that the result is exact)\n"
                 "computed twice from the same top-2 ids and weights, each op feeding the next:\n"
                 "  fused:   route -> ragged gather_matmul (rows) -> ragged matmul_scatter\n"
                 "           (rows, scale = weights per slot)\n"
                 "  classic: permute -> ragged gather_matmul (identity rows) -> ragged\n"
                 "           matmul_scatter into [R,H] (identity rows) -> unpermute\n"
                 "Both must equal out[t] = sum_j probs[t,j] * (x[t] @ w1[e]) @ w2[e], e = ids[t,j].")
    T, k, E, H, F = 6, 2, 3, 4, 5
    ids = np.array([[0, 2], [2, 1], [2, 0], [1, 2], [0, 1], [2, 1]])
    probs = f.quarters((T, k), 0, 1)
    for dt in ("f32", "bf16"):
        x = f.ints((T, H), -2, 2)
        w1 = f.ints((E, H, F), -2, 2)
        w2 = f.ints((E, F, H), -2, 2)
        ref = np.zeros((T, H))
        for t in range(T):
            for j in range(k):
                e = ids[t, j]
                ref[t] += probs[t, j] * ((x[t] @ w1[e]) @ w2[e])
        assert_exact(ref, dt, "moe")
        rows, off, rmap = reference.route(ids, E)
        R = T * k
        scale = np.zeros(R)
        for t in range(T):
            for j in range(k):
                scale[rmap[j * T + t]] = probs[t, j]
        f.body.append("")
        f.body.append(f"  // {dt}")
        cx, tx = f.const(x, dt)
        cids, tids = f.const(ids, "i32")
        cw1, tw1 = f.const(w1, dt)
        cw2, tw2 = f.const(w2, dt)
        cp, tp = f.const(probs, "f32")
        cs, ts = f.const(scale, "f32")
        cz, tz = f.const(np.zeros((T, H)), "f32")
        czr, tzr = f.const(np.zeros((R, H)), dt)
        cid, tid = f.const(np.arange(R), "i32")
        t_r = ttype((R,), "i32")
        t_off = ttype((E + 1,), "i32")
        t_y1 = ttype((R, F), dt)
        t_out = ttype((T, H), "f32")
        t_rh = ttype((R, H), dt)
        b = f.body
        b.append(f"  %rows_{dt}, %off_{dt}, %map_{dt} = egs.route {cids} experts = {E} : ({tids}) -> ({t_r}, {t_off}, {t_r})")
        b.append(f"  %y1_{dt} = egs.gather_matmul {cx}[%rows_{dt}] * {cw1} offsets %off_{dt} : ({tx}, {t_r}, {tw1}, {t_off}) -> {t_y1}")
        b.append(f"  %fused_{dt} = egs.matmul_scatter %y1_{dt} * {cw2} offsets %off_{dt} into {cz}[%rows_{dt}] scale {cs}"
                 f" : ({t_y1}, {t_r}, {tw2}, {t_off}, {tz}, {ts}) -> {t_out}")
        b.append(f"  %xs_{dt}, %pmap_{dt}, %poff_{dt} = egs.permute {cx} by {cids} experts = {E} : ({tx}, {tids}) -> ({ttype((R, H), dt)}, {t_r}, {t_off})")
        b.append(f"  %py1_{dt} = egs.gather_matmul %xs_{dt}[{cid}] * {cw1} offsets %poff_{dt} : ({ttype((R, H), dt)}, {t_r}, {tw1}, {t_off}) -> {t_y1}")
        b.append(f"  %py2_{dt} = egs.matmul_scatter %py1_{dt} * {cw2} offsets %poff_{dt} into {czr}[{cid}]"
                 f" : ({t_y1}, {t_r}, {tw2}, {t_off}, {t_rh}) -> {t_rh}")
        b.append(f"  %classic_{dt} = egs.unpermute %py2_{dt}[%pmap_{dt}] * {cp} : ({t_rh}, {t_r}, {tp}) -> {t_out}")
        for what in ("fused", "classic"):
            label = f"{what}_{dt}"
            f.marker(f"CASE {label}")
            f.emit_print(f"%{what}_{dt}", t_out, "f32")
            f.check_print(label, ref, "f32")
        # The routing metadata of route and permute must agree.
        for nm, val in ((f"rows_{dt}", rows), (f"off_{dt}", off), (f"map_{dt}", rmap), (f"pmap_{dt}", rmap),
                        (f"poff_{dt}", off)):
            f.marker(f"CASE {nm}")
            f.emit_print(f"%{nm}", ttype(val.shape, "i32"), "i32")
            f.check_print(nm, val, "i32")
    return f


def gen_upstream():
    f = TestFile("upstream_linalg.mlir",
                 "Programs with no egs op, as a frontend (torch-mlir, StableHLO) emits them: a\n"
                 "gather written as linalg.generic + tensor.extract with arith.index_cast,\n"
                 "followed by linalg.matmul / linalg.batch_matmul / an einsum linalg.generic;\n"
                 "and the outs-only clamping gather. Run through egs-runner --target=cpu.",
                 runs=["// RUN: egs-runner --target=cpu %s -e main --entry-point-result=void | FileCheck %s --enable-var-scope"])
    b = f.body

    # 1. torch.index_select-style gather + linalg.matmul (f32, i64 indices).
    T, I, R, J = 9, 6, 5, 4
    x = f.ints((T, I), -3, 3)
    ind = f.index((R,), T)
    w = f.ints((I, J), -3, 3)
    ref = x[ind] @ w
    cx, tx = f.const(x, "f32")
    ci, ti = f.const(ind, "i64")
    cw, tw = f.const(w, "f32")
    b += [
        "",
        "  // 1. index_select gather (linalg.generic + tensor.extract) then linalg.matmul",
        f"  %g1_e = tensor.empty() : tensor<{R}x{I}xf32>",
        "  %g1 = linalg.generic {indexing_maps = [affine_map<(r, i) -> (r)>, affine_map<(r, i) -> (r, i)>],",
        "                       iterator_types = [\"parallel\", \"parallel\"]}",
        f"      ins({ci} : {ti}) outs(%g1_e : tensor<{R}x{I}xf32>) {{",
        "  ^bb0(%t: i64, %o: f32):",
        "    %ti = arith.index_cast %t : i64 to index",
        "    %i = linalg.index 1 : index",
        f"    %v = tensor.extract {cx}[%ti, %i] : {tx}",
        "    linalg.yield %v : f32",
        f"  }} -> tensor<{R}x{I}xf32>",
        "  %zero = arith.constant 0.0 : f32",
        f"  %m1_e = tensor.empty() : tensor<{R}x{J}xf32>",
        f"  %m1_z = linalg.fill ins(%zero : f32) outs(%m1_e : tensor<{R}x{J}xf32>) -> tensor<{R}x{J}xf32>",
        f"  %m1 = linalg.matmul ins(%g1, {cw} : tensor<{R}x{I}xf32>, {tw}) outs(%m1_z : tensor<{R}x{J}xf32>) -> tensor<{R}x{J}xf32>",
    ]
    f.marker("CASE gather_matmul")
    f.emit_print("%m1", f"tensor<{R}x{J}xf32>", "f32")
    f.check_print("gather_matmul", ref, "f32")

    # 2. Expert-choice: gather [E,K,I] with ind [E,K] (i32), linalg.batch_matmul with w [E,I,J].
    T, I, E, K, J = 7, 5, 3, 2, 4
    x = f.ints((T, I), -3, 3)
    ind = f.index((E, K), T)
    w = f.ints((E, I, J), -3, 3)
    ref = reference.gather_matmul(x, ind, w)
    cx, tx = f.const(x, "f32")
    ci, ti = f.const(ind, "i32")
    cw, tw = f.const(w, "f32")
    g = f"tensor<{E}x{K}x{I}xf32>"
    o = f"tensor<{E}x{K}x{J}xf32>"
    b += [
        "",
        "  // 2. expert-choice gather then linalg.batch_matmul (batch = expert)",
        f"  %g2_e = tensor.empty() : {g}",
        "  %g2 = linalg.generic {indexing_maps = [affine_map<(e, k, i) -> (e, k)>, affine_map<(e, k, i) -> (e, k, i)>],",
        "                       iterator_types = [\"parallel\", \"parallel\", \"parallel\"]}",
        f"      ins({ci} : {ti}) outs(%g2_e : {g}) {{",
        "  ^bb0(%t: i32, %o: f32):",
        "    %ti = arith.index_cast %t : i32 to index",
        "    %i = linalg.index 2 : index",
        f"    %v = tensor.extract {cx}[%ti, %i] : {tx}",
        "    linalg.yield %v : f32",
        f"  }} -> {g}",
        f"  %m2_e = tensor.empty() : {o}",
        f"  %m2_z = linalg.fill ins(%zero : f32) outs(%m2_e : {o}) -> {o}",
        f"  %m2 = linalg.batch_matmul ins(%g2, {cw} : {g}, {tw}) outs(%m2_z : {o}) -> {o}",
    ]
    f.marker("CASE gather_batch_matmul")
    f.emit_print("%m2", o, "f32")
    f.check_print("gather_batch_matmul", ref, "f32")

    # 3. Batched expert-choice with the einsum beki,eij->bekj as a linalg.generic, bf16 data, f32 acc.
    B, T, I, E, K, J = 2, 5, 3, 2, 3, 4
    x = f.ints((B, T, I), -3, 3)
    ind = f.index((B, E, K), T)
    w = f.ints((E, I, J), -3, 3)
    ref = reference.gather_matmul(x, ind, w)
    cx, tx = f.const(x, "bf16")
    ci, ti = f.const(ind, "i64")
    cw, tw = f.const(w, "bf16")
    g = f"tensor<{B}x{E}x{K}x{I}xbf16>"
    o = f"tensor<{B}x{E}x{K}x{J}xf32>"
    b += [
        "",
        "  // 3. batched gather, then the contraction beki,eij->bekj as linalg.generic (bf16 in, f32 acc)",
        f"  %g3_e = tensor.empty() : {g}",
        "  %g3 = linalg.generic {indexing_maps = [affine_map<(b, e, k, i) -> (b, e, k)>, affine_map<(b, e, k, i) -> (b, e, k, i)>],",
        "                       iterator_types = [\"parallel\", \"parallel\", \"parallel\", \"parallel\"]}",
        f"      ins({ci} : {ti}) outs(%g3_e : {g}) {{",
        "  ^bb0(%t: i64, %o: bf16):",
        "    %ti = arith.index_cast %t : i64 to index",
        "    %bb = linalg.index 0 : index",
        "    %i = linalg.index 3 : index",
        f"    %v = tensor.extract {cx}[%bb, %ti, %i] : {tx}",
        "    linalg.yield %v : bf16",
        f"  }} -> {g}",
        f"  %m3_e = tensor.empty() : {o}",
        f"  %m3_z = linalg.fill ins(%zero : f32) outs(%m3_e : {o}) -> {o}",
        "  %m3 = linalg.generic {indexing_maps = [affine_map<(b, e, k, j, i) -> (b, e, k, i)>,",
        "                                         affine_map<(b, e, k, j, i) -> (e, i, j)>,",
        "                                         affine_map<(b, e, k, j, i) -> (b, e, k, j)>],",
        "                        iterator_types = [\"parallel\", \"parallel\", \"parallel\", \"parallel\", \"reduction\"]}",
        f"      ins(%g3, {cw} : {g}, {tw}) outs(%m3_z : {o}) {{",
        "  ^bb0(%a: bf16, %c: bf16, %acc: f32):",
        "    %af = arith.extf %a : bf16 to f32",
        "    %cf = arith.extf %c : bf16 to f32",
        "    %p = arith.mulf %af, %cf : f32",
        "    %s = arith.addf %acc, %p : f32",
        "    linalg.yield %s : f32",
        f"  }} -> {o}",
    ]
    f.marker("CASE gather_einsum_bf16")
    f.emit_print("%m3", o, "f32")
    f.check_print("gather_einsum_bf16", ref, "f32")

    # 4. StableHLO-style outs-only gather with clamping (indices out of range clamp to T-1 / 0),
    #    dynamic shapes, then linalg.matmul.
    T, I, R, J = 6, 4, 5, 3
    x = f.ints((T, I), -3, 3)
    ind = np.array([2, 9, -4, 5, 0])
    w = f.ints((I, J), -3, 3)
    ref = x[np.clip(ind, 0, T - 1)] @ w
    cx, tx = f.const(x, "f32")
    ci, ti = f.const(ind, "i32")
    cw, tw = f.const(w, "f32")
    b += [
        "",
        "  // 4. outs-only gather with clamped indices (StableHLO lowering style), dynamic shapes",
        f"  %x4 = tensor.cast {cx} : {tx} to tensor<?x?xf32>",
        f"  %i4 = tensor.cast {ci} : {ti} to tensor<?xi32>",
        f"  %w4 = tensor.cast {cw} : {tw} to tensor<?x?xf32>",
        "  %k0 = arith.constant 0 : index",
        "  %k1 = arith.constant 1 : index",
        "  %nt = tensor.dim %x4, %k0 : tensor<?x?xf32>",
        "  %ni = tensor.dim %x4, %k1 : tensor<?x?xf32>",
        "  %nr = tensor.dim %i4, %k0 : tensor<?xi32>",
        "  %nj = tensor.dim %w4, %k1 : tensor<?x?xf32>",
        "  %tmax = arith.subi %nt, %k1 : index",
        "  %g4_e = tensor.empty(%nr, %ni) : tensor<?x?xf32>",
        "  %g4 = linalg.generic {indexing_maps = [affine_map<(r, i) -> (r, i)>], iterator_types = [\"parallel\", \"parallel\"]}",
        "      outs(%g4_e : tensor<?x?xf32>) {",
        "  ^bb0(%o: f32):",
        "    %r = linalg.index 0 : index",
        "    %i = linalg.index 1 : index",
        "    %t = tensor.extract %i4[%r] : tensor<?xi32>",
        "    %ti = arith.index_cast %t : i32 to index",
        "    %lo = arith.maxsi %ti, %k0 : index",
        "    %cl = arith.minsi %lo, %tmax : index",
        "    %v = tensor.extract %x4[%cl, %i] : tensor<?x?xf32>",
        "    linalg.yield %v : f32",
        "  } -> tensor<?x?xf32>",
        "  %m4_e = tensor.empty(%nr, %nj) : tensor<?x?xf32>",
        "  %m4_z = linalg.fill ins(%zero : f32) outs(%m4_e : tensor<?x?xf32>) -> tensor<?x?xf32>",
        "  %m4 = linalg.matmul ins(%g4, %w4 : tensor<?x?xf32>, tensor<?x?xf32>) outs(%m4_z : tensor<?x?xf32>) -> tensor<?x?xf32>",
    ]
    f.marker("CASE clamped_gather_matmul_dynamic")
    f.emit_print("%m4", "tensor<?x?xf32>", "f32")
    f.check_print("clamped_gather_matmul_dynamic", ref, "f32")
    return f


def gen_index_errors():
    """One small program per checked index; each must fail with the message."""
    files = []

    def add(name, summary, consts, op, sig, expect, dynamic=False):
        f = TestFile(f"index_errors/{name}.mlir",
                     summary + "\nWith --check-indices (the default) the runner reports the op, its location,\n"
                     "the operand and the offending value, and exits 1 before the result is used.",
                     runs=["// RUN: not egs-runner %s -e main --entry-point-result=void 2>&1 | FileCheck %s --enable-var-scope"])
        names, types = [], []
        for arr, dt in consts:
            n, t = f.const(np.asarray(arr), dt)
            names.append(n)
            types.append(t)
        f.marker("before")
        ins, outs = sig
        if dynamic:
            dyn_types = [ttype(np.shape(a), dt, True) for a, dt in consts]
            cn = []
            for n, t, d in zip(names, types, dyn_types):
                c = f.fresh("dyn")
                f.body.append(f"  {c} = tensor.cast {n} : {t} to {d}")
                cn.append(c)
            names, types = cn, dyn_types
        f.body.append(f"  %r = {op.format(*names)}")
        f.body.append(f"      : ({', '.join(types)}) -> {outs}")
        first_out = outs.strip("()").split(", ")[0] if outs.startswith("(") else outs
        rname = "%r#0" if outs.startswith("(") else "%r"
        if outs.startswith("("):
            f.body[-2] = f.body[-2].replace("%r =", f"%r:{outs.count(',') + 1} =")
        elt = first_out.rsplit("x", 1)[1].rstrip(">")
        f.emit_print(rname, first_out, elt)
        f.marker("after")
        f.checks += [
            "// CHECK: before",
            "// CHECK-NEXT: egs: index error: " + expect,
            "// CHECK-NOT: after",
        ]
        files.append(f)
        return f

    def loc(name):
        # Filled in by `finish` with the line of the op.
        return f'at loc("{{{{.*}}}}{name}.mlir":@OPLINE@:{{{{[0-9]+}}}})'

    x = np.arange(20).reshape(5, 4).astype(np.float64)
    w = np.ones((3, 4, 2))
    add("gather_matmul_ind_too_large", "egs.gather_matmul expert-choice: ind holds T.",
        [(x, "f32"), ([[0, 1], [5, 2], [3, 4]], "i32"), (w, "f32")],
        gm_ec_op(), (None, "tensor<3x2x2xf32>"),
        f"egs.gather_matmul {loc('gather_matmul_ind_too_large')}: routed token index (operand 'ind'): value 5 is outside [0, 5)")
    add("gather_matmul_ind_negative_batched_dynamic", "egs.gather_matmul expert-choice, batched, dynamic shapes: ind holds -1 (i64).",
        [(x[None], "f32"), ([[[0, 1], [2, 2], [-1, 4]]], "i64"), (w, "f32")],
        gm_ec_op(), (None, "tensor<?x?x?x?xf32>"),
        f"egs.gather_matmul {loc('gather_matmul_ind_negative_batched_dynamic')}: routed token index (operand 'ind'): value -1 is outside [0, 5)",
        dynamic=True)
    add("gather_matmul_rows_huge_i64", "egs.gather_matmul ragged: rows holds 2^40 (i64).",
        [(x, "f32"), ([0, 1, 2, 1 << 40, 4, 0], "i64"), (w, "f32"), ([0, 2, 4, 6], "i32")],
        gm_ragged_op(), (None, "tensor<6x2xf32>"),
        f"egs.gather_matmul {loc('gather_matmul_rows_huge_i64')}: routed token index (operand 'rows'): value 1099511627776 is outside [0, 5)")
    add("gather_matmul_offsets_decreasing", "egs.gather_matmul ragged: malformed expert_offsets (decreasing).",
        [(x, "f32"), ([0, 1, 2, 3, 4, 0], "i32"), (w, "f32"), ([0, 4, 2, 6], "i32")],
        gm_ragged_op(), (None, "tensor<6x2xf32>"),
        f"egs.gather_matmul {loc('gather_matmul_offsets_decreasing')}: expert_offsets (must be non-decreasing): value 2 is outside [4, 7)")
    add("gather_matmul_offsets_past_end", "egs.gather_matmul ragged: malformed expert_offsets (offsets[E] > R).",
        [(x, "f32"), ([0, 1, 2, 3, 4, 0], "i32"), (w, "f32"), ([0, 2, 4, 9], "i64")],
        gm_ragged_op(), (None, "tensor<6x2xf32>"),
        f"egs.gather_matmul {loc('gather_matmul_offsets_past_end')}: expert_offsets[E]: value 9 is outside [0, 7)")
    y = np.ones((6, 2))
    w2 = np.ones((3, 2, 4))
    add("matmul_scatter_offsets_negative", "egs.matmul_scatter ragged: malformed expert_offsets (offsets[0] < 0).",
        [(y, "f32"), ([0, 1, 2, 3, 4, 0], "i32"), (w2, "f32"), ([-2, 2, 4, 6], "i32"), (x, "f32")],
        ms_ragged_op(), (None, "tensor<5x4xf32>"),
        f"egs.matmul_scatter {loc('matmul_scatter_offsets_negative')}: expert_offsets[0]: value -2 is outside [0, 7)")
    add("matmul_scatter_rows", "egs.matmul_scatter ragged: rows holds T (bf16 data).",
        [(y, "bf16"), ([0, 1, 2, 3, 5, 0], "i32"), (w2, "bf16"), ([0, 2, 4, 6], "i32"), (x, "bf16")],
        ms_ragged_op(), (None, "tensor<5x4xbf16>"),
        f"egs.matmul_scatter {loc('matmul_scatter_rows')}: routed token index (operand 'rows'): value 5 is outside [0, 5)")
    add("matmul_scatter_ind", "egs.matmul_scatter expert-choice: ind holds 7 (i64).",
        [(np.ones((3, 2, 2)), "f32"), ([[0, 1], [2, 7], [3, 4]], "i64"), (w2, "f32"), (x, "f32")],
        ms_ec_op(), (None, "tensor<5x4xf32>"),
        f"egs.matmul_scatter {loc('matmul_scatter_ind')}: routed token index (operand 'ind'): value 7 is outside [0, 5)")
    add("permute_expert_id", "egs.permute: an expert id equal to num_experts.",
        [(x, "f16"), ([[0, 1], [2, 3], [1, 0], [3, 1], [2, 0]], "i32")],
        template(ir.permute(S(0), S(1), 3)), (None, "(tensor<10x4xf16>, tensor<10xi32>, tensor<4xi32>)"),
        f"egs.permute {loc('permute_expert_id')}: expert id (operand 'topk_ids'): value 3 is outside [0, 3)")
    add("route_expert_id_negative", "egs.route: a negative expert id (i64).",
        [([[0, 1], [2, 1], [1, -3]], "i64")],
        template(ir.route(S(0), 3)), (None, "(tensor<6xi32>, tensor<4xi32>, tensor<6xi32>)"),
        f"egs.route {loc('route_expert_id_negative')}: expert id (operand 'topk_ids'): value -3 is outside [0, 3)")
    add("unpermute_row_id_map", "egs.unpermute: row_id_map holds R (past x_sorted).",
        [(np.ones((4, 3)), "f32"), ([0, 1, 4, 2, -1, 3], "i32"), (np.ones((3, 2)), "f32")],
        template(ir.unpermute(S(0), S(1), S(2))), (None, "tensor<3x3xf32>"),
        f"egs.unpermute {loc('unpermute_row_id_map')}: row of x_sorted (operand 'row_id_map'): value 4 is outside [0, 4)")
    add("gather_index", "egs.gather: an index equal to the size of the gathered axis (dynamic shapes).",
        [(x, "f32"), ([1, 4, 3], "i64")],
        template(ir.gather(S(0), S(1), 1)), (None, "tensor<?x?xf32>"),
        f"egs.gather {loc('gather_index')}: gather index (operand 'ind'): value 4 is outside [0, 4)",
        dynamic=True)
    add("scatter_add_index", "egs.scatter_add: a negative index.",
        [(np.ones((3, 4)), "f32"), ([1, -1, 3], "i32"), (x, "f32")],
        template(ir.scatter_add(S(0), S(1), S(2), 0)), (None, "tensor<5x4xf32>"),
        f"egs.scatter_add {loc('scatter_add_index')}: scatter index (operand 'ind'): value -1 is outside [0, 5)")
    add("gather_concat_index", "egs.gather_concat: an index past the second source.",
        [(x, "f32"), (np.ones((3, 4)), "f32"), ([0, 4], "i32"), ([2, 3], "i32")],
        template(ir.gather_concat([S(0), S(1)], [S(2), S(3)], 0, 0)), (None, "tensor<4x4xf32>"),
        f"egs.gather_concat {loc('gather_concat_index')}: gather index (index operand #1): value 3 is outside [0, 3)")
    return files


def finish_index_error(f):
    """Replace @OPLINE@ with the line of the op under test."""
    text = f.text()
    lines = text.split("\n")
    opline = next(i for i, l in enumerate(lines) if l.startswith("  %r") and "egs." in l) + 1
    return text.replace("@OPLINE@", str(opline))


# ----------------------------------------------------------------------------

def all_files():
    files = [gen_gather_matmul_ec(dt) for dt in ("f32", "f16", "bf16")]
    files += [gen_gather_matmul_bias(), gen_gather_matmul_ragged(), gen_gather_matmul_activation(),
              gen_matmul_scatter_ec(), gen_matmul_scatter_ragged(), gen_matmul_scatter_deterministic(),
              gen_permute(), gen_route(), gen_unpermute(), gen_gather(), gen_scatter_add(),
              gen_gather_concat(), gen_moe_token_choice(), gen_upstream(), gen_function_boundary_inplace(),
              gen_strided_operands(), gen_memref_form(), gen_f32_accumulation(), gen_ragged_uncovered(),
              gen_weight_grad(), gen_transposed_weights(), gen_sinkhorn()]
    return files


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else HERE
    written = []
    for f in all_files():
        written.append(f.write(outdir))
    for f in gen_index_errors():
        path = os.path.join(outdir, f.name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(finish_index_error(f))
        written.append(path)
    print(f"wrote {len(written)} files under {outdir}")


if __name__ == "__main__":
    main()
