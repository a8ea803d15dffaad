"""What sparse COO tensors compute: products with dense matrices, coalescing, ``to_dense``,
sums, softmax, elementwise arithmetic and the printed form (see ``_sparse_coo.py``).

The product ``S @ D`` sorts the entries by row once (the plan is cached on the indices), takes
``values * D[col]`` for every entry and sums each row's products with ``np.add.reduceat``: one
vectorised pass, no ``np.add.at``. Its backward is ``S.t() @ grad`` for ``D`` (the transpose's
plan is the one built for the columns) and ``(grad[row] * D[col]).sum(1)`` for the values
(or ``grad @ D^T`` whole, for a sparse leaf under ``torch.mm``: ``_dense_grad_to_leaf``).

Sparse + sparse follows torch's walk over both index lists (``_merge_plan``), which decides
the layout of accumulated sparse gradients; the in-place forms (``dense.add_(sparse)``,
``sparse.add_``, ``zero_``) are what optimizers and ``.grad`` accumulation use.
"""

from __future__ import annotations

from ._layout import sparse_coo
from ._sparse_coo import (
    LeafValues,
    Rename,
    SparseCooTensor,
    _segment_starts,
    _Structure,
    dense_to_sparse,
    make,
    renamed,
    replace_contents,
)
from ._tensor import Tensor
from .autograd.function import Node, as_torch_node
from .autograd.grad_mode import _GradState
from .backend import get_default_dtype, xp
from .ops._util import normalize_dim, normalize_dims, to_tensor


# ---------------------------------------------------------------- nodes
class SpMM(Node):
    """``S @ D`` for a sparse matrix ``S`` (its values and ``struct``) and a dense matrix.
    With ``to_leaf`` set, input 0 is a sparse leaf's ``AccumulateGrad`` and its gradient the
    dense ``grad @ D^T`` (see ``_dense_grad_to_leaf``)."""

    saves = (0, 1)
    to_leaf = None  # None, or whether the leaf is the transpose of ``S``

    def forward(self, vals, dense):
        order, starts, rows, cols = self.struct.row_plan()
        out = xp.zeros((self.struct.shape[0], dense.shape[1]), xp.result_type(vals, dense))
        if starts.size:
            v = vals if order is None else vals[order]
            out[rows] = xp.add.reduceat(dense[cols] * v[:, None], starts, axis=0)
        return out

    def backward(self, g):
        vals, dense = self.saved_tensors
        st = self.struct
        g_vals = g_dense = None
        if self._next[0] is not None and self.to_leaf is not None:
            g_vals = g.mm(dense.t())
            if self.to_leaf:
                g_vals = g_vals.t()
        elif self._next[0] is not None:
            rows, cols = Tensor._make(st.idx[0]), Tensor._make(st.idx[1])
            g_vals = (g.index_select(0, rows) * dense.index_select(0, cols)).sum(1)
        if self._next[1] is not None:
            g_dense = SpMM.apply(vals, g, struct=st.transposed(0, 1))
        return g_vals, g_dense


class ToDense(Node):
    """The dense tensor: values written at their indices (duplicates summed)."""

    _name = "ToDenseBackward0"

    def forward(self, vals):
        st = self.struct
        out = xp.zeros(st.shape, vals.dtype)
        if st.coalesced:
            out[tuple(st.idx)] = vals
        else:
            order, starts, unique, _ = st.unique_plan()
            if starts.size:
                out[tuple(unique)] = xp.add.reduceat(vals[order], starts, axis=0)
        return out

    def backward(self, g):
        return g[tuple(Tensor._make(r) for r in self.struct.idx)]


class Coalesce(Node):
    """Values of the coalesced tensor: duplicates summed in lexicographic index order."""

    def forward(self, vals):
        if not self.starts.size:
            return vals.copy()
        return xp.add.reduceat(vals[self.order], self.starts, axis=0)

    def backward(self, g):
        return g.index_select(0, Tensor._make(self.seg))


