"""Building and reshaping, composed of differentiable Tensor ops: meshgrid, atleast_*, stacks,
block_diag, kron, tensordot, cdist, cartesian_prod, combinations, tri*_indices, rot90,
tensor_split and its h/v/d forms, vander, trapezoid."""

from __future__ import annotations

import itertools
import warnings

from ..autograd._view_meta import unmarked
from ..backend import xp
from ._util import normalize_dim, to_tensor
from .numgrad import gradient


def _make(arr):
    from .._tensor import Tensor

    return Tensor._make(arr)


def _seq(tensors):
    """``f(a, b)`` and ``f([a, b])`` both accepted, as torch's variadic tensor functions."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return list(tensors[0])
    return list(tensors)


# ------------------------------------------------------------------------------- grids
def meshgrid(*tensors, indexing=None):
    ts = _seq(tensors)
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t}")
    ts = [t.reshape(-1) for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    out = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[i] = -1
        out.append(t.reshape(view).expand(shape))
    if swap:  # the grid has (y, x, ...) shape; hand the outputs back in argument order
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def cartesian_prod(*tensors):
    ts = _seq(tensors)
    if len(ts) == 1:
        return ts[0]
    from .shape import stack

    grids = meshgrid(*ts, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):  # noqa: A002
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    n = input.shape[0]
    if r == 0:
        return input[:0]
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    idx = xp.asarray(list(pick(range(n), r)), xp.int64).reshape(-1, r)
    from .index import index_select

    picked = index_select(input, 0, _make(idx.reshape(-1)))
    out = picked.reshape(idx.shape)
    return out.reshape(-1) if r == 1 else out


def _tri_indices(row, col, offset, upper, dtype):
    from ..backend import int64

    r, c = (xp.triu_indices if upper else xp.tril_indices)(row, offset, col)
    out = _make(xp.stack([r, c]).astype(xp.int64))
    return out if dtype is None or dtype is int64 else out.to(dtype)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    return _tri_indices(row, col, offset, False, dtype)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    return _tri_indices(row, col, offset, True, dtype)


# ----------------------------------------------------------------- dims and stacking
def _atleast(tensors, n, place):
    ts = _seq(tensors)
    out = []
    for t in ts:
        t = to_tensor(t)
        while t.ndim < n:
            t = place(t)
        out.append(t)
    if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)):
        return out[0]
    return tuple(out)


def atleast_1d(*tensors):
    return _atleast(tensors, 1, lambda t: t.reshape(1))


def atleast_2d(*tensors):
    return _atleast(tensors, 2, lambda t: t.unsqueeze(0))


def atleast_3d(*tensors):
    def place(t):
        if t.ndim == 0:
            return t.reshape(1, 1, 1)
        return t.reshape(1, -1, 1) if t.ndim == 1 else t.unsqueeze(-1)

    return _atleast(tensors, 3, place)


def dstack(tensors):
    from .shape import cat

    return cat(list(atleast_3d(*tensors)), 2)


def column_stack(tensors):
    from .shape import hstack

    return hstack([t.reshape(-1, 1) if t.ndim <= 1 else t for t in tensors])


def row_stack(tensors):
    from .shape import vstack

    return vstack(tensors)


def block_diag(*tensors):
    from .._tensor import Tensor
    from ..backend import result_type
    from .shape import cat

    ts = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. "
                               f"Input {i} has {t.ndim} dimensions")
        ts.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not ts:
        return Tensor._make(xp.zeros((1, 0), xp.float32))
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = result_type(_make(xp.zeros((), dt.np)), t)
    ts = [t.to(dt) for t in ts]
    cols = sum(t.shape[1] for t in ts)
    rows, left = [], 0
    for t in ts:
        r, c = t.shape
        z1 = _make(xp.zeros((r, left), dt.np))
        z2 = _make(xp.zeros((r, cols - left - c), dt.np))
        rows.append(cat([z1, t, z2], 1))
        left += c
    return cat(rows, 0)


def kron(input, other, *, out=None):  # noqa: A002
    nd = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (nd - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (nd - other.ndim) + tuple(other.shape))
    a_shape, b_shape = [], []
    for sa, sb in zip(a.shape, b.shape):
        a_shape += [sa, 1]
        b_shape += [1, sb]
    prod = a.reshape(a_shape) * b.reshape(b_shape)
    return prod.reshape(tuple(sa * sb for sa, sb in zip(a.shape, b.shape)))


def tensordot(a, b, dims=2, out=None):
    from .._tensor import Tensor

    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = dims
        da, db = ([da], [db]) if isinstance(da, int) else (list(da), list(db))
    da = [normalize_dim(d, a.ndim) for d in da]
    db = [normalize_dim(d, b.ndim) for d in db]
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[x]} in dim {x} and second has size {b.shape[y]} in "
                               f"dim {y}")
    fa = [d for d in range(a.ndim) if d not in da]
    fb = [d for d in range(b.ndim) if d not in db]
    k = 1
    for d in da:
        k *= a.shape[d]
    am = a.permute(fa + da).reshape(-1, k)
    bm = b.permute(db + fb).reshape(k, -1)
    return (am @ bm).reshape([a.shape[d] for d in fa] + [b.shape[d] for d in fb])


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Pairwise p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M)."""
    from ..linalg import vector_norm

    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    if p == float("inf"):  # torch's kernel: the full gradient to every tied max (pdist's too)
        from ..nn._functional.distance import _MaxAbs

        return _MaxAbs.apply(diff, _name="CdistBackward0")
    dist = vector_norm(diff, p, dim=-1)
    # torch's p=0 distance (a count) has a zero gradient, not none: add an empty sum
    return dist + diff[..., :0].sum(-1) if p == 0 else dist


