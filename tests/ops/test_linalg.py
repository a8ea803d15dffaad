"""Matrix products against torch: every matmul case, mm/bmm/dot/outer/einsum, errors, gradcheck."""

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck, gradgradcheck
from tests.helpers import check
from tests.ops.fuzz_ops import disagreement

MATMUL_SHAPES = [
    [(3,), (3,)],  # dot
    [(2, 3), (3,)],  # matrix @ vector
    [(3,), (3, 4)],  # vector @ matrix
    [(2, 3), (3, 4)],  # mm
    [(5, 2, 3), (5, 3, 4)],  # bmm
    [(5, 2, 3), (3, 4)],  # batched @ matrix
    [(2, 3), (5, 3, 4)],  # matrix @ batched
    [(5, 2, 3), (3,)],  # batched @ vector
    [(3,), (5, 3, 4)],  # vector @ batched
    [(2, 1, 2, 3), (4, 3, 5)],  # broadcast batch dims
    [(1, 2, 3), (4, 3, 2)],  # batch 1 against 4
    [(4, 1, 2, 3), (1, 5, 3, 2)],  # both broadcast
    [(0, 3), (3, 4)],  # empty rows
    [(2, 0), (0, 4)],  # empty inner dim: zeros
    [(3, 2, 0), (0,)],
    [(0, 2, 3), (3, 4)],  # empty batch
    [(4, 1), (1, 5)],  # inner size 1: an outer product (computed by broadcasting)
    [(2, 1, 3, 1), (4, 1, 5)],  # the same with broadcast batch dims
]


def test_inner_size_one_is_exact_and_keeps_dtype():
    rng = np.random.default_rng(0)
    for dt in ("float32", "float64", "int64"):  # torch has no bool matmul
        a = (rng.standard_normal((3, 4, 1)) * 5).astype(dt)
        b = (rng.standard_normal((1, 6)) * 5).astype(dt)
        ours = gradstep.from_numpy(a) @ gradstep.from_numpy(b)
        theirs = torch.from_numpy(a) @ torch.from_numpy(b)
        assert ours.dtype.name == str(theirs.dtype)[6:]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())  # one product: exact


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes):
    check(lambda L, a, b: a @ b, shapes)
    check(lambda L, a, b: L.matmul(a, b), shapes)


def test_matmul_with_zero_dim_batch_broadcast_and_method():
    check(lambda L, a, b: a.matmul(b), [(2, 3), (3, 2)])
    check(lambda L, a, b: (a @ b).relu().sum(1), [(5, 3), (3, 4)])
    check(lambda L, a, b: a @ b @ a, [(3, 3), (3, 3)])


def test_mm_bmm_mv_dot_outer():
    check(lambda L, a, b: L.mm(a, b), [(2, 3), (3, 4)])
    check(lambda L, a, b: a.mm(b), [(0, 3), (3, 4)])
    check(lambda L, a, b: L.bmm(a, b), [(4, 2, 3), (4, 3, 5)])
    check(lambda L, a, b: a.bmm(b), [(1, 2, 3), (1, 3, 1)])
    check(lambda L, a, b: L.mv(a, b), [(2, 3), (3,)])
    check(lambda L, a, b: L.dot(a, b), [(5,), (5,)])
    check(lambda L, a, b: a.dot(b), [(0,), (0,)])
    check(lambda L, a, b: L.outer(a, b), [(3,), (4,)])
    check(lambda L, a, b: a.outer(b), [(0,), (4,)])


@pytest.mark.parametrize("case", [
    ((2, 3), "float32", (3, 2), "float64"), ((3,), "float32", (3,), "float64"),
    ((2, 3), "float32", (3,), "float64"), ((2, 2, 3), "float32", (2, 3, 2), "float64"),
    ((2, 3), "float32", (3, 2), "int64"), ((2, 3), "bool", (3, 2), "bool"), ((2, 2, 3), "float64", (3, 2), "float32"),
    ((3,), "float32", (3, 2), "float64"), ((2, 2, 3), "float32", (3,), "float64"),
], ids=str)
def test_matmul_does_not_promote(case):
    # torch's matmul raises on mixed dtypes (no promotion); messages name both dtypes
    sa, da, sb, db = case
    msgs = []
    for L in (gradstep, torch):
        a, b = L.ones(sa, dtype=getattr(L, da)), L.ones(sb, dtype=getattr(L, db))
        with pytest.raises(RuntimeError) as info:
            a @ b
        msgs.append((type(info.value), str(info.value)))
    assert msgs[0] == msgs[1]


