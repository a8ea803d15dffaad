"""``torch.utils.dlpack`` (also ``torch.to_dlpack`` / ``torch.from_dlpack``) and the Tensor's
``__dlpack__`` / ``__dlpack_device__``: zero-copy exchange with NumPy, torch and any other
DLPack library, through the NumPy array under each tensor (NumPy produces and consumes the
capsules). Memory is shared both ways, as torch's; everything lives on the CPU.
"""

from __future__ import annotations

import ctypes
import enum

from .._device import check_device
from .._tensor import Tensor
from ..backend import xp

__all__ = ["DLDeviceType", "from_dlpack", "to_dlpack"]


class DLDeviceType(enum.IntEnum):
    """The DLPack standard's device codes (gradstep's tensors are all ``kDLCPU``)."""

    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17


def _is_sparse(t):
    return type(t).__name__ == "SparseCooTensor"


def to_dlpack(tensor):
    """A DLPack capsule (``"dltensor"``) sharing ``tensor``'s memory: the legacy interface;
    pass it once to a ``from_dlpack``."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"_to_dlpack(): argument 'data' (position 1) must be Tensor, not "
                        f"{type(tensor).__name__}")
    if _is_sparse(tensor):
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")
    return tensor._data.__dlpack__()


class _Capsule:
    """A bare capsule dressed as a DLPack producer, for ``numpy.from_dlpack`` (which takes
    producers only). Capsules come from CPU libraries here; NumPy refuses any other device."""

    def __init__(self, capsule):
        self._capsule = capsule

    def __dlpack__(self, stream=None, **_):
        return self._capsule

    def __dlpack_device__(self):
        return (DLDeviceType.kDLCPU, 0)


def from_dlpack(ext_tensor, *, device=None, copy=None):
    """A tensor sharing the memory of ``ext_tensor`` (an object with ``__dlpack__``, e.g. a
    NumPy array or a torch tensor, or a DLPack capsule); ``copy=True`` copies."""
    check_device(device)
    if hasattr(ext_tensor, "__dlpack__"):
        return Tensor._make(xp.from_dlpack(ext_tensor, copy=copy))
    arr = xp.from_dlpack(_Capsule(ext_tensor), copy=copy)
    return Tensor._make(arr if arr.flags.writeable else _writable_view(arr))


def _writable_view(arr):
    """A writable array over the memory of ``arr`` (which it keeps alive). NumPy marks an array
    from a legacy (unversioned) capsule read-only, as that format cannot say; torch's
    ``from_dlpack`` of such a capsule shares writable memory, and so does gradstep's."""
    if arr.size == 0:
        return arr.copy()
    low, high = xp.lib.array_utils.byte_bounds(arr)
    buffer = (ctypes.c_char * (high - low)).from_address(low)
    buffer.keep_alive = arr  # the capsule's memory lives as long as the view's buffer
    offset = arr.__array_interface__["data"][0] - low
    return xp.ndarray(arr.shape, arr.dtype, buffer=buffer, offset=offset, strides=arr.strides)


def _tensor_dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    """``Tensor.__dlpack__``: torch's refusals, then NumPy's capsule of the data."""
    if self.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    if _is_sparse(self):
        raise BufferError("Can't export tensors with layout other than torch.strided")
    if stream is not None and type(stream) is not int:
        raise TypeError("stream must be ``int`` or ``none``")
    return self._data.__dlpack__(max_version=max_version, dl_device=dl_device, copy=copy)


def _tensor_dlpack_device(self):
    return (DLDeviceType.kDLCPU, 0)


def bind():
    Tensor.__dlpack__ = _tensor_dlpack
    Tensor.__dlpack_device__ = _tensor_dlpack_device
