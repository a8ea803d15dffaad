"""Householder representations: geqrf (LAPACK's compact QR), orgqr, ormqr (torch.* and Tensor)."""

from __future__ import annotations

from ..backend import xp
from ._functions import _make, check_matrix, householder_product


def geqrf(input, *, out=None):  # noqa: A002
    """(a, tau): R on and above the diagonal, the reflectors' vectors below it (no gradient,
    as in torch)."""
    A = check_matrix(input, "geqrf")
    m, n = A.shape[-2:]
    data = A._data.reshape((-1, m, n))
    hs, taus = [], []
    for mat in data:
        h, tau = xp.linalg.qr(mat, mode="raw")
        hs.append(h.T)
        taus.append(tau)
    k = min(m, n)
    a = xp.stack(hs).reshape(A.shape) if hs else xp.zeros(A.shape, A._data.dtype)
    t = xp.stack(taus).reshape(tuple(A.shape[:-2]) + (k,)) if taus else \
        xp.zeros(tuple(A.shape[:-2]) + (k,), A._data.dtype)
    return _make(a.astype(A._data.dtype)), _make(t.astype(A._data.dtype))


def orgqr(input, tau):  # noqa: A002
    return householder_product(input, tau)


def ormqr(input, tau, other, left=True, transpose=False, *, out=None):  # noqa: A002
    """Q @ other (or other @ Q, with Q^T for ``transpose``), Q the full m x m product."""
    m = input.shape[-2]
    k = tau.shape[-1]
    v = input[..., :, :k]
    if k < m:  # pad to a square reflector matrix: more columns with tau = 0 change nothing
        from ..ops.shape import cat

        pad = _make(xp.zeros(tuple(v.shape[:-1]) + (m - k,), input._data.dtype))
        tz = _make(xp.zeros(tuple(tau.shape[:-1]) + (m - k,), input._data.dtype))
        v, tau = cat([v, pad], -1), cat([tau, tz], -1)
    q = householder_product(v, tau)
    q = q.mT if transpose else q
    return q @ other if left else other @ q


FUNCTIONS = dict(geqrf=geqrf, orgqr=orgqr, ormqr=ormqr)


def _bind():
    from .._tensor import Tensor

    for name, fn in FUNCTIONS.items():
        setattr(Tensor, name, fn)
