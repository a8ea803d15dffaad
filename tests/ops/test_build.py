"""Building/reshaping ops, diagonals and strided views against torch (values and gradients).

All of these move or multiply-add elements once (kron, tensordot, cdist, trapezoid: a short
sum per output), so tests/helpers.py's default float32/float64 tolerances hold.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck
from tests.helpers import check


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_cartesian_combinations(indexing):
    check(lambda lib, a, b, c: lib.meshgrid(a, b, c, indexing=indexing), [(2,), (3,), (4,)])
    check(lambda lib, a, b: lib.meshgrid([a, b], indexing=indexing), [(2,), ()])
    check(lambda lib, a, b: lib.cartesian_prod(a, b), [(2,), (3,)])
    check(lambda lib, a: lib.combinations(a, 2), [(4,)])
    check(lambda lib, a: lib.combinations(a, 3, with_replacement=True), [(3,)])
    check(lambda lib, a: lib.combinations(a, 0), [(3,)], grad=False)


def test_meshgrid_warns_without_indexing():
    with pytest.warns(UserWarning, match="indexing argument"):
        gradstep.meshgrid(gradstep.zeros(2), gradstep.zeros(3))


@pytest.mark.parametrize("args", [(3, 3), (4, 2, 1), (2, 5, -1), (0, 3)])
def test_tri_indices(args):
    for fn in ("tril_indices", "triu_indices"):
        check(lambda lib, f=fn: getattr(lib, f)(*args), [], grad=False)


def test_atleast_stacks_block_diag():
    for k in (1, 2, 3):
        fn = f"atleast_{k}d"
        check(lambda lib, a, b, c, f=fn: getattr(lib, f)(a, b, c), [(), (3,), (2, 3)])
        check(lambda lib, a, f=fn: getattr(lib, f)(a), [(2,)])
    check(lambda lib, a, b: lib.dstack([a, b]), [(3,), (3,)])
    check(lambda lib, a, b: lib.column_stack([a, b]), [(3,), (3, 2)])
    check(lambda lib, a, b: lib.row_stack([a, b]), [(3,), (2, 3)])
    check(lambda lib, a, b, c: lib.block_diag(a, b, c), [(2, 3), (), (4,)])


def test_kron_tensordot_cdist():
    check(lambda lib, a, b: lib.kron(a, b), [(2, 3), (3, 2)])
    check(lambda lib, a, b: lib.kron(a, b), [(2,), (2, 1, 3)])
    check(lambda lib, a, b: lib.tensordot(a, b), [(2, 3, 4), (3, 4, 5)])
    check(lambda lib, a, b: lib.tensordot(a, b, dims=([0, 2], [2, 0])), [(2, 3, 4), (4, 5, 2)])
    check(lambda lib, a, b: lib.tensordot(a, b, dims=0), [(2,), (3,)])
    for p in (2.0, 1.0, 3.0, float("inf"), 0.0):
        check(lambda lib, a, b, p=p: lib.cdist(a, b, p=p), [(2, 4, 3), (2, 5, 3)])
    check(lambda lib, a: lib.nn.functional.pdist(a) if lib is torch else lib.pdist(a), [(5, 3)])


def test_cdist_zero_distance_gradient_is_zero():
    check(lambda lib, a: lib.cdist(a, a), [(3, 2)])


@pytest.mark.parametrize("k", [1, 2, 3, 4, -1])
def test_rot90(k):
    check(lambda lib, a: lib.rot90(a, k, (1, 2)), [(2, 3, 4)])


def test_splits():
    check(lambda lib, a: lib.tensor_split(a, 3, 1), [(2, 7)])
    check(lambda lib, a: lib.tensor_split(a, [1, 4, 10], 1), [(2, 7)])
    check(lambda lib, a: lib.tensor_split(a, [-2, 1]), [(5,)])
    check(lambda lib, a: lib.hsplit(a, 2), [(2, 4)])
    check(lambda lib, a: lib.vsplit(a, [1]), [(3, 4)])
    check(lambda lib, a: lib.dsplit(a, 2), [(2, 2, 4)])
    check(lambda lib, a: lib.split_with_sizes(a, [1, 3], 1), [(2, 4)])
    check(lambda lib, a: lib.ravel(a.mT), [(2, 4)])


def test_vander_trapezoid():
    # torch 2.13's own vander backward fails (an in-place op on a saved tensor): values only
    check(lambda lib, a: lib.vander(a), [(4,)], grad=False)
    check(lambda lib, a: lib.vander(a, N=3, increasing=True), [(4,)], grad=False)
    check(lambda lib, a: lib.trapezoid(a), [(3, 5)])
    check(lambda lib, a: lib.trapezoid(a, dx=0.5, dim=0), [(3, 5)])
    check(lambda lib, a, x: lib.trapezoid(a, x), [(3, 5), (5,)])
    check(lambda lib, a, x: lib.cumulative_trapezoid(a, x, dim=0), [(3, 5), (3, 5)])
    check(lambda lib, a: lib.trapz(a), [(4,)])


@pytest.mark.parametrize("offset", [0, 1, -2, 5])
def test_diagonals(offset):
    check(lambda lib, a: lib.diagonal(a, offset), [(3, 4)])
    check(lambda lib, a: a.diagonal(offset, 0, 2), [(3, 2, 4)])
    check(lambda lib, a: lib.diag_embed(a, offset), [(2, 3)])
    check(lambda lib, a: lib.diag_embed(a, offset, 0, 2), [(2, 3)])
    check(lambda lib, a: lib.diag(a, offset), [(3,)])
    check(lambda lib, a: lib.diag(a, offset), [(3, 4)])
    check(lambda lib, a: lib.diagflat(a, offset), [(2, 2)])
    check(lambda lib, a: lib.trace(a), [(3, 4)])


def test_diagonal_is_a_writable_view():
    for lib in (gradstep, torch):
        x = lib.zeros(3, 3)
        x.diagonal().fill_(2.0)
        assert float(x.sum()) == 6.0
    check(lambda lib, a: a.clone().fill_diagonal_(5.0), [(4, 3)])
    check(lambda lib, a: a.clone().fill_diagonal_(5.0, wrap=True), [(7, 3)])


@pytest.mark.parametrize("args", [(0, 2, 1), (1, 3, 2), (-1, 1, 1), (0, 3, 3)])
def test_unfold(args):
    check(lambda lib, a: a.unfold(*args), [(4, 5)])


def test_strided_views():
    for lib in (gradstep, torch):
        x = lib.arange(12.0).reshape(3, 4)
        assert x[1:].storage_offset() == 4 and x[:, 2:].storage_offset() == 2
        assert x[1:].data_ptr() - x.data_ptr() == 4 * x.element_size()
    check(lambda lib, a: a.as_strided((3, 3), (1, 2), 1), [(3, 4)])
    check(lambda lib, a: lib.as_strided(a, (2, 2), (4, 1)), [(3, 4)])
    with pytest.raises(RuntimeError) as theirs:
        torch.zeros(4).as_strided((3, 3), (2, 1))
    with pytest.raises(RuntimeError) as ours:
        gradstep.zeros(4).as_strided((3, 3), (2, 1))
    assert str(ours.value) == str(theirs.value)


def test_gradcheck_float64():
    rng = np.random.default_rng(0)
    a = gradstep.tensor(rng.uniform(-1, 1, (3, 4)), requires_grad=True)
    b = gradstep.tensor(rng.uniform(-1, 1, (5, 4)), requires_grad=True)
    assert gradcheck(lambda x: x.unfold(1, 2, 1), (a,))
    assert gradcheck(lambda x: x.as_strided((3, 3), (1, 2), 1), (a,))
    assert gradcheck(lambda x: gradstep.diag_embed(x.diagonal(1)), (a,))
    assert gradcheck(lambda x, y: gradstep.cdist(x, y), (a, b))
    assert gradcheck(lambda x: gradstep.kron(x, x[:2]), (a,))


def test_small_spellings():
    check(lambda lib, a: lib.unsafe_chunk(a, 2, 1), [(2, 5)])
    check(lambda lib, a: lib.unsafe_split(a, 2), [(5, 2)])
    check(lambda lib, a: a.unsafe_split_with_sizes([1, 4], 1), [(2, 5)])
    check(lambda lib, a: lib.adjoint(a), [(2, 3, 4)])
    check(lambda lib, a: a.sum_to_size(3, 1), [(2, 3, 4)])
    check(lambda lib, a: a.clone().tril_(-1), [(3, 4)])
    check(lambda lib, a: a.clone().triu_(1), [(3, 4)])
    check(lambda lib, a: a.clone().cumsum_(1), [(3, 4)])
    check(lambda lib, a: a.clone().cumprod_(0), [(3, 4)])
    check(lambda lib, c, a, b: c.addmm(a, b, beta=0.5, alpha=2), [(3, 5), (3, 4), (4, 5)])
    check(lambda lib, a: lib.frobenius_norm(a, (1, 2)), [(2, 3, 4)])
    check(lambda lib, a: lib.nuclear_norm(a, keepdim=True), [(3, 4)], scale=10)


def test_cov_corrcoef():
    check(lambda lib, a: lib.cov(a), [(3, 6)])
    check(lambda lib, a: lib.cov(a, correction=0), [(6,)])
    check(lambda lib, a, w: lib.cov(a, aweights=w), [(3, 6), (6,)], low=0.1)
    check(lambda lib, a: lib.cov(a, fweights=lib.tensor([1, 2, 1, 3, 1, 1])), [(2, 6)])
    check(lambda lib, a: lib.corrcoef(a), [(3, 6)])
    check(lambda lib: lib.cov(lib.tensor([[1, 2, 4], [2, 2, 5]])), [], grad=False,
          dtypes=("float32",))  # integers: a float32 result


def test_finfo_iinfo():
    for name in ("float32", "float64", "float16", "bfloat16"):
        ours, theirs = gradstep.finfo(getattr(gradstep, name)), torch.finfo(getattr(torch, name))
        for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution",
                      "dtype"):
            assert getattr(ours, field) == getattr(theirs, field), (name, field)
        assert repr(ours) == repr(theirs)
    assert gradstep.finfo().dtype == torch.finfo().dtype
    for name in ("int64", "int32", "int16", "int8", "uint8"):
        ours, theirs = gradstep.iinfo(getattr(gradstep, name)), torch.iinfo(getattr(torch, name))
        assert (ours.bits, ours.max, ours.min, ours.dtype) == (
            theirs.bits, theirs.max, theirs.min, theirs.dtype)
        assert repr(ours) == repr(theirs)
    with pytest.raises(TypeError):
        gradstep.finfo(gradstep.int32)
    with pytest.raises(TypeError):
        gradstep.iinfo(gradstep.float32)


@pytest.mark.parametrize("name", ["complex64", "complex128"])
def test_finfo_of_a_complex_dtype_is_its_parts(name):
    """torch.finfo(complex64) describes float32 (parametrizations.orthogonal's unitary check
    reads its eps); iinfo refuses a complex dtype with the integer-type TypeError."""
    ours, theirs = gradstep.finfo(getattr(gradstep, name)), torch.finfo(getattr(torch, name))
    assert repr(ours) == repr(theirs)
    assert (ours.bits, ours.eps, ours.dtype) == (theirs.bits, theirs.eps, theirs.dtype)
    with pytest.raises(TypeError) as t_err:
        torch.iinfo(getattr(torch, name))
    with pytest.raises(TypeError) as g_err:
        gradstep.iinfo(getattr(gradstep, name))
    assert str(g_err.value) == str(t_err.value)


def test_unravel_index_nonzero_static():
    check(lambda lib: lib.unravel_index(lib.tensor([5, 7, -1, 8]), (2, 4)), [], grad=False)
    check(lambda lib: lib.unravel_index(lib.tensor(3), (2, 2)), [], grad=False)
    check(lambda lib: lib.nonzero_static(lib.tensor([[0, 1], [1, 1]]), size=4), [], grad=False)
    check(lambda lib: lib.nonzero_static(lib.tensor([0, 1, 1]), size=1, fill_value=7), [],
          grad=False)
    with pytest.raises(TypeError) as theirs:
        torch.unravel_index(torch.tensor([1.0]), (2, 4))
    with pytest.raises(TypeError) as ours:
        gradstep.unravel_index(gradstep.tensor([1.0]), (2, 4))
    assert str(ours.value) == str(theirs.value)


def test_inplace_through_strided_views_reaches_the_base():
    def fn(lib, a, w):
        y = a * 2
        y.diagonal(1).mul_(3)
        y.unfold(1, 2, 2)[0, 1].mul_(5)
        y.as_strided((2,), (5,), 1).add_(a[0, 0])
        return y * w
    check(fn, [(3, 4), (3, 4)])


def test_as_strided_inplace_dim_order_const_data_ptr():
    check(lambda lib, a: (a * 1).as_strided_((2, 2), (1, 3), 1), [(3, 4)])
    check(lambda lib, a: lib.as_strided_(a * 1, (3,), (5,)), [(3, 4)])
    for lib in (gradstep, torch):
        x = lib.zeros(2, 3, 4)
        assert x.permute(2, 0, 1).dim_order() == (1, 2, 0)
        assert x.const_data_ptr() == x.data_ptr()
