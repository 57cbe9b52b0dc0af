"""egs.compile: any MLIR module (egs ops plus upstream dialects) as a callable."""
import numpy as np

from . import _kernels
from ._arrays import _EGS_TO_NP, _is_torch, _torch, framework_of
from .ops import _flag, _int


class Program:
    """A compiled module. Call an entry point as `prog.name(*args)`, or
    `prog(*args)` when the module has exactly one (or one named "main").

    Arguments: arrays (NumPy, torch on the CPU, other DLPack arrays) and
    Python ints/floats for scalar parameters. Tensor parameters are read-only
    (non-contiguous arrays are copied); memref parameters are passed in place
    and must be C-contiguous unless the memref type is strided. Results are
    new arrays of the first array argument's framework (NumPy when there is
    none) that own the memory the program allocated.
    """

    def __init__(self, executable, target, source):
        self._exe = executable
        self.target = target
        self.source = source
        self.functions = tuple(executable.functions())
        self._signatures = {f: executable.signature(executable.lookup(f))
                            for f in self.functions}
        self.from_disk_cache = executable.from_disk_cache

    def signature(self, name):
        """([argument descriptions], [result descriptions]) of an entry point."""
        return self._signatures[name]

    def __getattr__(self, name):
        if name.startswith("_") or name not in self.__dict__.get("functions", ()):
            raise AttributeError(name)
        return lambda *args: self.call(name, *args)

    def __call__(self, *args):
        if len(self.functions) == 1:
            return self.call(self.functions[0], *args)
        if "main" in self.functions:
            return self.call("main", *args)
        raise TypeError("this module has several entry points "
                        f"({', '.join(self.functions)}); call prog.<name>(...)")

    def call(self, name, *args):
        if name not in self._signatures:
            raise AttributeError(f"no entry point @{name} (have {', '.join(self.functions)})")
        params, results = self._signatures[name]
        if len(args) != len(params):
            raise TypeError(f"@{name} takes {len(params)} arguments, got {len(args)}")
        fw = None
        values = []
        for i, (a, p) in enumerate(zip(args, params)):
            if p["kind"] != "memref":
                values.append(_scalar(name, i, a, p["kind"], p["dtype"]))
                continue
            if fw is None:
                fw = framework_of(a, f"argument {i}")
                if fw.target() != "cpu" and self.target != fw.target():
                    raise ValueError(f"@{name} argument {i} is on {fw.device}, but the "
                                     f"program was compiled for {self.target}")
            values.append(self._array(name, i, a, p))
        out = self._exe.invoke(self._exe.lookup(name), values)
        out = [self._result(o, r, fw) for o, r in zip(out, results)]
        if not out:
            return None
        return out[0] if len(out) == 1 else tuple(out)

    @staticmethod
    def _array(name, i, a, p):
        if _is_torch(a):
            dt = framework_of(a).dtype(a)
            if a.device.type != "cpu":
                raise ValueError(
                    f"@{name} argument {i}: egs.compile programs take host (CPU) arrays; "
                    "with target='cuda' their egs ops run on the GPU and copy operands "
                    "in and out (host-buffers=copy). For device-resident tensors use "
                    "egs.gather_matmul and the other egs.* functions")
            if p["is_tensor"] and not a.is_contiguous():
                a = a.contiguous()
            a = a.detach()
        else:
            if not isinstance(a, np.ndarray):
                a = np.from_dlpack(a)
            dt = _kernels_dtype(a)
            if p["is_tensor"] and not a.flags.c_contiguous:
                a = np.ascontiguousarray(a)
        if dt != p["dtype"]:
            raise TypeError(f"@{name} argument {i} has dtype {dt}; expected {p['dtype']}")
        if len(a.shape) != len(p["shape"]):
            raise ValueError(f"@{name} argument {i} has rank {len(a.shape)}; expected "
                             f"{len(p['shape'])}")
        for d, (have, want) in enumerate(zip(a.shape, p["shape"])):
            if want >= 0 and have != want:
                raise ValueError(f"@{name} argument {i} has size {have} at dim {d}; "
                                 f"expected {want}")
        return a

    @staticmethod
    def _result(o, r, fw):
        if r["kind"] != "memref":
            return o
        if r["dtype"] == "bf16":
            np_bf16 = _EGS_TO_NP.get("bf16")
            if fw is not None and fw.name == "torch":
                return _torch().from_numpy(o).view(_torch().bfloat16)
            return o.view(np_bf16) if np_bf16 is not None else o
        if fw is not None and fw.name == "torch":
            return _torch().from_numpy(o)
        return fw.result(o) if fw is not None else o


def _scalar(name, i, a, kind, dtype):
    """The value of scalar parameter i of entry point @name: an int (a
    Python or NumPy integer in the range of its type; a bool only for i1)
    or a float (a Python or NumPy number, not a bool)."""
    op = f"Program @{name}"
    if kind == "int":
        if dtype == "i1" and (a is True or a is False or isinstance(a, np.bool_)):
            return int(a)
        bits = int(dtype.lstrip("usi")) if dtype[-1].isdigit() else 64  # index: 64
        bits = min(bits, 64)  # passed as int64
        hi = 2**bits - 1 if bits < 64 else 2**63 - 1  # signless: either reading
        return _int(a, f"argument {i} ({dtype})", op, -2**(bits - 1), hi)
    if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, float, np.integer,
                                                             np.floating)):
        raise TypeError(f"egs.{op}: argument {i} ({dtype}) must be a number, got {a!r}")
    return float(a)


def _kernels_dtype(a):
    from ._arrays import _NP_TO_EGS
    return _NP_TO_EGS.get(a.dtype) or str(a.dtype)


def compile(source, target="cpu", *, pipeline_options="", opt_level=3, shared_libs=(),
            runner_utils=False):
    """Compiles MLIR text (egs, linalg, tensor, arith, scf, ... on tensors or
    memrefs) for `target` ("cpu" or "cuda") and returns a Program whose
    public functions are callable. Arguments are host arrays; with "cuda"
    every egs op runs on the GPU, its operands copied to the device and
    back (the --egs-lower-to-nvvm default host-buffers=copy, as
    egs-runner --target=cuda does). `pipeline_options` go to the target's
    pipeline (e.g. "check-indices=false"). External functions the program
    calls are looked up in `shared_libs` (opened privately, RTLD_LOCAL) and
    then in the process; `runner_utils=True` adds MLIR's runner utility
    libraries (printMemrefF32, memrefCopy, ...)."""
    if target not in ("cpu", "cuda"):
        raise ValueError(f"egs.compile: target must be 'cpu' or 'cuda', got {target!r}")
    for what, text in (("source", source), ("pipeline_options", pipeline_options)):
        if not isinstance(text, str):
            raise TypeError(f"egs.compile: {what} must be a str, got {type(text).__name__}")
    opt_level = _int(opt_level, "opt_level", "compile", 0, 3)
    libs = list(shared_libs) + (_runner_utils() if _flag(runner_utils, "runner_utils", "compile")
                                else [])
    exe = _kernels.compile_source(source, target, pipeline_options, opt_level, libs)
    return Program(exe, target, source)


def _runner_utils():
    """The MLIR runner utility libraries of the LLVM egs was built with
    ($EGS_MLIR_LIB_DIR overrides the directory)."""
    import os
    d = os.environ.get("EGS_MLIR_LIB_DIR", "/usr/lib/llvm-22/lib")
    names = ("libmlir_c_runner_utils.so", "libmlir_runner_utils.so")
    return [os.path.join(d, n) for n in names if os.path.exists(os.path.join(d, n))]
