"""torch.linalg.vector_norm, matrix_norm and norm."""

from __future__ import annotations

from ..ops._util import normalize_dim, to_tensor
from ..ops.reduce import norm as _vector_norm


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):  # noqa: A002
    x = to_tensor(x)
    if isinstance(ord, str):
        raise TypeError("linalg_vector_norm(): argument 'ord' (position 2) must be Number, not "
                        "str")
    if isinstance(dim, int):
        dim = (dim,)
    return _vector_norm(x, float(ord), dim, keepdim, dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):  # noqa: A002, N803
    from ._functions import check_matrix, svdvals

    A = to_tensor(A)
    if dtype is not None:
        A = A.to(dtype)
    A = check_matrix(A, "linalg.matrix_norm")
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    d0, d1 = normalize_dim(dim[0], A.ndim), normalize_dim(dim[1], A.ndim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return _vector_norm(A, 2.0, (d0, d1), keepdim, None)
    if ord in ("nuc", 2, -2):
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        r = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        if keepdim:
            r = r.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
        return r
    if ord in (1, -1, float("inf"), float("-inf")):
        red, over = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = A.abs().sum(red, keepdim=True)
        r = sums.amax(over, keepdim=True) if ord > 0 else sums.amin(over, keepdim=True)
        return r if keepdim else r.squeeze((d0, d1))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A, ord=None, dim=None, keepdim=False, *, out=None, dtype=None):  # noqa: A002, N803
    A = to_tensor(A)
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) == 2 or dim is None and ord is not None and A.ndim == 2:
        if isinstance(ord, str) or ord is not None or dim is not None:
            return matrix_norm(A, "fro" if ord is None else ord, dim or (-2, -1), keepdim,
                               dtype=dtype)
    if ord is not None and dim is None and A.ndim not in (1, 2):
        raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {A.ndim}D.")
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord {ord} is not supported for vectors")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
