"""Bitwise functions and shifts, gcd/lcm (integer ops; results never require grad)."""

from __future__ import annotations

from ..backend import xp
from ._util import binary_args, dtype_title
from .compare import bitwise, invert


def _check_integral(a, kernel):
    if a.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}_cpu" not implemented for \'{dtype_title(a.dtype)}\'')


def bitwise_and(input, other):  # noqa: A002 - torch's keyword names
    return bitwise(input, other, xp.bitwise_and)


def bitwise_or(input, other):  # noqa: A002
    return bitwise(input, other, xp.bitwise_or)


def bitwise_xor(input, other):  # noqa: A002
    return bitwise(input, other, xp.bitwise_xor)


def bitwise_not(input):  # noqa: A002
    return invert(input)


def _shift(input, other, left):  # noqa: A002
    from .._tensor import Tensor

    a, b = binary_args(input, other)
    _check_integral(a, "lshift" if left else "rshift")
    x, s = a._data, b._data
    bits = x.dtype.itemsize * 8
    if x.dtype.kind == "b":  # torch shifts bools as integers and casts back
        x = x.astype(xp.uint8)
    out_of_range = (s < 0) | (s >= bits)
    s_safe = xp.where(out_of_range, 0, s).astype(x.dtype)
    if left:
        # torch shifts the unsigned representation: overflowing bits drop, no UB
        u = x.view(f"u{x.dtype.itemsize}") if x.dtype.kind == "i" else x
        res = xp.left_shift(u, s_safe.view(u.dtype) if s_safe.dtype != u.dtype else s_safe)
        res = res.view(x.dtype) if res.dtype != x.dtype else res
        res = xp.where(out_of_range, x.dtype.type(0), res)
    else:
        res = xp.right_shift(x, s_safe)
        res = xp.where(out_of_range, xp.right_shift(x, x.dtype.type(bits - 1)), res)
    return Tensor._make(res.astype(a._data.dtype))


def bitwise_left_shift(input, other):  # noqa: A002
    """``input << other``; a shift of the bit width or more (or negative) gives 0, as in torch."""
    return _shift(input, other, True)


def bitwise_right_shift(input, other):  # noqa: A002
    """``input >> other`` (arithmetic); out-of-range shifts fill with the sign bit."""
    return _shift(input, other, False)


def _gcd_like(input, other, fn, name):  # noqa: A002
    from .._tensor import Tensor

    a, b = binary_args(input, other)
    if a.dtype.is_floating_point or a.dtype.name == "bool":
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'{dtype_title(a.dtype)}\'')
    return Tensor._make(fn(a._data, b._data).astype(a._data.dtype))


def gcd(input, other):  # noqa: A002
    return _gcd_like(input, other, xp.gcd, "gcd")


def lcm(input, other):  # noqa: A002
    return _gcd_like(input, other, xp.lcm, "lcm")
