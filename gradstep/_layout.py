"""``torch.layout`` and its instances (``torch.strided``, ``torch.sparse_coo``, ...).

Dense tensors report ``strided``; gradstep's sparse COO tensors (``_sparse_coo.py``) report
``sparse_coo``. The other layouts exist so programs that name them import and compare; no
tensor of those layouts can be made.
"""

from __future__ import annotations

from . import backend as B


class layout:  # noqa: N801 - torch's class name
    """A tensor memory layout; one instance per kind, compared by identity as in torch."""

    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"{B.display_name}.{self._name}"

    def __reduce__(self):
        return (_get_layout, (self._name,))


def _get_layout(name):
    return LAYOUTS[name]


LAYOUTS = {name: layout(name) for name in ("strided", "sparse_coo", "sparse_csr", "sparse_csc",
                                           "sparse_bsr", "sparse_bsc", "_mkldnn", "jagged")}
strided, sparse_coo, sparse_csr, sparse_csc, sparse_bsr, sparse_bsc, _mkldnn, jagged = (
    LAYOUTS.values())
