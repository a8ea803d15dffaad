"""The rest of ``torch.cuda``'s names, as torch 2.13's CPU-only build answers them.

What that build returns without a GPU is returned here (the legacy memory names are 0 or
empty, ``has_half`` is True, ``get_gencode_flags()`` is ``''``, ``list_gpu_processes()`` says
pynvml is missing); what it refuses with "Torch not compiled with CUDA enabled" raises
gradstep's :class:`DeviceUnavailableError` (an ``AssertionError`` too, as torch's); the NVML
queries raise torch's ``ModuleNotFoundError``. Where torch fails with an ``AttributeError``
from its missing C extension (``reset_max_memory_cached``, ``memory_snapshot``,
``get_allocator_backend``, the tunable-op switches), gradstep answers as the no-GPU case
means: nothing to reset, an empty snapshot, no allocator, tunable ops off.
"""

from __future__ import annotations

import contextlib
import warnings
from collections import OrderedDict

from .._device import DeviceUnavailableError, cuda_unavailable

has_half = True
has_magma = False


def _needs_gpu(*args, **kwargs):
    raise cuda_unavailable()


# -- memory: nothing cached, nothing allocated
def memory_cached(device=None) -> int:
    warnings.warn("`torch.cuda.memory_cached` has been renamed to `torch.cuda.memory_reserved`",
                  FutureWarning, stacklevel=2)
    return 0


def max_memory_cached(device=None) -> int:
    warnings.warn("`torch.cuda.max_memory_cached` has been renamed to "
                  "`torch.cuda.max_memory_reserved`", FutureWarning, stacklevel=2)
    return 0


def reset_max_memory_cached(device=None) -> None:
    return None


def memory_stats_as_nested_dict(device=None) -> dict:
    return {}


def host_memory_stats() -> OrderedDict:
    return OrderedDict()


def host_memory_stats_as_nested_dict() -> dict:
    return {}


def reset_accumulated_host_memory_stats() -> None:
    return None


def reset_peak_host_memory_stats() -> None:
    return None


def memory_snapshot(mempool_id=None) -> list:
    return []


def memory_summary(device=None, abbreviated=False) -> str:
    return "No CUDA device: gradstep runs on the CPU, and no GPU memory is allocated.\n"


def list_gpu_processes(device=None) -> str:
    return "pynvml module not found, please install nvidia-ml-py"


def _nvml(*args, **kwargs):
    raise ModuleNotFoundError("nvidia-ml-py does not seem to be installed or it can't be "
                              "imported.")


utilization = temperature = power_draw = clock_rate = memory_usage = device_memory_used = _nvml


def get_allocator_backend() -> str:
    return "native"


def caching_allocator_alloc(size, device=None, stream=None):
    raise cuda_unavailable()


def caching_allocator_delete(mem_ptr) -> None:
    return None


def caching_allocator_enable(value: bool = True) -> None:
    return None


@contextlib.contextmanager
def caching_allocator_disabled():
    yield


def change_current_allocator(allocator) -> None:
    raise cuda_unavailable()


get_per_process_memory_fraction = can_device_access_peer = _needs_gpu
current_blas_handle = current_solver_handle = get_stream_from_external = cudart = _needs_gpu


class MemPool:
    """Memory pools need the CUDA caching allocator (torch: a dummy class that refuses)."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("Tried to instantiate dummy base class MemPool")


@contextlib.contextmanager
def use_mem_pool(pool, device=None):
    """Entering needs the current CUDA device: refused, as torch's CPU build does."""
    raise cuda_unavailable()
    yield  # pragma: no cover


class CUDAPluggableAllocator:
    def __init__(self, path_to_so_file, alloc_fn_name, free_fn_name):
        raise cuda_unavailable()


# -- errors, status, build info
class cudaStatus:  # noqa: N801  (torch's name)
    SUCCESS: int = 0
    ERROR_NOT_READY: int = 34


class CudaError(RuntimeError):
    """An error code from the CUDA runtime; there is no runtime to describe it."""

    def __init__(self, code: int) -> None:
        super().__init__(f"CUDA error code {code} (no CUDA runtime: gradstep runs on the CPU)")


class DeferredCudaCallError(Exception):
    pass


def check_error(res: int) -> None:
    if res != cudaStatus.SUCCESS:
        raise CudaError(res)


def get_gencode_flags() -> str:
    return ""


# -- streams, sync debug mode, device_of
def set_stream(stream) -> None:
    if stream is None:
        return None
    raise cuda_unavailable()


def set_sync_debug_mode(debug_mode) -> None:
    raise cuda_unavailable()


def get_sync_debug_mode() -> int:
    raise cuda_unavailable()


def is_current_stream_capturing() -> bool:
    raise RuntimeError("Tried to instantiate dummy base class _cuda_isCurrentStreamCapturing")


def graph_pool_handle():
    raise RuntimeError("Tried to instantiate dummy base class _graph_pool_handle")


class ExternalStream:
    def __init__(self, stream_ptr, device=None, **kwargs):
        raise cuda_unavailable()


def _device_of():
    from . import device

    class device_of(device):  # noqa: N801
        """``with torch.cuda.device_of(t):`` the device of ``t``: a CPU tensor is a no-op."""

        def __init__(self, obj):
            super().__init__(obj.get_device() if obj.is_cuda else -1)

    return device_of


device_of = _device_of()

class _CudaStorageType(type):
    """The legacy ``torch.cuda.FloatStorage``-style classes: no object is ever one of them."""

    def __instancecheck__(cls, obj):
        return False


def _refuse(cls, *args, **kwargs):
    raise cuda_unavailable()


CUDA_STORAGES = {
    name: _CudaStorageType(name, (), {"__new__": _refuse, "is_cuda": True,
                                      "__module__": "torch.cuda"})
    for name in ("BFloat16Storage", "BoolStorage", "ByteStorage", "CharStorage",
                 "ComplexDoubleStorage", "ComplexFloatStorage", "DoubleStorage", "FloatStorage",
                 "HalfStorage", "IntStorage", "LongStorage", "ShortStorage")}

__all__ = ["DeviceUnavailableError"]  # the rest is re-exported by name from gradstep.cuda