def test_matmul_same_dtype_results():
    for dt in ("float16", "int32", "int64"):
        a = np.arange(6).reshape(2, 3).astype(dt)
        ours = gradstep.from_numpy(a) @ gradstep.from_numpy(a.T.copy())
        theirs = torch.from_numpy(a) @ torch.from_numpy(a.T.copy())
        assert ours.dtype.name == str(theirs.dtype)[6:]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        gradstep.einsum("ij,jk", gradstep.ones(2, 3), gradstep.ones(3, 2, dtype=gradstep.float64))
    i = gradstep.tensor([[1, 2], [3, 4]])
    assert (i @ i).dtype is gradstep.int64
    assert (i @ i).tolist() == (torch.tensor([[1, 2], [3, 4]]) @ torch.tensor([[1, 2], [3, 4]])).tolist()


def test_addmm():
    check(lambda L, c, a, b: L.addmm(c, a, b), [(2, 4), (2, 3), (3, 4)])
    check(lambda L, c, a, b: L.addmm(c, a, b, beta=0.5, alpha=2.0), [(4,), (2, 3), (3, 4)])
    # beta=0: input ignored (torch also returns a zero gradient for it; gradstep returns None)
    check(lambda L, c, a, b: L.addmm(c * float("nan"), a, b, beta=0), [(2, 4), (2, 3), (3, 4)], grad=False)


# ---------------------------------------------------------------- errors name both shapes
def _both_raise(fn, shapes, exc=RuntimeError):
    """gradstep and torch both raise ``exc``; returns the two messages."""
    msgs = []
    for L in (gradstep, torch):
        args = [L.ones(s) for s in shapes]
        with pytest.raises(exc) as info:
            fn(L, *args)
        msgs.append(str(info.value))
    return msgs


@pytest.mark.parametrize("shapes", [
    [(64, 784), (512, 10)], [(3,), (4, 5)], [(2, 3), (2, 3)], [(7, 2, 3), (4, 5)],
    [(2, 3), (7, 4, 5)], [(3, 4), (3,)], [(2, 3), (4,)], [(3,), (4,)], [(2, 5, 3), (4,)],
    [(2, 2, 3), (3, 3, 4)], [(), (3,)], [(3,), ()], [(2, 1, 2, 3), (4, 4, 5)], [(3,), (7, 4, 5)],
    [(0, 2, 3), (4, 5)], [(2, 4, 2, 3), (3, 3, 4)], [(5, 2, 3), (4,)], [(2, 3, 4), (2, 5, 6)],
], ids=str)
def test_matmul_error_messages_match_torch(shapes):
    ours, theirs = _both_raise(lambda L, a, b: L.matmul(a, b), shapes)
    assert ours == theirs


def test_mm_error_names_both_shapes():
    ours, theirs = _both_raise(lambda L, a, b: L.mm(a, b), [(64, 784), (512, 10)])
    assert ours == theirs == "mat1 and mat2 shapes cannot be multiplied (64x784 and 512x10)"
    _both_raise(lambda L, a, b: L.mm(a, b), [(3,), (3, 4)])
    _both_raise(lambda L, a, b: L.mm(a, b), [(2, 3), (3,)])


def test_bmm_dot_errors():
    _both_raise(lambda L, a, b: L.bmm(a, b), [(2, 3), (3, 4)])
    _both_raise(lambda L, a, b: L.bmm(a, b), [(2, 2, 3), (3, 3, 4)])
    ours, theirs = _both_raise(lambda L, a, b: L.bmm(a, b), [(2, 2, 3), (2, 4, 4)])
    assert ours == theirs
    _both_raise(lambda L, a, b: L.dot(a, b), [(2, 3), (3,)])
    ours, theirs = _both_raise(lambda L, a, b: L.dot(a, b), [(3,), (4,)])
    assert ours == theirs


# ---------------------------------------------------------------- einsum
EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),  # implicit output
    ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ji", [(2, 3)]),  # implicit: output 'ij' sorted, i.e. a transpose
    ("...ij,...jk->...ik", [(2, 5, 2, 3), (5, 3, 4)]),  # ellipsis with broadcasting
    ("...i,...i->...", [(3, 4), (3, 4)]),
    ("i...->...", [(3, 2, 4)]),
    ("b...,b...", [(3, 2), (3, 2)]),  # implicit output with ellipsis
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),  # attention scores
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),  # three operands
    ("ab,cd->abcd", [(2, 3), (1, 2)]),
    ("i j , j k -> i k", [(2, 3), (3, 4)]),  # spaces
    ("ij,ij->ij", [(2, 3), (1, 3)]),  # size-1 broadcast
]


@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum(eq, shapes):
    check(lambda L, *xs: L.einsum(eq, *xs), shapes)
    check(lambda L, *xs: L.einsum(eq, list(xs)), shapes)


@pytest.mark.parametrize("eq,shapes", [
    ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("iij->j", [(3, 3, 2)]), ("iii->i", [(2, 2, 2)]),
    ("ii,ij->j", [(3, 3), (3, 4)]), ("bii->bi", [(2, 3, 3)]), ("...ii->...i", [(2, 3, 3)]),
], ids=str)
def test_einsum_repeated_index(eq, shapes):
    # diagonals and traces: the gradient lands on the diagonal only
    check(lambda L, *xs: L.einsum(eq, *xs), shapes)
    assert gradcheck(lambda *xs: gradstep.einsum(eq, *xs), tuple(_g64(*shapes)))