def pdist(input, p=2):  # noqa: A002
    """``torch.pdist`` is ``nn.functional.pdist`` (one implementation: its checks, p = 0 and
    p = inf gradients)."""
    from ..nn._functional.distance import pdist as _pdist

    return _pdist(input, p)


def rot90(input, k=1, dims=(0, 1)):  # noqa: A002
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    d0, d1 = normalize_dim(dims[0], input.ndim), normalize_dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    k %= 4
    if k == 1:
        return input.flip([d1]).transpose(d0, d1)
    if k == 2:
        return input.flip([d0, d1])
    if k == 3:
        return input.flip([d0]).transpose(d0, d1)
    return input.clone()


# ------------------------------------------------------------------------------- splits
def tensor_split(input, indices_or_sections, dim=0):  # noqa: A002
    from .._tensor import Tensor

    d = normalize_dim(dim, input.ndim)
    n = input.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        ios = ios.tolist()
    if isinstance(ios, int):
        if ios <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {ios}")
        q, r = divmod(n, ios)
        bounds, start = [], 0
        for i in range(ios):
            start += q + (1 if i < r else 0)
            bounds.append(start)
        bounds = bounds[:-1]
    else:
        bounds = list(ios)
    out, prev = [], 0
    for b in bounds + [n]:  # Python slice semantics: x[prev:b], negative bounds wrap
        start, stop, _ = slice(prev, b).indices(n)
        out.append(input.narrow(d, start, max(0, stop - start)))
        prev = b
    return tuple(out)


def _split_form(name, input, ios, dim, min_dim):  # noqa: A002
    if input.ndim < min_dim:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dim} dimension, "
                           f"but got a tensor with {input.ndim} dimensions!")
    if isinstance(ios, int) and input.shape[dim] % ios:
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the "
                           f"size of the dimension {input.shape[dim]} is not divisible by the "
                           f"split_size {ios}!")
    return tensor_split(input, ios, dim)


def hsplit(input, indices_or_sections):  # noqa: A002
    dim = 0 if input.ndim == 1 else 1
    return _split_form("hsplit", input, indices_or_sections, dim, 1)


def vsplit(input, indices_or_sections):  # noqa: A002
    return _split_form("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input, indices_or_sections):  # noqa: A002
    return _split_form("dsplit", input, indices_or_sections, 2, 3)


def split_with_sizes(input, split_sizes, dim=0):  # noqa: A002
    d = normalize_dim(dim, input.ndim)
    if sum(split_sizes) != input.shape[d]:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                           f"{input.shape[d]} (input tensor's size at dimension {dim}), but got "
                           f"split_sizes={list(split_sizes)}")
    return tuple(input.split(list(split_sizes), d))


