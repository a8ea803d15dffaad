"""``torch.cpu.amp``: the deprecated CPU spellings of autocast and GradScaler.

Each warns (FutureWarning) as in torch 2.13 and then is ``torch.amp.autocast('cpu', ...)``
/ ``torch.amp.GradScaler('cpu', ...)``.
"""

from __future__ import annotations

import warnings

from .. import backend as B
from ..amp import autocast_mode as _autocast_mode
from ..amp.grad_scaler import GradScaler as _GradScaler

__all__ = ["autocast", "GradScaler"]


def _deprecated(old, new):
    warnings.warn(f"`torch.cpu.amp.{old}(args...)` is deprecated. Please use `{new}` instead.",
                  FutureWarning, stacklevel=3)


class autocast(_autocast_mode.autocast):
    """``torch.cpu.amp.autocast(enabled=True, dtype=torch.bfloat16, cache_enabled=True)``."""

    def __init__(self, enabled=True, dtype=B.bfloat16, cache_enabled=True):
        _deprecated("autocast", "torch.amp.autocast('cpu', args...)")
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """``torch.cpu.amp.GradScaler(init_scale, growth_factor, backoff_factor, growth_interval,
    enabled)``."""

    def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        _deprecated("GradScaler", "torch.amp.GradScaler('cpu', args...)")
        super().__init__("cpu", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)
