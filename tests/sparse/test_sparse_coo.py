"""Sparse COO tensors against torch: construction, coalesce, printing, errors, products
(forward and backward, float32/float64) and two GCN programs (pygcn, pytorch/examples gcn)."""

import warnings

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import assert_close

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks"),
              pytest.mark.filterwarnings("ignore:torch.sparse.SparseTensor")]
LIBS = (gradstep, torch)
# a 4x5 matrix with a duplicate (1, 2) and unsorted entries
IDX = [[1, 0, 3, 1, 2, 0], [2, 4, 0, 2, 1, 0]]
VAL = [1.5, -2.0, 3.0, 0.25, 4.0, -1.0]


def both(fn):
    """``fn(lib)`` for gradstep and torch."""
    return fn(gradstep), fn(torch)


def norm_repr(t):
    """gradstep's repr as printed under ``install_as_torch`` (names read ``torch.``)."""
    import gradstep.backend as B

    saved, B.display_name = B.display_name, "torch"
    try:
        return repr(t)
    finally:
        B.display_name = saved


def raises_same(fn, exc=RuntimeError):
    msgs = []
    for lib in LIBS:
        with pytest.raises(exc) as info, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(lib)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


def sp(lib, dtype="float32", idx=IDX, val=VAL, size=(4, 5), **kw):
    return lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(val, dtype=getattr(lib, dtype)),
                                 size, **kw)


# ---------------------------------------------------------------- construction and printing
@pytest.mark.parametrize("make", [
    lambda L: sp(L),
    lambda L: sp(L).coalesce(),
    lambda L: sp(L, "float64"),
    lambda L: L.sparse_coo_tensor([[0, 2], [1, 0]], [3, 4]),
    lambda L: L.sparse_coo_tensor(L.zeros(2, 0, dtype=L.long), L.zeros(0), (2, 3)),
    lambda L: L.sparse_coo_tensor((2, 3)),
    lambda L: L.sparse_coo_tensor([[0, 1]], [[1.0, 2.0], [3.0, 4.0]]),
    lambda L: sp(L, requires_grad=True),
    lambda L: L.sparse_coo_tensor(L.tensor(IDX), L.tensor(VAL, requires_grad=True) * 2, (4, 5)),
    lambda L: L.sparse_coo_tensor(L.tensor(IDX), L.tensor(VAL, requires_grad=True)).coalesce(),
    lambda L: L.sparse_coo_tensor(L.tensor(IDX), L.tensor(VAL), dtype=L.float64),
    lambda L: L.eye(3).to_sparse(),
    lambda L: sp(L).t(),
    lambda L: sp(L) * 2,
    lambda L: sp(L) / 4,
    lambda L: -sp(L),
    lambda L: sp(L).coalesce() + sp(L, val=[1.0] * 6).coalesce(),
    lambda L: L.sparse.sum(sp(L), 1),
    lambda L: L.sparse.sum(sp(L), dim=0),
    lambda L: sp(L).double(),
    lambda L: sp(L).to(L.float64).detach(),
])
def test_repr_and_contents_match_torch(make):
    ours, theirs = both(make)
    assert norm_repr(ours) == repr(theirs)
    assert ours.shape == tuple(theirs.shape) and ours.size() == tuple(theirs.size())
    assert (ours.is_coalesced(), ours._nnz(), ours.sparse_dim(), ours.dense_dim()) == (
        theirs.is_coalesced(), theirs._nnz(), theirs.sparse_dim(), theirs.dense_dim())
    assert ours.dtype.name == str(theirs.dtype).split(".")[1]
    np.testing.assert_array_equal(ours.to_dense().detach().numpy(), theirs.to_dense().detach().numpy())


def test_attributes_and_layouts():
    s = sp(gradstep)
    assert isinstance(s, gradstep.Tensor) and s.is_sparse and not gradstep.ones(1).is_sparse
    assert s.layout is gradstep.sparse_coo and gradstep.ones(1).layout is gradstep.strided
    assert repr(torch.sparse_coo) == repr(gradstep.sparse_coo).replace("gradstep", "torch")
    assert (s.dim(), s.ndim, s.numel(), len(s), str(s.device)) == (2, 2, 20, 4, "cpu")
    assert s.cpu() is s and s.to_sparse() is s and s.float() is s
    assert s.requires_grad is False and s.is_leaf and s.grad_fn is None
    assert isinstance(s, gradstep.sparse.FloatTensor) and not isinstance(s, gradstep.sparse.DoubleTensor)
    d = gradstep.ones(2)
    assert d.to_dense() is d


