"""Padding layers (``ZeroPad2d``, ``ConstantPad1d``, ``ReflectionPad2d``, ...) over ``F.pad``."""

from __future__ import annotations

from .._functional.padding import pad
from .module import Module

__all__ = [
    "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
    "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
]


def _sides(padding, n_dims):
    """An int pads every side; otherwise a (left, right, top, bottom, ...) tuple of 2N ints."""
    if isinstance(padding, int):
        return (padding,) * (2 * n_dims)
    padding = tuple(padding)
    if len(padding) != 2 * n_dims:
        raise ValueError(f"padding must be an int or a tuple of {2 * n_dims} ints, got {padding}")
    return padding


class _PadNd(Module):
    n_dims = 1
    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _sides(padding, self.n_dims)

    def forward(self, input):  # noqa: A002
        return pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):  # noqa: A002
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    n_dims = 1


class ConstantPad2d(_ConstantPadNd):
    n_dims = 2


class ConstantPad3d(_ConstantPadNd):
    n_dims = 3


class ZeroPad1d(ConstantPad1d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    n_dims, mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    n_dims, mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    n_dims, mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    n_dims, mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    n_dims, mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    n_dims, mode = 3, "replicate"


class _CircularPadNd(_PadNd):
    mode = "circular"

    def forward(self, input):  # noqa: A002
        if input.ndim not in (self.n_dims + 1, self.n_dims + 2):  # torch's module checks first
            raise ValueError(f"expected {self.n_dims + 1}D or {self.n_dims + 2}D input (got "
                             f"{input.ndim}D input)")
        return pad(input, self.padding, self.mode)


class CircularPad1d(_CircularPadNd):
    n_dims = 1


class CircularPad2d(_CircularPadNd):
    n_dims = 2


class CircularPad3d(_CircularPadNd):
    n_dims = 3