def ravel(input):  # noqa: A002
    return input.reshape(-1)


def swapdims(input, dim0, dim1):  # noqa: A002
    return input.transpose(dim0, dim1)


# --------------------------------------------------------------------- series and sums
def vander(x, N=None, increasing=False):  # noqa: N803
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    from .shape import stack

    if n == 0:
        return x.unsqueeze(-1)[:, :0]
    cols = [x * 0 + 1]
    for _ in range(1, n):
        cols.append(cols[-1] * x)
    out = stack(cols, 1)
    if not x.dtype.is_floating_point and x.dtype.name != "int64":
        out = out.long()
    return out if increasing else out.flip([1])


def _trap_args(y, x, dx, dim):
    d = normalize_dim(dim, y.ndim)
    n = y.shape[d]
    left = y.narrow(d, 0, max(n - 1, 0))
    right = y.narrow(d, min(1, n), max(n - 1, 0))
    if x is None:
        return d, (left + right) * (0.5 * (1 if dx is None else dx))
    x = to_tensor(x)
    dxs = x.diff(dim=-1 if x.ndim == 1 else d)
    if x.ndim == 1:
        shape = [1] * y.ndim
        shape[d] = -1
        dxs = dxs.reshape(shape)
    return d, (left + right) * dxs / 2


def trapezoid(y, x=None, *, dx=None, dim=-1):
    d, parts = _trap_args(y, x, dx, dim)
    return parts.sum(d)


def trapz(y, x=None, *, dx=None, dim=-1):
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    d, parts = _trap_args(y, x, dx, dim)
    return parts.cumsum(d)


FUNCTIONS = dict(
    meshgrid=meshgrid, cartesian_prod=cartesian_prod, combinations=combinations,
    tril_indices=tril_indices, triu_indices=triu_indices, atleast_1d=atleast_1d,
    atleast_2d=atleast_2d, atleast_3d=atleast_3d, dstack=dstack, column_stack=column_stack,
    row_stack=row_stack, block_diag=block_diag, kron=kron, tensordot=tensordot, cdist=cdist,
    pdist=pdist, rot90=rot90, tensor_split=tensor_split, hsplit=hsplit, vsplit=vsplit,
    dsplit=dsplit, split_with_sizes=split_with_sizes, ravel=ravel, swapdims=swapdims,
    vander=vander, trapezoid=trapezoid, trapz=trapz, cumulative_trapezoid=cumulative_trapezoid,
)
METHODS = ("kron", "rot90", "tensor_split", "hsplit", "vsplit", "dsplit", "split_with_sizes",
           "ravel")


def _wrap_out():
    from ._out import wrap_namespace

    wrap_namespace(FUNCTIONS)


_wrap_out()


def _bind():
    from .._tensor import Tensor

    for name in METHODS:
        setattr(Tensor, name, FUNCTIONS[name])
    _bind_more()


# ---------------------------------------------------------------- small spellings
def unsafe_chunk(input, chunks, dim=0):  # noqa: A002
    return unmarked(input.chunk(chunks, dim))


def unsafe_split(input, split_size, dim=0):  # noqa: A002
    return unmarked(input.split(split_size, dim))


def unsafe_split_with_sizes(input, split_sizes, dim=0):  # noqa: A002
    return unmarked(split_with_sizes(input, split_sizes, dim))


def adjoint(input):  # noqa: A002
    return input.mH


def sum_to_size(self, *size):
    from ._util import sum_to

    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else tuple(size)
    if not _expandable(shape, tuple(self.shape)):
        raise RuntimeError(f"size {{{', '.join(map(str, shape))}}} is not expandable to size "
                           f"{{{', '.join(map(str, self.shape))}}}.")
    return sum_to(self, shape)


def _expandable(shape, target):
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(reversed(shape), reversed(target)))


def frobenius_norm(input, dim, keepdim=False):  # noqa: A002
    from ..linalg import vector_norm

    return vector_norm(input, 2, dim, keepdim)


