#!/usr/bin/env python3
"""Emit the gather-matmul GPU kernel as MLIR (stock MLIR 22 dialects only).

  y[b,e,k,:] = x[b, ind[b,e,k], :] @ w[e]        x:[B,T,I] bf16, ind:[B,E,K] i32,
                                                 w:[E,I,J] bf16, y:[B,E,K,J] f32|bf16

This is the *model* of what the C++ generator has to emit: every shape is dynamic
(memref<?x...>), tile sizes are compile-time constants, the warp tile is fully unrolled.

Kernel structure (one block = BM gathered rows of one (b,e) x BN output columns):
  * grid = (B*E, ceil(K/BM), ceil(J/BN)), block = (WARPS_M*WARPS_N*32)
  * STAGES-deep cp.async pipeline (nvgpu.device_async_copy, 16 B, zero-fill through the
    src-elements operand for every tail: rows k>=K, columns i>=I, j>=J)
  * shared tiles padded by 8 bf16 (16 B) per row -> conflict-free ldmatrix
  * nvgpu.ldmatrix x4 (A, no transpose; B [k][n] with transpose)
  * nvvm.mma.sync m16n8k16 bf16 -> f32   (nvgpu.mma.sync cannot lower bf16 in MLIR 22)
  * guarded epilogue straight from the accumulators (8 B / 4 B stores)

Usage: gen_gather_matmul.py [--bm 64 --bn 64 --bk 32 --wm 32 --wn 32 --stages 3
                             --out f32|bf16 --name NAME] > file.mlir
Several variants can be put in one module with --variants "name:bm:bn:bk:wm:wn:st:out,...".
"""
import argparse
import sys


class Emitter:
    def __init__(self):
        self.lines = []
        self.ind = 0
        self.n = 0

    def tmp(self, prefix="v"):
        self.n += 1
        return f"%{prefix}{self.n}"

    def __call__(self, s):
        self.lines.append("  " * self.ind + s)

    def op(self, rhs, prefix="v"):
        v = self.tmp(prefix)
        self(f"{v} = {rhs}")
        return v


