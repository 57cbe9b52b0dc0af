"""CUDA tensors: the ops on the GPU against torch references (f32/f16/bf16),
stream ordering, and the modules' forward/backward. Runs where torch sees a
GPU; in a build without the CUDA target it checks the clear error instead."""
import pytest

import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

import egs  # noqa: E402

TOL = {torch.float32: 1e-5, torch.float16: 1e-2, torch.bfloat16: 1e-2}
DTYPES = list(TOL)


def cuda_target():
    return egs.target_available("cuda")[0]


def rel(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm().clamp(min=1e-30)).item()


def test_without_cuda_target_the_error_is_clear():
    if cuda_target():
        pytest.skip("this build has the CUDA target")
    x = torch.zeros(4, 8, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA target not available"):
        egs.gather_matmul(x, torch.zeros(2, 2, dtype=torch.int32, device="cuda"),
                          torch.zeros(2, 8, 3, device="cuda"))


needs_target = pytest.mark.skipif(torch.cuda.is_available() and not cuda_target(),
                                  reason="egs built without the CUDA target")


@needs_target
@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_matmul_and_matmul_scatter_on_gpu(dtype):
    g = torch.Generator(device="cuda").manual_seed(0)
    B, T, E, K, I, J = 4, 64, 8, 16, 64, 32
    x = torch.randn(B, T, I, device="cuda", generator=g).to(dtype)
    ind = torch.randint(0, T, (B, E, K), device="cuda", generator=g, dtype=torch.int32)
    w = torch.randn(E, I, J, device="cuda", generator=g).to(dtype)
    y = egs.gather_matmul(x, ind, w)
    assert y.device == x.device and y.dtype == dtype
    xg = x.float()[torch.arange(B, device="cuda")[:, None, None], ind.long()]
    assert rel(y, torch.einsum("beki,eij->bekj", xg, w.float())) < TOL[dtype]
    w2 = torch.randn(E, J, I, device="cuda", generator=g).to(dtype)
    out = egs.matmul_scatter(y, ind, w2, num_tokens=T, deterministic=True)
    contrib = torch.einsum("bekj,eji->beki", y.float(), w2.float())
    flat = (torch.arange(B, device="cuda")[:, None, None] * T + ind.long()).reshape(-1)
    ref = torch.zeros(B * T, I, device="cuda").index_add(0, flat, contrib.reshape(-1, I))
    assert rel(out, ref.view(B, T, I)) < TOL[dtype] * 2


@needs_target
def test_work_on_a_side_stream_is_ordered(replay):
    x = torch.randn(256, 64, device="cuda")
    ind = torch.randint(0, 256, (8, 32), device="cuda", dtype=torch.int32)
    w = torch.randn(8, 64, 32, device="cuda")
    expected = egs.gather_matmul(x, ind, w)
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        x2 = x * 1.0  # produced on the side stream, consumed there by egs
        y = egs.gather_matmul(x2, ind, w)
    torch.cuda.current_stream().wait_stream(side)
    assert torch.equal(y, expected)


@needs_target
def test_moe_forward_backward_on_gpu():
    import egs.nn
    torch.manual_seed(0)
    m = egs.nn.MoE(hidden=64, ffn=32, num_experts=8, top_k=2).cuda()
    x = torch.randn(32, 64, device="cuda", requires_grad=True)
    out = m(x)
    out.sum().backward()
    mc = egs.nn.MoE(hidden=64, ffn=32, num_experts=8, top_k=2)
    mc.load_state_dict({k: v.cpu() for k, v in m.state_dict().items()})
    xc = x.detach().cpu().requires_grad_()
    outc = mc(xc)
    outc.sum().backward()
    assert rel(out.cpu(), outc.detach()) < 1e-4
    assert rel(x.grad.cpu(), xc.grad) < 1e-4


@needs_target
def test_default_stream_work_is_ordered():
    # A long producer on torch's default stream, consumed by egs at once.
    a = torch.randn(4096, 4096, device="cuda")
    x = (a @ a)[:256, :64].contiguous() * 1e-3
    ind = torch.randint(0, 256, (8, 32), device="cuda", dtype=torch.int32)
    w = torch.randn(8, 64, 32, device="cuda")
    y = egs.gather_matmul(x, ind, w)
    ref = torch.einsum("eki,eij->ekj", x[ind.long()], w)
    assert rel(y, ref) < 1e-5


def test_compile_cuda_program_runs_egs_ops_on_the_gpu():
    """egs.compile(target="cuda"): host arrays in and out, the egs op on the GPU."""
    import numpy as np

    ok, why = egs.target_available("cuda")
    if not ok:
        pytest.skip(why)
    src = """
    func.func @layer(%x: tensor<?x8xf32>, %ind: tensor<2x3xi32>, %w: tensor<2x8x4xf32>)
        -> tensor<2x3x4xf32> {
      %y = egs.gather_matmul %x[%ind] * %w
          : (tensor<?x8xf32>, tensor<2x3xi32>, tensor<2x8x4xf32>) -> tensor<2x3x4xf32>
      return %y : tensor<2x3x4xf32>
    }
    """
    prog = egs.compile(src, target="cuda")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 8)).astype(np.float32)
    ind = rng.integers(0, 5, (2, 3)).astype(np.int32)
    w = rng.standard_normal((2, 8, 4)).astype(np.float32)
    y = prog.layer(x, ind, w)
    ref = np.einsum("eki,eij->ekj", x[ind].astype(np.float64), w.astype(np.float64))
    assert np.linalg.norm(y - ref) / np.linalg.norm(ref) < 1e-5
    with pytest.raises(ValueError, match="host"):
        prog.layer(torch.from_numpy(x).cuda(), ind, w)


