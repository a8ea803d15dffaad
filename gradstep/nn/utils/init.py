"""``torch.nn.utils.skip_init``: build a module whose parameters may be left uninitialized."""

from __future__ import annotations

import inspect

from ..modules.module import Module

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with no promise about the parameter values.

    torch builds the module on the meta device and allocates empty storage; gradstep has no
    meta device, so the usual initialization runs (values that are allowed, just not saved).
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    return module_cls(*args, **kwargs)
