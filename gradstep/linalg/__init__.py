"""torch.linalg: norms, inverses and solvers, decompositions (batched, differentiable)."""

from __future__ import annotations

from ._eig import eig, eigvals
from ._functions import (
    cholesky,
    cholesky_ex,
    cond,
    cross,
    det,
    diagonal,
    eigh,
    eigvalsh,
    householder_product,
    inv,
    inv_ex,
    lstsq,
    matmul,
    matrix_exp,
    matrix_power,
    matrix_rank,
    multi_dot,
    pinv,
    qr,
    slogdet,
    solve,
    solve_ex,
    solve_triangular,
    svd,
    svdvals,
    tensorinv,
    tensorsolve,
    vander,
    vecdot,
)
from ._lu import lu, lu_factor, lu_factor_ex, lu_solve
from ._nodes import LinAlgError
from ._norms import matrix_norm, norm, vector_norm

__all__ = [
    "LinAlgError", "cholesky", "cholesky_ex", "cond", "householder_product", "matmul",
    "tensorinv", "tensorsolve", "vander", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh",
    "inv", "inv_ex", "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank",
    "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd",
    "svdvals", "vecdot", "vector_norm",
]

from ..ops._out import wrap_namespace as _wrap_namespace  # noqa: E402

_wrap_namespace(globals(), __all__)  # out= on every function that takes it
