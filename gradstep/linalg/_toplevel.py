"""The top-level torch.* spellings of linear algebra (older signatures kept as torch 2.13 does).

``torch.svd`` returns V (not Vh) and takes ``some=``; ``torch.qr`` takes ``some=``;
``torch.cross`` without ``dim`` picks the first dimension of size 3 (with torch's warning);
``torch.matrix_rank``/``torch.lstsq``/``torch.eig`` were removed and raise as in torch.
"""

from __future__ import annotations

from .. import return_types as rt
from .._warn_once import warn_once
from ..backend import xp
from ..ops._util import to_tensor
from . import _functions as F
from . import _householder, _lu


def det(input):  # noqa: A002
    return F.det(input)


def logdet(input):  # noqa: A002
    """log(det): NaN for a negative determinant, -inf for zero, as torch."""
    sign, logabs = F.slogdet(input)
    nan = sign.lt(0)
    return logabs.masked_fill(nan, float("nan")) if bool(nan.any()) else logabs


def slogdet(input):  # noqa: A002
    s = F.slogdet(input)
    return rt.slogdet(s.sign, s.logabsdet)


def inverse(input):  # noqa: A002
    return F.inv(input)


def svd(input, some=True, compute_uv=True, *, out=None):  # noqa: A002
    u, s, vh = F.svd(input, full_matrices=not some)
    if not compute_uv:
        z = F._make(xp.zeros(u.shape, u._data.dtype))
        return rt.svd(z, s, F._make(xp.zeros(vh.mT.shape, u._data.dtype)))
    return rt.svd(u, s, vh.mT)


# torch's TORCH_WARN_ONCE texts for the deprecated top-level spellings
_QR_DEPRECATED = (
    "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future PyTorch "
    "release.\nThe boolean parameter 'some' has been replaced with a string parameter 'mode'.\n"
    "Q, R = torch.qr(A, some)\nshould be replaced with\n"
    "Q, R = torch.linalg.qr(A, 'reduced' if some else 'complete')")
_CHOLESKY_DEPRECATED = (
    "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a "
    "future PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\n"
    "L = torch.linalg.cholesky(A)\nand\nU = torch.cholesky(A, upper=True)\nshould be replaced "
    "with\nU = torch.linalg.cholesky(A).mH\nThis transform will produce equivalent results for "
    "all valid (symmetric positive definite) inputs.")
_TRIANGULAR_SOLVE_DEPRECATED = (
    "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangularand will be "
    "removed in a future PyTorch release.\ntorch.linalg.solve_triangular has its arguments "
    "reversed and does not return a copy of one of the inputs.\n"
    "X = torch.triangular_solve(B, A).solution\nshould be replaced with\n"
    "X = torch.linalg.solve_triangular(A, B).")


def qr(input, some=True, *, out=None):  # noqa: A002
    warn_once("torch.qr", _QR_DEPRECATED)
    q, r = F.qr(input, "reduced" if some else "complete")
    return rt.qr(q, r)


def cholesky(input, upper=False, *, out=None):  # noqa: A002
    warn_once("torch.cholesky", _CHOLESKY_DEPRECATED)
    return F.cholesky(input, upper=upper)


def pinverse(input, rcond=1e-15):  # noqa: A002
    return F.pinv(input, rtol=rcond)


def matrix_power(input, n):  # noqa: A002
    return F.matrix_power(input, n)


def matrix_exp(input):  # noqa: A002
    return F.matrix_exp(input)


def cholesky_solve(B, L, upper=False, *, out=None):  # noqa: N803
    """Solve A X = B given A's Cholesky factor (A = L L^T, or U^T U with ``upper``)."""
    if upper:
        y = F.solve_triangular(L.mT, B, upper=False)
        return F.solve_triangular(L, y, upper=True)
    y = F.solve_triangular(L, B, upper=False)
    return F.solve_triangular(L.mT, y, upper=True)


