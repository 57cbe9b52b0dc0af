"""egs.compile: any module (egs + upstream dialects) as a callable."""
import os

import numpy as np
import pytest

import egs

MODULE = """
func.func @layer(%x: tensor<?x8xf32>, %ind: tensor<2x3xi32>, %w: tensor<2x8x4xf32>)
    -> tensor<2x3x4xf32> {
  %y = egs.gather_matmul %x[%ind] * %w
      : (tensor<?x8xf32>, tensor<2x3xi32>, tensor<2x8x4xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}
func.func @scaled(%a: tensor<?xf32>, %s: f32) -> (tensor<?xf32>, i64) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %a, %c0 : tensor<?xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]} ins(%a : tensor<?xf32>) outs(%e : tensor<?xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.mulf %v, %s : f32
    linalg.yield %m : f32
  } -> tensor<?xf32>
  %ni = arith.index_cast %n : index to i64
  return %r, %ni : tensor<?xf32>, i64
}
func.func @fill(%out: memref<4xf32>) {
  %c = arith.constant 2.5 : f32
  linalg.fill ins(%c : f32) outs(%out : memref<4xf32>)
  return
}
"""


def test_compile_and_call_entry_points():
    prog = egs.compile(MODULE)
    assert set(prog.functions) == {"layer", "scaled", "fill"}
    x = np.arange(40, dtype=np.float32).reshape(5, 8)
    ind = np.array([[0, 4, 4], [1, 2, 3]], np.int32)
    w = np.ones((2, 8, 4), np.float32)
    y = prog.layer(x, ind, w)
    np.testing.assert_allclose(y, np.einsum("eki,eij->ekj", x[ind], w))
    r, n = prog.scaled(np.arange(3, dtype=np.float32), 2.0)
    np.testing.assert_allclose(r, [0, 2, 4])
    assert n == 3
    buf = np.zeros(4, np.float32)
    assert prog.fill(buf) is None
    np.testing.assert_allclose(buf, 2.5)  # memref arguments are written in place


def test_tensor_arguments_are_not_modified():
    prog = egs.compile("""
    func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
      %c = arith.constant 1.0 : f32
      %c0 = arith.constant 0 : index
      %r = tensor.insert %c into %a[%c0] : tensor<4xf32>
      return %r : tensor<4xf32>
    }""")
    a = np.zeros(4, np.float32)
    r = prog(a)
    assert r[0] == 1.0 and a[0] == 0.0


def test_compile_errors_are_exceptions():
    with pytest.raises(egs.CompileError, match="cannot parse"):
        egs.compile("func.func @f( {")
    with pytest.raises(egs.CompileError, match="operand 'w'"):
        egs.compile("""
        func.func @bad(%x: tensor<8x4xf32>, %i: tensor<2x3xi32>, %w: tensor<2x5x6xf32>)
            -> tensor<2x3x6xf32> {
          %y = egs.gather_matmul %x[%i] * %w
              : (tensor<8x4xf32>, tensor<2x3xi32>, tensor<2x5x6xf32>) -> tensor<2x3x6xf32>
          return %y : tensor<2x3x6xf32>
        }""")
    with pytest.raises(ValueError, match="target"):
        egs.compile(MODULE, target="tpu")


def test_call_checks_arguments():
    prog = egs.compile(MODULE)
    with pytest.raises(TypeError, match="takes 3 arguments"):
        prog.layer(np.zeros((5, 8), np.float32))
    with pytest.raises(TypeError, match="dtype f64; expected f32"):
        prog.layer(np.zeros((5, 8)), np.zeros((2, 3), np.int32), np.zeros((2, 8, 4), np.float32))
    with pytest.raises(ValueError, match="size 7 at dim 1; expected 8"):
        prog.layer(np.zeros((5, 7), np.float32), np.zeros((2, 3), np.int32),
                   np.zeros((2, 8, 4), np.float32))


def test_cuda_target_reports_availability_and_never_ends_the_process():
    """Without a CUDA driver or device, target_available("cuda") says so and
    egs.compile(target="cuda") raises (in a subprocess: it once ended the
    interpreter with exit status 1)."""
    import subprocess
    import sys
    import textwrap
    ok, why = egs.target_available("cuda")
    if ok:
        assert why == ""
        return
    assert "CUDA" in why
    script = textwrap.dedent(f"""
        import egs
        try:
            egs.compile({MODULE!r}, target="cuda")
        except RuntimeError as e:
            print("raised:", e)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "raised: egs:" in done.stdout and "CUDA" in done.stdout, done.stdout + done.stderr


def test_bad_gpu_options_raise_and_the_interpreter_survives():
    """GPU pipeline options egs cannot use (an empty, old or foreign chip, PTX
    features the chip does not take or LLVM does not emit, a bad format or
    opt level) raise egs.CompileError naming the option, on any machine (they
    are checked before the device), in a subprocess that must end normally:
    they used to abort or segfault in LLVM and take the interpreter down."""
    import subprocess
    import sys
    import textwrap
    cases = {"chip=": "option chip: no GPU chip given",
             "chip=sm_75": "option chip: unsupported chip 'sm_75': egs's GPU kernels need sm_80",
             "chip=sm_50": "option chip: unsupported chip 'sm_50'",
             "chip=gfx90a": "option chip: unknown chip 'gfx90a'",
             "features=+ptx60": "option features: features '+ptx60': sm_90a needs PTX ISA 8.0",
             "features=garbage": "option features: features 'garbage': unknown feature",
             "format=elf": "option format: 'elf' is not one of",
             "opt-level=9": "option opt-level: 9 is not in [0, 3]"}
    script = textwrap.dedent(f"""
        import egs
        for opts in {list(cases)!r}:
            try:
                egs.compile({MODULE!r}, target="cuda", pipeline_options=opts)
                print(opts, "=> no error")
            except egs.CompileError as e:
                print(opts, "=>", e)
        print("alive")
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "alive", done.stdout + done.stderr
    for (opts, want), line in zip(cases.items(), lines):
        assert line.startswith(opts + " => egs-lower-to-nvvm: " + want), line


PRINTING = """
func.func private @printMemrefF32(memref<*xf32>)
func.func @show(%m: memref<2xf32>) {
  %u = memref.cast %m : memref<2xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}
"""


def test_undefined_external_function_is_a_compile_error():
    with pytest.raises(egs.CompileError, match="not defined: printMemrefF32"):
        egs.compile(PRINTING)


def test_runner_utils_are_loaded_privately():
    import subprocess, sys
    from egs._compile import _runner_utils
    if len(_runner_utils()) < 2:
        pytest.skip("the MLIR runner utility libraries are not installed")
    # In a child process, so the output can be read; the libraries (which
    # pull in libLLVM.so and libMLIR.so) must not become global symbols.
    code = (
        "import ctypes, numpy as np, egs\n"
        f"egs.compile({PRINTING!r}, runner_utils=True).show(np.array([1.5, 2.5], np.float32))\n"
        "import sys; sys.stdout.flush()\n"
        "try:\n"
        "    ctypes.CDLL(None).printMemrefF32\n"
        "    print('GLOBAL')\n"
        "except AttributeError:\n"
        "    print('LOCAL')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(__import__("os").environ,
                                  PYTHONPATH=__import__("os").pathsep.join(sys.path)))
    assert out.returncode == 0, out.stderr
    assert "[1.5,  2.5]" in out.stdout and "LOCAL" in out.stdout