def test_einsum_errors():
    _both_raise(lambda L, a, b: L.einsum("ij,jk->ik", a), [(2, 3), (3, 4)])
    _both_raise(lambda L, a, b: L.einsum("ij,jk->ik", a, b, a), [(2, 3), (3, 4)])
    _both_raise(lambda L, a, b: L.einsum("ijk,jk->ik", a, b), [(2, 3), (3, 4)])
    _both_raise(lambda L, a, b: L.einsum("ij,jk->ik", a, b), [(2, 3), (4, 4)])


# ---------------------------------------------------------------- gradcheck
def _g64(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [gradstep.tensor(rng.uniform(-1, 1, s), requires_grad=True) for s in shapes]


@pytest.mark.parametrize("shapes", [s for s in MATMUL_SHAPES if 0 not in sum(s, ())][:12], ids=str)
def test_gradcheck_matmul(shapes):
    shapes = [tuple(min(d, 3) for d in s) for s in shapes]
    assert gradcheck(lambda a, b: a @ b, tuple(_g64(*shapes)))


@pytest.mark.parametrize("eq,shapes", [e for e in EINSUM if len(e[1]) <= 2 and "i j" not in e[0]],
                         ids=[e for e, s in EINSUM if len(s) <= 2 and "i j" not in e])
def test_gradcheck_einsum(eq, shapes):
    assert gradcheck(lambda *xs: gradstep.einsum(eq, *xs), tuple(_g64(*shapes)))


def test_gradcheck_other_products():
    a, b, v, w = _g64((2, 3), (3, 2), (3,), (2,))
    assert gradcheck(lambda x, y: gradstep.mm(x, y), (a, b))
    assert gradcheck(lambda x, y: gradstep.outer(x, y), (v, w))
    assert gradcheck(lambda x, y: gradstep.dot(x, y), (v, v.detach().clone().requires_grad_()))
    assert gradcheck(lambda x, y: gradstep.mv(x, y), (a, v))
    assert gradcheck(lambda x, y, z: gradstep.einsum("ij,jk,k->i", x, y, z), (a, b, w))


def test_gradgradcheck_matmul():
    a, b = _g64((2, 3), (3, 2))
    assert gradgradcheck(lambda x, y: x @ y, (a, b))
    c, d = _g64((2, 2, 3), (3,))
    assert gradgradcheck(lambda x, y: x @ y, (c, d))
    assert gradgradcheck(lambda x, y: gradstep.einsum("bij,j->bi", x, y), (c, d))


@pytest.mark.parametrize("fn", [
    lambda L, a, b: a @ b, lambda L, a, b: a @ b[:, 0], lambda L, a, b: a[0] @ b[:, 0],
    lambda L, a, b: L.mm(a, b), lambda L, a, b: L.bmm(a[None], b[None]), lambda L, a, b: L.dot(a[0], a[1]),
])
def test_grad_fn_names(fn):
    x, y = np.ones((2, 3)), np.ones((3, 2))
    ours = fn(gradstep, *[gradstep.tensor(v, requires_grad=True) for v in (x, y)]).grad_fn.name()
    theirs = fn(torch, *[torch.tensor(v, requires_grad=True) for v in (x, y)]).grad_fn
    assert ours == type(theirs).__name__


# ---------------------------------------------------------------- found by the differential fuzzer
# (tests/ops/test_differential.py); ``disagreement`` compares errors, values and gradients.
@pytest.mark.parametrize("call, args", [
    (lambda L, a, b: a @ b, (np.ones((3, 1, 4)), np.ones((4, 0)))),  # size-0 dims in backward
    (lambda L, a, b: a @ b, (np.ones((2, 0, 4)), np.ones((4, 3)))),
    (lambda L, a, b: a @ b, (np.ones((2, 3, 0)), np.ones((0, 3)))),
    (lambda L, x, w, b: L.nn.functional.linear(x, w, b),
     (np.ones((4, 2)), np.ones((0, 2)), np.ones(0))),
    (lambda L, x, w: L.nn.functional.linear(x, w), (np.ones((2, 0, 3)), np.ones((5, 3)))),
    (lambda L, x, w: L.nn.functional.linear(x, w), (np.ones((2, 0)), np.ones((5, 0)))),
    (lambda L, a, b: a @ b, (np.ones((2, 2), bool), np.ones((2, 2), bool))),
])
def test_matmul_linear_size_zero_and_bool_match_torch(call, args):
    assert disagreement(call, *args, tol="mm", n=4) is None


def test_batched_matmul_of_a_bool_first_operand_is_not_implemented():
    a, b = np.ones((2, 1), bool), np.ones((2, 1, 3), np.float32)
    assert disagreement(lambda L, x, y: L.matmul(x, y), a, b) is None
