"""Arrays of any framework, seen the same way: dtype, shape, device, layout.

egs functions accept NumPy arrays and torch tensors directly and any other
DLPack array (JAX, ...) through DLPack; CuPy arrays are read in place by
their data pointers. Results are allocated by the framework of the first
array argument, on its device; CUDA kernels queue on that framework's current
stream. Nothing here imports torch or CuPy: each is looked up only when one of
its arrays is seen.
"""
import contextlib
import functools
import sys

import numpy as np

from . import _dtypes

# bf16 for NumPy users when ml_dtypes is installed.
_EGS_TO_NP = _dtypes.numpy_dtypes()
_NP_TO_EGS = {v: k for k, v in _EGS_TO_NP.items()}

DATA_DTYPES = ("f32", "f16", "bf16")
INDEX_DTYPES = ("i32", "i64")


def _torch():
    return sys.modules.get("torch")


def torch_tensor_type():
    """torch.Tensor, or None while torch is not imported."""
    torch = _torch()
    return None if torch is None else torch.Tensor


def _is_torch(a):
    torch = _torch()
    return torch is not None and isinstance(a, torch.Tensor)


def _cupy():
    return sys.modules.get("cupy")


def _is_cupy(a):
    cupy = _cupy()
    return cupy is not None and isinstance(a, cupy.ndarray)


_TORCH_TO_EGS = None
_EGS_TO_TORCH = None


def _torch_dtypes():
    global _TORCH_TO_EGS, _EGS_TO_TORCH
    if _TORCH_TO_EGS is None:  # (torch is imported: one of its tensors was seen)
        _EGS_TO_TORCH = _dtypes.torch_dtypes()
        _TORCH_TO_EGS = {v: k for k, v in _EGS_TO_TORCH.items()}
    return _TORCH_TO_EGS


class Framework:
    """How to read and allocate arrays of one kind (NumPy, torch, foreign)."""

    name = "numpy"

    def __init__(self, device="cpu", foreign=None):
        self.device = device  # "cpu" or a framework device object
        self.foreign = foreign  # original DLPack producer's namespace, if any

    # -- reading -----------------------------------------------------------
    def accepts(self, a):
        return isinstance(a, np.ndarray)

    def dtype(self, a):
        # (str(dtype) costs microseconds: only for the error message)
        return _NP_TO_EGS.get(a.dtype) or str(a.dtype)

    @staticmethod
    def contiguous(a):
        return a.flags.c_contiguous

    def device_of(self, a):
        """The device of array `a` of this framework (compared with .device)."""
        return self.device

    @staticmethod
    def unreadable(a):
        """Why kernels cannot read a's elements from its memory, or None."""
        return None

    def device_context(self):
        """Makes the arrays' device current (for CuPy's own operations)."""
        return contextlib.nullcontext()

    def target(self):
        return "cpu"

    @staticmethod
    def kernel_args(args):
        """The arrays as egs._egs.Executable.run reads them."""
        return args

    # -- allocating --------------------------------------------------------
    def allocator(self, shape, dtype, zero=False):
        """A callable allocating a fresh array of this shape and dtype."""
        return functools.partial(np.zeros if zero else np.empty, shape, _EGS_TO_NP[dtype])


    def copy(self, a):
        return np.array(a, copy=True, order="C")

    @property
    def converts_results(self):
        """Whether result() converts (results of a foreign DLPack framework)."""
        return self.foreign is not None and hasattr(self.foreign, "from_dlpack")

    def result(self, a):
        """Converts a NumPy result back to the caller's framework."""
        if self.foreign is not None and hasattr(self.foreign, "from_dlpack"):
            return self.foreign.from_dlpack(a)
        return a

    def stream(self):
        return 0


class TorchFramework(Framework):
    name = "torch"

    def __init__(self, device, foreign=None):
        super().__init__(device, foreign)
        self._target = "cuda" if device.type == "cuda" else device.type
        self._raw_stream = None
        if self._target == "cuda":
            torch = _torch()
            # The fast path torch's own compiled code uses (no Stream object).
            self._raw_stream = getattr(torch._C, "_cuda_getCurrentRawStream", None)
            self._index = device.index if device.index is not None else torch.cuda.current_device()

    def accepts(self, a):
        return _is_torch(a)

    def dtype(self, a):
        return _torch_dtypes().get(a.dtype) or str(a.dtype)

    @staticmethod
    def contiguous(a):
        return a.is_contiguous()

    @staticmethod
    def unreadable(a):
        """Why kernels cannot read a's elements from its memory, or None."""
        torch = _torch()
        if a.is_neg() or a.is_conj():
            return "is a lazily negated or conjugated view; call .resolve_neg() / .resolve_conj()"
        if getattr(torch, "_is_functional_tensor", lambda t: False)(a):
            return "is a functionalized tensor (no memory of its own)"
        n = a.numel()
        if n and (a.data_ptr() == 0 or
                  a.untyped_storage().nbytes() < (a.storage_offset() + n) * a.element_size()):
            return "has no memory behind it (its storage was resized or freed)"
        return None

    @staticmethod
    def device_of(a):
        return a.device

    def target(self):
        return self._target

    @staticmethod
    def native_dtype(dtype):
        """The torch dtype of an egs dtype name."""
        _torch_dtypes()
        return _EGS_TO_TORCH[dtype]

    def allocator(self, shape, dtype, zero=False):
        torch = _torch()
        return functools.partial(torch.zeros if zero else torch.empty, shape,
                                 dtype=self.native_dtype(dtype), device=self.device)


    def copy(self, a):
        return a.detach().clone(memory_format=_torch().contiguous_format)

    @property
    def converts_results(self):
        return False

    def result(self, a):
        return a

    def device_index(self):
        """The CUDA device ordinal of the arrays."""
        return self._index

    def stream_function(self):
        """stream() as a zero-argument callable, the cheapest one."""
        if self._raw_stream is not None:
            return functools.partial(self._raw_stream, self._index)
        return self.stream

    def stream(self):
        if self._target != "cuda":
            return 0
        if self._raw_stream is not None:
            return self._raw_stream(self._index)
        return _torch().cuda.current_stream(self.device).cuda_stream


