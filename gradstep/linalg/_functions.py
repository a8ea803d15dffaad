"""torch.linalg's solvers and decompositions: argument checks, batching, named results."""

from __future__ import annotations

from .. import return_types as rt
from ..backend import xp
from ..ops._util import dtype_title, to_tensor
from ._nodes import (
    Cholesky,
    Det,
    Eigh,
    Inv,
    LinAlgError,
    LogAbsDet,
    Qr,
    Solve,
    SolveTriangular,
    Svd,
    _adj,
    unpack,
)


def _make(arr):
    from .._tensor import Tensor

    return Tensor._make(arr)


def check_float(a, name):
    if not (a.dtype.is_floating_point or a.dtype.is_complex):
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. "
                           f"Got {dtype_title(a.dtype)}")
    if a.dtype.name in ("float16", "bfloat16"):
        raise RuntimeError(f"{name}: Low precision dtypes not supported. Got "
                           f"{dtype_title(a.dtype)}")


def check_matrix(a, name, square=False, arg="A"):
    a = to_tensor(a)
    if a.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {arg} must have at least 2 dimensions.")
    check_float(a, name)
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{name}: {arg} must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")
    return a


def _singular(name, a):
    """torch's LinAlgError for a singular input: the first zero pivot of its LU."""
    data = a._data.reshape((-1,) + a.shape[-2:])
    for b, m in enumerate(data):
        if xp.linalg.matrix_rank(m) < m.shape[-1]:
            pivot = _zero_pivot(m)
            where = f"(Batch element {b}): " if a.ndim > 2 else ""
            return LinAlgError(f"{name}: {where}The diagonal element {pivot} is zero, the "
                               "inversion could not be completed because the input matrix "
                               "is singular.")
    return LinAlgError(f"{name}: The input matrix is singular.")


def _zero_pivot(m):
    """1-based index of the first zero pivot of LU with partial pivoting (as LAPACK getrf)."""
    u = m.astype(xp.float64).copy()
    n = u.shape[0]
    for j in range(n):
        p = j + int(xp.argmax(xp.abs(u[j:, j])))
        if u[p, j] == 0:
            return j + 1
        u[[j, p]] = u[[p, j]]
        u[j + 1:, j:] -= xp.outer(u[j + 1:, j] / u[j, j], u[j, j:])
    return n


# ------------------------------------------------------------------ inverse, determinant
def inv(A, *, out=None):  # noqa: N803
    A = check_matrix(A, "linalg.inv", square=True)
    try:
        return Inv.apply(A)
    except xp.linalg.LinAlgError:
        raise _singular("linalg.inv", A) from None


def inv_ex(A, *, check_errors=False, out=None):  # noqa: N803
    A = check_matrix(A, "linalg.inv_ex", square=True)
    info = xp.zeros(A.shape[:-2], xp.int32)
    try:
        res = Inv.apply(A)
    except xp.linalg.LinAlgError:
        if check_errors:
            raise _singular("linalg.inv_ex", A) from None
        res = _make(xp.full(A.shape, xp.nan, A._data.dtype))
        info = _infos(A._data)
    return rt.linalg_inv_ex(res, _make(info))


def _infos(data):
    flat = data.reshape((-1,) + data.shape[-2:])
    pivots = [(_zero_pivot(m) if xp.linalg.matrix_rank(m) < m.shape[-1] else 0) for m in flat]
    return xp.asarray(pivots, xp.int32).reshape(data.shape[:-2])


def det(A, *, out=None):  # noqa: N803
    return Det.apply(check_matrix(A, "linalg.det", square=True))


def slogdet(A, *, out=None):  # noqa: N803
    A = check_matrix(A, "linalg.slogdet", square=True)
    sign = _make(xp.linalg.slogdet(A._data)[0])
    return rt.linalg_slogdet(sign, LogAbsDet.apply(A))


# ------------------------------------------------------------------------------ solvers
def _vector_case(A, B):
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def solve(A, B, *, left=True, out=None):  # noqa: N803
    A = check_matrix(A, "linalg.solve", square=True)
    B = to_tensor(B)
    check_float(B, "linalg.solve")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {dtype_title(A.dtype)} and B of type "
                           f"{dtype_title(B.dtype)} instead")
    vec = _vector_case(A, B)
    ax = -1  # torch: a vector B is a column even for left=False (which then fails the check)
    b = B.unsqueeze(ax) if vec else B
    if left and b.shape[-2] != A.shape[-1] or not left and b.shape[-1] != A.shape[-1]:
        raise RuntimeError("linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({A.shape[-2]}x{A.shape[-1]} and "
                           f"{b.shape[-2]}x{b.shape[-1]})")
    try:
        x = Solve.apply(A, b) if left else Solve.apply(A.mT, b.mT).mT
    except xp.linalg.LinAlgError:
        raise _singular("linalg.solve", A) from None
    return x.squeeze(ax) if vec else x