@needs_target
def test_disk_cache_serves_cuda_kernels_to_a_new_process(tmp_path):
    """A new process loads the CUDA kernel's host object (with the embedded
    GPU binary) from the disk cache: no compilation, the module load runs,
    the results are right, and exit unloads it cleanly."""
    import json
    import os
    import subprocess
    import sys
    import textwrap
    script = textwrap.dedent("""
        import json, time
        import torch
        import egs
        g = torch.Generator(device="cuda").manual_seed(0)
        x = torch.randn(3, 40, 64, device="cuda", generator=g).to(torch.bfloat16)
        ind = torch.randint(0, 40, (3, 4, 9), device="cuda", generator=g, dtype=torch.int32)
        w = torch.randn(4, 64, 48, device="cuda", generator=g).to(torch.bfloat16)
        t = time.perf_counter()
        y = egs.gather_matmul(x, ind, w)
        torch.cuda.synchronize()
        first = time.perf_counter() - t
        b = torch.arange(3, device="cuda")[:, None, None]
        ref = torch.einsum("beki,eij->bekj", x[b, ind.long()].double(), w.double())
        err = ((y.double() - ref).norm() / ref.norm()).item()
        info = egs.cache_info()
        print(json.dumps([info["compilations"], info["disk_cache_loads"], err, first]))
    """)
    env = dict(os.environ, EGS_CACHE_DIR=str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)

    def run():
        out = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
        return json.loads(out)

    compiled, loaded, err, first = run()
    assert (compiled, loaded) == (1, 0) and err < 1e-2
    assert any(f.endswith(".o") for f in os.listdir(tmp_path))
    compiled, loaded, err, cached_first = run()
    assert (compiled, loaded) == (0, 1) and err < 1e-2
    print(f"first call: compiled {first * 1e3:.0f} ms, from the disk cache {cached_first * 1e3:.0f} ms")


@needs_target
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_tensors_on_a_second_device(replay):
    """Tensors on cuda:1 while cuda:0 is current: the kernels run on cuda:1
    (loaded there on first use), on cuda:1's current stream, interleaved
    with calls of the same kernels on cuda:0."""
    # (Other frameworks' CUDA start-up, e.g. JAX's, may leave another device
    # current on this thread: make cuda:0 current, as the test means.)
    torch.cuda.set_device(0)
    outs = {}
    for dev in ["cuda:0", "cuda:1", "cuda:1", "cuda:0"]:
        g = torch.Generator(device=dev).manual_seed(3)
        x = torch.randn(2, 30, 40, device=dev, generator=g).to(torch.bfloat16)
        ind = torch.randint(0, 30, (2, 3, 7), device=dev, generator=g, dtype=torch.int32)
        w = torch.randn(3, 40, 24, device=dev, generator=g).to(torch.bfloat16)
        y = egs.gather_matmul(x, ind, w)
        assert y.device == torch.device(dev)
        b = torch.arange(2, device=dev)[:, None, None]
        ref = torch.einsum("beki,eij->bekj", x[b, ind.long()].double(), w.double())
        assert rel(y, ref) < 1e-2
        # Ragged routing (device-built tile map) and the deterministic scatter
        # (device scratch) allocate on the tensors' device too.
        ids = torch.randint(0, 3, (30, 2), device=dev, generator=g, dtype=torch.int32)
        rows, off, _ = egs.route(ids, 3)
        h = egs.gather_matmul(x[0], rows, w, expert_offsets=off)
        out = egs.matmul_scatter(h, rows, w.transpose(1, 2).contiguous(), num_tokens=30,
                                 expert_offsets=off, deterministic=True)
        assert out.device == torch.device(dev)
        outs.setdefault(dev, []).append(out.float().cpu())
    torch.cuda.synchronize("cuda:0")
    torch.cuda.synchronize("cuda:1")
    # Same data and the deterministic combine: bitwise the same on both devices.
    assert torch.equal(outs["cuda:0"][0], outs["cuda:1"][0])
    with torch.cuda.device(1):
        side = torch.cuda.Stream()
        x = torch.randn(300, 64, device="cuda:1")
        probs = torch.rand(300, 2, device="cuda:1")
        ids = torch.randint(0, 4, (300, 2), device="cuda:1", dtype=torch.int32)
        with torch.cuda.stream(side):
            xs, rid, off = egs.permute(x, ids, 4)
            back = egs.unpermute(xs, rid, probs)
        side.synchronize()
    assert rel(back, x * probs.sum(1, keepdim=True)) < 1e-5