class MergeAdd(Node):
    """The values of ``a + b`` for two sparse tensors: entry ``k`` of ``a`` goes to slot
    ``mine[k]``, entry ``k`` of ``b`` is added into slot ``theirs[k]`` (each side's slots are
    distinct, so both writes are plain fancy-indexed ones)."""

    def forward(self, a, b):
        out = xp.zeros((self.n,) + a.shape[1:], xp.result_type(a, b))
        out[self.mine] = a
        out[self.theirs] += b
        return out

    def backward(self, g):
        return (g.index_select(0, Tensor._make(self.mine)),
                g.index_select(0, Tensor._make(self.theirs)))


class SegmentSoftmax(Node):
    """(log-)softmax of the values over each group of entries that differ only in ``dim``.
    Its backward is not itself differentiable (no double backward)."""

    saves_output = True

    def forward(self, vals):
        order, starts, seg = self.order, self.starts, self.seg
        v = vals[order]
        if not starts.size:
            return vals.copy()
        shifted = v - xp.maximum.reduceat(v, starts)[seg]
        e = xp.exp(shifted)
        total = xp.add.reduceat(e, starts)[seg]
        out = xp.empty_like(vals)
        out[order] = shifted - xp.log(total) if self.log else e / total
        return out

    def backward(self, g):
        y = self.saved_output._data
        order, starts, seg = self.order, self.starts, self.seg
        gd = g._data
        if not starts.size:
            return Tensor._make(gd.copy())
        if self.log:
            sums = xp.add.reduceat(gd[order], starts)[seg]
            res_sorted = gd[order] - xp.exp(y[order]) * sums
        else:
            gy = (gd * y)[order]
            res_sorted = gy - y[order] * xp.add.reduceat(gy, starts)[seg]
        res = xp.empty_like(gd)
        res[order] = res_sorted
        return Tensor._make(res)


# ---------------------------------------------------------------- conversion and shape
def to_dense(s):
    if s._struct.sparse_dim == 0:
        return s._vals.sum(0)
    return ToDense.apply(s._vals, struct=s._struct)


def coalesce(s, name="CoalesceBackward0"):
    st = s._struct
    if st.coalesced:
        return s
    order, starts, unique, seg = st.unique_plan()
    vals = Coalesce.apply(s._vals, order=order, starts=starts, seg=seg, _name=name)
    return make(_Structure(unique, st.shape, True), vals)


def transpose(s, dim0, dim1):
    nd, sd = s.ndim, s._struct.sparse_dim
    d0, d1 = sorted((normalize_dim(dim0, nd), normalize_dim(dim1, nd)))
    if d0 == d1:
        return make(s._struct, renamed(s._vals, "TransposeBackward0"))
    if d1 < sd:
        return make(s._struct.transposed(d0, d1), renamed(s._vals, "TransposeBackward0"))
    if d0 < sd:
        raise RuntimeError("transpose(): can't transpose a sparse dimension with a dense one "
                           f"(sparse_dim = {sd}, got dims {dim0} and {dim1})")
    shape = list(s.shape)
    shape[d0], shape[d1] = shape[d1], shape[d0]
    st = _Structure(s._struct.idx, shape, s._struct.coalesced)
    return make(st, s._vals.transpose(d0 - sd + 1, d1 - sd + 1))


# ---------------------------------------------------------------- arithmetic
def _is_scalar(x):
    return not isinstance(x, Tensor) or (x.ndim == 0 and not isinstance(x, SparseCooTensor))


def _linear_keys(s):
    return xp.ravel_multi_index(tuple(s._struct.idx), s._struct.shape[:s._struct.sparse_dim])


def mul(s, other):
    """``S * scalar``, ``S * dense`` (same shape) and ``S * sparse`` (the common entries)."""
    if _is_scalar(other):
        return make(s._struct, s._vals * other)
    if other.shape != s.shape:
        raise RuntimeError(f"mul(sparse, other): expected sizes of 'self' and 'other' to match, "
                           f"but {list(s.shape)} != {list(other.shape)}")
    if not isinstance(other, SparseCooTensor):
        return make(s._struct, s._vals * other[tuple(Tensor._make(r) for r in s._struct.idx)])
    if other._struct.idx is s._struct.idx:  # the same indices: the values' product, as torch
        return make(s._struct, s._vals * other._vals)
    a, b = coalesce(s), coalesce(other)
    _, ia, ib = xp.intersect1d(_linear_keys(a), _linear_keys(b), assume_unique=True,
                               return_indices=True)
    vals = a._vals.index_select(0, Tensor._make(ia)) * b._vals.index_select(0, Tensor._make(ib))
    return make(_Structure(a._struct.idx[:, ia], s.shape, True), vals)