def solve_ex(A, B, *, left=True, check_errors=False, out=None):  # noqa: N803
    res = solve(A, B, left=left)
    return rt.linalg_solve_ex(res, _make(xp.zeros(A.shape[:-2], xp.int32)))


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):  # noqa: N803
    A = check_matrix(A, "linalg.solve_triangular", square=True)
    B = check_matrix(B, "linalg.solve_triangular", arg="B")
    return SolveTriangular.apply(A, B, upper=bool(upper), left=bool(left),
                                 unit=bool(unitriangular))


def _not_pd(name, A):
    data = A._data.reshape((-1,) + A.shape[-2:])
    for b, m in enumerate(data):
        for k in range(1, m.shape[-1] + 1):
            try:
                xp.linalg.cholesky(m[:k, :k])
            except xp.linalg.LinAlgError:
                where = f"(Batch element {b}): " if A.ndim > 2 else ""
                return LinAlgError(
                    f"{name}: {where}The factorization could not be completed because the "
                    f"input is not positive-definite (the leading minor of order {k} is not "
                    "positive-definite).")
    return LinAlgError(f"{name}: The factorization could not be completed.")


def cholesky(A, *, upper=False, out=None):  # noqa: N803
    A = check_matrix(A, "linalg.cholesky", square=True)
    try:
        ell = Cholesky.apply(A)
    except xp.linalg.LinAlgError:
        raise _not_pd("linalg.cholesky", A) from None
    return ell.mT if upper else ell


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):  # noqa: N803
    A = check_matrix(A, "linalg.cholesky_ex", square=True)
    try:
        ell = Cholesky.apply(A)
        info = xp.zeros(A.shape[:-2], xp.int32)
    except xp.linalg.LinAlgError:
        if check_errors:
            raise _not_pd("linalg.cholesky_ex", A) from None
        ell = _make(xp.full(A.shape, xp.nan, A._data.dtype))
        info = xp.ones(A.shape[:-2], xp.int32)
    return rt.linalg_cholesky_ex(ell.mT if upper else ell, _make(info))


# ------------------------------------------------------------------------ decompositions
def eigh(A, UPLO="L", *, out=None):  # noqa: N803
    A = check_matrix(A, "linalg.eigh", square=True)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    packed = Eigh.apply(A, uplo=UPLO)
    n = A.shape[-1]
    w, q = unpack(packed, ((n,), (n, n)))
    return rt.linalg_eigh(w.real if w.is_complex() else w, q)


def eigvalsh(A, UPLO="L", *, out=None):  # noqa: N803
    return eigh(A, UPLO).eigenvalues


def svd(A, full_matrices=True, *, driver=None, out=None):  # noqa: N803
    A = check_matrix(A, "linalg.svd")
    m, n = A.shape[-2:]
    k = min(m, n)
    packed = Svd.apply(A, full=bool(full_matrices))
    cu, rv = (m, n) if full_matrices else (k, k)
    u, s, vh = unpack(packed, ((m, cu), (k,), (rv, n)))
    return rt.linalg_svd(u, s.real if s.is_complex() else s, vh)


def svdvals(A, *, driver=None, out=None):  # noqa: N803
    return svd(A, full_matrices=False).S


def qr(A, mode="reduced", *, out=None):  # noqa: N803
    A = check_matrix(A, "linalg.qr")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    m, n = A.shape[-2:]
    k = min(m, n)
    packed = Qr.apply(A, mode=mode)
    qc, rr = (m, m) if mode == "complete" else (k, k)
    q, r = unpack(packed, ((m, qc), (rr, n)))
    if mode == "r":
        q = _make(xp.zeros((0,), A._data.dtype))
    return rt.linalg_qr(q, r)


# ----------------------------------------------------------------- built from the above
def _tolerance(s, atol, rtol, mn):
    """max(atol, rtol * largest singular value), torch's defaults (rtol = eps * max(m, n))."""
    eps = float(xp.finfo(s._data.dtype).eps)
    if rtol is None:
        rtol = eps * max(mn) if atol is None or _is_zero(atol) else 0.0
    atol = 0.0 if atol is None else atol
    smax = s.amax(-1, keepdim=True) if s.shape[-1] else s.sum(-1, keepdim=True)
    rt_ = rtol.unsqueeze(-1) if hasattr(rtol, "unsqueeze") else rtol
    at_ = atol.unsqueeze(-1) if hasattr(atol, "unsqueeze") else atol
    from ..ops.elementwise import maximum

    return maximum(to_tensor(at_, s.dtype) if not hasattr(at_, "shape") else at_,
                   rt_ * smax)


