"""Fuzzer case generators for reductions, shape ops, indexing and linear algebra."""

from __future__ import annotations

import numpy as np

from tests.ops.fuzz_gen import ALL, FLOATS, FM, INTS, F, M
from tests.ops.fuzz_ops import DT, Case


def _numel(shape):
    return int(np.prod(shape)) if shape else 1


def _red_n(shape, dim):
    if dim is None:
        return _numel(shape)
    dims = dim if isinstance(dim, tuple) else (dim,)
    n = 1
    for d in dims:
        if shape and -len(shape) <= d < len(shape):
            n *= shape[d]
    return n


def _dim_arg(r, nd, multi=True):
    """None, an int, or (with ``multi``) a tuple of distinct dims."""
    c = r.int(0, 2 if multi else 1)
    if c == 0:
        return None
    if c == 1 or nd < 2:
        return r.dim(nd)
    k = r.int(1, nd)
    return tuple(int(d) for d in r.g.permutation(nd)[:k])


# ---------------------------------------------------------------- reductions
def gen_sum_like(name, tol, dtypes=None):
    def gen(r):
        a = r.tensor(None, r.dtype(dtypes) if dtypes else None)
        dim = _dim_arg(r, len(a.shape), multi=name not in ("prod",))
        kw = {}
        if dim is not None:
            kw["dim"] = dim
            if r.p(0.4):
                kw["keepdim"] = r.p(0.5)
        if name in ("sum", "mean", "prod") and r.p(0.15):
            kw["dtype"] = DT(r.choice(FLOATS + ("int64",)))
        return Case(name, FM(r, name), (a,), kw, tol=tol, n=_red_n(a.shape, dim))
    return gen


def gen_amax(name):
    def gen(r):
        a = r.tensor()
        dim = _dim_arg(r, len(a.shape))
        kw = {} if dim is None else {"dim": dim, "keepdim": r.p(0.5)}
        return Case(name, FM(r, name), (a,), kw)
    return gen


def gen_max(name):
    def gen(r):
        a = r.tensor()
        if r.p(0.4):
            return Case(name, FM(r, name), (a,))
        kw = {"dim": r.dim(len(a.shape))}
        if r.p(0.5):
            kw["keepdim"] = r.p(0.5)
        return Case(name, FM(r, name), (a,), kw, loose_index=True)
    return gen


def gen_arg(name):
    def gen(r):
        a = r.tensor()
        kw = {}
        if r.p(0.6):
            kw["dim"] = r.dim(len(a.shape))
        if r.p(0.4):
            kw["keepdim"] = r.p(0.5)
        return Case(name, FM(r, name), (a,), kw, loose_index=True)
    return gen


def gen_var(name):
    def gen(r):
        a = r.tensor()
        dim = _dim_arg(r, len(a.shape))
        kw = {}
        if dim is not None:
            kw["dim"] = dim
        c = r.int(0, 2)
        if c == 1:
            kw["correction"] = r.choice((0, 1, 2))
        elif c == 2 and dim is not None:
            kw["unbiased"] = r.p(0.5)
        if r.p(0.3):
            kw["keepdim"] = r.p(0.5)
        return Case(name, FM(r, name), (a,), kw, tol="var", n=_red_n(a.shape, dim))
    return gen


def gen_norm(r):
    a = r.tensor()
    dim = _dim_arg(r, len(a.shape))
    p = r.choice((2, 1, 3, 0.5, 0, float("inf"), float("-inf"), "fro"))
    kw = {"p": p}
    if dim is not None:
        kw["dim"] = dim
        if r.p(0.4):
            kw["keepdim"] = True
    return Case("norm", FM(r, "norm"), (a,), kw, tol="sum", n=_red_n(a.shape, dim) * 4)


def gen_logsumexp(r):
    a = r.tensor()
    dim = _dim_arg(r, len(a.shape)) or 0
    return Case("logsumexp", FM(r, "logsumexp"), (a,), {"dim": dim, "keepdim": r.p(0.3)},
                tol="sum", n=_red_n(a.shape, dim) * 4)


def gen_softmax(name):
    def gen(r):
        a = r.tensor()
        kw = {"dim": r.dim(len(a.shape))}
        if r.p(0.15):
            kw["dtype"] = DT(r.choice(FLOATS))
        return Case(name, FM(r, name), (a,), kw, tol="sum", n=_red_n(a.shape, kw["dim"]) * 4)
    return gen


def gen_cum(name):
    def gen(r):
        a = r.tensor()
        kw = {"dim": r.dim(len(a.shape))}
        if r.p(0.15):
            kw["dtype"] = DT(r.choice(FLOATS + ("int64",)))
        return Case(name, FM(r, name), (a,), kw, tol="sum" if name == "cumsum" else "prod",
                    n=_red_n(a.shape, kw["dim"]))
    return gen


