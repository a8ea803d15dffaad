"""gradstep.utils: helpers around training (``data`` holds datasets and the DataLoader)."""

from . import checkpoint, data
from ._swap import set_module, swap_tensors

_LAZY = ("_pytree", "hooks", "model_zoo", "tensorboard", "benchmark", "collect_env",
         "deterministic")


def __getattr__(name):
    # torch imports these with torch itself; here they load on first use (import time)
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
