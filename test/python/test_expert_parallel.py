"""egs.nn.ExpertParallelMoE on torch.distributed (Gloo, CPU, float32): world size 2
and 4 on this machine, outputs and gradients (input, router, experts) against the
single-process egs.nn.MoE with the same weights, in every mode; a rank with no
tokens, skewed routing (every token to the experts of one rank), the capacity
drop against a reference of what should drop, inference (the activation fused
into the up projection), and the error cases (bad arguments, bad inputs, ranks
disagreeing, a rank that never joins: the group's timeout).

Each world size is one launch of W worker processes (this file run as a script:
`python test_expert_parallel.py RANK WORLD SPEC DIR`) that run every case in
turn and save their results; the parent computes the references while they
run, and the tests compare. Shapes are tiny (hidden 8, ffn 6, <= 8 experts)."""
import collections
import math
import os
import re
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import torch

import egs.nn  # noqa: E402
from egs.nn import ExpertParallelMoE, ExpertParallelMode

MODES = [m.value for m in ExpertParallelMode]
H, F, K = 8, 6, 2
GROUP_TIMEOUT_S = 60     # the worker groups' timeout (a hang fails within it)
SHORT_TIMEOUT_S = 2      # the group of the timeout case
# world: (num_experts, tokens per rank, the rank that skewed routing targets)
WORLDS = {2: (4, [5, 7], 1), 4: (8, [6, 0, 3, 5], 2)}
# case -> worlds it runs at. "random" at world 4 has a rank with no tokens;
# "mixed": rank r runs mode r, and the odd ranks' inputs do not require grad.
CASES = {"random": (2, 4), "zero_tokens": (2,), "skewed": (2, 4), "capacity": (2, 4),
         "capacity_skewed": (2,), "inference": (2,), "gelu_transposed": (2,), "mixed": (4,)}
CASE_MODES = {"gelu_transposed": ["fused"], "mixed": ["mixed"]}  # else MODES
ERRORS = ["num_experts", "hidden", "input", "recording", "from_moe", "after_errors", "timeout"]


def rel(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / max(b.norm().item(), 1e-30)).item()


# --- the cases (built by the parent, run by the workers) ---------------------

def case_spec(world, case, mode):
    """Everything a worker needs for one case: MoE arguments, weights, each
    rank's tokens and output gradient, mode, capacity factor."""
    E, tokens, skew_rank = WORLDS[world]
    cfg = dict(hidden=H, ffn=F, num_experts=E, top_k=K)
    if case == "gelu_transposed":
        cfg.update(activation="gelu", w_transposed=True)
    if case == "zero_tokens":
        tokens = [6] + [0] * (world - 1)
    g = torch.Generator().manual_seed(1000 * world + sorted(CASES).index(case))
    torch.manual_seed(g.initial_seed())
    moe = egs.nn.MoE(**cfg)
    xs = [torch.randn(t, H, generator=g) for t in tokens]
    if case.endswith("skewed"):
        L = E // world
        with torch.no_grad():
            moe.router.weight.mul_(0.1)
            moe.router.weight[skew_rank * L:(skew_rank + 1) * L, 0] += torch.tensor([5.0, 4.0])
        for x in xs:
            x[:, 0] = x[:, 0].abs() + 1
    return dict(name=f"{case}/{mode}", case=case, cfg=cfg, state=moe.state_dict(), xs=xs,
                gs=[torch.randn(t, H, generator=g) for t in tokens], mode=mode,
                cf=0.5 if case == "capacity" else 1.0 if case == "capacity_skewed" else None,
                grad=case != "inference")


def expected_keep(ids, cf, num_experts):
    """[T,k] bool: the slots the capacity keeps, written as the docs say: per
    expert, the first ceil(cf*T*k/E) of the rank's slots in token order."""
    t, k = ids.shape
    cap = math.ceil(cf * t * k / num_experts)
    seen = collections.Counter()
    keep = torch.zeros(t, k, dtype=torch.bool)
    for i in range(t):
        for j in range(k):
            e = int(ids[i, j])
            keep[i, j] = seen[e] < cap
            seen[e] += 1
    return keep