def cholesky_inverse(L, upper=False, *, out=None):  # noqa: N803

    eye = F._make(xp.broadcast_to(xp.eye(L.shape[-1], dtype=L._data.dtype), L.shape).copy())
    return cholesky_solve(eye, L, upper)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):  # noqa: N803
    warn_once("torch.triangular_solve", _TRIANGULAR_SOLVE_DEPRECATED)
    a = A.mT if transpose else A
    x = F.solve_triangular(a, b, upper=upper != transpose, unitriangular=unitriangular)
    return rt.triangular_solve(x, A.clone())


def cross(input, other, dim=None, *, out=None):  # noqa: A002
    if dim is None:
        warn_once("torch.cross", "Using torch.cross without specifying the dim arg is "
                  "deprecated.\nPlease either pass the dim explicitly or simply use "
                  "torch.linalg.cross.\nThe default value of dim will change to agree with that "
                  "of linalg.cross in a future release.")
        shape = xp.broadcast_shapes(tuple(input.shape), tuple(other.shape))
        dim = next((i for i, s in enumerate(shape) if s == 3), -1)
    return F.cross(input, other, dim=dim)


def dist(input, other, p=2):  # noqa: A002
    from ._norms import vector_norm

    return vector_norm(input - other, p)


def _vec(name, t):
    if t.ndim != 1:
        raise RuntimeError(f"{name}: Expected 1-D argument self, but got {t.ndim}-D")


def ger(input, vec2, *, out=None):  # noqa: A002
    from ..ops.linalg import outer

    return outer(input, vec2)


def inner(input, other, *, out=None):  # noqa: A002
    input, other = to_tensor(input), to_tensor(other)
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    from ..ops.build import tensordot

    return tensordot(input, other, dims=([-1], [-1]))


def vdot(input, other, *, out=None):  # noqa: A002
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    from ..ops.linalg import dot

    return dot(input, other)