def _is_zero(v):
    return not hasattr(v, "shape") and v == 0


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):  # noqa: N803
    A = check_matrix(A, "linalg.pinv")
    if hermitian:
        w, q = eigh(A)
        tol = _tolerance(w.abs(), atol, rtol, A.shape[-2:])
        keep = w.abs() > tol
        winv = (1 / w.masked_fill(~keep, 1.0)).masked_fill(~keep, 0.0)
        return (q * winv.unsqueeze(-2).to(q.dtype)) @ _adj(q)
    u, s, vh = svd(A, full_matrices=False)
    tol = _tolerance(s, atol, rtol, A.shape[-2:])
    keep = s > tol
    sinv = (1 / s.masked_fill(~keep, 1.0)).masked_fill(~keep, 0.0)
    return (_adj(vh) * sinv.unsqueeze(-2).to(u.dtype)) @ _adj(u)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None, out=None):  # noqa: N803
    A = check_matrix(A, "linalg.matrix_rank")
    if tol is not None:
        atol, rtol = tol, 0.0
    s = _make(xp.abs(xp.linalg.eigvalsh(A._data)) if hermitian
              else xp.linalg.svd(A._data, compute_uv=False))
    t = _tolerance(s, atol, rtol, A.shape[-2:])
    return (s > t).sum(-1)


def lstsq(A, B, rcond=None, *, driver=None):  # noqa: N803
    A = check_matrix(A, "torch.linalg.lstsq")
    B = to_tensor(B)
    vec = B.ndim == A.ndim - 1
    b = B.unsqueeze(-1) if vec else B
    rank = matrix_rank(A.detach(), rtol=rcond)
    x = pinv(A, rtol=rcond) @ b
    x = x.squeeze(-1) if vec else x
    empty = _make(xp.zeros((0,), A._data.dtype))
    return rt.linalg_lstsq(x, empty, rank, empty)


def matrix_power(A, n, *, out=None):  # noqa: N803
    A = to_tensor(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError("linalg.matrix_power: A must be batches of square matrices, but "
                           f"they are {A.shape[-2] if A.ndim > 1 else 1} by {A.shape[-1]} matrices")
    if n < 0:
        A, n = inv(A), -n
    if n == 0:
        eye = xp.broadcast_to(xp.eye(A.shape[-1], dtype=A._data.dtype), A.shape)
        return A * 0 + _make(eye.copy())  # torch's result is in the graph (zero gradient)
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def matrix_exp(A):  # noqa: N803
    """exp(A) by scaling and squaring with a degree-18 Taylor polynomial (Horner form)."""
    A = check_matrix(A, "linalg.matrix_exp", square=True)
    norm1 = float(xp.abs(A._data).sum(-2).max()) if A.numel() else 0.0
    s = max(0, int(xp.ceil(xp.log2(norm1))) + 1) if norm1 > 0 else 0
    x = A / (2.0 ** s)
    eye = _make(xp.eye(A.shape[-1], dtype=A._data.dtype))
    e = eye
    for k in range(18, 0, -1):
        e = eye + (x @ e) / k
    for _ in range(s):
        e = e @ e
    return e


def multi_dot(tensors, *, out=None):
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    first_vec, last_vec = ts[0].ndim == 1, ts[-1].ndim == 1
    if first_vec:
        ts[0] = ts[0].unsqueeze(0)
    if last_vec:
        ts[-1] = ts[-1].unsqueeze(-1)
    res = _chain_product(ts, _chain_order(ts), 0, len(ts) - 1)
    if first_vec:
        res = res.squeeze(0)
    if last_vec:
        res = res.squeeze(-1)
    return res


def _chain_order(ts):
    """torch's multiplication order for multi_dot: the cheaper pairing for three matrices,
    else the matrix-chain dynamic program (first split of least cost). The order decides the
    rounding, and with infinities whether an inf * 0 makes a NaN."""
    n = len(ts)
    dims = [t.shape[0] for t in ts] + [ts[-1].shape[1]]
    if n == 3:
        a, b, c, d = dims
        return {(0, 2): 0 if (a * c) * (b + d) > (b * d) * (a + c) else 1}
    cost = [[0] * n for _ in range(n)]
    split = {}
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                q = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or q < cost[i][j]:
                    cost[i][j], split[(i, j)] = q, k
    return split


def _chain_product(ts, split, i, j):
    if i == j:
        return ts[i]
    if j == i + 1:
        return ts[i] @ ts[j]
    k = split[(i, j)]
    return _chain_product(ts, split, i, k) @ _chain_product(ts, split, k + 1, j)


def vecdot(x, y, *, dim=-1, out=None):
    """``sum(conj(x) * y, dim)``, with torch's checks (two 1-d inputs go through its vdot,
    which does not broadcast)."""
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        raise RuntimeError("linalg.vecdot: Expected a floating point or complex tensor as input. "
                           f"Got {dtype_title(x.dtype)}")
    if x.dtype is not y.dtype:
        raise RuntimeError("linalg.vecdot: Expected x and y to have the same dtype, but found x "
                           f"of type {dtype_title(x.dtype)} and y of type {dtype_title(y.dtype)} "
                           "instead")
    if x.dim() == 1 and y.dim() == 1 and x.numel() != y.numel():
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{x.numel()}] and src "
                           f"[{y.numel()}] to have the same number of elements, but got "
                           f"{x.numel()} and {y.numel()} elements respectively")
    return ((x.conj() if x.dtype.is_complex else x) * y).sum(dim)


