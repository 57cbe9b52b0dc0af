"""Compiled kernels: the MLIR each op function runs, and the caches.

Each op call runs a destination-passing kernel: a func.func taking every
input and output as a memref, whose body is the op's memref form
(`egs.gather_matmul ... outs(%y)`), so the outputs are allocated by the
caller's framework and nothing is copied.

Kernel key = (op, form, dtypes, static shape class, attributes). The shape
class keeps the model dimensions static (E, I, J, H, k: fixed by the weights
and the router) and the token dimensions dynamic (B, T, K, R), so a new token
count or batch size reuses the compiled kernel.

Caches:
  * in memory: key -> executable, for the life of the process (a cached call
    costs a dict lookup); for torch tensors the extension keeps, beside it,
    a plan per argument signature, so that a repeated call skips the
    argument checks and runs in one extension call (ops.py): in
    egs._egs_torch (torch's C++ API) where it was built for the torch
    imported, else in egs._egs.Dispatcher (Python attribute reads);
  * on disk: the C API stores the object code of every compilation under
    $EGS_CACHE_DIR (default ~/.cache/egs), keyed by a hash of the lowered
    LLVM IR, host CPU and options. A new process still parses and lowers the
    small kernel module (a few ms) but skips LLVM optimization and code
    generation, the larger part of a compile. EGS_DISABLE_DISK_CACHE=1 turns
    it off. CUDA kernels are cached too, keyed before their (slow) pipeline
    by source, options and the compiler's and ptxas's identity: the host
    object embeds the GPU binary; its module-loading constructor runs when it
    is loaded.
"""
import os
import sys
import threading
import warnings

from . import _egs
from ._arrays import torch_tensor_type

_lock = threading.Lock()
_kernels = {}
_memory_hits = 0

# Call plans of python/egs/ops.py for torch tensors: argument signature ->
# plan (a kernel of _kernels plus how to allocate and order its arguments),
# kept and replayed by the extension (bounded there: token counts are part of
# a signature). Created once torch is imported.
_dispatcher = None
_dispatcher_kind = None  # "torch" (egs._egs_torch) or "python" (egs._egs)
_use_torch_extension = os.environ.get("EGS_TORCH_EXTENSION", "1") != "0"
torch_extension_note = ""  # why egs._egs_torch is not used, when it is not


def _torch_extension():
    """(egs._egs_torch if it was built for the torch imported, else None;
    a warning to give, or "") with the reason in torch_extension_note."""
    global torch_extension_note
    if not _use_torch_extension:
        torch_extension_note = "turned off (EGS_TORCH_EXTENSION=0)"
        return None, ""
    try:
        from ._torch_build import TORCH_VERSION
    except ImportError:
        torch_extension_note = ("not built: torch was not importable when egs was built "
                                "(pip install --no-build-isolation . builds it)")
        return None, ""
    imported = sys.modules["torch"].__version__
    if imported != TORCH_VERSION:
        torch_extension_note = (f"built for torch {TORCH_VERSION}, but torch {imported} is "
                                "imported; rebuild egs to use it")
        return None, torch_extension_note
    try:
        from . import _egs_torch
    except ImportError as e:
        torch_extension_note = f"failed to load: {e}"
        return None, torch_extension_note
    torch_extension_note = ""
    return _egs_torch, ""


def dispatcher():
    global _dispatcher, _dispatcher_kind
    if _dispatcher is None:
        tensor = torch_tensor_type()
        if tensor is None:
            return None
        warning = ""
        with _lock:
            if _dispatcher is None:
                ext, warning = _torch_extension()
                if ext is not None:
                    _dispatcher_kind = "torch"
                    _dispatcher = ext.Dispatcher(sys.modules["torch"].nn.Parameter)
                else:
                    _dispatcher_kind = "python"
                    _dispatcher = _egs.Dispatcher(tensor)
        # Warned once the slower replay is in place and the lock is free, so
        # that warnings turned into errors cannot leave egs without one.
        if warning:
            warnings.warn(f"egs: egs._egs_torch was {warning}; calls on torch tensors take "
                          "the slower per-call path", RuntimeWarning, stacklevel=3)
    return _dispatcher


def use_torch_extension(enabled=True):
    """Whether repeated calls on torch tensors replay in egs._egs_torch
    (default, where built for the torch imported) or egs._egs.Dispatcher;
    drops the plans. Returns the previous setting. For tests and A/B runs."""
    global _use_torch_extension, _dispatcher, _dispatcher_kind
    with _lock:
        previous, _use_torch_extension = _use_torch_extension, bool(enabled)
        _dispatcher = _dispatcher_kind = None
    return previous


def cache_dir():
    if os.environ.get("EGS_DISABLE_DISK_CACHE", "") not in ("", "0"):
        return ""
    d = os.environ.get("EGS_CACHE_DIR")
    if d:
        return d
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "egs")


_compiler = None


def compiler():
    global _compiler
    if _compiler is None:
        _compiler = _egs.Compiler()
    return _compiler


def compile_source(source, target="cpu", pipeline_options="", opt_level=3, shared_libs=()):
    """Compiles MLIR text; raises CompileError (or RuntimeError for targets)."""
    ok, why = _egs.target_available(target)
    if not ok:
        # The compile checks the pipeline options before the target: a bad
        # option is reported as such (CompileError) on any machine.
        try:
            compiler().compile(source, target, pipeline_options, opt_level, "",
                               list(shared_libs))
        except _egs.CompileError as e:
            if why not in str(e):
                raise
        raise RuntimeError(f"egs: {why}")
    return compiler().compile(source, target, pipeline_options, opt_level,
                              cache_dir(), list(shared_libs))


# Kernels on CUDA take device buffers in place and leave their work queued on
# the caller's stream (passed with each call), like any torch op.
_KERNEL_PIPELINE_OPTIONS = {"cpu": "", "cuda": "host-buffers=device host-sync=false"}


def kernel(key, build_source, target):
    """The (executable, entry index) for `key`, compiling build_source() once."""
    global _memory_hits
    entry = _kernels.get((key, target))
    if entry is not None:
        _memory_hits += 1
        return entry
    with _lock:
        entry = _kernels.get((key, target))
        if entry is None:
            exe = compile_source(build_source(), target, _KERNEL_PIPELINE_OPTIONS[target])
            entry = (exe, exe.lookup("kernel"))
            _kernels[(key, target)] = entry
    return entry


def cache_info():
    """Counters of the kernel caches (compilations counts full compiles)."""
    stats = _egs.statistics()
    replayed = _dispatcher.hits if _dispatcher is not None else 0
    return {
        "kernels": len(_kernels),
        "replay": _dispatcher_kind,
        "replay_note": torch_extension_note,
        "memory_hits": _memory_hits + replayed,
        "compilations": stats["compilations"],
        "disk_cache_loads": stats["disk_cache_loads"],
        "invocations": stats["invocations"],
        "cache_dir": cache_dir(),
    }


def clear_cache():
    """Drops the in-memory kernels (the disk cache stays)."""
    global _memory_hits
    with _lock:
        _kernels.clear()
        if _dispatcher is not None:
            _dispatcher.clear()
        _memory_hits = 0
