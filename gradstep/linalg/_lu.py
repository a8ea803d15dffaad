"""LU with partial pivoting: linalg.lu, lu_factor(_ex), lu_solve, and torch.lu, lu_unpack,
lu_solve.

The factorization is LAPACK getrf's right-looking algorithm (pivot: the first largest
magnitude in the column; pivots 1-based, int32), batched over leading dims. Its gradient
(square matrices) is torch's: gA = P L^-T [tril(L^T gL, -1) + triu(gU U^T)] U^-T.
"""

from __future__ import annotations

from .. import return_types as rt
from .._warn_once import warn_once
from ..autograd.function import Node
from ..backend import xp
from ._functions import check_matrix
from ._nodes import pack, solve_triangular_t, unpack


def _getrf(a):
    """(LU packed, pivots 1-based int32, info) of a batch of matrices (..., m, n)."""
    batch, (m, n) = a.shape[:-2], a.shape[-2:]
    lu = a.reshape((-1, m, n)).copy()
    b = lu.shape[0]
    k = min(m, n)
    piv = xp.zeros((b, k), xp.int32)
    info = xp.zeros(b, xp.int32)
    rows = xp.arange(b)
    for j in range(k):
        p = j + xp.argmax(xp.abs(lu[:, j:, j]), axis=1) if m > j else xp.full(b, j)
        piv[:, j] = p + 1
        top, pr = lu[rows, j].copy(), lu[rows, p].copy()
        lu[rows, j], lu[rows, p] = pr, top
        d = lu[:, j, j]
        zero = d == 0
        info = xp.where(zero & (info == 0), j + 1, info)
        ell = lu[:, j + 1:, j] / xp.where(zero, 1, d)[:, None]
        ell[zero] = 0
        lu[:, j + 1:, j] = ell
        lu[:, j + 1:, j + 1:] -= ell[:, :, None] * lu[:, j, None, j + 1:]
    return (lu.reshape(batch + (m, n)), piv.reshape(batch + (k,)),
            info.reshape(batch).astype(xp.int32))


def _perm(piv, m):
    """Row permutation (P^T A = A[perm]) from LAPACK pivots."""
    batch = piv.shape[:-1]
    p = piv.reshape(-1, piv.shape[-1]) - 1
    perm = xp.broadcast_to(xp.arange(m), (p.shape[0], m)).copy()
    rows = xp.arange(p.shape[0])
    for j in range(p.shape[1]):
        a, b = perm[rows, j].copy(), perm[rows, p[:, j]].copy()
        perm[rows, j], perm[rows, p[:, j]] = b, a
    return perm.reshape(batch + (m,))


def _p_matrix(perm, dtype):
    m = perm.shape[-1]
    eye = xp.eye(m, dtype=dtype)
    return xp.swapaxes(eye[perm], -1, -2)  # P = I[perm]^T, so that A = P L U


def _split(lu_arr):
    m, n = lu_arr.shape[-2:]
    k = min(m, n)
    ell = xp.tril(lu_arr[..., :, :k], -1) + xp.eye(m, k, dtype=lu_arr.dtype)
    u = xp.triu(lu_arr[..., :k, :])
    return ell, u


class Lu(Node):
    """Packed (P, L, U)."""

    _name = "LinalgLuBackward0"
    saves_output = True

    def forward(self, a):
        lu_arr, piv, _ = _getrf(a)
        ell, u = _split(lu_arr)
        p = _p_matrix(_perm(piv, a.shape[-2]), a.dtype)
        self.mn = a.shape[-2:]
        out, self.layout = pack([p, ell, u], a.shape[:-2])
        return out

    def backward(self, g):
        m, n = self.mn
        if m != n or g._data.dtype.kind == "c":
            raise NotImplementedError("gradstep: the gradient of linalg.lu is implemented for "
                                      "real square matrices only")
        p, ell, u = unpack(self.saved_output, self.layout)
        _, gl, gu = unpack(g, self.layout)
        phi = (ell.mT @ gl).tril(-1) + (gu @ u.mT).triu()
        x = solve_triangular_t(ell.mT, phi, upper=True, unit=True)
        x = solve_triangular_t(u.mT, x, upper=False, left=False)
        return p @ x


