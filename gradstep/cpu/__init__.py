"""``torch.cpu``: the CPU device module (``torch.cpu.amp`` and the device queries)."""

from __future__ import annotations

from . import amp

__all__ = ["amp", "current_device", "device_count", "is_available", "is_initialized",
           "set_device", "synchronize"]


def is_available() -> bool:
    return True


def is_initialized() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def set_device(device) -> None:
    """Accepted and ignored, as torch does for the CPU."""


def synchronize(device=None) -> None:
    """CPU work is synchronous: nothing to wait for."""