def test_coalesce_sums_duplicates_and_sorts():
    ours, theirs = both(lambda L: sp(L).coalesce())
    np.testing.assert_array_equal(ours.indices().numpy(), theirs.indices().numpy())
    np.testing.assert_array_equal(ours.values().numpy(), theirs.values().numpy())
    assert ours.coalesce() is ours
    assert both(lambda L: sp(L).is_coalesced()) == (False, False)
    o, t = both(lambda L: sp(L)._indices())
    np.testing.assert_array_equal(o.numpy(), t.numpy())


def test_legacy_constructors_warn_once_and_keep_value_dtype():
    import gradstep._warn_once as wo

    wo._given.discard("sparse-legacy-3")  # torch warns once per process too: only ours is fresh
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = gradstep.sparse.FloatTensor(gradstep.tensor(IDX), gradstep.tensor(VAL), gradstep.Size([4, 5]))
        gradstep.sparse.FloatTensor(gradstep.tensor(IDX), gradstep.tensor(VAL), gradstep.Size([4, 5]))
    assert len(caught) == 1
    assert str(caught[0].message) == (
        "torch.sparse.SparseTensor(indices, values, shape, *, device=) is deprecated.  Please use "
        "torch.sparse_coo_tensor(indices, values, shape, dtype=, device=).")
    theirs = torch.sparse.FloatTensor(torch.tensor(IDX), torch.tensor(VAL), torch.Size([4, 5]))
    assert norm_repr(s) == repr(theirs)
    ours, theirs = both(lambda L: L.sparse.LongTensor(L.tensor([[0, 2]]), L.tensor([1, 2]), L.Size([3])))
    assert norm_repr(ours) == repr(theirs)
    ours, theirs = both(lambda L: L.sparse.DoubleTensor(2, 3))
    assert norm_repr(ours) == repr(theirs)


@pytest.mark.parametrize("bad", [
    lambda L: sp(L).indices(),
    lambda L: sp(L).values(),
    lambda L: L.sparse_coo_tensor(L.tensor([[0, 1]]), L.tensor([1.0, 2.0, 3.0]), (2,)),
    lambda L: L.sparse_coo_tensor(L.tensor([0, 1]), L.tensor([1.0, 2.0]), (2, 2)),
    lambda L: L.sparse_coo_tensor(L.tensor([[0, 1], [0, 0]]), L.tensor([1.0, 2.0]), (2,)),
    lambda L: L.sparse_coo_tensor([[0, 1]], [[1.0, 2.0], [3.0, 4.0]], (3, 3)),
    lambda L: L.sparse_coo_tensor(L.tensor([[0, -1]]), L.tensor([1.0, 2.0])),
    lambda L: L.sparse_coo_tensor(L.tensor([[0, 5]]), L.tensor([1.0, 2.0]), (2,), check_invariants=True),
    lambda L: L.sparse_coo_tensor(L.tensor([[0, 1]]), L.tensor([1, 2]), (2,), requires_grad=True),
    lambda L: L.sparse.mm(sp(L), L.ones(4, 2)),
    lambda L: L.mm(sp(L), L.ones(5, 2, dtype=L.float64)),
    lambda L: L.ones(2, 3) @ sp(L),
    lambda L: L.sparse.mm(sp(L), L.ones(5, 2, 2)),
    lambda L: sp(L) / L.ones(2),
    lambda L: sp(L) + L.ones(4, 5),
    lambda L: sp(L) + L.sparse_coo_tensor([[0]], [1.0], (3,)),
    lambda L: L.sparse_coo_tensor([[0], [0], [0]], [1.0], (2, 2, 2)).t(),
    lambda L: L.ones(2).coalesce(),
    lambda L: sp(L).item(),
])
def test_errors_match_torch(bad):
    raises_same(bad)


def test_index_errors_and_numpy_match_torch():
    raises_same(lambda L: L.mm(sp(L), L.ones(5)), IndexError)
    raises_same(lambda L: L.sparse.sum(sp(L), 5), IndexError)
    raises_same(lambda L: sp(L).numpy(), TypeError)


