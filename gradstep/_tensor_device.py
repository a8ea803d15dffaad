"""Tensor methods about where data lives and how it is laid out.

``Tensor.to`` (torch's three call forms), ``cpu``/``cuda``, ``device``, ``get_device``,
``pin_memory``, the ``is_cuda``/``is_meta``/... flags and ``is_contiguous(memory_format=)``.
Every tensor is a CPU tensor; asking for another device raises
:class:`gradstep._device.DeviceUnavailableError`. ``pin_memory()`` returns the tensor
itself: its memory is ordinary host memory and there is no GPU to copy it to, so
pinning has nothing to speed up (torch's CPU-only build raises instead; gradstep
accepts it so GPU-tuned data code runs).
"""

from __future__ import annotations

from . import backend as B
from ._device import check_device, cuda_unavailable, device
from ._memory_format import check_memory_format, is_contiguous_as, needs_format_copy

CPU = device("cpu")
_FALSE_FLAGS = ("is_cuda", "is_xpu", "is_mps", "is_sparse", "is_sparse_csr", "is_quantized",
                "is_meta", "is_mkldnn", "is_nested", "is_vulkan", "is_ipu")
_TO_KEYWORDS = frozenset(("device", "dtype", "non_blocking", "copy", "memory_format"))
_Tensor = None  # set by bind()


def parse_to(args, kwargs):
    """torch's ``to`` overloads -> (dtype or None, copy, memory_format); checks the device.

    ``to(device=None, dtype=None, non_blocking=False, copy=False, *, memory_format=None)``,
    ``to(dtype, non_blocking=False, copy=False, *, memory_format=None)`` and
    ``to(other, non_blocking=False, copy=False, *, memory_format=None)``.
    """
    for k in kwargs:
        if k not in _TO_KEYWORDS:
            raise TypeError(f"to() got an unexpected keyword argument '{k}'")
    dtype, flags = kwargs.get("dtype"), []
    for a in args:
        if isinstance(a, bool):
            flags.append(a)  # non_blocking, then copy
        elif isinstance(a, B.dtype):
            dtype = a
        elif _Tensor is not None and isinstance(a, _Tensor):
            dtype = a.dtype
        elif isinstance(a, (str, device, int)):
            check_device(a)
        elif a is not None:
            dtype = B.as_dtype(a)
    check_device(kwargs.get("device"))
    copy = kwargs.get("copy", flags[1] if len(flags) > 1 else False)
    return dtype, bool(copy), kwargs.get("memory_format")


def to(self, *args, **kwargs):
    dtype, copy, fmt = parse_to(args, kwargs)
    check_memory_format(fmt, self.ndim)
    copy = copy or (fmt is not None and needs_format_copy(self._data, fmt, by_strides=False))
    if dtype is None or B.as_dtype(dtype).np == self._data.dtype:
        return self.clone() if copy else self
    from .ops.elementwise import Cast

    return Cast.apply(self, dtype=B.as_dtype(dtype))


def cpu(self, memory_format=None):
    check_memory_format(memory_format, self.ndim)
    return self


def cuda(self, device=None, non_blocking=False, memory_format=None):
    raise cuda_unavailable()


def xpu(self, device=None, non_blocking=False, memory_format=None):
    check_device("xpu")


def get_device(self):
    return -1  # torch's answer for a CPU tensor


def pin_memory(self, device=None):
    return self


def is_pinned(self, device=None):
    return False


def is_inference(self):
    """Whether this tensor was made inside ``inference_mode()`` (or is a view of one)."""
    from .autograd._inference import is_inference as _is_inference

    return _is_inference(self)


def is_contiguous(self, memory_format=None):
    return is_contiguous_as(self._data, memory_format)


def bind(tensor_cls):
    """Install these methods and properties on ``Tensor``."""
    global _Tensor
    _Tensor = tensor_cls
    for name in ("to", "cpu", "cuda", "xpu", "get_device", "pin_memory", "is_pinned",
                 "is_inference", "is_contiguous"):
        setattr(tensor_cls, name, globals()[name])
    tensor_cls.device = property(lambda self: CPU, doc="Always ``device('cpu')``.")
    tensor_cls.is_cpu = property(lambda self: True)
    false = property(lambda self: False)
    for name in _FALSE_FLAGS:
        setattr(tensor_cls, name, false)
