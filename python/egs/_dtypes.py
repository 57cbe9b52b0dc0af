"""The element types of egs and the NumPy and torch dtypes that hold them: the
one table of the Python side (the C++ side has its own, at the C API).

Pure Python with no imports from the package: scripts without the compiled
extension (scripts/gpu-check/gpu_check.py) load this file by path. NumPy and
torch are imported only when their dtypes are asked for.
"""

# egs element type -> the dtype's name, the same in NumPy and torch
# (bfloat16: NumPy through ml_dtypes).
ELEMENT_TYPES = {
    "f32": "float32",
    "f16": "float16",
    "bf16": "bfloat16",
    "f64": "float64",
    "i32": "int32",
    "i64": "int64",
    "i8": "int8",
    "i16": "int16",
    "i1": "bool",
}


def numpy_dtypes():
    """{egs element type: NumPy dtype}; bf16 only when ml_dtypes is installed."""
    import numpy as np

    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover - optional
        ml_dtypes = None
    dtypes = {}
    for egs, name in ELEMENT_TYPES.items():
        if name == "bfloat16":
            if ml_dtypes is not None:
                dtypes[egs] = np.dtype(ml_dtypes.bfloat16)
        else:
            dtypes[egs] = np.dtype(name)
    return dtypes


def torch_dtypes():
    """{egs element type: torch dtype}."""
    import torch

    return {egs: getattr(torch, name) for egs, name in ELEMENT_TYPES.items()}
