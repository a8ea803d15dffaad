"""``torch.accelerator`` on a machine without one: gradstep computes on the CPU.

``is_available()`` is False, ``current_accelerator()`` None and ``device_count()`` 0,
so ``torch.accelerator.current_accelerator() or torch.device('cpu')`` picks the CPU;
calls that need an accelerator raise as torch's do.
"""

from __future__ import annotations

from ._device import _no_accelerator


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False):
    return None


def device_count() -> int:
    return 0


def _needs_accelerator(*args, **kwargs):
    raise _no_accelerator()


current_device_index = current_device_idx = set_device_index = set_device_idx = _needs_accelerator
current_stream = set_stream = synchronize = empty_cache = _needs_accelerator
memory_allocated = max_memory_allocated = memory_reserved = max_memory_reserved = _needs_accelerator
memory_stats = reset_peak_memory_stats = reset_accumulated_memory_stats = _needs_accelerator