class CupyFramework(Framework):
    """CuPy arrays: read in place by their data pointers, results allocated
    by CuPy on the arrays' device, kernels queued on CuPy's current stream
    of that device (as CuPy's own kernels are)."""

    name = "cupy"

    def __init__(self, index):
        super().__init__(f"cuda:{index}")
        self._index = index
        self._cupy = _cupy()

    def accepts(self, a):
        return isinstance(a, self._cupy.ndarray)

    @staticmethod
    def device_of(a):
        return f"cuda:{a.device.id}"

    def target(self):
        return "cuda"

    def device_index(self):
        return self._index

    def allocator(self, shape, dtype, zero=False):
        cupy, index, np_dtype = self._cupy, self._index, _EGS_TO_NP[dtype]
        make = cupy.zeros if zero else cupy.empty

        def allocate():
            with cupy.cuda.Device(index):  # zero fill on that device's stream
                return make(shape, np_dtype)
        return allocate

    def copy(self, a):
        with self._cupy.cuda.Device(self._index):
            return a.copy(order="C")

    def device_context(self):
        return self._cupy.cuda.Device(self._index)

    @staticmethod
    def kernel_args(args):
        return tuple((a.data.ptr, a.shape, tuple(s // a.itemsize for s in a.strides))
                     for a in args)

    def stream(self):
        with self._cupy.cuda.Device(self._index):
            return self._cupy.cuda.get_current_stream().ptr


def framework_of(a, name="x"):
    """The framework that owns `a` (and so the results)."""
    if isinstance(a, np.ndarray):
        return _NUMPY
    if _is_torch(a):
        # One framework object per device, reused by every call.
        device = a.device
        fw = _TORCH_FRAMEWORKS.get(device)
        if fw is None:
            fw = _TORCH_FRAMEWORKS.setdefault(device, TorchFramework(device))
        return fw
    if _is_cupy(a):
        index = a.device.id
        fw = _CUPY_FRAMEWORKS.get(index)
        if fw is None:
            fw = _CUPY_FRAMEWORKS.setdefault(index, CupyFramework(index))
        return fw
    if hasattr(a, "__dlpack__"):
        return _foreign_framework(a, name)
    raise TypeError(
        f"argument '{name}' must be an array (NumPy, torch, or any DLPack array), "
        f"got {type(a).__name__}"
    )


def _foreign_framework(a, name):
    namespace = None
    if hasattr(a, "__array_namespace__"):
        namespace = a.__array_namespace__()
    else:
        namespace = sys.modules.get(type(a).__module__.split(".")[0])
    device = a.__dlpack_device__()[0] if hasattr(a, "__dlpack_device__") else 1
    if device != 1:  # kDLCPU
        torch = _torch()
        if torch is None:
            raise TypeError(
                f"argument '{name}' ({type(a).__name__}) lives on a device; "
                "egs reads device arrays of frameworks other than torch and "
                "CuPy through torch, which is not imported"
            )
        return _ForeignThroughTorch(torch.from_dlpack(a).device, namespace)
    return Framework("cpu", foreign=namespace)


class _ForeignThroughTorch(TorchFramework):
    def __init__(self, device, namespace):
        super().__init__(device, namespace)

    converts_results = Framework.converts_results

    def result(self, a):
        if self.foreign is not None and hasattr(self.foreign, "from_dlpack"):
            return self.foreign.from_dlpack(a)
        return a


_NUMPY = Framework()
_TORCH_FRAMEWORKS = {}
_CUPY_FRAMEWORKS = {}


def as_native(fw, a, name):
    """`a` as an array egs can read directly (NumPy or torch)."""
    if fw.accepts(a):
        return a
    if isinstance(fw, _ForeignThroughTorch) and hasattr(a, "__dlpack__"):
        return _torch().from_dlpack(a)
    if type(fw) is Framework and hasattr(a, "__dlpack__") and not isinstance(a, np.ndarray):
        if _is_torch(a) or _is_cupy(a):
            raise TypeError(f"argument '{name}' is a {type(a).__module__}.{type(a).__name__} "
                            "but the other arguments are not; pass arrays of one framework")
        return np.from_dlpack(a)
    raise TypeError(
        f"argument '{name}' is a {type(a).__module__}.{type(a).__name__}, but the "
        f"first array argument is a {fw.name} array; pass arrays of one framework"
    )
