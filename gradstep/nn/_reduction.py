"""``torch.nn._reduction`` (``F._Reduction``): the reduction-name helpers that custom losses
written against torch 1.x call, e.g. ``_Reduction.legacy_get_string(size_average, reduce)``
or ``_Reduction.get_enum(self.reduction)``.

The enum values are ATen's ``Reduction`` constants: none 0, mean 1, sum 2.
"""

from __future__ import annotations

import warnings

from .._warn_once import user_stacklevel
from ._functional.loss import _legacy_string

__all__ = ["get_enum", "legacy_get_string", "legacy_get_enum"]

_ENUM = {"none": 0, "mean": 1, "sum": 2}


def get_enum(reduction):
    """The ATen enum of a reduction name; ``'elementwise_mean'`` is the deprecated ``'mean'``."""
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' "
                      "instead.", stacklevel=user_stacklevel())
        return 1
    if reduction not in _ENUM:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return _ENUM[reduction]


def legacy_get_string(size_average, reduce, emit_warning=True):
    """The reduction name the deprecated ``size_average``/``reduce`` flags mean (``None``
    counts as True), warning as torch does unless ``emit_warning`` is False."""
    ret = _legacy_string(size_average, reduce)
    if emit_warning:
        warnings.warn(f"size_average and reduce args will be deprecated, please use "
                      f"reduction='{ret}' instead.", stacklevel=user_stacklevel())
    return ret


def legacy_get_enum(size_average, reduce, emit_warning=True):
    return get_enum(legacy_get_string(size_average, reduce, emit_warning))