@needs_target
def test_check_indices_reports_bad_indices_on_cuda():
    """Without checks a bad index reads zeros and writes nothing; with
    egs.check_indices(True) the same call raises the CPU kernels' IndexError."""
    x = torch.randn(10, 16, device="cuda")
    w = torch.randn(2, 16, 8, device="cuda")
    ind = torch.randint(0, 10, (2, 5), device="cuda", dtype=torch.int32)
    ind[1, 2] = 10
    y = egs.gather_matmul(x, ind, w)  # unchecked: the bad row is zero
    torch.cuda.synchronize()
    assert float(y[1, 2].abs().max()) == 0.0 and float(y[0].abs().max()) > 0
    previous = egs.check_indices(True)
    try:
        with pytest.raises(IndexError, match=r"routed token index.*value 10 is outside \[0, 10\)"):
            egs.gather_matmul(x, ind, w)
        with pytest.raises(IndexError, match="routed token index"):
            egs.matmul_scatter(torch.randn(2, 5, 8, device="cuda"), ind,
                               torch.randn(2, 8, 16, device="cuda"), num_tokens=10)
        rows = torch.zeros(6, device="cuda", dtype=torch.int32)
        with pytest.raises(IndexError, match="expert_offsets .must be non-decreasing"):
            egs.gather_matmul(x, rows, w, expert_offsets=torch.tensor([0, 4, 3], device="cuda",
                                                                      dtype=torch.int32))
        with pytest.raises(IndexError, match="expert_offsets: value 7 is outside"):
            egs.gather_matmul(x, rows, w, expert_offsets=torch.tensor([0, 4, 7], device="cuda",
                                                                      dtype=torch.int32))
        with pytest.raises(IndexError, match="expert id .operand 'topk_ids'.: value 2"):
            egs.route(torch.tensor([[0, 2]], device="cuda", dtype=torch.int32), 2)
        with pytest.raises(IndexError, match="row_id_map entry: value 8"):
            egs.unpermute(torch.randn(8, 4, device="cuda"),
                          torch.tensor([0, 8, 1, 2], device="cuda", dtype=torch.int32),
                          torch.rand(2, 2, device="cuda"))
        ind[1, 2] = 3  # good indices run as usual, checked
        assert rel(egs.gather_matmul(x, ind, w), torch.einsum("eki,eij->ekj", x[ind.long()], w)) < 1e-5
    finally:
        egs.check_indices(previous)


def _wg_reference(lhs, rhs, lind, rind, off, scale):
    """float64 dw of the ragged weight_grad, on the GPU with torch ops."""
    E = off.shape[0] - 1
    o = off.long().tolist()
    dw = torch.zeros(E, lhs.shape[-1], rhs.shape[-1], dtype=torch.float64, device=lhs.device)
    for e in range(E):
        s = slice(o[e], o[e + 1])
        a = (lhs[lind[s].long()] if lind is not None else lhs[s]).double()
        b = (rhs[rind[s].long()] if rind is not None else rhs[s]).double()
        if scale is not None:
            a = a * scale[s].double()[:, None]
        dw[e] = a.t() @ b
    return dw


