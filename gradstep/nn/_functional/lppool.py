"""Power-average pooling ``lp_pool1d/2d/3d``: ``(sum over the window of x**p) ** (1/p)``.

Composed as torch does it: average pooling of ``x**p`` times the window size, with
``sign(s) * relu(|s|)`` (that is, s) before the root; ``p = +-inf`` is (minus) max pooling of ``|x|``.
"""

from __future__ import annotations

import math

from ...ops.unary import where
from .pooling import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from .pooling3d import avg_pool3d, max_pool3d


def _lp(input, norm_type, kernel_size, stride, ceil_mode, nd, avg, mx):  # noqa: A002
    if isinstance(norm_type, (int, float)) and math.isinf(norm_type):
        if norm_type > 0:
            return mx(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return -mx(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    ks = (kernel_size,) * nd if isinstance(kernel_size, int) else tuple(kernel_size)
    if len(ks) == 1:
        ks = ks * nd
    if stride is not None:
        out = avg(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    else:
        out = avg(input.pow(norm_type), kernel_size, padding=0, ceil_mode=ceil_mode)
    # torch's sign(s) * relu(|s|) is s in value, with the gradient g * sign(s)**2 except where
    # s is 0: there relu's mask gives 0 for the root's infinite slope (a multiply: inf * 0)
    s = out.detach()
    out = where(s == 0, s, out * (s.sign() * s.sign()))
    return out.mul(math.prod(ks)).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    """1-D power-average pooling over ``(N, C, L)`` or ``(C, L)``."""
    return _lp(input, norm_type, kernel_size, stride, ceil_mode, 1, avg_pool1d, max_pool1d)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    """2-D power-average pooling over ``(N, C, H, W)`` or ``(C, H, W)``."""
    return _lp(input, norm_type, kernel_size, stride, ceil_mode, 2, avg_pool2d, max_pool2d)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    """3-D power-average pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""
    return _lp(input, norm_type, kernel_size, stride, ceil_mode, 3, avg_pool3d, max_pool3d)


__all__ = ["lp_pool1d", "lp_pool2d", "lp_pool3d"]
