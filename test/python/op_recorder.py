"""OpRecorder: a TorchDispatchMode that records the ops dispatched under it
(name, arguments), for tests that check which kernels a call runs."""
from torch.utils._python_dispatch import TorchDispatchMode


class OpRecorder(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls.append((str(func.overloadpacket), args))
        return func(*args, **(kwargs or {}))