def test_gradstep_checks_bounds_that_torch_leaves_unchecked():
    """torch skips the check by default (and reads out of bounds); gradstep raises torch's
    check_invariants message."""
    with pytest.raises(RuntimeError, match="size is inconsistent with indices: for dim 0, size is 2 but found index 5"):
        gradstep.sparse_coo_tensor([[0, 5]], [1.0, 2.0], (2,))


def test_unsupported_dense_ops_raise_not_implemented():
    with pytest.raises(NotImplementedError, match="SparseCPU"):
        gradstep.relu(sp(gradstep))
    with pytest.raises(NotImplementedError, match="to_dense"):
        sp(gradstep).view(-1)


# ---------------------------------------------------------------- arithmetic and sums
@pytest.mark.parametrize("fn", [
    lambda L, s: s * 3, lambda L, s: 3 * s, lambda L, s: s / 2, lambda L, s: -s,
    lambda L, s: s * L.tensor(2.0), lambda L, s: s * L.arange(20.0).reshape(4, 5),
    lambda L, s: s.coalesce() * s.coalesce().t().t(), lambda L, s: s + s,
    lambda L, s: s.sub(s * 2, alpha=2), lambda L, s: s.transpose(0, 1), lambda L, s: s.t().t(),
    lambda L, s: L.ones(4, 5) + s, lambda L, s: L.ones(4, 5) - s,
    lambda L, s: L.sparse.sum(s, (0, 1)), lambda L, s: s.sum(), lambda L, s: s.sum(dtype=L.float64),
    lambda L, s: L.sparse.sum(s, -1), lambda L, s: L.sparse.softmax(s, 1),
    lambda L, s: L.sparse.log_softmax(s, 0), lambda L, s: L.sparse.sum(s.to_dense().to_sparse(1), 0),
])
def test_elementwise_and_sums_match_torch(fn):
    ours, theirs = both(lambda L: fn(L, sp(L, "float64")))
    o = ours.to_dense() if ours.is_sparse else ours
    t = theirs.to_dense() if theirs.is_sparse else theirs
    assert ours.is_sparse == theirs.is_sparse
    assert_close(o, t, "float64")


@pytest.mark.parametrize("log", [False, True])
def test_sparse_softmax_backward_matches_torch(log):
    def run(L):
        v = L.tensor(VAL, dtype=L.float64, requires_grad=True)
        s = L.sparse_coo_tensor(L.tensor(IDX), v, (4, 5)).coalesce()
        out = (L.sparse.log_softmax if log else L.sparse.softmax)(s, 1)
        (out.to_dense() * L.arange(20.0, dtype=L.float64).reshape(4, 5)).sum().backward()
        return v.grad

    ours, theirs = both(run)
    assert_close(ours, theirs, "float64")


# ---------------------------------------------------------------- products
PRODUCTS = {
    "sparse.mm": lambda L, s, d: L.sparse.mm(s, d),
    "spmm": lambda L, s, d: L.spmm(s, d),
    "mm": lambda L, s, d: L.mm(s, d),
    "matmul": lambda L, s, d: L.matmul(s, d),
    "@": lambda L, s, d: s @ d,
    "method mm": lambda L, s, d: s.mm(d),
    "dense @ sparse": lambda L, s, d: (d.t() @ s.t()).t(),
    "mm(dense, sparse)": lambda L, s, d: L.mm(d.t(), s.t()).t(),
    "matmul vector": lambda L, s, d: (s @ d[:, 0]).unsqueeze(1),
    "sparse.addmm": lambda L, s, d: L.sparse.addmm(L.ones(4, 3, dtype=d.dtype), s, d, beta=0.5, alpha=2.0),
    "addmm": lambda L, s, d: L.addmm(L.ones(4, 3, dtype=d.dtype), s, d),
    "coalesced": lambda L, s, d: L.sparse.mm(s.coalesce(), d),
    "scaled": lambda L, s, d: L.sparse.mm(s * 0.5, d),
}


