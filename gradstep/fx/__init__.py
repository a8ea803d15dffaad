"""``torch.fx``: gradstep is eager and has no graph tracer.

Model code (timm, torchvision) marks helpers with ``@torch.fx.wrap`` at import time so
that FX tracing keeps them as leaf calls; here ``wrap`` checks its argument as torch
does and returns it unchanged. Tracing itself (``symbolic_trace``) is not supported.
"""

from __future__ import annotations

import inspect


def wrap(fn_or_name):
    """Register a leaf function for FX tracing: a no-op here, returning ``fn_or_name``."""
    if not callable(fn_or_name) and not isinstance(fn_or_name, str):
        raise RuntimeError("Unsupported type for global function! Must be either a callable or string name")
    caller = inspect.currentframe().f_back
    if caller is None or caller.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    return fn_or_name


def symbolic_trace(root, concrete_args=None):
    raise NotImplementedError(
        "torch.fx.symbolic_trace is not supported by gradstep (it runs eagerly and has no "
        "graph tracer); call the module directly")
