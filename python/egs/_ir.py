"""The MLIR text of the egs ops, built in one place (syntax: docs/UserGuide.md).

Pure Python with no imports from the package: scripts that need op text
without the compiled extension (scripts/gpu-check/gen_check_kernels.py) load
this file by path. Operands are SSA names with their `%`; every op takes its
destinations in `outs(...)` when `outs` is given (the memref form) and
returns its results otherwise (the tensor form); `attrs` are the entries of
the op's trailing attribute dictionary ("deterministic", "tile = ...",
activation_attrs()).
"""


def memref(shape, dtype, strided=False):
    """A memref type; None (or "?") in `shape` is a dynamic dim. `strided`:
    dynamic strides and offset, so that any view of the data may be passed."""
    dims = "".join(("?" if d is None else str(d)) + "x" for d in shape)
    if not strided:
        return f"memref<{dims}{dtype}>"
    strides = ", ".join(["?"] * len(shape))
    return f"memref<{dims}{dtype}, strided<[{strides}], offset: ?>>"


def func(name, operands, op, attributes=()):
    """func.func @name over the (name, type) `operands` (names without `%`)
    whose body is the one op `op` (memref form: no results) and a return.
    `attributes`: the function's attribute entries (e.g.
    "llvm.emit_c_interface")."""
    args = ", ".join(f"%{n}: {t}" for n, t in operands)
    types = ", ".join(t for _, t in operands)
    attrs = f" attributes {{{', '.join(attributes)}}}" if attributes else ""
    return (f"func.func @{name}({args}){attrs} {{\n"
            f"  {op} : ({types}) -> ()\n"
            f"  return\n"
            f"}}")


def _tail(outs, attrs):
    """` outs(...)` (memref form) and the attribute dictionary."""
    text = f" outs({', '.join(outs)})" if outs else ""
    return text + (f" {{{', '.join(attrs)}}}" if attrs else "")


def activation_attrs(activation, interleaved=False, alpha=None, limit=None):
    """gather_matmul's attribute entries for an epilogue activation (none
    for None); alpha and limit are f32 literals as text (e.g. "1.5" or
    "0x3FC00000")."""
    if not activation:
        return []
    attrs = [f"activation = #egs.activation<{activation}>"]
    attrs += [f"alpha = {alpha} : f32"] if alpha else []
    attrs += [f"limit = {limit} : f32"] if limit else []
    return attrs + (["interleaved"] if interleaved else [])


def gather_matmul(x, ind, w, *, offsets=None, bias=None, transposed=False, outs=(), attrs=()):
    """egs.gather_matmul: expert-choice, or ragged with `offsets` (ind = rows)."""
    return (f"egs.gather_matmul {x}[{ind}] * {w}" + (" transposed" if transposed else "")
            + (f" offsets {offsets}" if offsets else "") + (f" + {bias}" if bias else "")
            + _tail(outs, attrs))


def matmul_scatter(y, ind, w, init, *, offsets=None, scale=None, transposed=False, attrs=()):
    """egs.matmul_scatter; the memref form accumulates into `init` in place."""
    return (f"egs.matmul_scatter {y} * {w}" + (" transposed" if transposed else "")
            + (f" offsets {offsets}" if offsets else "") + f" into {init}[{ind}]"
            + (f" scale {scale}" if scale else "") + _tail((), attrs))


def weight_grad(lhs, rhs, *, lhs_ind=None, rhs_ind=None, offsets=None, scale=None, outs=(),
                attrs=()):
    """egs.weight_grad: lhs and rhs each read in slot order or through an index."""
    return (f"egs.weight_grad {lhs}" + (f"[{lhs_ind}]" if lhs_ind else "") + f" * {rhs}"
            + (f"[{rhs_ind}]" if rhs_ind else "") + (f" offsets {offsets}" if offsets else "")
            + (f" scale {scale}" if scale else "") + _tail(outs, attrs))


def permute(x, topk_ids, experts, *, out_tokens=None, outs=()):
    """egs.permute; outs = (x_sorted, row_id_map, offsets)."""
    return (f"egs.permute {x} by {topk_ids} experts = {experts}"
            + (f" out_tokens = {out_tokens}" if out_tokens is not None else "") + _tail(outs, ()))


def unpermute(x_sorted, row_id_map, probs, *, outs=()):
    """egs.unpermute."""
    return f"egs.unpermute {x_sorted}[{row_id_map}] * {probs}" + _tail(outs, ())


def route(topk_ids, experts, *, weights=None, outs=()):
    """egs.route; outs = (rows, offsets, row_id_map[, scale with weights])."""
    return (f"egs.route {topk_ids} experts = {experts}" + (f" weights {weights}" if weights else "")
            + _tail(outs, ()))


def sinkhorn(logits, iterations, *, tolerance=None, outs=()):
    """egs.sinkhorn; `tolerance` is the f32 literal as text (None: no
    tolerance attribute)."""
    return (f"egs.sinkhorn {logits} iterations = {iterations}"
            + (f" tolerance = {tolerance}" if tolerance is not None else "") + _tail(outs, ()))


def gather(x, ind, axis, *, permutation=None, outs=(), attrs=()):
    """egs.gather along `axis`, optionally written in a permuted layout
    (`attrs`: e.g. "batch_dims = 1")."""
    perm = f" permutation = [{', '.join(map(str, permutation))}]" if permutation else ""
    return f"egs.gather {x}[{ind}] axis = {axis}{perm}" + _tail(outs, attrs)


def scatter_add(src, ind, init, axis, *, attrs=()):
    """egs.scatter_add; the memref form accumulates into `init` in place."""
    return f"egs.scatter_add {src} into {init}[{ind}] axis = {axis}" + _tail((), attrs)


def gather_concat(sources, indices, axis, dim, *, permutations=None, outs=()):
    """egs.gather_concat of the gathers of each source by its index,
    optionally each written in a permuted layout."""
    perms = ""
    if permutations is not None:
        perms = " permutations = [" + ", ".join(
            "array<i64: " + ", ".join(map(str, p)) + ">" for p in permutations) + "]"
    return (f"egs.gather_concat ({', '.join(sources)})[{', '.join(indices)}] axis = {axis} "
            f"dim = {dim}{perms}" + _tail(outs, ()))
