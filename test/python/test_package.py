"""The package as a whole: one version everywhere, the environment report
(`python -m egs`), and imports that need no torch."""
import os
import subprocess
import sys

import egs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_python(code, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.run([sys.executable, *args] + (["-c", code] if code else []), env=env,
                          capture_output=True, text=True, timeout=300)


def test_version_is_the_repository_version():
    with open(os.path.join(ROOT, "VERSION")) as f:
        version = f.read().strip()
    assert egs.__version__ == version == egs._egs.version()


def test_environment_report():
    done = run_python(None, "-m", "egs")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"egs " in out and egs.__version__ in out
    assert "target cpu" in out and "available" in out
    for key in ("target cuda", "ptxas", "kernel cache", "extension egs._egs_torch", "torch"):
        assert key in out, key


def test_star_import_needs_no_torch():
    # torch made unimportable: `from egs import *` and the NumPy ops still work.
    done = run_python("import sys; sys.modules['torch'] = None\n"
                      "from egs import *\n"
                      "import numpy as np\n"
                      "y = gather_matmul(np.ones((4, 8), np.float32), np.zeros((2, 2), np.int32),"
                      " np.ones((2, 8, 3), np.float32))\n"
                      "print(float(y.sum()))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(float(2 * 2 * 3 * 8))