@needs_target
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(40, 64, 48, [0, 30, 30, 77, 90], 96),      # empty expert, tails
                                   (300, 1000, 136, [5, 5, 500, 1200], 1210),  # I tail, uncovered
                                   (64, 128, 256, [0, 3, 4, 6, 200], 200)])    # few rows / many rows
def test_weight_grad_on_gpu_matches_float64_and_is_deterministic(dtype, shape):
    T, I, J, offs, R = shape
    g = torch.Generator(device="cuda").manual_seed(1)
    x = torch.randn(T, I, device="cuda", generator=g).to(dtype)
    dy = torch.randn(R, J, device="cuda", generator=g).to(dtype)
    rows = torch.randint(0, T, (R,), device="cuda", generator=g, dtype=torch.int32)
    off = torch.tensor(offs, device="cuda", dtype=torch.int32)
    scale = torch.rand(R, device="cuda", generator=g)
    ref = _wg_reference(x, dy, rows, None, off, None)
    for out_dtype in (None, torch.float32):
        dw = egs.weight_grad(x, dy, lhs_ind=rows, expert_offsets=off, out_dtype=out_dtype)
        assert rel(dw, ref) < TOL[dtype]
        again = egs.weight_grad(x, dy, lhs_ind=rows, expert_offsets=off, out_dtype=out_dtype)
        assert torch.equal(dw, again), "two runs differ"
    # dW of matmul_scatter: y in slot order, dout gathered, with a scale.
    dout = torch.randn(T, I, device="cuda", generator=g).to(dtype)
    dw2 = egs.weight_grad(dy, dout, rhs_ind=rows, expert_offsets=off, scale=scale,
                          out_dtype=torch.float32)
    assert rel(dw2, _wg_reference(dy, dout, None, rows, off, scale)) < TOL[dtype]


@needs_target
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_weight_grad_expert_choice_on_gpu(dtype):
    g = torch.Generator(device="cuda").manual_seed(2)
    B, T, E, K, I, J = 3, 50, 4, 24, 72, 40
    x = torch.randn(B, T, I, device="cuda", generator=g).to(dtype)
    ind = torch.randint(0, T, (B, E, K), device="cuda", generator=g, dtype=torch.int32)
    dy = torch.randn(B, E, K, J, device="cuda", generator=g).to(dtype)
    dw = egs.weight_grad(x, dy, lhs_ind=ind, out_dtype=torch.float32)
    b = torch.arange(B, device="cuda")[:, None, None]
    ref = torch.einsum("beki,bekj->eij", x[b, ind.long()].double(), dy.double())
    assert rel(dw, ref) < TOL[dtype]


@needs_target
@pytest.mark.cuda_graph
def test_moe_forward_backward_is_one_cuda_graph():
    """egs.nn.MoE forward + backward has no host sync: it is captured in one
    CUDA graph and replayed with new inputs, matching eager results."""
    torch.manual_seed(7)
    m = egs.nn.MoE(hidden=64, ffn=96, num_experts=8, top_k=2, device="cuda", dtype=torch.bfloat16)
    static_x = torch.randn(48, 64, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    static_up = torch.randn(48, 64, device="cuda", dtype=torch.bfloat16)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up: kernels compiled, plans made
        for _ in range(2):
            m.zero_grad(set_to_none=False)
            (m(static_x) * static_up).sum().backward()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    m.zero_grad(set_to_none=False)
    static_x.grad = None
    with torch.cuda.graph(graph):
        out = m(static_x)
        (out * static_up).sum().backward()
    new_x = torch.randn(48, 64, device="cuda", dtype=torch.bfloat16)
    static_x.data.copy_(new_x)
    m.zero_grad(set_to_none=False)
    graph.replay()
    torch.cuda.synchronize()
    got_out, got_gx = out.detach().clone(), static_x.grad.clone()
    got_w = m.w_up.grad.clone()
    x2 = new_x.clone().requires_grad_()
    m.zero_grad(set_to_none=True)
    eager = m(x2)
    (eager * static_up).sum().backward()
    assert rel(got_out, eager.detach()) < 1e-2
    assert rel(got_gx, x2.grad) < 2e-2
    assert rel(got_w, m.w_up.grad) < 2e-2


@needs_target
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation,interleaved", [("silu", False), ("gelu", False),
                                                    ("swiglu", False), ("swiglu", True),
                                                    ("clamped_swiglu", False),
                                                    ("clamped_swiglu", True)])