def div(s, other, rounding_mode=None):
    if not _is_scalar(other):
        raise RuntimeError("Sparse division requires a scalar or zero-dim dense tensor divisor "
                           f"(got shape {list(other.shape)} for divisor)")
    return make(s._struct, s._vals.div(other, rounding_mode=rounding_mode))


def add(s, other, alpha=1):
    """Sparse + sparse as torch's ``add_out_sparse_contiguous``: one walk over both index
    lists (see ``_merge_plan``); coalesced when both operands are."""
    if not isinstance(other, SparseCooTensor):
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
    if other.shape != s.shape:
        raise RuntimeError(f"add: expected sizes of 'self' and 'other' to match, but "
                           f"{list(s.shape)} != {list(other.shape)}")

    theirs = other._vals if alpha == 1 else other._vals * alpha
    if other._struct.idx is s._struct.idx:  # the same indices (S + S, S + 2 * S): as torch
        return make(s._struct, s._vals + theirs)
    if not other._nnz():  # torch copies the other operand (its layout and flag)
        return make(s._struct, s._vals + 0)
    if not s._nnz():
        return make(other._struct, theirs if theirs is not other._vals else theirs + 0)
    r_of_s, r_of_other, n = _merge_plan(_linear_keys(s), _linear_keys(other))
    idx = xp.empty((s._struct.sparse_dim, n), xp.int64)
    idx[:, r_of_s] = s._struct.idx
    idx[:, r_of_other] = other._struct.idx
    vals = MergeAdd.apply(s._vals, theirs, mine=r_of_s, theirs=r_of_other, n=n,
                          _name="AddBackward0")
    return make(_Structure(idx, s.shape, s.is_coalesced() and other.is_coalesced()), vals)


def _merge_plan(a, b):
    """Where each entry of ``a`` and of ``b`` (linear index keys) lands in ``a + b``, and the
    result's nnz. torch walks both lists once, as a merge of sorted lists: it takes the
    smaller head, or both heads into one entry when they are equal. On unsorted (uncoalesced)
    lists that walk is what it is, so it is replayed here; sorted lists take a vectorised
    form (equal keys pair up in order of appearance, the rest stay single)."""
    n, m = a.size, b.size
    if n == m and xp.array_equal(a, b):
        r = xp.arange(n)
        return r, r, n
    if (a[1:] >= a[:-1]).all() and (b[1:] >= b[:-1]).all():
        return _merge_sorted(a, b)
    return _merge_walk(a.tolist(), b.tolist())


def _merge_sorted(a, b):
    """The walk on sorted lists: the k-th copy of a key in ``a`` meets the k-th in ``b``."""
    def ranks(keys):  # which copy of its key each entry is
        return xp.arange(keys.size) - xp.searchsorted(keys, keys, side="left")

    keys = xp.concatenate((a, b))
    rank = xp.concatenate((ranks(a), ranks(b)))
    order = xp.lexsort((rank, keys))
    k, r = keys[order], rank[order]
    new = xp.ones(keys.size, bool)
    new[1:] = (k[1:] != k[:-1]) | (r[1:] != r[:-1])
    slot = xp.empty(keys.size, xp.int64)
    slot[order] = xp.cumsum(new) - 1
    return slot[:a.size], slot[a.size:], int(new.sum())


def _merge_walk(a, b):
    """The walk itself, entry by entry (Python lists of keys)."""
    n, m = len(a), len(b)
    ra, rb = [0] * n, [0] * m
    i = j = r = 0
    while i < n and j < m:
        x, y = a[i], b[j]
        if x <= y:
            ra[i] = r
            i += 1
        if y <= x:
            rb[j] = r
            j += 1
        r += 1
    ra[i:] = range(r, r + n - i)
    r += n - i
    rb[j:] = range(r, r + m - j)
    r += m - j
    return xp.array(ra, xp.int64), xp.array(rb, xp.int64), r