def _scaled(input, prod, beta, alpha):
    prod = prod if alpha == 1 else prod * alpha
    if beta == 0:  # torch ignores input's values (NaNs do not propagate); its gradient is zero
        shape = tuple(xp.broadcast_shapes(tuple(input.shape), tuple(prod.shape)))
        return prod.expand(shape) + input.reshape(-1)[:0].sum()
    return (input if beta == 1 else input * beta) + prod


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):  # noqa: A002
    return _scaled(input, mat @ vec, beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):  # noqa: A002
    from ..ops.linalg import outer

    return _scaled(input, outer(vec1, vec2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):  # noqa: A002
    return _scaled(input, (batch1 @ batch2).sum(0), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):  # noqa: A002
    return _scaled(input, batch1 @ batch2, beta, alpha)


def chain_matmul(*matrices, out=None):
    warn_once("torch.chain_matmul", "torch.chain_matmul is deprecated and will be removed in a "
              "future PyTorch release. Use torch.linalg.multi_dot instead, which accepts a list "
              "of two or more tensors rather than multiple parameters.")
    if len(matrices) == 1:
        return matrices[0].clone()
    return F.multi_dot(matrices)


_REMOVED = "This function was deprecated since version 1.9 and is now removed."


def matrix_rank(input, tol=None, symmetric=False, *, out=None):  # noqa: A002
    raise RuntimeError(f"{_REMOVED}\nPlease use the `torch.linalg.matrix_rank` function instead. "
                       "The parameter 'symmetric' was renamed in `torch.linalg.matrix_rank()` to "
                       "'hermitian'.")


def lstsq(input, A, *, out=None):  # noqa: A002, N803
    raise RuntimeError(
        f"{_REMOVED} `torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.\n"
        "`torch.linalg.lstsq` has reversed arguments and does not return the QR decomposition in "
        "the returned tuple (although it returns other information about the problem).\n\n"
        "To get the QR decomposition consider using `torch.linalg.qr`.\n\n"
        "The returned solution in `torch.lstsq` stored the residuals of the solution in the "
        "last m - n columns of the returned value whenever m > n. In torch.linalg.lstsq, the "
        "residuals are in the field 'residuals' of the returned named tuple.\n\n"
        "The unpacking of the solution, as in\nX, _ = torch.lstsq(B, A).solution[:A.size(1)]\n"
        "should be replaced with:\nX = torch.linalg.lstsq(A, B).solution")


def solve(input, A, *, out=None):  # noqa: A002, N803
    raise RuntimeError(
        f"{_REMOVED} `torch.solve` is deprecated in favor of `torch.linalg.solve`. "
        "`torch.linalg.solve` has its arguments reversed and does not return the LU "
        "factorization.\n\nTo get the LU factorization see `torch.lu`, which can be used with "
        "`torch.lu_solve` or `torch.lu_unpack`.\nX = torch.solve(B, A).solution should be "
        "replaced with:\nX = torch.linalg.solve(A, B)")


def symeig(input, eigenvectors=False, upper=True, *, out=None):  # noqa: A002
    raise RuntimeError(
        f"{_REMOVED} The default behavior has changed from using the upper triangular portion of "
        "the matrix by default to using the lower triangular portion.\n\nL, _ = "
        "torch.symeig(A, upper=upper) should be replaced with:\nL = torch.linalg.eigvalsh(A, "
        "UPLO='U' if upper else 'L')\n\nand\n\nL, V = torch.symeig(A, eigenvectors=True) "
        "should be replaced with:\nL, V = torch.linalg.eigh(A, UPLO='U' if upper else 'L')")


def eig(input, eigenvectors=False, *, out=None):  # noqa: A002
    raise RuntimeError(
        f"{_REMOVED} `torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` "
        "rather than real tensors mimicking complex tensors.\n\nL, _ = torch.eig(A) should be "
        "replaced with:\nL_complex = torch.linalg.eigvals(A)\n\nand\n\nL, V = torch.eig(A, "
        "eigenvectors=True) should be replaced with:\nL_complex, V_complex = "
        "torch.linalg.eig(A)")


FUNCTIONS = dict(
    det=det, logdet=logdet, slogdet=slogdet, inverse=inverse, svd=svd, qr=qr, cholesky=cholesky,
    pinverse=pinverse, matrix_power=matrix_power, matrix_exp=matrix_exp,
    cholesky_solve=cholesky_solve, cholesky_inverse=cholesky_inverse,
    triangular_solve=triangular_solve, cross=cross, dist=dist, ger=ger, inner=inner, vdot=vdot,
    addmv=addmv, addr=addr, addbmm=addbmm, baddbmm=baddbmm, chain_matmul=chain_matmul,
    matrix_rank=matrix_rank, lstsq=lstsq, lu=_lu.torch_lu, lu_unpack=_lu.lu_unpack_t,
    lu_solve=_lu.torch_lu_solve, solve=solve, eig=eig, symeig=symeig,
    addmv_=lambda input, mat, vec, *, beta=1, alpha=1: input.copy_(  # noqa: A006
        addmv(input, mat, vec, beta=beta, alpha=alpha)),
    **_householder.FUNCTIONS,
)
METHODS = ("det", "logdet", "slogdet", "inverse", "svd", "qr", "cholesky", "pinverse",
           "matrix_power", "matrix_exp", "cholesky_solve", "cholesky_inverse",
           "triangular_solve", "cross", "dist", "ger", "inner", "vdot", "addmv", "addr",
           "addbmm", "baddbmm", "lu", "lu_solve", "solve", "eig", "lstsq", "symeig")


def _wrap_out():
    from ..ops._out import wrap_namespace

    wrap_namespace(FUNCTIONS)


_wrap_out()


def _bind():
    from .._tensor import Tensor

    _householder._bind()
    for name in METHODS:
        setattr(Tensor, name, FUNCTIONS[name])
    Tensor.addmv_ = _inplace(addmv)
    Tensor.addr_ = _inplace(addr)
    Tensor.addbmm_ = _inplace(addbmm)
    Tensor.baddbmm_ = _inplace(baddbmm)


def _inplace(fn):
    def method(self, *args, **kwargs):
        return self.copy_(fn(self, *args, **kwargs))

    method.__name__ = fn.__name__ + "_"
    return method