def dense_reference(moe, x, keep):
    """The MoE in torch ops with the slots where keep is False left out."""
    weights, ids = moe.route(x)
    h = torch.einsum("th,tkhu->tku", x, moe.w_up[ids.long()])
    y = torch.einsum("tkf,tkfh->tkh", moe._activate(h), moe.w_down[ids.long()])
    return (y * (weights * keep)[..., None]).sum(1)


def reference(spec):
    """(outputs per rank, input grads per rank, {param: grad}, dropped slots
    per rank) of the single-process layer on every rank's tokens at once."""
    moe = egs.nn.MoE(**spec["cfg"])
    moe.load_state_dict(spec["state"])
    x = torch.cat(spec["xs"]).requires_grad_(spec["grad"])
    sizes = [len(t) for t in spec["xs"]]
    dropped = [0] * len(sizes)
    with torch.set_grad_enabled(spec["grad"]):
        if spec["cf"] is None:
            out = moe(x)
        else:
            keeps = [expected_keep(moe.route(t)[1], spec["cf"], moe.num_experts)
                     for t in spec["xs"]]
            dropped = [int((~k).sum()) for k in keeps]
            out = dense_reference(moe, x, torch.cat(keeps))
    if not spec["grad"]:
        return out.split(sizes), None, None, dropped
    (out * torch.cat(spec["gs"])).sum().backward()
    grads = {"router.weight": moe.router.weight.grad, "w_up": moe.w_up.grad,
             "w_down": moe.w_down.grad}
    return out.detach().split(sizes), x.grad.split(sizes), grads, dropped


# --- the worker side ----------------------------------------------------------

def run_case(spec, rank):
    moe = egs.nn.MoE(**spec["cfg"])
    moe.load_state_dict(spec["state"])
    mixed = spec["mode"] == "mixed"
    ep = ExpertParallelMoE.from_moe(moe, mode=MODES[rank % 4] if mixed else spec["mode"],
                                    capacity_factor=spec["cf"])
    x = spec["xs"][rank].clone().requires_grad_(spec["grad"] and not (mixed and rank % 2))
    with torch.set_grad_enabled(spec["grad"]):
        out = ep(x)
    res = {"out": out.detach(), "dropped": ep.last_dropped_slots}
    if spec["grad"]:
        (out * spec["gs"][rank]).sum().backward()
        res.update(dx=x.grad, grads=ep.gather_full(grad=True))
    return res


def run_error(name, rank, world):
    """One error case: what each rank raised (or returned)."""
    x = torch.randn(4, H)
    try:
        if name == "num_experts":
            ExpertParallelMoE(H, F, 3, K)
        elif name == "hidden":
            ExpertParallelMoE(H if rank == 0 else 2 * H, F, 4, K)
        elif name == "input":
            ep = ExpertParallelMoE(H, F, 4, K)
            ep(x if rank == 0 else torch.randn(4, 2 * H))
        elif name == "recording":
            ep = ExpertParallelMoE(H, F, 4, K)
            with torch.set_grad_enabled(rank != 0):
                ep(x)
        elif name == "from_moe":
            torch.manual_seed(rank)
            ExpertParallelMoE.from_moe(egs.nn.MoE(H, F, 4, K))
        elif name == "after_errors":  # the group still works after the errors above
            torch.manual_seed(0)
            moe = egs.nn.MoE(H, F, 4, K)
            out = ExpertParallelMoE.from_moe(moe)(x)
            return {"ok": rel(out, moe(x))}
        elif name == "timeout":
            short = torch.distributed.new_group(list(range(world)),
                                                timeout=timedelta(seconds=SHORT_TIMEOUT_S))
            ep = ExpertParallelMoE(H, F, 4, K, group=short)
            if rank != 0:  # never joins the forward; waits for rank 0 to give up
                torch.distributed.barrier()
                return {"ok": 0.0}
            start = time.monotonic()
            try:
                ep(x)
            finally:
                elapsed = time.monotonic() - start
                torch.distributed.barrier()
        return {"ok": None}
    except Exception as e:  # noqa: BLE001 (the tests check type and message)
        res = {"error": type(e).__name__, "is_runtime": isinstance(e, RuntimeError),
               "message": str(e)}
        if name == "timeout":
            res["elapsed"] = elapsed
        return res


