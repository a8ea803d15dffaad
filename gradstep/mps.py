"""``torch.mps`` without Apple's Metal backend: not available, as on any non-Mac machine.

Seeding is accepted (torch's CPU-only build does too); anything that needs the GPU
raises as torch's does.
"""

from __future__ import annotations

from ._device import DeviceUnavailableError


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed) -> None:
    int(seed)


def _needs_mps(what):
    def fn(*args, **kwargs):
        raise DeviceUnavailableError(f"Cannot execute {what}() without MPS backend: gradstep "
                                     "runs on the CPU only")
    fn.__name__ = what
    return fn


seed = _needs_mps("seed")
synchronize = _needs_mps("synchronize")
empty_cache = _needs_mps("empty_cache")
current_allocated_memory = _needs_mps("current_allocated_memory")
driver_allocated_memory = _needs_mps("driver_allocated_memory")
recommended_max_memory = _needs_mps("recommended_max_memory")
get_rng_state = _needs_mps("get_rng_state")
set_rng_state = _needs_mps("set_rng_state")
set_per_process_memory_fraction = _needs_mps("set_per_process_memory_fraction")