# ---------------------------------------------------------------- in place (optimizers, .grad)
def add_dense_sparse_(dense, s, alpha=1):
    """``dense.add_(sparse, alpha=alpha)`` without a graph. torch adds the entries one after
    another, so a position's duplicates accumulate into it in order of appearance; here each
    round adds the next copy of every position at once (one round when there are none)."""
    if tuple(s.shape) != tuple(dense.shape):
        raise RuntimeError(
            f"add: expected 'self' and 'other' to have same size, but self has size "
            f"{list(dense.shape)} while other has size {list(s.shape)} (FYI: dense-sparse "
            "addition does not currently support broadcasting)")
    dense._check_writable()
    arr = dense._data
    vals = s._vals._data
    if alpha != 1:
        vals = vals * alpha
    vals = vals.astype(arr.dtype, copy=False)
    if s._struct.sparse_dim == 0:
        for v in vals:
            arr += v
    elif s._nnz():
        _add_in_order(arr, s._struct.idx, vals, s.is_coalesced())
    dense._vc[0] += 1
    return dense


def _add_in_order(arr, idx, vals, unique):
    if unique:
        arr[tuple(idx)] += vals
        return
    keys = xp.ravel_multi_index(tuple(idx), arr.shape[:idx.shape[0]])
    order = xp.argsort(keys, kind="stable")
    starts = _segment_starts(keys[order][None])
    run_start = xp.zeros(keys.size, xp.int64)
    run_start[starts] = starts
    rank = xp.empty(keys.size, xp.int64)
    rank[order] = xp.arange(keys.size) - xp.maximum.accumulate(run_start)
    by_round = xp.argsort(rank, kind="stable")
    bounds = xp.cumsum(xp.bincount(rank))
    lo = 0
    for hi in bounds.tolist():
        sel = by_round[lo:hi]  # the next copy of each position: no repeats within a round
        arr[tuple(idx[:, sel])] += vals[sel]
        lo = hi


def sparse_mask(dense, mask):
    """``dense.sparse_mask(mask)``: ``dense``'s values at ``mask``'s indices (its layout)."""
    if not isinstance(mask, SparseCooTensor):
        raise RuntimeError("sparse_mask expects mask to be sparse COO tensor")
    if tuple(mask.shape) != tuple(dense.shape):
        raise RuntimeError("sparse_mask(): operands have incompatible sizes; self has size "
                           f"{list(dense.shape)} but mask has size {list(mask.shape)}.")
    st = mask._struct
    vals = dense[tuple(Tensor._make(r) for r in st.idx)]
    return make(st, renamed(vals, "SparseMaskBackward0"))


def check_inplace(s):
    """torch's error for an in-place op on a sparse leaf that requires grad (grad mode on)."""
    if s.requires_grad and s.grad_fn is None and _GradState.enabled:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")


def inplace_add_(s, other, alpha=1):
    """``sparse.add_(sparse)``: the sum's indices and values become ``s``'s."""
    check_inplace(s)
    out = add(s.detach() if s.grad_fn is None else s, other, alpha)
    return replace_contents(s, out._struct, out._vals)


def zero_(s):
    """``sparse.zero_()``: no entries left (torch keeps the shape, coalesced)."""
    check_inplace(s)
    st, vals = s._struct, s._vals._data
    empty = _Structure(xp.zeros((st.sparse_dim, 0), xp.int64), st.shape, True)
    return replace_contents(s, empty, Tensor._make(xp.zeros((0,) + vals.shape[1:], vals.dtype)))


def norm(s, p="fro", dim=None, keepdim=False, dtype=None):
    """``sparse.norm(p)`` over every element: the norm of the coalesced values."""
    if dim is not None or keepdim:
        raise NotImplementedError("gradstep's sparse norm reduces over all dims; call "
                                  ".to_dense().norm(p, dim) for a norm along dims")
    vals = coalesce(s)._vals
    if dtype is not None:
        vals = vals.to(dtype)
    return vals.norm(2 if p == "fro" else p)


