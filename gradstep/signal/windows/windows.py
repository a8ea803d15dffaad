"""The window functions of ``torch.signal.windows`` (SciPy's names: ``M`` points, ``sym=``).

Unlike ``torch.hann_window`` and its siblings (``gradstep.ops.windows``), torch writes these
in Python as a composition of tensor ops: a ``linspace`` of the sample positions, then the
formula. They are built here from the same public ops in the same order, so the values are
those ops' values (and the rounding torch's composition has), and ``requires_grad=True``
makes the ``linspace`` a leaf that the result's graph reaches, as in torch.

``sym=False`` gives the periodic window (for spectral analysis): the symmetric window of
``M + 1`` points without its last one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..._layout import strided

__all__ = [
    "bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
    "general_hamming", "hamming", "hann", "kaiser", "nuttall",
]


def _torch():
    import gradstep

    return gradstep


def _checks(name, M, dtype, layout):
    """torch's checks, in its order; returns the dtype (the default one when None)."""
    gs = _torch()
    dtype = gs.get_default_dtype() if dtype is None else dtype
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if layout is not strided:
        raise ValueError(f"{name} is implemented for strided tensors only, got: {layout}")
    if dtype not in (gs.float32, gs.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dtype}")
    return dtype


def _filled(n, dtype, device, requires_grad):
    """The trivial windows: no points (``M == 0``) or the single point 1 (``M == 1``)."""
    gs = _torch()
    make, size = (gs.empty, (0,)) if n == 0 else (gs.ones, (1,))  # M may be a bool
    return make(size, dtype=dtype, device=device, requires_grad=requires_grad)


def _positions(start, end, M, dtype, device, requires_grad):
    return _torch().linspace(start, end, M, dtype=dtype, device=device,
                             requires_grad=requires_grad)


def _span(M, sym):
    """The symmetric window's length that a window of ``M`` points is cut from, less one."""
    return M if not sym and M > 1 else M - 1


def exponential(M, *, center=None, tau=1.0, sym=True, dtype=None, layout=strided, device=None,
                requires_grad=False):
    """``exp(-|n - center| / tau)``."""
    gs = _torch()
    dtype = _checks("exponential", M, dtype, layout)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    if M == 0:
        return _filled(0, dtype, device, requires_grad)
    if center is None:
        center = _span(M, sym) / 2.0
    inv_tau = 1 / tau
    k = _positions(-center * inv_tau, (-center + (M - 1)) * inv_tau, M, dtype, device,
                   requires_grad)
    return gs.exp(-gs.abs(k))


def cosine(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The sine window ``sin(pi (n + 1/2) / M)``."""
    gs = _torch()
    dtype = _checks("cosine", M, dtype, layout)
    if M == 0:
        return _filled(0, dtype, device, requires_grad)
    step = math.pi / (M + 1 if not sym and M > 1 else M)
    k = _positions(0.5 * step, (0.5 + (M - 1)) * step, M, dtype, device, requires_grad)
    return gs.sin(k)


def gaussian(M, *, std=1.0, sym=True, dtype=None, layout=strided, device=None,
             requires_grad=False):
    """``exp(-(n - (M - 1) / 2)^2 / (2 std^2))``."""
    gs = _torch()
    dtype = _checks("gaussian", M, dtype, layout)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    if M == 0:
        return _filled(0, dtype, device, requires_grad)
    first = -_span(M, sym) / 2.0
    scale = 1 / (std * math.sqrt(2))
    k = _positions(first * scale, (first + (M - 1)) * scale, M, dtype, device, requires_grad)
    return gs.exp(-(k ** 2))


def kaiser(M, *, beta=12.0, sym=True, dtype=None, layout=strided, device=None,
           requires_grad=False):
    """``I0(sqrt(beta^2 - k^2)) / I0(beta)`` for ``k`` from ``-beta`` to ``beta``."""
    gs = _torch()
    dtype = _checks("kaiser", M, dtype, layout)
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    if M <= 1:
        return _filled(M, dtype, device, requires_grad)
    b = gs.tensor(beta, dtype=dtype, device=device)
    step = 2.0 * b / (M if not sym else M - 1)
    last = gs.minimum(b, -b + (M - 1) * step)  # no point past beta (a NaN in the sqrt)
    k = _positions(-b, last, M, dtype, device, requires_grad)
    return gs.i0(gs.sqrt(b * b - gs.pow(k, 2))) / gs.i0(b)


def general_cosine(M, *, a, sym=True, dtype=None, layout=strided, device=None,
                   requires_grad=False):
    """``sum_i (-1)^i a_i cos(2 pi i n / (M - 1))``, the sum over the coefficient axis."""
    gs = _torch()
    dtype = _checks("general_cosine", M, dtype, layout)
    if M <= 1:
        return _filled(M, dtype, device, requires_grad)
    if not isinstance(a, Iterable):
        raise TypeError("Coefficients must be a list/tuple")
    if not a:
        raise ValueError("Coefficients cannot be empty")
    step = 2 * math.pi / (M if not sym else M - 1)
    k = _positions(0, (M - 1) * step, M, dtype, device, requires_grad)
    coeffs = gs.tensor([(-1) ** i * w for i, w in enumerate(a)], dtype=dtype, device=device,
                       requires_grad=requires_grad)
    order = gs.arange(coeffs.shape[0], dtype=dtype, device=device,
                      requires_grad=requires_grad)
    return (coeffs.unsqueeze(-1) * gs.cos(order.unsqueeze(-1) * k)).sum(0)


def general_hamming(M, *, alpha=0.54, sym=True, dtype=None, layout=strided, device=None,
                    requires_grad=False):
    """``alpha - (1 - alpha) cos(2 pi n / (M - 1))``."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def hamming(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The Hamming window (``general_hamming`` with alpha 0.54)."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def hann(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The Hann window (``general_hamming`` with alpha 0.5)."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def blackman(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """``general_cosine`` with coefficients 0.42, 0.5, 0.08."""
    _checks("blackman", M, dtype, layout)
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def bartlett(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """The triangle ``1 - |k|`` for ``k`` from -1 in steps of ``2 / (M - 1)``."""
    gs = _torch()
    dtype = _checks("bartlett", M, dtype, layout)
    if M <= 1:
        return _filled(M, dtype, device, requires_grad)
    step = 2 / (M if not sym else M - 1)
    k = _positions(-1, -1 + (M - 1) * step, M, dtype, device, requires_grad)
    return 1 - gs.abs(k)


def nuttall(M, *, sym=True, dtype=None, layout=strided, device=None, requires_grad=False):
    """Nuttall's minimum 4-term Blackman-Harris window (``general_cosine``)."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym,
                          dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)