def gen_kernel(e, name, BM, BN, BK, WM, WN, STAGES, OUT, ROWS="e", VEC=8):
    """ROWS="e":  the M dimension of one block is the flattened (b,k) rows routed to ONE expert e
                (M = B*K; w[e] reused by BM rows whatever K is; grid (E*ceil(B*K/BM), 1, ceil(J/BN)))
       ROWS="be": a block covers rows k of one (b,e) (grid (B*E, ceil(K/BM), ceil(J/BN)))."""
    assert BM % WM == 0 and BN % WN == 0 and WM % 16 == 0 and WN % 16 == 0 and BK % 16 == 0
    WARPS_M, WARPS_N = BM // WM, BN // WN
    NT = WARPS_M * WARPS_N * 32
    MT, NTL = WM // 16, WN // 8
    PA, PB = BK + 8, BN + 8  # padded row lengths (elements) of the shared tiles
    A_CH, B_CH = BM * BK // VEC, BK * BN // VEC  # 16-byte chunks per stage
    assert A_CH % NT == 0 and B_CH % NT == 0, "chunks must divide evenly among threads"
    WG = "#gpu.address_space<workgroup>"
    ASH = f"memref<{STAGES}x{BM}x{PA}xbf16, {WG}>"
    BSH = f"memref<{STAGES}x{BK}x{PB}xbf16, {WG}>"
    XT, IT, WT = "memref<?x?x?xbf16>", "memref<?x?x?xi32>", "memref<?x?x?xbf16>"
    YT = f"memref<?x?x?x?x{OUT}>"
    SMEM = STAGES * (BM * PA + BK * PB) * 2
    DYN = SMEM > 48 * 1024  # static shared memory is limited to 48 KB per block
    consts = {}

    def c(v):  # index constants are hoisted to the function entry (dominate every use)
        if v not in consts:
            name = f"%c{v}_i"
            consts[v] = name
            e.lines.insert(const_at, "  " * (e.ind_base + 1) + f"{name} = arith.constant {v} : index")
        return consts[v]

    def reg32(v, r):
        # register r of an ldmatrix result as the i32 that nvvm.mma.sync wants.
        # (a 2-D vector.bitcast vector<4x2xbf16> -> vector<4x1xi32> is NOT lowered in the
        #  gpu.module by the stock pipeline: leaves an unrealized_conversion_cast)
        h = e.op(f"vector.extract {v}[{r}] : vector<2xbf16> from vector<4x2xbf16>")
        return e.op(f"llvm.bitcast {h} : vector<2xbf16> to i32")

    def add(x, y):
        return e.op(f"arith.addi {x}, {y} : index")

    DSM = "memref<0xi8, #gpu.address_space<workgroup>>"
    if DYN:
        # >48 KB: dynamic shared memory through an external 0-size workgroup global, which
        # becomes `.extern .shared .align 16 .b8 egs_dsmem[]` (gpu.dynamic_shared_memory
        # instead lowers to an internal 0-size global that NVPTX demotes to a 1-byte static
        # variable -- works only by accident). The host passes dynamic_shared_memory_size.
        if not getattr(e, "dsmem_declared", False):
            e.lines.insert(e.module_at, "    memref.global \"public\" @egs_dsmem : "
                           f"{DSM} {{alignment = 16}}")
            e.dsmem_declared = True
        e(f"gpu.func @{name}(%x: {XT}, %ind: {IT}, %w: {WT}, %y: {YT})")
    else:
        e(f"gpu.func @{name}(%x: {XT}, %ind: {IT}, %w: {WT}, %y: {YT})")
        e(f"    workgroup(%As: {ASH}, %Bs: {BSH})")
    e(f"    kernel attributes {{known_block_size = array<i32: {NT}, 1, 1>}} {{")
    const_at = len(e.lines)
    e.ind_base = e.ind
    e.ind += 1
    for v in (0, 1, 2, 8, 16, 32, BM, BN, BK):
        c(v)
    if DYN:
        dsm = e.op(f"memref.get_global @egs_dsmem : {DSM}")
        e(f"%As = memref.view {dsm}[{c(0)}][] : {DSM} to {ASH}")
        e(f"%Bs = memref.view {dsm}[{c(STAGES * BM * PA * 2)}][] : {DSM} to {BSH}")
    Bd = e.op(f"memref.dim %x, {c(0)} : {XT}")
    Id = e.op(f"memref.dim %x, {c(2)} : {XT}")
    Ed = e.op(f"memref.dim %w, {c(0)} : {WT}")
    Jd = e.op(f"memref.dim %w, {c(2)} : {WT}")
    Kd = e.op(f"memref.dim %ind, {c(2)} : {IT}")
    tid = e.op("gpu.thread_id x")
    be = e.op("gpu.block_id x")
    by = e.op("gpu.block_id y")
    bz = e.op("gpu.block_id z")
    if ROWS == "be":
        b = e.op(f"arith.divui {be}, {Ed} : index")
        ee = e.op(f"arith.remui {be}, {Ed} : index")
        m0 = e.op(f"arith.muli {by}, {c(BM)} : index")
    else:
        Md = e.op(f"arith.muli {Bd}, {Kd} : index")
        MB = e.op(f"arith.ceildivui {Md}, {c(BM)} : index")
        ee = e.op(f"arith.divui {be}, {MB} : index")
        m0 = e.op(f"arith.muli {e.op(f'arith.remui {be}, {MB} : index')}, {c(BM)} : index")
    n0 = e.op(f"arith.muli {bz}, {c(BN)} : index")

    def rowinfo(row):
        """tile row -> (b, k, valid) of the output/gathered row"""
        r = add(m0, row)
        if ROWS == "be":
            return b, r, e.op(f"arith.cmpi ult, {r}, {Kd} : index")
        ok = e.op(f"arith.cmpi ult, {r}, {Md} : index")
        rr = e.op(f"arith.select {ok}, {r}, {c(0)} : index")
        return e.op(f"arith.divui {rr}, {Kd} : index"), e.op(f"arith.remui {rr}, {Kd} : index"), ok
    warp = e.op(f"arith.divui {tid}, {c(32)} : index")
    lane = e.op(f"arith.remui {tid}, {c(32)} : index")
    wm = e.op(f"arith.divui {warp}, {c(WARPS_N)} : index")
    wn = e.op(f"arith.remui {warp}, {c(WARPS_N)} : index")
    nk = e.op(f"arith.ceildivui {Id}, {c(BK)} : index")

    # ---- per-thread copy descriptors (loop invariant) ----
    a_desc = []  # (smem row, smem col, token row (index), row valid (i1), col offset in tile)
    for r in range(A_CH // NT):
        ch = e.op(f"arith.addi {tid}, {c(r * NT)} : index")
        row = e.op(f"arith.divui {ch}, {c(BK // VEC)} : index")
        col = e.op(f"arith.muli {e.op(f'arith.remui {ch}, {c(BK // VEC)} : index')}, {c(VEC)} : index")
        br, k, ok = rowinfo(row)
        tok = e.tmp()
        e(f"{tok} = scf.if {ok} -> (index) {{")
        e.ind += 1
        t32 = e.op(f"memref.load %ind[{br}, {ee}, {k}] : {IT}")
        ti = e.op(f"arith.index_cast {t32} : i32 to index")
        e(f"scf.yield {ti} : index")
        e.ind -= 1
        e("} else {")
        e(f"  scf.yield {c(0)} : index")
        e("}")
        a_desc.append((row, col, br, tok, ok))
    b_desc = []  # (smem row, smem col)
    for r in range(B_CH // NT):
        ch = e.op(f"arith.addi {tid}, {c(r * NT)} : index")
        row = e.op(f"arith.divui {ch}, {c(BN // VEC)} : index")
        col = e.op(f"arith.muli {e.op(f'arith.remui {ch}, {c(BN // VEC)} : index')}, {c(VEC)} : index")
        j = e.op(f"arith.addi {n0}, {col} : index")
        jn = e.op(f"arith.subi {Jd}, {j} : index")
        jn = e.op(f"arith.maxsi {jn}, {c(0)} : index")
        jn = e.op(f"arith.minsi {jn}, {c(VEC)} : index")  # valid elements along J (0..8)
        b_desc.append((row, col, j, jn))

    def issue(kt, stage, last_tok=None):
        """cp.async one k-tile (kt) into `stage`; returns the group token."""
        k0 = e.op(f"arith.muli {kt}, {c(BK)} : index")
        toks = []
        for (row, col, br, tokrow, ok) in a_desc:
            i = e.op(f"arith.addi {k0}, {col} : index")
            n = e.op(f"arith.subi {Id}, {i} : index")
            n = e.op(f"arith.maxsi {n}, {c(0)} : index")
            n = e.op(f"arith.minsi {n}, {c(VEC)} : index")
            n = e.op(f"arith.select {ok}, {n}, {c(0)} : index")
            has = e.op(f"arith.cmpi sgt, {n}, {c(0)} : index")
            si = e.op(f"arith.select {has}, {i}, {c(0)} : index")  # keep the address in-bounds
            toks.append(e.op(
                f"nvgpu.device_async_copy %x[{br}, {tokrow}, {si}], %As[{stage}, {row}, {col}], "
                f"{VEC}, {n} {{bypassL1}} : {XT} to {ASH}", "t"))
        for (row, col, j, jn) in b_desc:
            i = e.op(f"arith.addi {k0}, {row} : index")
            iok = e.op(f"arith.cmpi ult, {i}, {Id} : index")
            n = e.op(f"arith.select {iok}, {jn}, {c(0)} : index")
            has = e.op(f"arith.cmpi sgt, {n}, {c(0)} : index")
            si = e.op(f"arith.select {has}, {i}, {c(0)} : index")
            sj = e.op(f"arith.select {has}, {j}, {c(0)} : index")
            toks.append(e.op(
                f"nvgpu.device_async_copy %w[{ee}, {si}, {sj}], %Bs[{stage}, {row}, {col}], "
                f"{VEC}, {n} {{bypassL1}} : {WT} to {BSH}", "t"))
        return e.op(f"nvgpu.device_async_create_group {', '.join(toks)}", "g")

    # ---- prologue: STAGES-1 tiles in flight (tiles past the end are pure zero-fill) ----
    g = None
    for s in range(STAGES - 1):
        g = issue(c(s), c(s))

    # ---- accumulators ----
    zero = e.op("arith.constant dense<0.0> : vector<4xf32>", "z")
    acc = [[zero] * NTL for _ in range(MT)]
    accs = [a for row in acc for a in row]
    # lane-dependent ldmatrix offsets
    lrow = e.op(f"arith.remui {lane}, {c(16)} : index")
    lcol = e.op(f"arith.muli {e.op(f'arith.divui {lane}, {c(16)} : index')}, {c(8)} : index")
    wrow = e.op(f"arith.muli {wm}, {c(WM)} : index")
    wcol = e.op(f"arith.muli {wn}, {c(WN)} : index")
    a_row = [e.op(f"arith.addi {wrow}, {e.op(f'arith.addi {lrow}, {c(mi * 16)} : index')} : index")
             for mi in range(MT)]
    b_col = [e.op(f"arith.addi {wcol}, {e.op(f'arith.addi {lcol}, {c(nj * 16)} : index')} : index")
             for nj in range(NTL // 2)]
    k_col = [e.op(f"arith.addi {lcol}, {c(ks * 16)} : index") for ks in range(BK // 16)]  # A cols
    k_row = [e.op(f"arith.addi {lrow}, {c(ks * 16)} : index") for ks in range(BK // 16)]  # B rows

    kt = "%kt"
    accnames = [f"%acc{i}" for i in range(len(accs))]
    iters = ", ".join(f"{n} = {a}" for n, a in zip(accnames, accs))
    types = ", ".join(["vector<4xf32>"] * len(accs))
    res = e.tmp("r")
    e(f"{res}:{len(accs) + 1} = scf.for {kt} = {c(0)} to {nk} step {c(1)} "
      f"iter_args({iters}, %tok = {g}) -> ({types}, !nvgpu.device.async.token) {{")
    e.ind += 1
    e(f"nvgpu.device_async_wait %tok {{numGroups = {STAGES - 2} : i32}}")
    e("gpu.barrier")
    nxt = e.op(f"arith.addi {kt}, {c(STAGES - 1)} : index")
    nst = e.op(f"arith.remui {nxt}, {c(STAGES)} : index")
    g2 = issue(nxt, nst)
    st = e.op(f"arith.remui {kt}, {c(STAGES)} : index")
    cur = [[accnames[mi * NTL + nt] for nt in range(NTL)] for mi in range(MT)]
    for ks in range(BK // 16):
        afr = []
        for mi in range(MT):
            v = e.op(f"nvgpu.ldmatrix %As[{st}, {a_row[mi]}, {k_col[ks]}] "
                     f"{{numTiles = 4 : i32, transpose = false}} : {ASH} -> vector<4x2xbf16>", "a")
            afr.append([reg32(v, r) for r in range(4)])
        bfr = []
        for nj in range(NTL // 2):
            v = e.op(f"nvgpu.ldmatrix %Bs[{st}, {k_row[ks]}, {b_col[nj]}] "
                     f"{{numTiles = 4 : i32, transpose = true}} : {BSH} -> vector<4x2xbf16>", "b")
            regs = [reg32(v, r) for r in range(4)]
            bfr.append(regs[0:2])
            bfr.append(regs[2:4])
        for mi in range(MT):
            for nt in range(NTL):
                a_ = cur[mi][nt]
                cs = [e.op(f"vector.extract {a_}[{r}] : f32 from vector<4xf32>") for r in range(4)]
                d = e.op(
                    f"nvvm.mma.sync A[{', '.join(afr[mi])}] B[{', '.join(bfr[nt])}] C[{', '.join(cs)}] "
                    "{layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, "
                    "multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, "
                    "shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> "
                    "!llvm.struct<(f32, f32, f32, f32)>", "d")
                ds = [e.op(f"llvm.extractvalue {d}[{r}] : !llvm.struct<(f32, f32, f32, f32)>") for r in range(4)]
                cur[mi][nt] = e.op(f"vector.from_elements {', '.join(ds)} : vector<4xf32>")
    e(f"scf.yield {', '.join(cur[mi][nt] for mi in range(MT) for nt in range(NTL))}, {g2} : "
      f"{types}, !nvgpu.device.async.token")
    e.ind -= 1
    e("}")
    e(f"nvgpu.device_async_wait {res}#{len(accs)} {{numGroups = 0 : i32}}")

    # ---- epilogue: c0,c1 -> (row g, cols 2t,2t+1); c2,c3 -> (row g+8, same cols) ----
    g_ = e.op(f"arith.divui {lane}, {c(4)} : index")
    t2 = e.op(f"arith.muli {e.op(f'arith.remui {lane}, {c(4)} : index')}, {c(2)} : index")
    Jodd = e.op(f"arith.remui {Jd}, {c(2)} : index")
    Jeven = e.op(f"arith.cmpi eq, {Jodd}, {c(0)} : index")
    vt = f"vector<2x{OUT}>"
    for mi in range(MT):
        for nt in range(NTL):
            a_ = f"{res}#{mi * NTL + nt}"
            col = add(n0, add(wcol, add(t2, c(nt * 8))))
            col1 = e.op(f"arith.addi {col}, {c(1)} : index")
            c2ok = e.op(f"arith.cmpi ult, {col1}, {Jd} : index")
            vec_ok = e.op(f"arith.andi {c2ok}, {Jeven} : i1")
            c0ok = e.op(f"arith.cmpi ult, {col}, {Jd} : index")
            for h in range(2):
                br, row, rok = rowinfo(add(wrow, add(g_, c(mi * 16 + h * 8))))
                # (vector.extract_strided_slice is NOT lowered inside gpu.module by the stock
                #  pipeline -> use scalar extracts + from_elements)
                h0 = e.op(f"vector.extract {a_}[{2 * h}] : f32 from vector<4xf32>")
                h1 = e.op(f"vector.extract {a_}[{2 * h + 1}] : f32 from vector<4xf32>")
                v2 = e.op(f"vector.from_elements {h0}, {h1} : vector<2xf32>")
                if OUT != "f32":
                    v2 = e.op(f"arith.truncf {v2} : vector<2xf32> to {vt}")
                fast = e.op(f"arith.andi {rok}, {vec_ok} : i1")
                e(f"scf.if {fast} {{")
                e(f"  vector.store {v2}, %y[{br}, {ee}, {row}, {col}] {{alignment = {2 * (4 if OUT == 'f32' else 2)}}} : {YT}, {vt}")
                e("} else {")
                e.ind += 1
                for q, (okq, cq) in enumerate(((c0ok, col), (c2ok, col1))):
                    sq = e.op(f"arith.andi {rok}, {okq} : i1")
                    e(f"scf.if {sq} {{")
                    e.ind += 1
                    xq = e.op(f"vector.extract {v2}[{q}] : {OUT} from {vt}")
                    e(f"memref.store {xq}, %y[{br}, {ee}, {row}, {cq}] : {YT}")
                    e.ind -= 1
                    e("}")
                e.ind -= 1
                e("}")
    e("gpu.return")
    e.ind -= 1
    e("}")
    return dict(NT=NT, XT=XT, IT=IT, WT=WT, YT=YT, ROWS=ROWS, SMEM=SMEM if DYN else 0)


def gen_kernel_simt_f32(e, name, BM, BN, BK, TM, TN, STAGES, ROWS="e", VEC=4):
    """f32 gather-matmul on CUDA cores: same tiling/pipeline skeleton as the mma kernel, each
    thread owns a TM x TN register tile; A read as vector<4xf32> along k, B as vector<TN> along n,
    vector.fma with a broadcast A element."""
    NTX, NTY = BN // TN, BM // TM
    NT = NTX * NTY
    PA, PB = BK + 4, BN + 4  # pad by 16 B
    A_CH, B_CH = BM * BK // VEC, BK * BN // VEC
    assert A_CH % NT == 0 and B_CH % NT == 0 and BK % 4 == 0 and TN % 4 == 0
    WG = "#gpu.address_space<workgroup>"
    ASH = f"memref<{STAGES}x{BM}x{PA}xf32, {WG}>"
    BSH = f"memref<{STAGES}x{BK}x{PB}xf32, {WG}>"
    XT, IT, WT, YT = "memref<?x?x?xf32>", "memref<?x?x?xi32>", "memref<?x?x?xf32>", "memref<?x?x?x?xf32>"
    consts = {}

    def c(v):
        if v not in consts:
            consts[v] = f"%c{v}_i"
            e.lines.insert(const_at, "  " * (e.ind_base + 1) + f"{consts[v]} = arith.constant {v} : index")
        return consts[v]

    def op(s):
        return e.op(s)

    def add(x, y):
        return op(f"arith.addi {x}, {y} : index")

    def clamp8(x):  # clamp(x, 0, VEC): valid source elements of one 16-byte chunk
        return op(f"arith.minsi {op(f'arith.maxsi {x}, {c(0)} : index')}, {c(VEC)} : index")

    e(f"gpu.func @{name}(%x: {XT}, %ind: {IT}, %w: {WT}, %y: {YT})")
    e(f"    workgroup(%As: {ASH}, %Bs: {BSH})")
    e(f"    kernel attributes {{known_block_size = array<i32: {NT}, 1, 1>}} {{")
    const_at = len(e.lines)
    e.ind_base = e.ind
    e.ind += 1
    Id = op(f"memref.dim %x, {c(2)} : {XT}")
    Ed = op(f"memref.dim %w, {c(0)} : {WT}")
    Jd = op(f"memref.dim %w, {c(2)} : {WT}")
    Kd = op(f"memref.dim %ind, {c(2)} : {IT}")
    tid, be, by, bz = op("gpu.thread_id x"), op("gpu.block_id x"), op("gpu.block_id y"), op("gpu.block_id z")
    if ROWS == "be":
        b = op(f"arith.divui {be}, {Ed} : index")
        ee = op(f"arith.remui {be}, {Ed} : index")
        m0 = op(f"arith.muli {by}, {c(BM)} : index")
    else:
        Md = op(f"arith.muli {op(f'memref.dim %x, {c(0)} : {XT}')}, {Kd} : index")
        MB = op(f"arith.ceildivui {Md}, {c(BM)} : index")
        ee = op(f"arith.divui {be}, {MB} : index")
        m0 = op(f"arith.muli {op(f'arith.remui {be}, {MB} : index')}, {c(BM)} : index")

    def rowinfo(row):
        r = add(m0, row)
        if ROWS == "be":
            return b, r, op(f"arith.cmpi ult, {r}, {Kd} : index")
        ok = op(f"arith.cmpi ult, {r}, {Md} : index")
        rr = op(f"arith.select {ok}, {r}, {c(0)} : index")
        return op(f"arith.divui {rr}, {Kd} : index"), op(f"arith.remui {rr}, {Kd} : index"), ok
    n0 = op(f"arith.muli {bz}, {c(BN)} : index")
    tx = op(f"arith.remui {tid}, {c(NTX)} : index")
    ty = op(f"arith.divui {tid}, {c(NTX)} : index")
    nk = op(f"arith.ceildivui {Id}, {c(BK)} : index")
    a_desc, b_desc = [], []
    for r in range(A_CH // NT):
        ch = add(tid, c(r * NT))
        row = op(f"arith.divui {ch}, {c(BK // VEC)} : index")
        col = op(f"arith.muli {op(f'arith.remui {ch}, {c(BK // VEC)} : index')}, {c(VEC)} : index")
        br, k, ok = rowinfo(row)
        tok = e.tmp()
        e(f"{tok} = scf.if {ok} -> (index) {{")
        e.ind += 1
        t32 = op(f"memref.load %ind[{br}, {ee}, {k}] : {IT}")
        e(f"scf.yield {op(f'arith.index_cast {t32} : i32 to index')} : index")
        e.ind -= 1
        e("} else {")
        e(f"  scf.yield {c(0)} : index")
        e("}")
        a_desc.append((row, col, br, tok, ok))
    for r in range(B_CH // NT):
        ch = add(tid, c(r * NT))
        row = op(f"arith.divui {ch}, {c(BN // VEC)} : index")
        col = op(f"arith.muli {op(f'arith.remui {ch}, {c(BN // VEC)} : index')}, {c(VEC)} : index")
        j = add(n0, col)
        jn = clamp8(op(f"arith.subi {Jd}, {j} : index"))
        b_desc.append((row, col, j, jn))

    def issue(kt, stage):
        k0 = op(f"arith.muli {kt}, {c(BK)} : index")
        toks = []
        for (row, col, br, tokrow, ok) in a_desc:
            i = add(k0, col)
            n = clamp8(op(f"arith.subi {Id}, {i} : index"))
            n = op(f"arith.select {ok}, {n}, {c(0)} : index")
            pos = op(f"arith.cmpi sgt, {n}, {c(0)} : index")
            si = op(f"arith.select {pos}, {i}, {c(0)} : index")
            toks.append(e.op(f"nvgpu.device_async_copy %x[{br}, {tokrow}, {si}], %As[{stage}, {row}, {col}], "
                             f"{VEC}, {n} {{bypassL1}} : {XT} to {ASH}", "t"))
        for (row, col, j, jn) in b_desc:
            i = add(k0, row)
            n = op(f"arith.select {op(f'arith.cmpi ult, {i}, {Id} : index')}, {jn}, {c(0)} : index")
            has = op(f"arith.cmpi sgt, {n}, {c(0)} : index")
            si = op(f"arith.select {has}, {i}, {c(0)} : index")
            sj = op(f"arith.select {has}, {j}, {c(0)} : index")
            toks.append(e.op(f"nvgpu.device_async_copy %w[{ee}, {si}, {sj}], %Bs[{stage}, {row}, {col}], "
                             f"{VEC}, {n} {{bypassL1}} : {WT} to {BSH}", "t"))
        return e.op(f"nvgpu.device_async_create_group {', '.join(toks)}", "g")

    g = None
    for s_ in range(STAGES - 1):
        g = issue(c(s_), c(s_))
    VT = f"vector<{TN}xf32>"
    zero = e.op(f"arith.constant dense<0.0> : {VT}", "z")
    arow = [add(op(f"arith.muli {ty}, {c(TM)} : index"), c(tm)) for tm in range(TM)]
    bcol = op(f"arith.muli {tx}, {c(TN)} : index")
    names = [f"%acc{i}" for i in range(TM)]
    res = e.tmp("r")
    e(f"{res}:{TM + 1} = scf.for %kt = {c(0)} to {nk} step {c(1)} iter_args("
      + ", ".join(f"{n} = {zero}" for n in names) + f", %tok = {g}) -> ("
      + ", ".join([VT] * TM) + ", !nvgpu.device.async.token) {")
    e.ind += 1
    e(f"nvgpu.device_async_wait %tok {{numGroups = {STAGES - 2} : i32}}")
    e("gpu.barrier")
    nxt = add("%kt", c(STAGES - 1))
    g2 = issue(nxt, op(f"arith.remui {nxt}, {c(STAGES)} : index"))
    st = op(f"arith.remui %kt, {c(STAGES)} : index")
    cur = list(names)
    for kq in range(BK // 4):
        av = [op(f"vector.load %As[{st}, {arow[tm]}, {c(kq * 4)}] {{alignment = 16}} : {ASH}, vector<4xf32>")
              for tm in range(TM)]
        for kk in range(4):
            bv = op(f"vector.load %Bs[{st}, {c(kq * 4 + kk)}, {bcol}] {{alignment = 16}} : {BSH}, {VT}")
            for tm in range(TM):
                a_s = op(f"vector.extract {av[tm]}[{kk}] : f32 from vector<4xf32>")
                a_b = op(f"vector.broadcast {a_s} : f32 to {VT}")
                cur[tm] = op(f"vector.fma {a_b}, {bv}, {cur[tm]} : {VT}")
    e(f"scf.yield {', '.join(cur)}, {g2} : {', '.join([VT] * TM)}, !nvgpu.device.async.token")
    e.ind -= 1
    e("}")
    e(f"nvgpu.device_async_wait {res}#{TM} {{numGroups = 0 : i32}}")
    col = add(n0, bcol)
    colv = op(f"arith.addi {col}, {c(TN)} : index")
    jrem = op(f"arith.remui {Jd}, {c(4)} : index")
    j4 = op(f"arith.cmpi eq, {jrem}, {c(0)} : index")
    vok = op(f"arith.andi {op(f'arith.cmpi ule, {colv}, {Jd} : index')}, {j4} : i1")
    for tm in range(TM):
        br, row, rok = rowinfo(arow[tm])
        e(f"scf.if {rok} {{")
        e.ind += 1
        e(f"scf.if {vok} {{")
        e(f"  vector.store {res}#{tm}, %y[{br}, {ee}, {row}, {col}] {{alignment = 16}} : {YT}, {VT}")
        e("} else {")
        e.ind += 1
        for tn in range(TN):
            cj = add(col, c(tn))
            e(f"scf.if {op(f'arith.cmpi ult, {cj}, {Jd} : index')} {{")
            e(f"  {(xv := e.tmp())} = vector.extract {res}#{tm}[{tn}] : f32 from {VT}")
            e(f"  memref.store {xv}, %y[{br}, {ee}, {row}, {cj}] : {YT}")
            e("}")
        e.ind -= 1
        e("}")
        e.ind -= 1
        e("}")
    e("gpu.return")
    e.ind -= 1
    e("}")
    return dict(NT=NT, XT=XT, IT=IT, WT=WT, YT=YT, ROWS=ROWS, SMEM=0)


def gen_unpermute(e, name, TOPK, OUT, NT=128):
    """out[t,:] = sum_j probs[t,j] * xs[row_id_map[j*T+t], :]   (row id < 0: dropped, skipped)
    probs [T,TOPK] f32, row_id_map [TOPK*T] i32, xs [N,H] bf16, out [T,H] OUT.
    grid (T, ceil(H/(NT*8))); one 16-byte chunk (8 bf16) per thread; TOPK static (unrolled) so
    all TOPK 16-byte loads are in flight before the first use. Needs H % 8 == 0."""
    PT, RT, XT, OT = "memref<?x?xf32>", "memref<?xi32>", "memref<?x?xbf16>", f"memref<?x?x{OUT}>"
    consts = {}

    def c(v):
        if v not in consts:
            consts[v] = f"%c{v}_i"
            e.lines.insert(const_at, "  " * (e.ind_base + 1) + f"{consts[v]} = arith.constant {v} : index")
        return consts[v]

    op = e.op
    e(f"gpu.func @{name}(%probs: {PT}, %rid: {RT}, %xs: {XT}, %out: {OT}) "
      f"kernel attributes {{known_block_size = array<i32: {NT}, 1, 1>}} {{")
    const_at = len(e.lines)
    e.ind_base = e.ind
    e.ind += 1
    T = op(f"memref.dim %probs, {c(0)} : {PT}")
    H = op(f"memref.dim %xs, {c(1)} : {XT}")
    t = op("gpu.block_id x")
    hb = op("gpu.block_id y")
    tid = op("gpu.thread_id x")
    hb0 = op(f"arith.muli {hb}, {c(NT)} : index")
    h = op(f"arith.muli {op(f'arith.addi {hb0}, {tid} : index')}, {c(8)} : index")
    ok = op(f"arith.cmpi ult, {h}, {H} : index")
    e(f"scf.if {ok} {{")
    e.ind += 1
    zf = op("arith.constant 0.0 : f32")
    i0 = op("arith.constant 0 : i32")
    ps, rows = [], []
    for j in range(TOPK):
        p = op(f"memref.load %probs[{t}, {c(j)}] : {PT}")
        tj = op(f"arith.muli {T}, {c(j)} : index")
        r = op(f"memref.load %rid[{op(f'arith.addi {tj}, {t} : index')}] : {RT}")
        valid = op(f"arith.cmpi sge, {r}, {i0} : i32")
        ps.append(op(f"arith.select {valid}, {p}, {zf} : f32"))
        rs = op(f"arith.select {valid}, {r}, {i0} : i32")
        rows.append(op(f"arith.index_cast {rs} : i32 to index"))
    vs = [op(f"vector.load %xs[{rows[j]}, {h}] {{alignment = 16}} : {XT}, vector<8xbf16>") for j in range(TOPK)]
    acc = op("arith.constant dense<0.0> : vector<8xf32>")
    for j in range(TOPK):
        vf = op(f"arith.extf {vs[j]} : vector<8xbf16> to vector<8xf32>")
        pb = op(f"vector.broadcast {ps[j]} : f32 to vector<8xf32>")
        acc = op(f"vector.fma {pb}, {vf}, {acc} : vector<8xf32>")
    if OUT != "f32":
        acc = op(f"arith.truncf {acc} : vector<8xf32> to vector<8x{OUT}>")
    e(f"vector.store {acc}, %out[{t}, {h}] {{alignment = 16}} : {OT}, vector<8x{OUT}>")
    e.ind -= 1
    e("}")
    e("gpu.return")
    e.ind -= 1
    e("}")
    return dict(NT=NT, PT=PT, RT=RT, XT=XT, OT=OT)


def emit_host(e, name, kname, args, dims, grid, NT, SMEM=0):
    """Host entry points: `name` (launch + sync) and `name`_bench (iters async launches on one
    stream, one sync). args: [(ssa, type)], dims: [(ssa, src ssa, dim, type)], grid: 3 lines
    computing %gx %gy %gz from the dims."""
    for bench in (False, True):
        fn = name + ("_bench" if bench else "")
        extra = ", %iters: index" if bench else ""
        sig = ", ".join(f"{a}: {t}" for a, t in args)
        e(f"func.func @{fn}({sig}{extra}) attributes {{llvm.emit_c_interface}} {{")
        e.ind += 1
        for v in (0, 1, 2):
            e(f"%c{v} = arith.constant {v} : index")
        e(f"%cnt = arith.constant {NT} : index")
        for ssa, src, d, t in dims:
            e(f"{ssa} = memref.dim {src}, %c{d} : {t}")
        for g in grid:
            e(g)
        if SMEM:
            e(f"%smem = arith.constant {SMEM} : i32")
        dyn = " dynamic_shared_memory_size %smem" if SMEM else ""
        launch = (f"@kernels::@{kname} blocks in (%gx, %gy, %gz) threads in (%cnt, %c1, %c1){dyn} "
                  f"args({', '.join(f'{a} : {t}' for a, t in args)})")
        if not bench:
            e(f"gpu.launch_func {launch}")
        else:
            # NB: a !gpu.async.token cannot be an scf.for iter_arg here (convert-nvgpu-to-nvvm
            # runs first and rejects the scf.for it cannot type-convert). So iters-1 launches
            # depend on the same token %t0 (gpu-to-llvm puts every launch on %t0's stream, in
            # order), and a last launch outside the loop yields the token that gpu.wait waits
            # for. `gpu.wait [%t0]` would NOT do: %t0 = `gpu.wait async` has no dependencies,
            # so the canonicalizer erases the wait on it and nothing synchronises.
            e("%t0 = gpu.wait async")
            e("%n1 = arith.subi %iters, %c1 : index")
            e("scf.for %it = %c0 to %n1 step %c1 {")
            e(f"  %t1 = gpu.launch_func async [%t0] {launch}")
            e("}")
            e(f"%tl = gpu.launch_func async [%t0] {launch}")
            e("gpu.wait [%tl]")
        e("return")
        e.ind -= 1
        e("}")


def gm_host(e, name, kname, BM, BN, NT, XT, IT, WT, YT, ROWS, SMEM):
    if ROWS == "be":
        grid = ["%gx = arith.muli %B, %E : index", "%gy = arith.ceildivui %K, %cbm : index"]
    else:
        grid = ["%M = arith.muli %B, %K : index", "%mb = arith.ceildivui %M, %cbm : index",
                "%gx = arith.muli %E, %mb : index", "%gy = arith.addi %c1, %c0 : index"]
    emit_host(e, name, kname, [("%x", XT), ("%ind", IT), ("%w", WT), ("%y", YT)],
              [("%B", "%x", 0, XT), ("%E", "%w", 0, WT), ("%J", "%w", 2, WT), ("%K", "%ind", 2, IT)],
              [f"%cbm = arith.constant {BM} : index", f"%cbn = arith.constant {BN} : index"] + grid +
              ["%gz = arith.ceildivui %J, %cbn : index"], NT, SMEM)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", default="mma:gather_matmul_bf16:64:64:32:32:32:3:f32",
                    help="comma list of  mma:name:BM:BN:BK:WM:WN:STAGES:OUT[:ROWS] | "
                         "simt:name:BM:BN:BK:TM:TN:STAGES[:ROWS] | unpermute:name:TOPK:OUT   "
                         "(ROWS = e (default) | be)")
    a = ap.parse_args()
    kern, host = Emitter(), Emitter()
    kern.ind = 2
    kern.module_at = 0
    host.ind = 1
    for spec in a.variants.split(","):
        kind, name, *p = spec.split(":")
        if kind == "mma":
            BM, BN, BK, WM, WN, ST = map(int, p[:6])
            info = gen_kernel(kern, name + "_kernel", BM, BN, BK, WM, WN, ST, p[6], *p[7:8])
            gm_host(host, name, name + "_kernel", BM, BN, **info)
        elif kind == "simt":
            BM, BN, BK, TM, TN, ST = map(int, p[:6])
            info = gen_kernel_simt_f32(kern, name + "_kernel", BM, BN, BK, TM, TN, ST, *p[6:7])
            gm_host(host, name, name + "_kernel", BM, BN, **info)
        elif kind == "unpermute":
            info = gen_unpermute(kern, name + "_kernel", int(p[0]), p[1])
            emit_host(host, name, name + "_kernel",
                      [("%probs", info["PT"]), ("%rid", info["RT"]), ("%xs", info["XT"]), ("%out", info["OT"])],
                      [("%T", "%probs", 0, info["PT"]), ("%H", "%xs", 1, info["XT"])],
                      [f"%chunk = arith.constant {info['NT'] * 8} : index", "%gx = arith.addi %T, %c0 : index",
                       "%gy = arith.ceildivui %H, %chunk : index", "%gz = arith.addi %c1, %c0 : index"],
                      info["NT"])
        else:
            raise SystemExit(f"unknown kind {kind}")
    out = ["// Generated by gen_gather_matmul.py " + " ".join(sys.argv[1:]),
           "module attributes {gpu.container_module} {",
           "  gpu.module @kernels {"] + kern.lines + ["  }"] + host.lines + ["}"]
    print("\n".join(out))


if __name__ == "__main__":
    main()