def sparse_sum(s, dim=None, dtype=None):
    """``torch.sparse.sum``: a dense 0-d tensor for all dims; else sparse over the kept
    sparse dims (dense when every sparse dim is summed)."""
    vals = s._vals if dtype is None else s._vals.to(dtype)
    if dim is None:
        return vals.sum()
    sd = s._struct.sparse_dim
    dims = normalize_dims(dim, s.ndim)
    dense_axes = tuple(d - sd + 1 for d in dims if d >= sd)
    if dense_axes:
        vals = vals.sum(dense_axes)
    kept = [d for d in range(sd) if d not in dims]
    if not kept:
        return vals.sum(0)
    shape = [s.shape[d] for d in kept] + [s.shape[d] for d in range(sd, s.ndim) if d not in dims]
    return coalesce(make(_Structure(s._struct.idx[kept], shape, False), vals),
                    "SparseSumBackward0")


def softmax(s, dim, dtype=None, log=False):
    """``torch.sparse.softmax``/``log_softmax`` over a sparse dim: among the stored entries
    (the unstored ones count as -inf, as torch's)."""
    s = coalesce(s)
    st = s._struct
    d = normalize_dim(dim, s.ndim)
    if d >= st.sparse_dim or s.dense_dim():
        raise NotImplementedError("gradstep's sparse softmax works over a sparse dim of a tensor "
                                  "without dense dims")
    others = xp.delete(st.idx, d, axis=0)
    order = xp.lexsort(others[::-1]) if others.shape[0] else xp.arange(st.nnz)
    starts = _segment_starts(others[:, order])
    seg = xp.cumsum(xp.isin(xp.arange(st.nnz), starts)) - 1
    vals = s._vals if dtype is None else s._vals.to(dtype)
    name = "LogSoftmaxBackward0" if log else "SoftmaxBackward0"
    out = SegmentSoftmax.apply(vals, order=order, starts=starts, seg=seg, log=log, _name=name)
    return make(st, out)


# ---------------------------------------------------------------- products
def _title(dt):
    from .ops.linalg import _title as title

    return title(dt)


def _grad_leaf(s, wanted):
    """(leaf, flipped): the sparse leaf that requires grad that ``s`` is (flipped False) or
    whose ``t()`` it is (flipped True), if ``wanted``; else (None, False)."""
    fn = s._vals.grad_fn if wanted else None
    if type(fn) is LeafValues:
        return fn.variable, False
    if type(fn) is Rename and fn._name == "TBackward0" and type(fn._next[0][0]) is LeafValues:
        return fn._next[0][0].variable, True
    return None, False


def _dense_grad_to_leaf(node, leaf, transposed):
    """torch.mm/matmul/@/addmm give a sparse leaf a dense gradient over every position
    (``grad @ D^T``), not one on its pattern as ``torch.sparse.mm`` does: the product's
    first edge goes straight to the leaf's ``AccumulateGrad``, past its values."""
    from .autograd.function import _edge

    node._next = (_edge(leaf), node._next[1])
    node._metas = ((leaf._struct.shape, leaf._vals._data.dtype), node._metas[1])
    node.to_leaf = transposed


def _spmm(s, dense, name, leaf=None, transposed=False):
    st = s._struct
    if st.sparse_dim != 2 or s.dense_dim():
        raise RuntimeError(f"addmm: matrices expected, got {st.sparse_dim}D tensor")
    if dense.ndim != 2:
        raise RuntimeError(f"addmm: matrices expected, got {dense.ndim}D tensor")
    if dense.shape[0] != st.shape[1]:
        raise RuntimeError(f"addmm: Argument #3 (dense): Expected dim 0 size {st.shape[1]}, "
                           f"got {dense.shape[0]}")
    if dense.dtype is not s.dtype:
        raise RuntimeError(f"expected scalar type {_title(s.dtype)} but found "
                           f"{_title(dense.dtype)}")
    out = SpMM.apply(s._vals, dense, struct=st, _name=name)
    if leaf is not None and out.grad_fn is not None:
        _dense_grad_to_leaf(out.grad_fn, leaf, transposed)
    return out


def _check_mm_operand(t):
    if t.ndim < 2:
        normalize_dim(t.ndim - 2 if t.ndim == 0 else 1, t.ndim)  # torch's IndexError
    if t.ndim != 2:
        raise RuntimeError(f"addmm: matrices expected, got {t.ndim}D tensor")


