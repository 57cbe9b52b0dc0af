"""Imports the egs package from the build tree (no pip install needed).

scripts/test.sh passes EGS_BUILD=<build dir>; the package is laid out in
<build>/python_packages/egs by the default build. Without EGS_BUILD, build/
is used when it has the package, else an installed egs (pip install .).
EGS_TEST_INSTALLED=1 tests the installed package only (scripts/test.sh does
so after `pip install .` into a fresh virtual environment).
"""
import os
import sys
import tempfile

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.environ.get("EGS_BUILD"):
    # scripts/test.sh: exactly the package of that build tree.
    _PKG = os.path.join(os.environ["EGS_BUILD"], "python_packages")
    if not os.path.isdir(os.path.join(_PKG, "egs")):
        raise RuntimeError(
            f"{_PKG}/egs was not built: the build needs pybind11 (pip install pybind11; "
            "-DEGS_BUILD_PYTHON=ON makes its absence an error). Unset EGS_BUILD to "
            "test an installed egs (pip install .).")
    sys.path.insert(0, _PKG)
elif os.environ.get("EGS_TEST_INSTALLED") == "1":
    import egs as _installed  # noqa: E402

    if "site-packages" not in _installed.__file__:
        raise RuntimeError(f"EGS_TEST_INSTALLED=1 but egs comes from {_installed.__file__}")
elif os.path.isdir(os.path.join(_ROOT, "build", "python_packages", "egs")):
    sys.path.insert(0, os.path.join(_ROOT, "build", "python_packages"))

# A fresh on-disk kernel cache for the session, so that the compile counts
# the tests check do not depend on earlier runs.
os.environ["EGS_CACHE_DIR"] = tempfile.mkdtemp(prefix="egs-test-cache-")

# torch is a dependency of the suite (scripts/setup.sh and scripts/test.sh
# install it): without it the run fails here instead of skipping the torch
# tests. Only optional extras (CuPy, JAX) and hardware (CUDA, 2 GPUs) skip,
# each test naming why.
try:
    import torch  # noqa: F401
except ImportError as e:
    raise RuntimeError(
        "the egs test suite needs torch (and transformers): run scripts/setup.sh, or "
        "pip install torch transformers") from e


def rel_err(out, ref):
    import numpy as np
    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    denom = np.linalg.norm(ref)
    return np.linalg.norm(out - ref) / (denom if denom > 0 else 1.0)


TOL = {"float32": 1e-5, "float16": 1e-2, "bfloat16": 1e-2}


@pytest.fixture(params=["torch", "python"])
def replay(request):
    """Runs a test with repeated torch calls replayed by egs._egs_torch
    (torch's C++ API; skipped where it was not built) and by
    egs._egs.Dispatcher (Python attribute reads)."""
    from egs import _kernels

    previous = _kernels.use_torch_extension(request.param == "torch")
    try:
        _kernels.dispatcher()
        if _kernels._dispatcher_kind != request.param:
            pytest.skip(f"egs._egs_torch: {_kernels.torch_extension_note}")
        yield request.param
    finally:
        _kernels.use_torch_extension(previous)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "cuda_graph: captures a CUDA graph (needs torch's caching allocator: "
        "scripts/gpu-check.sh sanitize runs these in their own pass)")
