"""``torch.svd_lowrank`` and ``torch.pca_lowrank``: randomized truncated SVD (Halko, Martinsson
and Tropp 2009, "Finding structure with randomness", algorithms 4.4 and 5.1).

A Gaussian sketch ``A @ R`` (``R`` of ``q`` columns, drawn from the default generator) spans
the dominant column space of ``A``; ``niter`` subspace (power) iterations sharpen it, each
re-orthonormalised by a QR factorisation; the exact SVD of the small projection ``Q^H A``
then gives the factors. Built from differentiable ops (matmul, ``linalg.qr``,
``linalg.svd``), so gradients flow as in torch. The draw comes from gradstep's PCG64
generator, so the factors differ from torch's by the random sketch; when ``q`` is at least
the rank of ``A``, the sketch spans its whole column space (almost surely) and the result
is ``A``'s exact SVD.
"""

from __future__ import annotations

from .._tensor import Tensor


def _check_matrix(name, A):
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}(): argument 'A' must be Tensor, not {type(A).__name__}")
    if A.dim() < 2:
        raise ValueError(f"{name}: input is expected to be a matrix or a batch of matrices, "
                         f"got a {A.dim()}-D tensor")
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"{name}: expected a floating point tensor, got {A.dtype}")


def _approximate_basis(A, q, niter):
    """An orthonormal basis ``Q`` (``m x min(m, q)``) of the range of ``A @ R``, refined by
    ``niter`` power iterations (Halko et al., algorithm 4.4)."""
    from .. import linalg
    from .._creation import randn

    R = randn(A.shape[-1], q, dtype=A.dtype)
    Q = linalg.qr(A @ R).Q
    for _ in range(niter):
        Q = linalg.qr(A.mH @ Q).Q
        Q = linalg.qr(A @ Q).Q
    return Q


def _svd_lowrank(A, q, niter, M=None):
    from .. import linalg

    if M is not None:
        A = A - M.broadcast_to(A.shape)
    m, n = A.shape[-2:]
    wide = m < n
    if wide:
        A = A.mH  # sketch the smaller side
    Q = _approximate_basis(A, q, niter)
    U, S, Vh = linalg.svd(Q.mH @ A, full_matrices=False)
    U, V = Q @ U, Vh.mH
    return (V, S, U) if wide else (U, S, V)


def svd_lowrank(A, q=6, niter=2, M=None):
    """``(U, S, V)`` with ``A - M ~ U diag(S) V^H``: an approximate SVD of rank ``min(q, m, n)``
    (``q`` a slight overestimate of the rank wanted; ``niter`` power iterations)."""
    _check_matrix("svd_lowrank", A)
    q = 6 if q is None else int(q)
    niter = 2 if niter is None else int(niter)
    return _svd_lowrank(A, q, niter, M)


def pca_lowrank(A, q=None, center=True, niter=2):
    """``(U, S, V)``: principal components of the rows of ``A`` (columns centred first when
    ``center``), by ``svd_lowrank`` with ``q`` (default ``min(6, m, n)``) components."""
    _check_matrix("pca_lowrank", A)
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not 0 <= q <= min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than "
                         f"min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if center:
        A = A - A.mean(dim=(-2,), keepdim=True)
    return _svd_lowrank(A, int(q), int(niter))


FUNCTIONS = {"svd_lowrank": svd_lowrank, "pca_lowrank": pca_lowrank}