def nuclear_norm(input, dim=(-2, -1), keepdim=False):  # noqa: A002
    from ..linalg import matrix_norm

    return matrix_norm(input, "nuc", dim, keepdim)


def cov(input, *, correction=1, fweights=None, aweights=None):  # noqa: A002
    """Covariance of the rows (variables) over the columns (observations), torch's weights."""
    x = input if input.ndim == 2 else input.reshape(1, -1)
    if input.ndim > 2:
        raise ValueError(f"cov(): expected input to have two or fewer dimensions but got an "
                         f"input with {input.ndim} dimensions")
    from ._util import as_float

    x = as_float(x)
    w = None
    if fweights is not None:
        w = fweights
    if aweights is not None:
        w = aweights if w is None else w * aweights
    if w is None:
        n = x.shape[1]
        mean = x.mean(1, keepdim=True)
        norm = n - correction
    else:
        w = w.to(x.dtype)
        wsum = w.sum()
        mean = (x * w).sum(1, keepdim=True) / wsum
        if correction == 0:
            norm = wsum
        elif aweights is None:
            norm = wsum - correction
        else:
            norm = wsum - correction * (w * aweights).sum() / wsum
    xc = x - mean
    xw = xc if w is None else xc * w
    c = (xw @ xc.mT) / (norm if not hasattr(norm, "clamp") else norm.clamp(min=0))
    return c.reshape(()) if input.ndim < 2 else c


def corrcoef(input):  # noqa: A002
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    stddev = d.sqrt()
    c = c / stddev.unsqueeze(1) / stddev.unsqueeze(0)
    return c.clamp(-1, 1)


FUNCTIONS.update(unsafe_chunk=unsafe_chunk, unsafe_split=unsafe_split,
                 unsafe_split_with_sizes=unsafe_split_with_sizes, adjoint=adjoint,
                 frobenius_norm=frobenius_norm, nuclear_norm=nuclear_norm, cov=cov,
                 corrcoef=corrcoef)
METHODS += ("unsafe_chunk", "unsafe_split", "unsafe_split_with_sizes", "adjoint", "cov",
            "corrcoef")


def _bind_more():
    from .._tensor import Tensor

    Tensor.sum_to_size = sum_to_size
    Tensor.tril_ = lambda self, diagonal=0: self.copy_(self.tril(diagonal))
    Tensor.triu_ = lambda self, diagonal=0: self.copy_(self.triu(diagonal))
    Tensor.cumsum_ = lambda self, dim, *, dtype=None: self.copy_(self.cumsum(dim, dtype=dtype))
    # cumprod saves its input for backward: take it from a copy of the old values
    Tensor.cumprod_ = lambda self, dim, *, dtype=None: self.copy_(
        self.clone().cumprod(dim, dtype=dtype))
    if not hasattr(Tensor, "addmm"):
        from .linalg import addmm

        Tensor.addmm = addmm
        Tensor.addmm_ = lambda self, *a, **k: self.copy_(addmm(self, *a, **k))


def unravel_index(indices, shape):
    """Coordinates of flat ``indices`` in ``shape`` (a tuple of int64 tensors; -1 wraps)."""
    from .._tensor import Tensor

    idx = indices if isinstance(indices, Tensor) else to_tensor(indices)
    if idx.dtype.is_floating_point or idx.dtype.name == "bool":
        raise TypeError(f"expected 'indices' to be integer dtype, but got torch.{idx.dtype.name}")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    rest = idx._data.astype(xp.int64)
    out = []
    for s in reversed(shape):
        out.append(xp.mod(rest, s) if s else rest * 0)
        rest = xp.floor_divide(rest, s) if s else rest
    return tuple(_make(o) for o in reversed(out))


def nonzero_static(input, *, size, fill_value=-1):  # noqa: A002
    from .index import nonzero

    nz = nonzero(input)._data
    out = xp.full((size, max(input.ndim, 1) if input.ndim else 0), fill_value, xp.int64)
    n = min(size, nz.shape[0])
    out[:n] = nz[:n]
    return _make(out)


FUNCTIONS.update(unravel_index=unravel_index, nonzero_static=nonzero_static, gradient=gradient)
METHODS += ("nonzero_static",)
