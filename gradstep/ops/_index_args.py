"""torch's argument checks for ``scatter`` (its four signatures), off its common path."""

from __future__ import annotations

import numbers

from .._argparse import int_arg, invalid_combination, is_int

_SCATTER_SIGNATURES = ("int dim, Tensor index, Tensor src",
                       "int dim, Tensor index, Tensor src, *, str reduce",
                       "int dim, Tensor index, Number value",
                       "int dim, Tensor index, Number value, *, str reduce")


def scatter_call(dim, index, src):
    """``scatter``'s four signatures: any refusal is torch's "invalid combination"."""
    from .._tensor import Tensor

    if not (is_int(dim) and isinstance(index, Tensor) and
            (isinstance(src, (Tensor, numbers.Number)))):
        raise invalid_combination("scatter", (dim, index, src), _SCATTER_SIGNATURES)
    return int_arg(dim, "scatter", "dim", 1)
