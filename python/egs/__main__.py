"""`python -m egs`: what this egs installation has and finds.

Prints the egs version, Python and the array frameworks it sees, the
targets (with the reason a target is missing), the GPU, ptxas, the kernel
cache directory and which compiled extensions were built and load.
"""
import importlib
import os
import platform
import shutil
import sys


def _version_of(module):
    try:
        return importlib.import_module(module).__version__
    except Exception as e:  # report, never fail: this is a diagnostic tool
        return f"not available ({type(e).__name__}: {e})"


def _ptxas():
    for root in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_ROOT")):
        if root and os.path.exists(os.path.join(root, "bin", "ptxas")):
            return os.path.join(root, "bin", "ptxas")
    return shutil.which("ptxas") or "not found (set CUDA_HOME or put ptxas on PATH)"


def report():
    """The environment report as a list of (key, value) lines."""
    import egs
    from egs import _kernels

    lines = [("egs", f"{egs.__version__} ({os.path.dirname(egs.__file__)})"),
             ("python", f"{platform.python_version()} ({sys.executable})"),
             ("numpy", _version_of("numpy")),
             ("torch", _version_of("torch")),
             ("transformers", _version_of("transformers")),
             ("cupy", _version_of("cupy"))]
    for target in ("cpu", "cuda"):
        ok, why = egs.target_available(target)
        lines.append((f"target {target}", "available" if ok else f"not available: {why}"))
    gpu = "none seen by torch"
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        gpu = ", ".join(f"cuda:{i} {torch.cuda.get_device_name(i)}"
                        for i in range(torch.cuda.device_count()))
    lines.append(("gpu", gpu))
    lines.append(("ptxas", _ptxas()))
    lines.append(("kernel cache", _kernels.cache_dir() or "disabled (EGS_DISABLE_DISK_CACHE)"))
    lines.append(("extension egs._egs", "loaded"))
    if torch is not None:
        _kernels.dispatcher()
        note = _kernels.torch_extension_note
        lines.append(("extension egs._egs_torch", "loaded" if not note else note))
    else:
        lines.append(("extension egs._egs_torch", "not checked (torch not importable)"))
    return lines


def main():
    lines = report()
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