def _random_operands(L, dtype, seed=0):
    rng = np.random.default_rng(seed)
    idx = np.stack([rng.integers(0, 4, 12), rng.integers(0, 5, 12)])  # with duplicates
    vals = L.tensor(rng.uniform(-2, 2, 12).astype(dtype), requires_grad=True)
    dense = L.tensor(rng.uniform(-2, 2, (5, 3)).astype(dtype), requires_grad=True)
    return L.sparse_coo_tensor(L.tensor(idx), vals, (4, 5)), vals, dense


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_products_forward_backward_match_torch(name, dtype):
    results = []
    for L in LIBS:
        s, vals, dense = _random_operands(L, dtype)
        out = PRODUCTS[name](L, s, dense)
        weights = L.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)).astype(dtype))
        (out * weights).sum().backward()
        results.append((out, vals.grad, dense.grad, out.grad_fn.name() if L is torch else None))
    (o, gv, gd, _), (t, tv, td, _) = results
    # at most 12 products per sum in either order: within the dtype's tolerance in helpers.TOL
    assert_close(o, t, dtype)
    assert_close(gv, tv, dtype, what="values grad")
    assert_close(gd, td, dtype, what="dense grad")


def test_product_grad_fn_names_match_torch():
    def names(L):
        s, _, d = _random_operands(L, "float32")
        return [L.sparse.mm(s, d).grad_fn.name(), L.mm(s, d).grad_fn.name(),
                (s @ d).grad_fn.name(), (d.t() @ s.t()).grad_fn.name(),
                (s @ d[:, 0]).grad_fn.name(), s.to_dense().grad_fn.name(), s.grad_fn.name(),
                s.coalesce().grad_fn.name(), (s * 2).grad_fn.name(), s.t().grad_fn.name()]

    ours, theirs = both(names)
    assert ours == theirs


def test_sparse_leaf_gradient_is_sparse_on_the_coalesced_pattern():
    def run(L, op):
        s = sp(L, "float64", requires_grad=True)
        d = L.arange(10.0, dtype=L.float64).reshape(5, 2)
        out = L.sparse.mm(s, d) if op == "mm" else s.to_dense() * L.arange(20.0, dtype=L.float64).reshape(4, 5)
        out.sum().backward()
        return s.grad

    for op in ("mm", "to_dense"):
        ours, theirs = both(lambda L, op=op: run(L, op))
        assert ours.is_sparse and theirs.is_sparse
        assert ours.is_coalesced() == theirs.is_coalesced() is False  # the pattern, unflagged
        np.testing.assert_array_equal(ours._indices().numpy(), theirs._indices().numpy())
        assert_close(ours._values(), theirs._values(), "float64")


def test_to_sparse_round_trip_and_grad():
    def run(L):
        x = L.tensor([[0.0, 2.0], [3.0, 0.0]], requires_grad=True)
        s = x.to_sparse()
        (s.to_dense() * L.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
        return s.is_coalesced(), s._nnz(), s.grad_fn.name(), x.grad

    ours, theirs = both(run)
    assert ours[:3] == theirs[:3]
    assert_close(ours[3], theirs[3], "float32")


def test_plans_are_shared_by_tensors_with_the_same_indices():
    s = sp(gradstep).coalesce()
    d = gradstep.ones(5, 2)
    gradstep.sparse.mm(s, d)
    assert s._struct._rows is not None and (s * 2)._struct is s._struct
    assert s.t().t()._struct is s._struct


def test_dense_matmul_unchanged_by_the_sparse_branch():
    a, b = gradstep.ones(2, 3), gradstep.ones(3, 4)
    assert (a @ b).grad_fn is None and gradstep.matmul(a, b).shape == (2, 4)
    assert gradstep.mm(a, b).sum().item() == 24.0


def test_deepcopy_and_pickle_keep_indices_values_and_flags():
    import copy
    import pickle

    s = sp(gradstep, requires_grad=True)
    for c in (copy.deepcopy(s), pickle.loads(pickle.dumps(s))):
        assert c.is_sparse and c.requires_grad and not c.is_coalesced()
        np.testing.assert_array_equal(c._indices().numpy(), s._indices().numpy())
        np.testing.assert_array_equal(c._values().numpy(), s._values().numpy())
        assert c._values()._data is not s._values()._data
    nonleaf = gradstep.sparse_coo_tensor(gradstep.tensor(IDX), gradstep.tensor(VAL, requires_grad=True))
    raises = pytest.raises(RuntimeError, match="graph leaves")
    with raises:
        copy.deepcopy(nonleaf)