def gen_logic_red(name):
    def gen(r):
        a = r.tensor()
        kw = {}
        if r.p(0.6):
            nd = len(a.shape)
            kw["dim"] = r.dim(nd) if name != "count_nonzero" else _dim_arg(r, nd)
            if name != "count_nonzero" and r.p(0.4):
                kw["keepdim"] = r.p(0.5)
        return Case(name, FM(r, name), (a,), kw)
    return gen


# ---------------------------------------------------------------- shape ops
def _shape_case(r, name, a, *args, **kw):
    return Case(name, FM(r, name), (a,) + args, kw)


def gen_reshape(name):
    def gen(r):
        a = r.tensor()
        n = _numel(a.shape)
        opts = [(n,), (-1,), (1, n), (n, 1, 1), ()] if n == 1 else [(n,), (-1,), (1, n), (n, -1)]
        if n and n % 2 == 0:
            opts += [(2, n // 2), (-1, 2)]
        if n == 0:
            opts = [(0,), (0, 3), (-1,), (2, 0, 1)]
        if r.p(0.05):
            opts = [(n + 1,)]
        shape = r.choice(opts)
        if r.p(0.5):
            return Case(name, M(name), (a,) + tuple(shape))
        return _shape_case(r, name, a, shape) if name == "reshape" else \
            Case(name, M(name), (a, shape))
    return gen


def gen_flatten(r):
    a = r.tensor()
    nd = len(a.shape)
    kw = {}
    if r.p(0.6):
        kw["start_dim"] = r.dim(nd)
        kw["end_dim"] = r.dim(nd)
    return Case("flatten", FM(r, "flatten"), (a,), kw)


def gen_squeeze(r):
    a = r.tensor()
    args = (a,) if r.p(0.4) else (a, r.dim(len(a.shape)))
    return Case("squeeze", FM(r, "squeeze"), args)


def gen_unsqueeze(r):
    a = r.tensor()
    return Case("unsqueeze", FM(r, "unsqueeze"), (a, r.dim(len(a.shape) + 1)))


def gen_permute(r):
    a = r.tensor()
    perm = tuple(int(i) for i in r.g.permutation(len(a.shape)))
    if r.p(0.05):
        perm = perm + (0,)
    if r.p(0.5):
        return Case("permute", M("permute"), (a,) + perm)
    return Case("permute", FM(r, "permute"), (a, perm))


def gen_transpose(r):
    a = r.tensor()
    nd = len(a.shape)
    return Case("transpose", FM(r, "transpose"), (a, r.dim(nd), r.dim(nd)))


def gen_t(r):
    return Case("t", FM(r, "t"), (r.tensor(r.shape(0, 3)),))


def gen_movedim(r):
    a = r.tensor()
    nd = len(a.shape)
    return Case("movedim", FM(r, "movedim"), (a, r.dim(nd), r.dim(nd)))


def gen_expand(r):
    a = r.tensor(tuple(1 if r.p(0.5) else s for s in r.shape()))
    sizes = [r.int(0, 3) if s == 1 else (-1 if r.p(0.3) else s) for s in a.shape]
    if r.p(0.3):
        sizes = [r.int(1, 3)] + sizes
    if r.p(0.5):
        return Case("expand", M("expand"), (a,) + tuple(sizes))
    return Case("expand", M("expand"), (a, tuple(sizes)))


def gen_repeat(name):
    def gen(r):
        a = r.tensor()
        k = len(a.shape) + r.int(0 if name == "repeat" else -1, 1)
        reps = tuple(r.int(0, 3) for _ in range(max(k, 0)))
        if name == "repeat":
            return Case("repeat", M("repeat"), (a,) + reps if r.p(0.5) else (a, reps))
        return Case("tile", FM(r, "tile"), (a, reps))
    return gen


def gen_cat(name):
    def gen(r):
        shape = r.shape(1 if name == "cat" else 0, 3)
        nd = len(shape)
        d = r.dim(nd + (name == "stack"))
        parts = []
        for _ in range(r.int(1, 3)):
            s = list(shape)
            if name == "cat" and s and -nd <= d < nd:
                s[d] = r.int(0, 3)
            dt = r.dtype()
            parts.append(r.tensor(tuple(s), dt) if not (name == "cat" and r.p(0.1)) else
                         r.tensor((0,), dt))
        return Case(name, F(name), (parts,), {"dim": d})
    return gen


def gen_split(name):
    def gen(r):
        a = r.tensor(r.shape(1, 3))
        nd = len(a.shape)
        d = r.dim(nd)
        size = a.shape[d] if -nd <= d < nd else 1
        if name == "split":
            if r.p(0.5):
                arg = r.int(1, 3)
            else:
                cut = r.int(0, size)
                arg = [cut, size - cut]
        else:
            arg = r.int(1, 4)
        return Case(name, FM(r, name), (a, arg), {"dim": d})
    return gen


def gen_unbind(r):
    a = r.tensor(r.shape(1, 3))
    return Case("unbind", FM(r, "unbind"), (a,), {"dim": r.dim(len(a.shape))})


def gen_narrow(r):
    a = r.tensor(r.shape(1, 3))
    nd = len(a.shape)
    d = r.dim(nd, allow_bad=False)
    s = a.shape[d]
    start = r.int(-s, s) if s else 0
    length = r.int(0, max(0, s - (start % s if s else 0)))
    return Case("narrow", FM(r, "narrow"), (a, d, start, length))


def gen_select(r):
    a = r.tensor(r.shape(1, 3))
    d = r.dim(len(a.shape), allow_bad=False)
    s = a.shape[d]
    idx = r.int(-s, s - 1) if s and r.p(0.95) else s
    return Case("select", FM(r, "select"), (a, d, idx))


def gen_flip(r):
    a = r.tensor()
    nd = len(a.shape)
    dims = tuple(sorted({r.dim(nd) % max(nd, 1) for _ in range(r.int(1, max(nd, 1)))}))
    if r.p(0.1):
        dims = ()
    return Case("flip", FM(r, "flip"), (a, dims if r.p(0.7) else list(dims)))


def gen_roll(r):
    a = r.tensor()
    nd = len(a.shape)
    if r.p(0.3):
        return Case("roll", FM(r, "roll"), (a, r.int(-5, 5)))
    if r.p(0.5) or nd < 2:
        return Case("roll", FM(r, "roll"), (a, r.int(-5, 5), r.dim(nd)))
    return Case("roll", FM(r, "roll"), (a, (r.int(-3, 3), r.int(-3, 3)), (0, r.dim(nd))))


def gen_tri(name):
    def gen(r):
        a = r.tensor(r.shape(1, 3) if r.p(0.1) else r.shape(2, 3))
        kw = {"diagonal": r.int(-2, 2)} if r.p(0.5) else {}
        return Case(name, FM(r, name), (a,), kw)
    return gen


# ---------------------------------------------------------------- indexing
def _index_part(r, size):
    c = r.int(0, 6)
    if c == 0:
        return r.int(-size, size - 1) if size else 0
    if c == 1:
        return slice(r.choice((None, 0, 1, -2)), r.choice((None, 2, -1, 5)),
                     r.choice((None, 1, 2, 3)))
    if c == 2:
        return None
    if c == 3:
        return [r.int(-size, size - 1) for _ in range(r.int(0, 3))] if size else []
    if c == 4:
        return r.tensor((size,), "bool", layout="contig")
    if c == 5:
        return r.tensor((r.int(0, 3),), "int64", layout="contig",
                        vals=r.g.integers(-size, max(size, 1), size=r.int(0, 3)))
    return Ellipsis


def gen_getitem(r):
    a = r.tensor()
    parts, ell = [], False
    for s in a.shape[: r.int(0, len(a.shape))]:
        p = _index_part(r, s)
        if p is Ellipsis:
            if ell:
                continue
            ell = True
        parts.append(p)
    key = parts[0] if len(parts) == 1 and r.p(0.5) else tuple(parts)
    return Case("getitem", lambda lib, x, k: x[k], (a, key))


def _index_tensor(r, shape, high):
    return r.tensor(shape, "int64", layout="contig",
                    vals=r.g.integers(-high if r.p(0.1) else 0, max(high, 1) + (r.p(0.03)),
                                      size=shape))


def gen_gather(name):
    def gen(r):
        a = r.tensor(r.shape(1, 3))
        nd = len(a.shape)
        d = r.dim(nd, allow_bad=False)
        ishape = tuple(r.int(0, s) for s in a.shape)
        idx = _index_tensor(r, ishape, a.shape[d])
        if name == "gather":
            return Case(name, FM(r, name), (a, d, idx))
        return Case(name, FM(r, name), (a, idx), {"dim": d})
    return gen


def gen_scatter(r):
    a = r.tensor(r.shape(1, 3))
    nd = len(a.shape)
    d = r.dim(nd, allow_bad=False)
    ishape = tuple(r.int(0, s) for s in a.shape)
    # torch's scatter with duplicate indices is nondeterministic: one index per position
    if ishape[d] and a.shape[d]:
        perm = np.argsort(r.g.random(a.shape), axis=d)
        vals = np.take(perm, range(ishape[d]), axis=d)[tuple(slice(0, s) for s in ishape)]
    else:
        vals = np.zeros(ishape, np.int64)
    idx = r.tensor(ishape, "int64", layout="contig", vals=vals.astype(np.int64))
    if r.p(0.3):
        return Case("scatter", FM(r, "scatter"), (a, d, idx), {"value": r.scalar(("float", "int"))})
    src = r.tensor(tuple(s + r.int(0, 1) for s in ishape),
                   r.dtype() if r.p(0.1) else a.base.dtype.name)
    return Case("scatter", FM(r, "scatter"), (a, d, idx, src))


def gen_index_select(r):
    a = r.tensor(r.shape(0, 3))
    nd = len(a.shape)
    d = r.dim(nd, allow_bad=False)
    size = a.shape[d] if nd else 1
    idx = _index_tensor(r, (r.int(0, 4),) if nd or r.p(0.5) else (), size)
    return Case("index_select", FM(r, "index_select"), (a, d, idx))


def gen_masked_fill(r):
    a = r.tensor()
    m = r.tensor(r.bshape(a.shape), "bool")
    v = r.scalar() if r.p(0.7) else r.tensor((), r.dtype())
    return Case("masked_fill", FM(r, "masked_fill"), (a, m, v))


def gen_masked_select(r):
    a = r.tensor()
    m = r.tensor(r.bshape(a.shape), "bool")
    return Case("masked_select", FM(r, "masked_select"), (a, m))


def gen_sort(name):
    def gen(r):
        a = r.tensor()
        kw = {"dim": r.dim(len(a.shape))} if r.p(0.7) else {}
        if r.p(0.5):
            kw["descending"] = r.p(0.5)
        if r.p(0.5):
            kw["stable"] = True
        return Case(name, FM(r, name), (a,), kw, loose_index=not kw.get("stable"))
    return gen


def gen_topk(r):
    a = r.tensor(r.shape(0, 3))
    nd = len(a.shape)
    d = r.dim(nd, allow_bad=False)
    size = a.shape[d] if nd else 1
    kw = {"dim": d, "largest": r.p(0.7)}
    return Case("topk", FM(r, "topk"), (a, r.int(0, size + (r.p(0.05)))), kw, loose_index=True)


def gen_nonzero(r):
    kw = {"as_tuple": True} if r.p(0.3) else {}
    return Case("nonzero", FM(r, "nonzero"), (r.tensor(),), kw)


# ---------------------------------------------------------------- linear algebra
def _mm_dtype(r):
    return r.dtype(FLOATS) if r.p(0.85) else r.dtype(ALL)


def gen_matmul(r):
    dt = _mm_dtype(r)
    k = r.size()
    batch = r.shape(0, 2)
    sa = batch[r.int(0, len(batch)):] + ((r.size(),) if r.p(0.8) else ()) + (k,)
    sb = ((k,) if r.p(0.2) else (k, r.size()))
    if r.p(0.3):
        sb = batch + sb
    if r.p(0.03):
        sb = (k + 1,) + sb[1:]
    b_dt = dt if r.p(0.9) else r.dtype(ALL)
    a, b = r.tensor(sa, dt), r.tensor(sb, b_dt)
    if r.p(0.4):
        return Case("@", lambda lib, x, y: x @ y, (a, b), tol="mm", n=k)
    return Case("matmul", FM(r, "matmul"), (a, b), tol="mm", n=k)


def gen_mm(name):
    def gen(r):
        dt = _mm_dtype(r)
        n, k, m, b = r.size(), r.size(), r.size(), r.size()
        shapes = {"mm": ((n, k), (k, m)), "bmm": ((b, n, k), (b, k, m)), "mv": ((n, k), (k,)),
                  "dot": ((k,), (k,)), "outer": ((n,), (m,))}[name]
        sa, sb = shapes
        if r.p(0.03):
            sb = (sb[0] + 1,) + sb[1:]
        return Case(name, FM(r, name), (r.tensor(sa, dt), r.tensor(sb, dt)), tol="mm", n=k)
    return gen


EINSUM = [("ij,jk->ik", 2), ("i,i->", 1), ("ij->ji", 2), ("bij,bjk->bik", 3), ("ii->i", 2),
          ("ij->", 2), ("i,j->ij", 1), ("...ij,...jk->...ik", 3), ("ij,ij->i", 2)]


def gen_einsum(r):
    eq, _ = r.choice(EINSUM)
    dt = r.dtype(FLOATS)
    sizes = {c: r.size() for c in "ijkb"}
    ops = []
    for sub in eq.split("->")[0].split(","):
        shape = tuple(sizes[c] for c in sub.replace("...", ""))
        if sub.startswith("..."):
            shape = (sizes["b"],) + shape
        ops.append(r.tensor(shape, dt))
    n = max(sizes.values()) ** 2 or 1
    return Case("einsum", F("einsum"), (eq, *ops), tol="mm", n=n)


INT_ONLY = INTS  # re-exported for the table
