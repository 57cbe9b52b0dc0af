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


def _damage(path, how, rng):
    data = bytearray(open(path, "rb").read())
    if how == "flip":          # 4 random bytes anywhere (header or object)
        for i in rng.choice(len(data), 4, replace=False):
            data[i] ^= 0xFF
    elif how == "flip_object":  # 4 bytes of the object code only
        for i in 32 + rng.choice(len(data) - 32, 4, replace=False):
            data[i] ^= 0xA5
    elif how == "truncate":
        data = data[: len(data) // 2]
    elif how == "extend":
        data += b"\0" * 16
    elif how == "garbage":
        data = bytearray(rng.integers(0, 256, len(data), dtype=np.uint8).tobytes())
    elif how == "empty":
        data = bytearray()
    elif how == "foreign":     # a valid entry of another key under this name
        other = [f for f in os.listdir(os.path.dirname(path)) if f.endswith(".o")
                 and os.path.join(os.path.dirname(path), f) != path]
        data = bytearray(open(os.path.join(os.path.dirname(path), other[0]), "rb").read())
    open(path, "wb").write(bytes(data))


def test_damaged_disk_cache_entries_are_dropped_and_recompiled(tmp_path):
    """A cache entry carries a checksum and the compiler's identity: a
    damaged, truncated, foreign or garbage entry is refused before it reaches
    the JIT, with a warning naming the file, and the call compiles again and
    gives the right result (in a fresh process each time: the process must
    survive)."""
    script = textwrap.dedent("""
        import json
        import numpy as np
        import egs
        x = np.arange(12, dtype=np.float32).reshape(3, 4)
        y = egs.gather_matmul(x, np.array([[2, 0], [1, 1]], np.int32),
                              np.ones((2, 4, 5), np.float32))
        z = egs.gather_matmul(x, np.array([[2, 0], [1, 1]], np.int32),
                              np.ones((2, 4, 3), np.float32))
        ok = bool((y[0, 0] == x[2].sum()).all() and (y[1, 0] == x[1].sum()).all()
                  and (z[0, 1] == x[0].sum()).all())
        info = egs.cache_info()
        print(json.dumps([ok, info["compilations"], info["disk_cache_loads"]]))
    """)
    env = dict(os.environ, EGS_CACHE_DIR=str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)

    def run():
        p = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        return p.stdout.strip(), p.stderr

    assert run()[0] == "[true, 2, 0]"
    entries = sorted(os.path.join(tmp_path, f) for f in os.listdir(tmp_path) if f.endswith(".o"))
    assert len(entries) == 2
    assert run()[0] == "[true, 0, 2]"
    rng = np.random.default_rng(7)
    for how in ["flip", "flip_object", "truncate", "extend", "garbage", "empty", "foreign"] + \
            ["flip"] * 6:
        _damage(entries[0], how, rng)
        out, err = run()
        assert out == "[true, 1, 1]", (how, out, err)
        assert "egs: warning: dropping disk-cache entry" in err and entries[0] in err, (how, err)
        assert run()[0] == "[true, 0, 2]", how   # rewritten, good again


def test_clear_cache_keeps_working():
    egs.clear_cache()
    assert egs.cache_info()["kernels"] == 0
    y = egs.gather_matmul(np.ones((3, 4), np.float32), np.zeros((2, 2), np.int32),
                          np.ones((2, 4, 5), np.float32))
    assert y.shape == (2, 2, 5)