@pytest.mark.parametrize("transposed", [False, True])
def test_fused_activations_on_gpu(dtype, activation, interleaved, transposed):
    """The epilogue activations of ragged gather_matmul on the GPU (bias,
    an empty expert, uncovered slots, column tails) against float64 torch;
    limit 1 so that GPT-OSS's clamps act."""
    from egs._torch_ops import apply_activation
    g = torch.Generator(device="cuda").manual_seed(4)
    T, I, J, R = 70, 136, 200, 150
    off = torch.tensor([3, 40, 40, 99, 140], device="cuda", dtype=torch.int32)
    E = off.numel() - 1
    x = torch.randn(T, I, device="cuda", generator=g).to(dtype)
    w = (torch.randn(E, I, J, device="cuda", generator=g) / I ** 0.5).to(dtype)
    bias = torch.randn(E, J, device="cuda", generator=g).to(dtype)
    rows = torch.randint(0, T, (R,), device="cuda", generator=g, dtype=torch.int32)
    params = dict(alpha=1.702, limit=1.0) if activation == "clamped_swiglu" else {}
    wk = w.transpose(1, 2).contiguous() if transposed else w
    y = egs.gather_matmul(x, rows, wk, bias=bias, expert_offsets=off, w_transposed=transposed,
                          activation=activation, interleaved=interleaved, **params)
    e = torch.searchsorted(off.long(), torch.arange(R, device="cuda"), right=True) - 1
    covered = (e >= 0) & (e < E)
    ec = e.clamp(0, E - 1)
    h = torch.einsum("ri,rij->rj", x.double()[rows.long()], w.double()[ec]) + bias.double()[ec]
    ref = apply_activation(h, activation, interleaved=interleaved, **params) * covered[:, None]
    assert y.shape == ref.shape
    assert rel(y, ref) < TOL[dtype]


@needs_target
@pytest.mark.parametrize("name", ["mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "gpt_oss",
                                  "deepseek_v3"])
def test_transformers_models_through_egs_match_grouped_mm_in_bf16(name):
    """experts_implementation="egs" on the GPU (model weights read in place,
    no fallback) against transformers' grouped_mm backend, bf16; then a few
    generated tokens."""
    import warnings
    from test_transformers import VOCAB, _model
    ref = _model(name, "grouped_mm").cuda().to(torch.bfloat16)
    model = _model(name, "egs").cuda().to(torch.bfloat16)
    ids = torch.randint(0, VOCAB, (2, 12), device="cuda", generator=torch.Generator(device="cuda").manual_seed(0))
    with torch.no_grad(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logits = model(ids).logits
        expected = ref(ids).logits
        generated = model.generate(ids[:, :4], max_new_tokens=4, do_sample=False)
    fallbacks = [str(w.message) for w in caught if "egs" in str(w.message)]
    assert not fallbacks, fallbacks
    assert rel(logits.float(), expected.float()) < 5e-2
    assert generated.shape == (2, 8)


@needs_target
@pytest.mark.parametrize("T,E,dtype,tol", [(4096, 8, torch.float32, 0.0), (4096, 64, torch.bfloat16, 1e-4),
                                           (1000, 256, torch.float16, 0.0), (7, 3, torch.float32, 0.0),
                                           (1, 40, torch.float32, 0.0)])
@pytest.mark.cuda_graph
def test_sinkhorn_on_gpu(T, E, dtype, tol):
    """The CUDA kernels against the float64 reference (the same early stop),
    outputs poisoned first through the allocator; two runs bitwise equal;
    no host sync inside (it runs under CUDA-graph capture)."""
    from egs import _reference as ref
    g = torch.Generator(device="cuda").manual_seed(3)
    x = (torch.randn(T, E, device="cuda", generator=g) * 2).to(dtype)
    torch.empty(T * E * 8, device="cuda").fill_(float("nan"))
    p = egs.sinkhorn(x, 30, tolerance=tol)
    want, _ = ref.sinkhorn(x.float().cpu().numpy(), 30, tol)
    assert p.device == x.device and p.dtype == torch.float32
    assert rel(p, torch.from_numpy(want).cuda()) < 1e-5
    assert torch.equal(p, egs.sinkhorn(x, 30, tolerance=tol))
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        egs.sinkhorn(x, 30, tolerance=tol)  # warm (plan cached)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=stream):
            pg = egs.sinkhorn(x, 30, tolerance=tol)
    graph.replay()
    torch.cuda.synchronize()
    assert torch.equal(pg, p)