def mm(a, b, name="MmBackward0", dense_leaf_grad=True):
    """``torch.mm`` with a sparse operand (the other dense, or both sparse). A sparse leaf
    gets a dense gradient, unless ``dense_leaf_grad`` is False (``torch.sparse.mm``)."""
    a_sparse, b_sparse = isinstance(a, SparseCooTensor), isinstance(b, SparseCooTensor)
    for t in (a, b):
        if isinstance(t, SparseCooTensor) and t.ndim < 2:
            _check_mm_operand(t)
    if a_sparse and b_sparse:
        return dense_to_sparse(_spmm(a, b.to_dense(), name))  # a dense intermediate (n x m)
    if a_sparse:
        b = to_tensor(b)
        _check_mm_operand(b)
        return _spmm(a, b, name, *_grad_leaf(a, dense_leaf_grad))
    a = to_tensor(a)
    _check_mm_operand(a)
    if b._struct.sparse_dim != 2 or b.dense_dim():
        raise RuntimeError(f"addmm: matrices expected, got {b._struct.sparse_dim}D tensor")
    leaf, flipped = _grad_leaf(b, dense_leaf_grad)
    out = _spmm(b.t(), a.t(), name, leaf, not flipped)
    return as_torch_node(out.t(), name)


def matmul(a, b):
    """``torch.matmul``/``@`` with a sparse operand: ``mm``, or ``mv`` for a dense vector."""
    if isinstance(a, SparseCooTensor) and a.ndim == 1:
        return matmul(a.to_dense(), b)  # a sparse vector: its dense form
    if isinstance(a, SparseCooTensor) and not isinstance(b, SparseCooTensor):
        b = to_tensor(b)
        if b.ndim == 1:
            out = _spmm(a, b.unsqueeze(1), "MvBackward0", *_grad_leaf(a, True))
            return as_torch_node(out.squeeze(1), "MvBackward0")
    elif not isinstance(a, SparseCooTensor):
        a = to_tensor(a)
        if a.ndim == 1:
            return as_torch_node(mm(a.unsqueeze(0), b).squeeze(0), "MmBackward0")
    return mm(a, b)


def addmm(input, mat1, mat2, beta=1, alpha=1, dense_leaf_grad=True):  # noqa: A002 - torch's
    """``beta * input + alpha * (mat1 @ mat2)`` with a sparse ``mat1`` (dense ``input``)."""
    prod = mm(mat1, mat2, dense_leaf_grad=dense_leaf_grad)
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:
        return prod
    return (input if beta == 1 else input * beta) + prod


# ---------------------------------------------------------------- printing
def _contents(arr, indent):
    """torch's ``_tensor_str`` of an inner tensor (indices or values): no dtype, and the
    size when empty."""
    from ._tensor_str import PRINT_OPTS, _body, _Formatter, _summarized

    if arr.size == 0:
        return f"[], size={tuple(arr.shape)}"
    summarize = arr.size > PRINT_OPTS.threshold
    fmt = _Formatter(_summarized(arr) if summarize else arr)
    return _body(arr, indent, summarize, fmt)


def sparse_repr(t):
    """``tensor(indices=..., values=..., size=..., nnz=..., layout=torch.sparse_coo)``."""
    from ._tensor_str import _with_suffixes

    indent = len("tensor(")
    text = ("tensor(indices=tensor(" + _contents(t._struct.idx, indent + 15) + "),\n"
            + " " * indent + "values=tensor(" + _contents(t._vals._data, indent + 14) + ")")
    suffixes = [f"size={t._struct.shape}", f"nnz={t._nnz()}"]
    dt = t.dtype
    if dt.name not in (get_default_dtype().name, "int64", "bool"):
        suffixes.append(f"dtype={dt!r}")
    suffixes.append(f"layout={sparse_coo!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(text, suffixes, indent, first_on_new_line=True)


def spmm(input, mat2):  # noqa: A002 - torch's names
    """``torch.spmm``: ``torch.mm`` (pygcn's sparse adjacency @ dense features)."""
    from .ops.linalg import mm as dense_mm

    return dense_mm(input, mat2)


def _bind():
    import sys

    from .ops import linalg

    linalg._SPARSE, linalg._SPARSE_OPS = SparseCooTensor, sys.modules[__name__]


_bind()
