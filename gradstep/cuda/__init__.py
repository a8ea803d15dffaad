"""``torch.cuda`` as on a build of torch 2.13 without CUDA: gradstep runs on the CPU.

Programs ask this module whether a GPU exists and take their CPU path:
``is_available()`` is False and ``device_count()`` is 0. What torch's CPU-only build
accepts quietly is accepted here too (seeding, ``empty_cache``, the memory counters,
which are 0); what needs a GPU (``current_device``, ``synchronize``,
``get_device_name``, streams and events) raises :class:`DeviceUnavailableError`
(torch's "Torch not compiled with CUDA enabled", plus how to write device-agnostic
code). Where torch itself fails with an ``AttributeError`` from its missing C
extension (``reset_peak_memory_stats``), gradstep does nothing instead: there are no
peaks to reset. ``torch.cuda.amp`` is the autocast/GradScaler module, imported on
first use.
"""

from __future__ import annotations

import importlib
from collections import OrderedDict

from .._device import DeviceUnavailableError, cuda_unavailable
from .._device import device as _device_cls
from .._tensor_types import CUDA_CLASSES as _CUDA_CLASSES

# torch.cuda.FloatTensor, ...: they exist on a CPU-only build, construct nothing, match nothing
globals().update(_CUDA_CLASSES)


class OutOfMemoryError(RuntimeError):
    """``torch.cuda.OutOfMemoryError``: never raised by gradstep, but programs catch it."""


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def is_tf32_supported() -> bool:
    return False


def get_arch_list() -> list:
    return []


# ---------------------------------------------------------------- seeding: accepted, nothing to seed
def manual_seed(seed) -> None:
    int(seed)


def manual_seed_all(seed) -> None:
    int(seed)


def seed() -> None:
    return None


def seed_all() -> None:
    return None


def get_rng_state_all() -> list:
    return []


def set_rng_state(new_state, device="cuda") -> None:
    return None


def set_rng_state_all(new_states) -> None:
    return None


default_generators: tuple = ()


# ---------------------------------------------------------------- memory: nothing allocated
def memory_allocated(device=None) -> int:
    return 0


def max_memory_allocated(device=None) -> int:
    return 0


def memory_reserved(device=None) -> int:
    return 0


def max_memory_reserved(device=None) -> int:
    return 0


def memory_stats(device=None) -> OrderedDict:
    return OrderedDict()


def empty_cache() -> None:
    return None


def reset_peak_memory_stats(device=None) -> None:
    return None


def reset_max_memory_allocated(device=None) -> None:
    return None


def reset_accumulated_memory_stats(device=None) -> None:
    return None


# ---------------------------------------------------------------- what needs a GPU
def _needs_gpu(*args, **kwargs):
    raise cuda_unavailable()


init = synchronize = current_device = get_device_name = get_device_capability = _needs_gpu
get_device_properties = current_stream = default_stream = mem_get_info = _needs_gpu
initial_seed = get_rng_state = ipc_collect = set_per_process_memory_fraction = _needs_gpu


def set_device(device) -> None:
    if isinstance(device, (str, _device_cls)) and _device_cls(device).type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {device}")
    raise cuda_unavailable()


class device:
    """``with torch.cuda.device(i):``: index -1 or None is a no-op; any GPU index raises."""

    def __init__(self, device):
        self.idx = -1 if device is None else (device.index if isinstance(device, _device_cls)
                                              else int(device))

    def __enter__(self):
        if self.idx is not None and self.idx >= 0:
            raise cuda_unavailable()
        return self

    def __exit__(self, *exc):
        return False


class Stream:
    """CUDA streams cannot be made without a GPU (torch raises the same way)."""

    def __init__(self, *args, **kwargs):
        raise DeviceUnavailableError("torch.cuda.Stream requires CUDA support: gradstep runs on "
                                     "the CPU only")


class Event:
    """CUDA events cannot be made without a GPU; time CPU code with ``time.perf_counter``."""

    def __init__(self, *args, **kwargs):
        raise DeviceUnavailableError("torch.cuda.Event requires CUDA support: gradstep runs on "
                                     "the CPU only (time code with time.perf_counter)")


class StreamContext:
    """``torch.cuda.stream(None)``: a no-op context; a real stream cannot exist here."""

    def __init__(self, stream):
        if stream is not None:
            raise cuda_unavailable()

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def stream(stream) -> StreamContext:
    return StreamContext(stream)


from ._surface import CUDA_STORAGES as _CUDA_STORAGES  # noqa: E402
from ._surface import (  # noqa: E402
    CudaError,
    CUDAPluggableAllocator,
    DeferredCudaCallError,
    ExternalStream,
    MemPool,
    caching_allocator_alloc,
    caching_allocator_delete,
    caching_allocator_disabled,
    caching_allocator_enable,
    can_device_access_peer,
    change_current_allocator,
    check_error,
    clock_rate,
    cudart,
    cudaStatus,
    current_blas_handle,
    current_solver_handle,
    device_memory_used,
    device_of,
    get_allocator_backend,
    get_gencode_flags,
    get_per_process_memory_fraction,
    get_stream_from_external,
    get_sync_debug_mode,
    graph_pool_handle,
    has_half,
    has_magma,
    host_memory_stats,
    host_memory_stats_as_nested_dict,
    is_current_stream_capturing,
    list_gpu_processes,
    max_memory_cached,
    memory_cached,
    memory_snapshot,
    memory_stats_as_nested_dict,
    memory_summary,
    memory_usage,
    power_draw,
    reset_accumulated_host_memory_stats,
    reset_max_memory_cached,
    reset_peak_host_memory_stats,
    set_stream,
    set_sync_debug_mode,
    temperature,
    use_mem_pool,
    utilization,
)

globals().update(_CUDA_STORAGES)

#: submodules made on first use (``torch.cuda.nvtx.range_push``, ``torch.cuda.graphs`` ...)
_SUBMODULES = frozenset({"amp", "nvtx", "graphs", "random", "jiterator", "tunable", "sparse",
                         "streams", "memory", "profiler"})
_FROM_GRAPHS = frozenset({"CUDAGraph", "graph", "make_graphed_callables"})


def __getattr__(name):
    if name in _SUBMODULES:  # e.g. gradstep.cuda.amp (autocast, GradScaler)
        return importlib.import_module("." + name, __name__)
    if name in _FROM_GRAPHS:
        return getattr(importlib.import_module(".graphs", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
