"""``torch.nn.attention``: choosing scaled-dot-product-attention kernels.

gradstep has one kernel (the math one, run on the CPU), so :func:`sdpa_kernel` only
records the switches, in :mod:`gradstep.backends.cuda`, where
``torch.backends.cuda.flash_sdp_enabled()`` and friends read them, as torch's does.
"""

from __future__ import annotations

import contextlib
import enum

from ...backends import cuda as _cuda

__all__ = ["SDPBackend", "sdpa_kernel", "WARN_FOR_UNFUSED_KERNELS"]

WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(enum.IntEnum):
    """The attention backends torch names (an int enum, as torch's pybind one)."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __str__(self):
        return f"SDPBackend.{self.name}"


_BACKEND_NAMES = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
                  "mem_efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH,
                  "overrideable": SDPBackend.OVERRIDEABLE}


def _current():
    return [b for name, b in _BACKEND_NAMES.items() if _cuda._sdp[name]]


def _enable(backends):
    for name, b in _BACKEND_NAMES.items():
        _cuda._sdp[name] = b in backends


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Enable only ``backends`` (an :class:`SDPBackend` or a list of them) inside the block."""
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError("Backend must be an instance of SDPBackend or a list of SDPBackend "
                             f"instances, got {type(backends).__name__}")
    if isinstance(backends, SDPBackend):
        backends = [backends]
    previous = _current()
    try:
        _enable(list(dict.fromkeys(backends)))
        yield {}
    finally:
        _enable(previous)