def cross(input, other, *, dim=-1, out=None):  # noqa: A002
    from ..ops._util import check_broadcast
    from ..ops.shape import broadcast_to, stack

    # torch's checks, in its order: equal ranks, both of length 3 along dim, then broadcasting
    if input.dim() != other.dim():
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[dim]} and {other.shape[dim]}")
    check_broadcast(tuple(input.shape), tuple(other.shape))
    shape = tuple(xp.broadcast_shapes(tuple(input.shape), tuple(other.shape)))
    a, b = broadcast_to(input, shape), broadcast_to(other, shape)
    a1, a2, a3 = a.unbind(dim)
    b1, b2, b3 = b.unbind(dim)
    return stack([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):  # noqa: N803
    from ..ops.diagonal import diagonal as _diagonal

    return _diagonal(A, offset, dim1, dim2)


def matmul(input, other, *, out=None):  # noqa: A002
    return input @ other


def cond(A, p=None, *, out=None):  # noqa: N803
    """Condition number: ratio of extreme singular values (p None/±2), else ‖A‖_p ‖A⁻¹‖_p."""
    from ._norms import matrix_norm

    A = check_matrix(A, "linalg.cond")
    if p in (None, 2, -2):
        s = svdvals(A)
        big, small = s[..., 0], s[..., -1]
        return small / big if p == -2 else big / small
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.cond(ord={p}): A must be batches of square matrices, but "
                           f"they are {A.shape[-2]} by {A.shape[-1]} matrices")
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def tensorinv(A, ind=2, *, out=None):  # noqa: N803
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = A.shape[:ind], A.shape[ind:]
    if _prod(rows) != _prod(cols):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {_prod(cols)} != {_prod(rows)}")
    return inv(A.reshape(_prod(rows), -1)).reshape(tuple(cols) + tuple(rows))


def tensorsolve(A, B, dims=None, *, out=None):  # noqa: N803
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        keep = [d for d in range(A.ndim) if d not in dims]
        A = A.permute(keep + dims)
    rest = A.shape[B.ndim:]
    x = solve(A.reshape(B.numel(), -1), B.reshape(-1))
    return x.reshape(tuple(rest))


def vander(x, N=None):  # noqa: N803
    """Powers x^0 .. x^(N-1) along a new last dim (batched; torch.linalg's increasing order)."""
    from ..ops.shape import stack

    n = x.shape[-1] if N is None else N
    if n <= 1 and N is not None and n < 1:
        raise RuntimeError("N must be greater than 1.")
    cols = [x * 0 + 1]
    for _ in range(1, n):
        cols.append(cols[-1] * x)
    return stack(cols, -1)


def householder_product(A, tau, *, out=None):  # noqa: N803
    """Q = H_1 ... H_k with H_i = I - tau_i v_i v_i^T (v_i: column i of A below the diagonal,
    an implicit 1 on it), the first n columns, as LAPACK orgqr."""
    A = check_matrix(A, "torch.linalg.householder_product")
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    if n > m:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-2] must be greater "
                           "than or equal to input.shape[-1]")
    if k > n:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-1] must be greater "
                           "than or equal to tau.shape[-1]")
    eye = _make(xp.eye(m, dtype=A._data.dtype))
    v_all = A.tril(-1) + _make(xp.eye(m, n, dtype=A._data.dtype))
    q = None
    for i in range(k):
        v = v_all[..., :, i:i + 1]
        h = eye - tau[..., i, None, None] * (v @ _adj(v))
        q = h if q is None else q @ h
    if q is None:
        q = eye.expand(tuple(A.shape[:-2]) + (m, m))
    return q[..., :, :n]
