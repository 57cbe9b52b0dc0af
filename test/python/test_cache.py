"""The kernel caches: a second call does not recompile (in memory), and a new
process loads the object code from the disk cache instead of generating it."""
import os
import subprocess
import sys
import textwrap

import numpy as np

import egs


def test_second_call_does_not_recompile():
    x = np.ones((1, 6, 4), np.float32)
    ind = np.zeros((1, 5, 2), np.int32)
    w = np.ones((5, 4, 3), np.float32)
    egs.gather_matmul(x, ind, w)
    info = egs.cache_info()
    for _ in range(3):
        egs.gather_matmul(x, ind, w)
    after = egs.cache_info()
    assert after["compilations"] == info["compilations"]
    assert after["memory_hits"] >= info["memory_hits"] + 3
    # A different static shape class (J) compiles once more.
    egs.gather_matmul(x, ind, np.ones((5, 4, 2), np.float32))
    assert egs.cache_info()["compilations"] == info["compilations"] + 1


def test_disk_cache_serves_a_new_process(tmp_path):
    script = textwrap.dedent("""
        import json, sys
        import numpy as np
        import egs
        y = egs.gather_matmul(np.ones((3, 4), np.float32), np.zeros((2, 2), np.int32),
                              np.ones((2, 4, 5), np.float32))
        assert float(y.sum()) == 2 * 2 * 5 * 4
        info = egs.cache_info()
        print(json.dumps([info["compilations"], info["disk_cache_loads"]]))
    """)
    env = dict(os.environ, EGS_CACHE_DIR=str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    run = lambda: subprocess.run([sys.executable, "-c", script], env=env, check=True,
                                 capture_output=True, text=True).stdout.strip()
    assert run() == "[1, 0]"
    assert any(f.endswith(".o") for f in os.listdir(tmp_path))
    assert run() == "[0, 1]"


def test_clear_cache_keeps_working():
    egs.clear_cache()
    assert egs.cache_info()["kernels"] == 0
    y = egs.gather_matmul(np.ones((3, 4), np.float32), np.zeros((2, 2), np.int32),
                          np.ones((2, 4, 5), np.float32))
    assert y.shape == (2, 2, 5)
