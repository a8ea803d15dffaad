"""Ordering: ``sort``, ``argsort`` and ``topk``, the values and the indices that order them.

Sorting is stable (NumPy's stable argsort; descending order sorts the flipped keys, so equal
values keep their order and NaN sorts last, as torch's); the values are picked along ``dim``
by one ``_Sorted`` node, whose backward scatters the gradient back to the picked places.
"""

from __future__ import annotations

from .._argparse import Signatures, bool_error, int_arg, invalid_combination, is_int
from ..autograd.function import Node
from ..backend import xp
from ._util import normalize_dim
from .index import ScatterAddZeros


class _Sorted(Node):
    """Values picked by an index array along ``dim`` (sort and topk)."""

    holds_saved = True  # the indices, as torch saves them

    def forward(self, a):
        self.in_shape = a.shape
        return xp.take_along_axis(a, self.idx, axis=self.dim)

    def backward(self, g):
        return ScatterAddZeros.apply(g, idx=self.idx, dim=self.dim, shape=self.in_shape)


_SORT_SIGNATURES = Signatures(("*, bool stable, int dim = -1, bool descending = False",
                               "int dim = -1, bool descending = False"),
                              ("tuple of Tensors out = None",) * 2)
_ARGSORT_SIGNATURES = Signatures(_SORT_SIGNATURES, ("Tensor out = None", ""))


def _sort_args(name, dim, descending, stable):
    """sort/argsort: two signatures, so any refusal is torch's "invalid combination"."""
    if not is_int(dim) or type(descending) is not bool or \
            (stable is not None and type(stable) is not bool):
        raise invalid_combination(name, (dim, descending),
                                  _SORT_SIGNATURES if name == "sort" else _ARGSORT_SIGNATURES)
    return int_arg(dim, name, "dim", 1)


def sort(a, dim=-1, descending=False, stable=False):
    from .._tensor import Tensor
    from ..return_types import sort as sort_result

    if type(dim) is not int or type(descending) is not bool or type(stable) is not bool:
        dim = _sort_args("sort", dim, descending, stable)
    d = normalize_dim(dim, a.ndim)
    if a.ndim == 0:
        return sort_result(a.clone(), Tensor._make(xp.zeros((), xp.int64)))
    data = a._data
    if descending:
        # stable descending order: sort the negated keys (NaN last like torch's ascending)
        idx = xp.flip(xp.argsort(xp.flip(data, d), axis=d, kind="stable"), d)
        idx = (data.shape[d] - 1) - idx
    else:
        idx = xp.argsort(data, axis=d, kind="stable")
    idx = idx.astype(xp.int64)
    vals = _Sorted.apply(a, idx=idx, dim=d, _name="SortBackward0")
    return sort_result(vals, Tensor._make(idx))


def argsort(a, dim=-1, descending=False, stable=False):
    if type(dim) is not int or type(descending) is not bool or type(stable) is not bool:
        dim = _sort_args("argsort", dim, descending, stable)
    return sort(a, dim, descending, stable).indices


def topk(a, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    from .._tensor import Tensor
    from ..return_types import topk as topk_result

    if type(k) is not int or type(dim) is not int:
        k, dim = int_arg(k, "topk", "k", 1), int_arg(dim, "topk", "dim", 2)
    if type(largest) is not bool or type(sorted) is not bool:
        bad = ("largest", 3, largest) if type(largest) is not bool else ("sorted", 4, sorted)
        raise bool_error(bad[2], "topk", bad[0], bad[1])
    d = normalize_dim(dim, a.ndim) if a.ndim else 0
    n = a.shape[d] if a.ndim else 1
    if a.dtype.name == "bool":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if a.ndim == 0:
        return topk_result(a.clone(), Tensor._make(xp.zeros((), xp.int64)))
    s = sort(a, d, descending=largest)
    idx = xp.take(s.indices._data, xp.arange(k), axis=d)
    vals = _Sorted.apply(a, idx=idx, dim=d, _name="TopkBackward0")
    return topk_result(vals, Tensor._make(idx))