def lu(A, *, pivot=True, out=None):  # noqa: N803
    A = check_matrix(A, "linalg.lu")
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    m, n = A.shape[-2:]
    k = min(m, n)
    packed = Lu.apply(A)
    p, ell, u = unpack(packed, ((m, m), (m, k), (k, n)))
    return rt.linalg_lu(p, ell, u)


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):  # noqa: N803
    A = check_matrix(A, "linalg.lu_factor_ex")
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    from .._tensor import Tensor

    _, piv, info = _getrf(A._data)
    if check_errors and info.any():
        from ._nodes import LinAlgError

        raise LinAlgError(f"torch.linalg.lu_factor_ex: U[{int(info.max())},{int(info.max())}] "
                          "is zero and using it on lu_solve would result in a division by zero.")
    p, ell, u = lu(A)
    m, n = A.shape[-2:]
    k = min(m, n)
    eye = Tensor._make(xp.eye(m, k, dtype=A._data.dtype))
    lower = ell - eye
    if n > k:
        from ..ops.shape import cat

        lower = cat([lower, Tensor._make(xp.zeros(lower.shape[:-1] + (n - k,),
                                                  A._data.dtype))], -1)
    upper = u
    if m > k:
        from ..ops.shape import cat

        upper = cat([u, Tensor._make(xp.zeros(u.shape[:-2] + (m - k, n), A._data.dtype))], -2)
    return rt.linalg_lu_factor_ex(lower + upper, Tensor._make(piv), Tensor._make(info))


def lu_factor(A, *, pivot=True, out=None):  # noqa: N803
    res = lu_factor_ex(A, pivot=pivot)
    if res.info._data.any():
        from ._nodes import LinAlgError

        i = int(res.info._data.reshape(-1)[res.info._data.reshape(-1) > 0][0])
        raise LinAlgError(f"torch.linalg.lu_factor: U[{i},{i}] is zero and using it on lu_solve "
                          "would result in a division by zero. If you still want to perform "
                          "the factorization, consider calling linalg.lu(A, pivot) or "
                          "linalg.lu_factor_ex(A, pivot)")
    return rt.linalg_lu_factor(res.LU, res.pivots)


def lu_unpack_t(LU, pivots, unpack_data=True, unpack_pivots=True):  # noqa: N803
    from .._tensor import Tensor

    m, n = LU.shape[-2:]
    k = min(m, n)
    eye = Tensor._make(xp.eye(m, k, dtype=LU._data.dtype))
    ell = LU[..., :, :k].tril(-1) + eye if unpack_data else Tensor._make(xp.zeros(0))
    u = LU[..., :k, :].triu() if unpack_data else Tensor._make(xp.zeros(0))
    p = Tensor._make(_p_matrix(_perm(pivots._data, m), LU._data.dtype)) if unpack_pivots \
        else Tensor._make(xp.zeros(0))
    return rt.lu_unpack(p, ell, u)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):  # noqa: N803
    p, ell, u = lu_unpack_t(LU, pivots)
    if left and not adjoint:  # A X = B: X = U^-1 L^-1 P^T B
        y = solve_triangular_t(ell, p.mT @ B, upper=False, unit=True)
        return solve_triangular_t(u, y, upper=True)
    if left:  # A^T X = B: X = P L^-T U^-T B
        y = solve_triangular_t(u.mT, B, upper=False)
        return p @ solve_triangular_t(ell.mT, y, upper=True, unit=True)
    if not adjoint:  # X A = B: X = B U^-1 L^-1 P^T
        y = solve_triangular_t(u, B, upper=True, left=False)
        return solve_triangular_t(ell, y, upper=False, left=False, unit=True) @ p.mT
    # X A^T = B: X = B P L^-T U^-T
    y = solve_triangular_t(ell.mT, B @ p, upper=True, left=False, unit=True)
    return solve_triangular_t(u.mT, y, upper=False, left=False)


# ------------------------------------------------------------------ top-level spellings
def torch_lu(A, pivot=True, get_infos=False, out=None):  # noqa: N803
    warn_once(
        "torch.lu", "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex "
        "and will be removed in a future PyTorch release.\nLU, pivots = torch.lu(A, "
        "compute_pivots)\nshould be replaced with\nLU, pivots = torch.linalg.lu_factor(A, "
        "compute_pivots)\nand\nLU, pivots, info = torch.lu(A, compute_pivots, get_infos=True)"
        "\nshould be replaced with\nLU, pivots, info = torch.linalg.lu_factor_ex(A, "
        "compute_pivots)")
    res = lu_factor_ex(A, pivot=pivot)
    if get_infos:
        return res.LU, res.pivots, res.info
    return res.LU, res.pivots


def torch_lu_solve(b, LU_data, LU_pivots, *, out=None):  # noqa: N803
    warn_once(
        "torch.lu_solve", "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a "
        "future PyTorch release.\nNote that torch.linalg.lu_solve has its arguments reversed.\n"
        "X = torch.lu_solve(B, LU, pivots)\nshould be replaced with\nX = "
        "torch.linalg.lu_solve(LU, pivots, B)")
    return lu_solve(LU_data, LU_pivots, b)
