"""Imports the egs package from the build tree (no pip install needed).

scripts/test.sh passes EGS_BUILD=<build dir>; the package is laid out in
<build>/python_packages/egs by the default build. An installed egs (pip
install .) is used when no build tree has one.
"""
import os
import sys
import tempfile

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_BUILD = os.environ.get("EGS_BUILD", os.path.join(_ROOT, "build"))
_PKG = os.path.join(_BUILD, "python_packages")
if os.path.isdir(os.path.join(_PKG, "egs")):
    sys.path.insert(0, _PKG)

# A fresh on-disk kernel cache for the session, so that the compile counts
# the tests check do not depend on earlier runs.
os.environ["EGS_CACHE_DIR"] = tempfile.mkdtemp(prefix="egs-test-cache-")

try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

requires_torch = pytest.mark.skipif(not HAVE_TORCH, reason="torch is not installed")


def rel_err(out, ref):
    import numpy as np
    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    denom = np.linalg.norm(ref)
    return np.linalg.norm(out - ref) / (denom if denom > 0 else 1.0)


TOL = {"float32": 1e-5, "float16": 1e-2, "bfloat16": 1e-2}
