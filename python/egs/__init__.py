"""egs: fused gather / expert-GEMM / scatter for Mixture-of-Experts.

JIT-compiled egs ops on NumPy arrays and torch tensors (any DLPack array):

    y   = egs.gather_matmul(x, ind, w)                  # x[ind] @ w[e]
    out = egs.matmul_scatter(y, ind, w2, num_tokens=T)  # scatter-add combine
    dw  = egs.weight_grad(x, dy, lhs_ind=ind)           # sum x[ind]^T dy per expert
    x_sorted, row_id_map, offsets = egs.permute(x, topk_ids, num_experts)
    out = egs.unpermute(x_sorted, row_id_map, probs)
    rows, offsets, row_id_map = egs.route(topk_ids, num_experts)
    p   = egs.sinkhorn(router_logits, iterations=20)  # balanced routing scores
    prog = egs.compile(mlir_text, target="cpu")

egs.nn holds the PyTorch modules (ExpertGather, ExpertScatter, MoE).
"""
from . import _egs
from ._compile import Program, compile
from ._egs import CompileError
from ._kernels import cache_info, clear_cache
from .ops import (check_indices, gather_matmul, matmul_scatter, permute, route, sinkhorn,
                  unpermute, weight_grad)

__version__ = _egs.version()  # the repository's VERSION, through the C API

__all__ = [
    "gather_matmul", "matmul_scatter", "weight_grad", "permute", "unpermute", "route",
    "sinkhorn", "compile", "Program", "CompileError", "cache_info", "clear_cache", "check_indices",
    "target_available",
]  # egs.nn (PyTorch modules) is imported on first use: `from egs import *` needs no torch


def target_available(target):
    """(available, reason) for "cpu" or "cuda"."""
    return _egs.target_available(target)


def __getattr__(name):
    # egs.nn imports torch; load it only when asked for.
    if name == "nn":
        import importlib
        return importlib.import_module(".nn", __name__)
    raise AttributeError(f"module 'egs' has no attribute {name!r}")
