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
    if (kwargs and not _keywords_ok(kwargs)) or (len(args) > 1 and not _positional_ok(args)):
        raise _to_error(args, kwargs)
    for a in args:
        if isinstance(a, bool):
            flags.append(a)  # non_blocking, then copy
        elif isinstance(a, B.dtype):
            dtype = a
        elif _Tensor is not None and isinstance(a, _Tensor):
            dtype = a.dtype
        elif isinstance(a, (str, device, int)):
            check_device(a)
        elif isinstance(a, _NOT_TO_ARGS) or (isinstance(a, type) and issubclass(a, B.xp.generic)):
            raise _to_error(args, kwargs)  # torch's parser takes none of these (nor np.float32)
        elif a is not None:
            dtype = B.as_dtype(a)
    check_device(kwargs.get("device"))
    copy = kwargs.get("copy", flags[1] if len(flags) > 1 else False)
    return dtype, bool(copy), kwargs.get("memory_format")


_TO_SIGNATURES = tuple(
    f"{first}bool non_blocking = False, bool copy = False, *, torch.memory_format memory_format = "
    "None" for first in ("torch.device device = None, torch.dtype dtype = None, ",
                         "torch.dtype dtype, ", "Tensor tensor, "))
_NOT_TO_ARGS = (float, complex, tuple, list, B.xp.generic, B.xp.dtype)


def _keywords_ok(kwargs):
    dt, dev = kwargs.get("dtype"), kwargs.get("device")
    if not (dev is None or type(dev) is str or type(dev) is int or isinstance(dev, device)):
        return False
    return (dt is None or isinstance(dt, B.dtype)) and \
        type(kwargs.get("non_blocking", False)) is bool and type(kwargs.get("copy", False)) is bool


def _positional_ok(args):
    """The order torch's three forms allow: (device or None, then dtype or None) or a dtype
    or tensor, then at most two bools (non_blocking, copy)."""
    first, rest = args[0], args[1:]
    if first is None or (isinstance(first, (str, device, int)) and not isinstance(first, bool)):
        if rest[0] is None or isinstance(rest[0], B.dtype):
            rest = rest[1:]
    return len(rest) <= 2 and all(type(a) is bool for a in rest)


def _to_error(args, kwargs):
    """torch's "to() received an invalid combination of arguments" for this call."""
    from ._argparse import METHOD, invalid_combination, reword

    err = invalid_combination("to", args, _TO_SIGNATURES)
    reword(err, (None, *args), kwargs, METHOD)
    return err


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