def worker(rank, world, spec_path, out_dir):
    torch.set_num_threads(1)
    torch.distributed.init_process_group(
        "gloo", init_method="file://" + os.path.join(out_dir, "init"), rank=rank,
        world_size=world, timeout=timedelta(seconds=GROUP_TIMEOUT_S))
    results = {}
    for spec in torch.load(spec_path):
        if "error" in spec:
            results[spec["name"]] = run_error(spec["error"], rank, world)
        else:
            results[spec["name"]] = run_case(spec, rank)
    torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
    torch.distributed.destroy_process_group()


# --- the parent side ----------------------------------------------------------

def launch(world, tmp):
    """Runs every case of `world` in W worker processes; returns (specs by
    name, references by name, results per rank)."""
    specs = [case_spec(world, case, mode) for case, worlds in CASES.items() if world in worlds
             for mode in CASE_MODES.get(case, MODES)]
    if world == 2:
        specs += [dict(name=f"error/{e}", error=e) for e in ERRORS]
    spec_path = os.path.join(tmp, "spec.pt")
    torch.save(specs, spec_path)
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(egs.__file__)))
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([pkg] + sys.path))
    procs = [subprocess.Popen([sys.executable, os.path.abspath(__file__), str(r), str(world),
                               spec_path, tmp], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for r in range(world)]
    try:
        refs = {s["name"]: reference(s) for s in specs if "error" not in s}  # while they run
        logs = [p.communicate(timeout=300)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    failed = [r for r, p in enumerate(procs) if p.returncode != 0]
    assert not failed, "\n".join(f"worker {r} of {world} failed:\n{logs[r]}" for r in failed)
    results = [torch.load(os.path.join(tmp, f"rank{r}.pt")) for r in range(world)]
    return {s["name"]: s for s in specs}, refs, results


_RUNS = {}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """world -> launch(world), each launched once, when a test first needs it."""
    def get(world):
        if world not in _RUNS:
            _RUNS[world] = launch(world, str(tmp_path_factory.mktemp(f"ep{world}")))
        return _RUNS[world]
    yield get
    _RUNS.clear()


# --- tests without processes ---------------------------------------------------

def test_mode_names_round_trip():
    assert MODES == ["unfused", "fused_dispatch", "fused_combine", "fused"]
    for mode in ExpertParallelMode:
        assert ExpertParallelMode(str(mode)) is mode
        assert ExpertParallelMode.parse(mode.value) is mode
        assert ExpertParallelMode.parse(mode) is mode
    assert [(m.fused_dispatch, m.fused_combine) for m in ExpertParallelMode] == [
        (False, False), (True, False), (False, True), (True, True)]
    with pytest.raises(ValueError, match="mode must be one of .*'fused_dispatch'.*got 'FUSED'"):
        ExpertParallelMode.parse("FUSED")


def test_arguments_checked_before_collectives():
    assert not torch.distributed.is_initialized()
    with pytest.raises(ValueError, match="mode must be one of"):
        ExpertParallelMoE(H, F, 4, K, mode="fast")
    with pytest.raises(ValueError, match="capacity_factor must be None or a finite number > 0"):
        ExpertParallelMoE(H, F, 4, K, capacity_factor=0)
    with pytest.raises(TypeError, match="capacity_factor"):
        ExpertParallelMoE(H, F, 4, K, capacity_factor=True)
    with pytest.raises(ValueError, match="nn.ExpertParallelMoE: top_k must be an int"):
        ExpertParallelMoE(H, F, 4, 5)
    with pytest.raises(RuntimeError, match="init_process_group"):
        ExpertParallelMoE(H, F, 4, K)


# --- multi-process tests -----------------------------------------------------

FORWARD_CASES = [(w, f"{case}/{mode}") for w in WORLDS for case, worlds in CASES.items()
                 if w in worlds for mode in CASE_MODES.get(case, MODES)]


@pytest.mark.parametrize("world,name", FORWARD_CASES, ids=[f"w{w}-{n}" for w, n in FORWARD_CASES])
def test_matches_single_process_moe(runs, world, name):
    specs, refs, results = runs(world)
    out, dx, grads, dropped = refs[name]
    for r in range(world):
        res = results[r][name]
        assert res["out"].shape == out[r].shape
        assert rel(res["out"], out[r]) < 1e-5, (r, rel(res["out"], out[r]))
        assert res["dropped"] == dropped[r]
        if dx is not None:
            if res["dx"] is None:  # an input without grad; the layer's still train
                assert specs[name]["case"] == "mixed" and r % 2, (name, r)
            else:
                assert rel(res["dx"], dx[r]) < 1e-5, (r, rel(res["dx"], dx[r]))
            for p, g in grads.items():
                # gather_full gives every rank the same full gradient
                assert rel(res["grads"][p], g) < 1e-5, (r, p, rel(res["grads"][p], g))
    if specs[name]["case"].startswith("capacity"):
        assert 0 < sum(dropped) < sum(len(x) for x in specs[name]["xs"]) * K
    if specs[name]["case"] in ("zero_tokens", "random") and world == 4:
        assert min(len(x) for x in specs[name]["xs"]) == 0


@pytest.mark.parametrize("world,case", [(w, c) for c, ws in CASES.items() for w in ws
                                        if c not in CASE_MODES])
def test_modes_agree(runs, world, case):
    _, _, results = runs(world)
    for r in range(world):
        base = results[r][f"{case}/unfused"]
        for mode in MODES[1:]:
            res = results[r][f"{case}/{mode}"]
            assert rel(res["out"], base["out"]) < 1e-6
            if "dx" in base:
                assert rel(res["dx"], base["dx"]) < 1e-6
                for p in base["grads"]:
                    assert rel(res["grads"][p], base["grads"][p]) < 1e-6


def test_skewed_routing_sends_every_token_to_one_rank(runs):
    specs, refs, _ = runs(2)
    spec = specs["skewed/fused"]
    E, _, skew_rank = WORLDS[2]
    moe = egs.nn.MoE(**spec["cfg"])
    moe.load_state_dict(spec["state"])
    ids = torch.cat([moe.route(x)[1] for x in spec["xs"]])
    assert ((ids // (E // 2)) == skew_rank).all()


ERROR_EXPECT = {
    "num_experts": [("ValueError", "num_experts = 3 must be divisible by the group's world "
                     "size 2")] * 2,
    "hidden": [("ValueError", "argument 'hidden' differs across the ranks of the group "
                "\\(8 on rank 0, 16 on rank 1\\)")] * 2,
    "input": [("RuntimeError", "rank\\(s\\) \\[1\\] of the group rejected their input"),
              ("ValueError", "argument 'x' must be \\[..., hidden\\] with hidden = 8, got shape "
               "\\(4, 16\\)")],
    "recording": [("RuntimeError", "disagree on recording autograd: ranks \\[1\\] record a "
                   "graph .* ranks \\[0\\] do not")] * 2,
    "from_moe": [("ValueError", "from_moe: the ranks passed different MoE weights")] * 2,
}


@pytest.mark.parametrize("name", sorted(ERROR_EXPECT))
def test_errors_are_raised_on_every_rank(runs, name):
    _, _, results = runs(2)
    for r, (kind, pattern) in enumerate(ERROR_EXPECT[name]):
        res = results[r][f"error/{name}"]
        assert res.get("error") == kind, (r, res)
        assert re.search(pattern, res["message"]), (r, res["message"])


def test_group_works_after_errors(runs):
    _, _, results = runs(2)
    for r in range(2):
        assert results[r]["error/after_errors"]["ok"] < 1e-5


def test_missing_rank_raises_at_the_group_timeout(runs):
    _, _, results = runs(2)
    res = results[0]["error/timeout"]
    assert res.get("is_runtime"), res
    assert SHORT_TIMEOUT_S * 0.9 <= res["elapsed"] < GROUP_TIMEOUT_S / 2, res


if __name__ == "__main__":
    worker(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
