"""``torch.xpu`` (Intel GPUs) on a build without them: not available.

As in torch's CPU-only build: seeding, ``empty_cache`` and the memory counters (0)
are accepted; calls that need the device raise ("Torch not compiled with XPU enabled").
"""

from __future__ import annotations

from ._device import check_device


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def manual_seed(seed) -> None:
    int(seed)


def manual_seed_all(seed) -> None:
    int(seed)


def seed() -> None:
    return None


def seed_all() -> None:
    return None


def empty_cache() -> None:
    return None


def memory_allocated(device=None) -> int:
    return 0


def max_memory_allocated(device=None) -> int:
    return 0


def memory_reserved(device=None) -> int:
    return 0


def max_memory_reserved(device=None) -> int:
    return 0


def _needs_xpu(*args, **kwargs):
    check_device("xpu")


init = synchronize = current_device = set_device = get_device_name = _needs_xpu
get_device_properties = get_device_capability = current_stream = _needs_xpu
