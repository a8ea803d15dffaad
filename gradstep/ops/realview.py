"""Complex-number accessors on real tensors, as torch defines them for non-complex dtypes:
``real``/``conj``/``conj_physical``/``resolve_conj``/``resolve_neg`` return the input itself,
``imag`` raises, ``is_conj``/``is_neg`` are False, ``angle`` is 0 or pi (gradient 0)."""

from __future__ import annotations

import math

from ..autograd.function import Node
from ..backend import xp
from ._util import as_float
from .arithmetic import _t


def real(input):  # noqa: A002 - torch's keyword name
    return _t(input)


def imag(input):  # noqa: A002
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


def conj(input):  # noqa: A002
    return _t(input)


conj_physical = resolve_conj = resolve_neg = conj


def conj_physical_(input):  # noqa: A002
    return _t(input)


def is_conj(input):  # noqa: A002
    return False


def is_neg(input):  # noqa: A002
    return False


class Angle(Node):
    """0 for x >= 0, pi for x < 0, NaN for NaN; torch's gradient for real input is zero."""

    holds_saved = True  # torch saves the input

    def forward(self, a):
        pi = a.dtype.type(math.pi) if a.dtype.kind == "f" else math.pi
        out = xp.where(a < 0, pi, a.dtype.type(0) if a.dtype.kind == "f" else 0.0)
        out = xp.where(xp.isnan(a), a, out)
        return out.astype(a.dtype)

    def backward(self, g):
        return g * 0


def angle(input):  # noqa: A002
    return Angle.apply(as_float(_t(input)))
