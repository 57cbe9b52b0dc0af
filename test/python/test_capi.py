"""The C API (egs-c/EGS.h) through ctypes on libEGSCAPI.so: the library the
extension loads exports only the egs C functions, and works from plain C."""
import ctypes
import os
import subprocess

import numpy as np
import pytest

import egs

LIB = os.path.join(os.path.dirname(egs.__file__), "libEGSCAPI.so")
if not os.path.exists(LIB):  # the build tree keeps it in <build>/lib
    LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(egs.__file__))),
                       "lib", "libEGSCAPI.so")
pytestmark = pytest.mark.skipif(not os.path.exists(LIB), reason="libEGSCAPI.so not found")


class MemRef(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int), ("rank", ctypes.c_int32),
                ("sizes", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64))]


class Value(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("memref", MemRef), ("i", ctypes.c_int64),
                ("f", ctypes.c_double)]


class OwnedMemRef(ctypes.Structure):
    _fields_ = [("allocated", ctypes.c_void_p), ("data", ctypes.c_void_p),
                ("dtype", ctypes.c_int), ("rank", ctypes.c_int32),
                ("sizes", ctypes.c_int64 * 8), ("strides", ctypes.c_int64 * 8)]


class Options(ctypes.Structure):
    _fields_ = [("target", ctypes.c_char_p), ("pipelineOptions", ctypes.c_char_p),
                ("optLevel", ctypes.c_int), ("cacheDir", ctypes.c_char_p),
                ("sharedLibs", ctypes.c_void_p), ("numSharedLibs", ctypes.c_int)]


F32, I32 = 1, 8  # EgsDType


def test_only_egs_symbols_exported():
    out = subprocess.run(["nm", "-D", "--defined-only", LIB], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("nm not available")
    names = [line.split()[-1] for line in out.stdout.splitlines() if line.strip()]
    assert names and all(n.startswith("egs") for n in names), names[:20]
    assert "egsReportIndexError" not in names
    assert "egsReportShapeError" not in names


def test_compile_and_invoke_from_c():
    lib = ctypes.CDLL(LIB)
    lib.egsCompilerCreate.restype = ctypes.c_void_p
    lib.egsCompileOptionsDefault.restype = Options
    lib.egsCompile.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                               ctypes.POINTER(Options), ctypes.POINTER(ctypes.c_void_p),
                               ctypes.POINTER(ctypes.c_char_p)]
    lib.egsExecutableLookupFunction.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.egsExecutableInvoke.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(Value),
                                        ctypes.c_int, ctypes.POINTER(OwnedMemRef), ctypes.c_int,
                                        ctypes.POINTER(ctypes.c_char_p)]
    lib.egsExecutableDestroy.argtypes = [ctypes.c_void_p]
    lib.egsCompilerDestroy.argtypes = [ctypes.c_void_p]
    lib.egsFreeBuffer.argtypes = [ctypes.c_void_p]
    src = b"""
    func.func @gm(%x: tensor<?x4xf32>, %i: tensor<2x2xi32>, %w: tensor<2x4x3xf32>)
        -> tensor<2x2x3xf32> {
      %y = egs.gather_matmul %x[%i] * %w
          : (tensor<?x4xf32>, tensor<2x2xi32>, tensor<2x4x3xf32>) -> tensor<2x2x3xf32>
      return %y : tensor<2x2x3xf32>
    }"""
    compiler = lib.egsCompilerCreate()
    opts = lib.egsCompileOptionsDefault()
    exe = ctypes.c_void_p()
    err = ctypes.c_char_p()
    assert lib.egsCompile(compiler, src, len(src), ctypes.byref(opts), ctypes.byref(exe),
                          ctypes.byref(err)) == 0, err.value
    fn = lib.egsExecutableLookupFunction(exe, b"gm")
    assert fn == 0
    x = np.arange(20, dtype=np.float32).reshape(5, 4)
    ind = np.array([[0, 4], [2, 2]], np.int32)
    w = np.ones((2, 4, 3), np.float32)
    keep = []

    def value(a, dtype):
        sizes = (ctypes.c_int64 * a.ndim)(*a.shape)
        strides = (ctypes.c_int64 * a.ndim)(*[s // a.itemsize for s in a.strides])
        keep.extend([sizes, strides])
        return Value(0, MemRef(a.ctypes.data, dtype, a.ndim, sizes, strides), 0, 0.0)

    args = (Value * 3)(value(x, F32), value(ind, I32), value(w, F32))
    res = OwnedMemRef()
    assert lib.egsExecutableInvoke(exe, fn, args, 3, ctypes.byref(res), 1,
                                   ctypes.byref(err)) == 0, err.value
    assert list(res.sizes[:3]) == [2, 2, 3]
    y = np.ctypeslib.as_array(ctypes.cast(res.data, ctypes.POINTER(ctypes.c_float)), (2, 2, 3))
    np.testing.assert_allclose(y, np.einsum("eki,eij->ekj", x[ind], w))
    lib.egsFreeBuffer(res.allocated)

    # An out-of-range index comes back as an error string, not an abort.
    ind[0, 0] = 99
    assert lib.egsExecutableInvoke(exe, fn, args, 3, ctypes.byref(res), 1, ctypes.byref(err)) != 0
    assert b"value 99 is outside [0, 5)" in err.value
    # Wrong dtype is rejected before running.
    bad = (Value * 3)(value(x, F32), value(ind, F32), value(w, F32))
    assert lib.egsExecutableInvoke(exe, fn, bad, 3, ctypes.byref(res), 1, ctypes.byref(err)) != 0
    assert b"element type" in err.value
    lib.egsExecutableDestroy(exe)
    lib.egsCompilerDestroy(compiler)
