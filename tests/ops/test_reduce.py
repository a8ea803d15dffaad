"""Reductions against torch: values, indices, gradients (ties, zeros, empty dims), gradcheck."""

import math

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck, gradgradcheck
from tests.helpers import assert_close, check
from tests.ops.fuzz_ops import disagreement

DIMS = [None, 0, 1, -1, (0, 2), (-1, 0), (1,), ()]
KEEP = [False, True]


def g64(*arrays):
    return [gradstep.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]


def rand64(*shape, low=-2.0, high=2.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def _dim_kw(dim, keepdim):
    return {} if dim is None else {"dim": dim, "keepdim": keepdim}


# ---------------------------------------------------------------- sum / mean / prod
@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_sum_mean(name, dim, keepdim):
    kw = _dim_kw(dim, keepdim)
    check(lambda L, a: getattr(a, name)(**kw), [(2, 3, 4)])
    check(lambda L, a: getattr(L, name)(a, **kw), [(2, 3, 4)])


def test_sum_mean_zero_size_and_scalar():
    check(lambda L, a: a.sum(), [(0, 3)])
    check(lambda L, a: a.sum(0), [(0, 3)])
    check(lambda L, a: a.sum(1, keepdim=True), [(0, 3)])
    check(lambda L, a: a.mean(1), [(0, 3)])
    check(lambda L, a: a.mean(0), [(0, 3)])  # nan, like torch
    check(lambda L, a: a.sum(), [()])
    check(lambda L, a: a.mean(0), [()])
    check(lambda L, a: a.sum(-1), [()])


def test_sum_integer_and_dtype():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    for fn in (lambda t: t.sum(), lambda t: t.sum(0), lambda t: t.sum(dtype=torch.float64 if
               isinstance(t, torch.Tensor) else gradstep.float64), lambda t: t.bool().sum(1),
               lambda t: t.prod(1), lambda t: t.cumsum(0), lambda t: t.mean(dtype=torch.float32 if
               isinstance(t, torch.Tensor) else gradstep.float32)):
        ours, theirs = fn(gradstep.from_numpy(x)), fn(torch.from_numpy(x))
        assert ours.dtype.name == str(theirs.dtype)[6:]
        assert_close(ours, theirs, "float64")
    with pytest.raises(RuntimeError, match="mean"):
        gradstep.from_numpy(x).mean()
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        gradstep.from_numpy(x).sum((0, -2))
    with pytest.raises(IndexError, match="Dimension out of range"):
        gradstep.from_numpy(x).sum(2)


@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("dim", [None, 0, 1, -1], ids=str)
def test_prod(dim, keepdim):
    kw = _dim_kw(dim, keepdim)
    check(lambda L, a: a.prod(**kw), [(3, 4)], low=0.5, high=1.5)


def _with_zeros(dt):
    a = np.array([[0.0, 2.0, 3.0, 0.5], [1.5, -2.0, 0.0, 0.0], [1.0, 2.0, -0.5, 1.2]], dtype=dt)
    return [gradstep.tensor(a, requires_grad=True)]


@pytest.mark.parametrize("dim", [None, 0, 1], ids=str)
def test_prod_with_zeros(dim):
    kw = _dim_kw(dim, False)
    check(lambda L, a: a.prod(**kw), inputs=_with_zeros)


def test_prod_keepdim_full_and_zero_size():
    check(lambda L, a: L.prod(a, 1, keepdim=True), [(3, 4)])
    check(lambda L, a: a.prod(), [(0, 3)])
    check(lambda L, a: a.prod(0), [(0, 3)])


@pytest.mark.parametrize("value", [-np.inf, 0.0, np.nan, 2.0])
@pytest.mark.parametrize("kw", [{}, {"dim": -1}, {"dim": 0, "keepdim": True}], ids=str)
def test_prod_of_a_zero_dim_tensor_passes_the_gradient(value, kw):
    # torch returns the upstream gradient for a 0-d input; out / a was NaN at inf (ops fuzzer)
    grads = []
    for lib in (gradstep, torch):
        x = lib.tensor(value, requires_grad=True)
        x.prod(**kw).backward(lib.tensor(1.5))
        grads.append(x.grad.item())
    assert grads[0] == grads[1] == 1.5


# ---------------------------------------------------------------- max / min
@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("dim", [0, 1, -1], ids=str)
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_dim(name, dim, keepdim):
    check(lambda L, a: tuple(getattr(a, name)(dim, keepdim=keepdim)), [(3, 4, 5)])
    check(lambda L, a: getattr(L, name)(a, dim=dim, keepdim=keepdim).values, [(3, 4, 5)])
    check(lambda L, a: getattr(L, name)(a, dim, keepdim).indices, [(3, 4, 5)], grad=False)


def _tied(dt):
    a = np.array([[1.0, 3.0, 3.0, -1.0], [2.0, 2.0, 2.0, 2.0], [-5.0, 0.0, -5.0, 4.0]], dtype=dt)
    return [gradstep.tensor(a, requires_grad=True)]


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_ties(name):
    # full reduction: ties share the gradient evenly; along a dim: torch picks one index
    check(lambda L, a: getattr(a, name)(), inputs=_tied)
    check(lambda L, a: getattr(L, name)(a, 1), inputs=_tied)
    check(lambda L, a: getattr(L, name)(a, 0, keepdim=True), inputs=_tied)
    check(lambda L, a: getattr(L, "a" + name)(a, 1), inputs=_tied)
    check(lambda L, a: getattr(L, "a" + name)(a), inputs=_tied)
    check(lambda L, a: getattr(L, "arg" + name)(a, 1), inputs=_tied, grad=False)
    check(lambda L, a: getattr(L, "arg" + name)(a), inputs=_tied, grad=False)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_two_tensor_form(name):
    check(lambda L, a, b: getattr(L, name)(a, b), [(3, 4), (4,)])
    check(lambda L, a, b: getattr(a, name)(b), [(3, 1), (1, 4)])


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_out(name):
    """``out=`` (the AMSGrad idiom ``torch.max(m, v, out=m)``) writes in place, as torch does."""
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((3, 4)).astype("float32"), rng.standard_normal((3, 4)).astype("float32")
    ga, gb, ta, tb = gradstep.tensor(a), gradstep.tensor(b), torch.tensor(a), torch.tensor(b)
    r = getattr(gradstep, name)(ga, gb, out=ga)
    getattr(torch, name)(ta, tb, out=ta)
    assert r is ga
    np.testing.assert_array_equal(ga.numpy(), ta.numpy())
    gv, gi = gradstep.zeros(0), gradstep.zeros(0, dtype=gradstep.int64)  # resized, as torch does
    tv, ti = torch.zeros(0), torch.zeros(0, dtype=torch.int64)
    r = getattr(gradstep, name)(gb, 1, out=(gv, gi))
    getattr(torch, name)(tb, 1, out=(tv, ti))
    assert r.values is gv and r.indices is gi
    np.testing.assert_array_equal(gv.numpy(), tv.numpy())
    np.testing.assert_array_equal(gi.numpy(), ti.numpy())


def test_max_min_result_type_and_errors():
    a = gradstep.tensor([[1.0, 5.0], [7.0, 2.0]])
    r = a.max(1)
    values, indices = r
    assert r.values is values and r.indices is indices
    assert indices.dtype is gradstep.int64
    assert indices.tolist() == [1, 0]
    with pytest.raises(RuntimeError, match="numel"):
        gradstep.zeros(0, 3).max()
    with pytest.raises(IndexError, match="non-zero size"):
        gradstep.zeros(0, 3).max(0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        a.max(2)
    check(lambda L, a: a.max(1).values, [(0, 3)])  # reduce a non-empty dim of an empty tensor
    check(lambda L, a: a.max(0), [()])
    check(lambda L, a: a.max(), [()])


@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2), (1,)], ids=str)
@pytest.mark.parametrize("name", ["amax", "amin"])
def test_amax_amin(name, dim, keepdim):
    kw = {} if dim is None else {"dim": dim}
    check(lambda L, a: getattr(L, name)(a, keepdim=keepdim, **kw), [(2, 3, 4)])


@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("dim", [None, 0, 1, -1], ids=str)
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(name, dim, keepdim):
    check(lambda L, a: getattr(a, name)(dim=dim, keepdim=keepdim), [(3, 4, 5)], grad=False)


# ---------------------------------------------------------------- var / std
VAR_KW = [
    {}, {"dim": 1}, {"dim": (0, 2), "keepdim": True}, {"dim": -1, "unbiased": False},
    {"dim": 0, "correction": 0}, {"dim": 1, "correction": 2}, {"unbiased": False},
    {"correction": 0}, {"dim": None, "correction": 1},
]


@pytest.mark.parametrize("kw", VAR_KW, ids=str)
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std(name, kw):
    check(lambda L, a: getattr(a, name)(**kw), [(3, 4, 5)])
    check(lambda L, a: getattr(L, name)(a, **kw), [(3, 4, 5)])


@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_positional_forms(name):
    check(lambda L, a: getattr(a, name)(1, True), [(3, 4)])
    check(lambda L, a: getattr(a, name)(False), [(3, 4)])
    check(lambda L, a: getattr(a, name)(0, keepdim=True), [(3, 4)])


@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_degenerate(name):
    # one element with correction 1: nan (inf/nan gradient) like torch
    check(lambda L, a: getattr(a, name)(0), [(1, 3)])
    check(lambda L, a: getattr(a, name)(), [(1,)], grad=False)


def test_var_mean_std_mean():
    check(lambda L, a: L.var_mean(a, 1), [(3, 4)])
    check(lambda L, a: L.std_mean(a, dim=0, keepdim=True), [(3, 4)])


# ---------------------------------------------------------------- norm
NORM_CASES = [
    {}, {"p": 2}, {"p": 1}, {"p": float("inf")}, {"p": float("-inf")}, {"p": "fro"},
    {"p": 3}, {"p": 0.5}, {"p": 1.5}, {"p": 2, "dim": 1}, {"p": 1, "dim": 0, "keepdim": True},
    {"p": float("inf"), "dim": -1}, {"p": "fro", "dim": (0, 1)}, {"p": 3, "dim": 1, "keepdim": True},
    {"p": 0}, {"dim": (0, 1), "keepdim": True},
]


@pytest.mark.parametrize("kw", NORM_CASES, ids=str)
def test_norm(kw):
    check(lambda L, a: a.norm(**kw), [(3, 4)])
    check(lambda L, a: L.norm(a, **kw), [(2, 3, 4)] if "dim" not in kw else [(3, 4)])


@pytest.mark.parametrize("p", [2, 1, 3, float("inf"), "fro"], ids=str)
def test_norm_zero_vector_gradient(p):
    def zeros(dt):
        return [gradstep.tensor(np.zeros((2, 3), dt), requires_grad=True)]

    check(lambda L, a: a.norm(p=p), inputs=zeros)
    check(lambda L, a: a.norm(p=p, dim=1), inputs=zeros)


def test_norm_partly_zero_rows_and_ties():
    def inputs(dt):
        a = np.array([[0.0, 0.0, 0.0], [3.0, -3.0, 1.0], [-2.0, 1.0, 2.0]], dtype=dt)
        return [gradstep.tensor(a, requires_grad=True)]

    for p in (2, 1, float("inf"), 3, float("-inf")):
        check(lambda L, a, p=p: a.norm(p=p, dim=1), inputs=inputs)


def test_norm_int_input_and_errors():
    x = torch.tensor([[3.0, 4.0]])
    assert_close(gradstep.tensor([[3.0, 4.0]]).norm(), x.norm(), "float32")
    with pytest.raises(RuntimeError):
        gradstep.tensor([3.0]).norm(p="bogus")


# ---------------------------------------------------------------- logsumexp / softmax
@pytest.mark.parametrize("keepdim", KEEP)
@pytest.mark.parametrize("dim", [0, 1, -1, (0, 1), (2, 0)], ids=str)
def test_logsumexp(dim, keepdim):
    check(lambda L, a: L.logsumexp(a, dim, keepdim=keepdim), [(3, 4, 2)])
    check(lambda L, a: a.logsumexp(dim=dim, keepdim=keepdim), [(3, 4, 2)])


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax(name, dim):
    check(lambda L, a: getattr(L, name)(a, dim), [(3, 4, 5)], low=-5, high=5)
    check(lambda L, a: getattr(a, name)(dim=dim), [(3, 4, 5)], low=-5, high=5)
    check(lambda L, a: getattr(torch.nn.functional if L is torch else L, name)(a, dim=dim), [(3, 4)])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_dtype_and_empty(name):
    check(lambda L, a: getattr(L, name)(a, -1, dtype=L.float64), [(3, 4)])
    check(lambda L, a: getattr(L, name)(a, 0), [(0, 3)])
    check(lambda L, a: getattr(L, name)(a, 1), [(0, 3)])
    check(lambda L, a: getattr(L, name)(a, 0), [()])


def _extreme(dt):
    a = np.array([[1e4, -1e4, 0.0, 1e4], [-1e4, -1e4, -1e4, -1e4], [1e4, 1e4 - 1, 3.0, -2.0]],
                 dtype=dt)
    return [gradstep.tensor(a, requires_grad=True)]


@pytest.mark.parametrize("fn", [
    lambda L, a: L.softmax(a, 1), lambda L, a: L.log_softmax(a, 1), lambda L, a: L.logsumexp(a, 1),
    lambda L, a: L.softmax(a, 0), lambda L, a: L.log_softmax(a, 0), lambda L, a: L.logsumexp(a, 0),
    lambda L, a: L.logsumexp(a, (0, 1)),
])
def test_extreme_values_are_finite(fn):
    check(fn, inputs=_extreme)
    for dt in ("float32", "float64"):
        (a,) = _extreme(dt)
        out = fn(gradstep, a)
        assert np.isfinite(out.detach().numpy()).all()
        out.sum().backward()
        assert np.isfinite(a.grad.numpy()).all()


def test_logsumexp_infinities():
    def inputs(dt):
        a = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [-np.inf, 2.0]], dtype=dt)
        return [gradstep.tensor(a)]

    for dt in ("float32", "float64"):
        (a,) = inputs(dt)
        ours = gradstep.logsumexp(a, 1).numpy()
        theirs = torch.logsumexp(torch.from_numpy(a.numpy()), 1).numpy()
        np.testing.assert_array_equal(np.isinf(ours), np.isinf(theirs))
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)  # inf == inf, finite values close


# ---------------------------------------------------------------- cumsum / all / any
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum(dim):
    check(lambda L, a: a.cumsum(dim), [(3, 4, 2)])
    check(lambda L, a: L.cumsum(a, dim=dim), [(3, 4, 2)])
    check(lambda L, a: L.cumsum(a, dim=dim, dtype=L.float64), [(3, 4, 2)])


def test_cumsum_edge_shapes():
    check(lambda L, a: a.cumsum(0), [()])
    check(lambda L, a: a.cumsum(1), [(0, 3)])


@pytest.mark.parametrize("name", ["all", "any"])
def test_all_any(name):
    x = np.array([[0, 1, 2], [0, 0, 0], [3, 4, 5]])
    for arr in (x, x.astype(bool), x.astype(np.float32), np.zeros((0, 3))):
        for kw in ({}, {"dim": 0}, {"dim": 1}, {"dim": -1, "keepdim": True}):
            ours = getattr(gradstep.from_numpy(arr), name)(**kw)
            theirs = getattr(torch.from_numpy(arr), name)(**kw)
            assert ours.dtype.name == str(theirs.dtype)[6:], (arr.dtype, kw)
            assert_close(ours, theirs, "float64")


def test_all_any_uint8_keep_dtype():
    # torch keeps uint8 for all/any on uint8 input
    x = np.array([0, 3, 1], dtype=np.uint8)
    for name in ("all", "any"):
        ours, theirs = getattr(gradstep.from_numpy(x), name)(), getattr(torch.from_numpy(x), name)()
        assert ours.dtype.name == str(theirs.dtype)[6:]
        assert ours.item() == theirs.item()


# ---------------------------------------------------------------- gradcheck
GRADCHECK = [
    lambda a: a.sum(), lambda a: a.sum(1), lambda a: a.sum((0, 1), keepdim=True),
    lambda a: a.mean(), lambda a: a.mean(-1, keepdim=True), lambda a: a.prod(), lambda a: a.prod(0),
    lambda a: a.max(), lambda a: a.min(1).values, lambda a: a.amax(0), lambda a: a.amin((0, 1)),
    lambda a: a.var(), lambda a: a.var(1, correction=0), lambda a: a.std(0), lambda a: a.std(1, keepdim=True),
    lambda a: a.norm(), lambda a: a.norm(p=1, dim=1), lambda a: a.norm(p=3), lambda a: a.norm(p=0.5),
    lambda a: a.norm(p=float("inf"), dim=0), lambda a: a.norm(p=float("-inf")),
    lambda a: a.logsumexp(1), lambda a: a.logsumexp((0, 1)), lambda a: a.softmax(1),
    lambda a: a.softmax(0), lambda a: a.log_softmax(1), lambda a: a.log_softmax(0),
    lambda a: a.cumsum(1), lambda a: a.cumsum(0),
]


@pytest.mark.parametrize("k", range(len(GRADCHECK)))
def test_gradcheck(k):
    # distinct positive values: no ties, no kinks of |x|
    vals = np.random.default_rng(k).permutation(12)[:6].reshape(2, 3) * 0.25 + 0.5
    (a,) = g64(vals)
    assert gradcheck(GRADCHECK[k], (a,))


def test_gradcheck_prod_with_zero():
    (a,) = g64(np.array([[0.0, 1.5, -2.0], [0.7, 0.0, 0.0]]))
    assert gradcheck(lambda x: x.prod(1), (a,))
    assert gradcheck(lambda x: x.prod(), (a,))


@pytest.mark.parametrize("fn", [
    lambda a: a.softmax(1), lambda a: a.log_softmax(1), lambda a: a.logsumexp(1),
    lambda a: a.var(1), lambda a: a.std(0), lambda a: a.norm(dim=1), lambda a: a.prod(1),
    lambda a: a.mean(0), lambda a: a.cumsum(1), lambda a: a.amax(1),
])
def test_gradgradcheck(fn):
    (a,) = g64(rand64(2, 3, low=0.5, high=1.5, seed=3))
    assert gradgradcheck(fn, (a,))


def test_softmax_implicit_dim_warning_free_value():
    # torch.nn.functional.softmax without dim picks 0 for 1-D/3-D and 1 for 2-D
    # (torch.softmax itself refuses dim=None: tests/test_argparse_parity2.py)
    x = np.random.default_rng(0).uniform(-1, 1, (3, 4))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        ours = gradstep.nn.functional.softmax(gradstep.tensor(x))
    with pytest.warns(UserWarning):
        theirs = torch.nn.functional.softmax(torch.tensor(x))
    assert_close(ours, theirs, "float64")


def test_logsumexp_matches_closed_form():
    x = np.array([0.0, math.log(3.0)])
    assert abs(gradstep.logsumexp(gradstep.tensor(x), 0).item() - math.log(4.0)) < 1e-15


@pytest.mark.parametrize("fn", [
    lambda a: a.sum(), lambda a: a.sum(1), lambda a: a.mean(), lambda a: a.mean(1), lambda a: a.prod(),
    lambda a: a.prod(1), lambda a: a.max(), lambda a: a.min(), lambda a: a.max(1)[0], lambda a: a.min(0)[0],
    lambda a: a.amax(1), lambda a: a.amin(0), lambda a: a.var(1), lambda a: a.std(), lambda a: a.norm(),
    lambda a: a.norm(dim=1), lambda a: a.logsumexp(1), lambda a: a.softmax(1), lambda a: a.log_softmax(1),
    lambda a: a.cumsum(1),
])
def test_grad_fn_names(fn):
    x = rand64(2, 3)
    ours = fn(gradstep.tensor(x, requires_grad=True)).grad_fn.name()
    assert ours == type(fn(torch.tensor(x, requires_grad=True)).grad_fn).__name__


@pytest.mark.parametrize("fn", [
    lambda a: a.max(), lambda a: a.min(), lambda a: a.max(1), lambda a: a.min(0), lambda a: a.amax(1),
    lambda a: a.argmax(), lambda a: a.argmax(1), lambda a: a.argmin(0), lambda a: a.softmax(1),
    lambda a: a.log_softmax(1), lambda a: a.logsumexp(1), lambda a: a.norm(dim=1),
    lambda a: a.norm(p=float("inf"), dim=1), lambda a: a.var(1), lambda a: a.cumsum(1), lambda a: a.prod(1),
    lambda a: a.sum(0), lambda a: a.any(1), lambda a: a.all(1),
])
def test_nan_and_inf_inputs(fn):
    x = np.array([[np.nan, 1.0, -2.0, np.inf], [0.0, -np.inf, 3.0, 3.0], [-0.0, 2.0, np.nan, -1.0]])
    with np.errstate(all="ignore"):
        ours = fn(gradstep.tensor(x))
    theirs = fn(torch.tensor(x))
    ours, theirs = (ours, theirs) if isinstance(theirs, torch.Tensor) else (tuple(ours), tuple(theirs))
    for o, t in zip(ours if isinstance(ours, tuple) else (ours,), theirs if isinstance(theirs, tuple) else (theirs,)):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("fn", [
    lambda a: a.sum(1), lambda a: a.mean(1), lambda a: a.var(1), lambda a: a.norm(dim=1),
    lambda a: a.logsumexp(1), lambda a: a.softmax(1), lambda a: a.log_softmax(1), lambda a: a.cumsum(1),
])
def test_float16_forward_within_two_ulp(fn):
    x = rand64(4, 300, low=0.1, high=3).astype(np.float16)
    ours, theirs = fn(gradstep.tensor(x)), fn(torch.tensor(x))
    assert ours.dtype is gradstep.float16 and theirs.dtype == torch.float16
    t = theirs.numpy()
    err = np.abs(ours.numpy().astype(np.float64) - t) / np.abs(np.spacing(t)).astype(np.float64)
    assert err.max() <= 2, err.max()


def _special(dt):
    return [gradstep.tensor(np.array([[0.0, 0.0, 1.0], [-1.0, 2.0, 0.0]], dtype=dt), requires_grad=True)]


@pytest.mark.parametrize("fn", [
    lambda a: (a * 0 + 1).std(), lambda a: (a * 0 + 1).std(1), lambda a: (a * 0).norm(p=3),
    lambda a: a.norm(p=0.5), lambda a: a.norm(p=0.5, dim=1), lambda a: a.norm(p=1), lambda a: a.norm(p=0),
    lambda a: a.norm(p=float("inf")), lambda a: a.norm(p=float("-inf")), lambda a: a.prod(),
    lambda a: a.prod(1), lambda a: a.max(), lambda a: a.min(0).values, lambda a: a[:, :0].mean(1),
    lambda a: a[:, :0].sum(1), lambda a: (a * 0 - float("inf")).log_softmax(1),
    lambda a: (a * 0 - float("inf")).logsumexp(1), lambda a: a[:, :1].var(1),
])
def test_gradients_at_special_points(fn):
    with np.errstate(all="ignore"):
        check(lambda L, a: fn(a), inputs=_special)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumprod(dim):
    check(lambda L, a: a.cumprod(dim), [(3, 4)], low=0.5, high=1.5)
    check(lambda L, a: L.cumprod(a, dim=dim), inputs=_with_zeros)  # zeros: exact gradient, no division


def test_gradcheck_cumprod():
    (a,) = g64(np.array([[0.5, 1.2, -0.7], [1.1, -0.9, 0.8]]))
    assert gradcheck(lambda x: x.cumprod(1), (a,))
    assert gradgradcheck(lambda x: x.cumprod(1), (a,))
    (z,) = g64(np.array([[0.0, 1.2, 0.0, 2.0], [1.1, 0.0, 0.8, -1.5]]))
    assert gradcheck(lambda x: x.cumprod(1), (z,))


# ---------------------------------------------------------------- found by the differential fuzzer
# (tests/ops/test_differential.py); ``disagreement`` compares errors, values and gradients.
_A = np.array([[0.5, -1.25, 2.0], [3.0, 0.25, -0.75]])
_NAN = np.array([[1.0, np.nan, 2.0], [np.nan, 0.5, 3.0]])


@pytest.mark.parametrize("call, arg", [
    (lambda L, a: L.norm(a, p=1), _A.astype(np.int64)),
    (lambda L, a: a.var(), _A.astype(np.int32)),
    (lambda L, a: a.std(dim=0), _A > 0),
    (lambda L, a: a.argmax(), _A > 0),
    (lambda L, a: a.argmin(dim=1), _A > 0),
    (lambda L, a: a.mean(dtype=L.int64), _A),
    (lambda L, a: L.softmax(a, 1), _A.astype(np.int64)),
    (lambda L, a: L.log_softmax(a, 0), _A > 0),
    (lambda L, a: L.softmax(a, 0, dtype=L.float64), _A.astype(np.int64)),
    (lambda L, a: a.argmax(), np.zeros((2, 0))),
    (lambda L, a: a.argmin(dim=1), np.zeros((2, 0))),
    (lambda L, a: a.amax(), np.zeros((2, 0))),
    (lambda L, a: L.norm(a, p="fro", dim=(0, 1, 2)), np.ones((2, 2, 2))),
    (lambda L, a: L.norm(a, p=float("inf"), dim=0), np.zeros((0, 3))),
    (lambda L, a: L.norm(a, p=float("-inf")), np.zeros((0, 3))),
    (lambda L, a: a.sum(dtype=L.int64), _A),  # requires grad: torch refuses an int result
    (lambda L, a: a.cumsum(0, dtype=L.int64), _A),
])
def test_dtype_and_empty_refusals_match_torch(call, arg):
    assert disagreement(call, arg) is None


@pytest.mark.parametrize("call, arg", [
    (lambda L, a: a.cumprod(0), np.array(2.5)),  # 0-d keeps its shape
    (lambda L, a: a.cumprod(-1), np.array([[3, 4, 250]], np.uint8)),  # int64, no uint64
    (lambda L, a: a.cumprod(1), np.array([[True, False, True]])),
    (lambda L, a: a.cumprod(0), np.array([np.inf])),  # one element: the gradient itself
    (lambda L, a: a.cumprod(0), np.array([[0.0, 2.0], [1.5, 3.0], [2.0, np.inf]])),
    (lambda L, a: a.max(), _NAN),  # max(): the NaNs share the gradient
    (lambda L, a: a.amax(dim=1), _NAN),  # amax: a NaN gradient for a NaN result
    (lambda L, a: a.min(), _NAN),
    (lambda L, a: a.var(dim=0, correction=3), _A),  # n - correction < 0
    (lambda L, a: L.norm(a, p=0, dim=1), _A),  # the 0-"norm" has no gradient
])
def test_reduction_edge_values_and_gradients_match_torch(call, arg):
    assert disagreement(call, arg, tol="prod", n=3) is None


@pytest.mark.parametrize("arg", [
    np.array([0.0, 0.0, 1.0, np.inf]),  # the scan stops at the second zero: no 0 * inf
    np.array([np.nan, -0.0, 0.0]),  # before the first zero torch divides: NaN
    np.array([[2.0, 0.0, 3.0, np.inf], [1.5, -2.0, 0.0, 4.0]]),
    np.array([[-0.0, np.inf, -0.72], [-0.0, np.inf, 0.72]]),  # a sum of products, not Horner
])
def test_cumprod_gradient_with_zeros_and_non_finite_values_matches_torch(arg):
    assert disagreement(lambda L, a: a.cumprod(-1), arg, tol="prod", n=4) is None


def test_inf_norm_gradient_counts_nans_as_the_maximum():
    a = np.array([[-1.0, np.inf], [np.inf, np.nan], [-1.5, 1.0]])
    assert disagreement(lambda L, x: L.norm(x, p=float("inf"), dim=-1), a) is None


def test_cumprod_over_a_size_one_dim_passes_the_gradient():
    a = np.array([[[0.0, np.inf]], [[2.0, -1.0]]])  # dim 1 has size 1: out is a, the grad is g
    assert disagreement(lambda L, x: x.cumprod(1), a) is None


@pytest.mark.parametrize("call, arg", [
    (lambda L, a: a.expand(2, 3).var(dim=0), np.array([np.inf, 2.0, np.nan])),  # inf - inf
    (lambda L, a: a.prod(), np.array([[1.0, np.inf, 1.3, -0.0], [0.2, 0.0, np.nan, 0.6]])),
    (lambda L, a: a.cumprod(2, dtype=L.int64), np.ones(3)),  # the dim is checked first
])
def test_two_zero_products_and_dim_checks_match_torch(call, arg):
    assert disagreement(call, arg, tol="var", n=3) is None


def _warning_texts(fn):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return [str(w.message).split(" (Triggered")[0] for w in caught], caught, out


@pytest.mark.parametrize("name,shape,kw", [
    ("std", (1,), {}),                         # e.g. returns.std() of a one-step episode
    ("var", (1,), {}),
    ("var_mean", (1,), {}),
    ("std_mean", (3, 2), {"dim": 1, "correction": 2}),
    ("std", (0,), {}),
    ("var", (3, 2), {"dim": 1, "correction": 3}),
    ("std", (3,), {"correction": 1.5}),       # 1.5 dof left: no warning
    ("var", (3, 2), {"dim": 0}),
])
def test_var_std_warn_when_no_degrees_of_freedom(name, shape, kw):
    """torch warns (at the user's line) that the result is nan for lack of dof; so do we."""
    ours, caught, out = _warning_texts(lambda: getattr(gradstep, name)(gradstep.ones(*shape), **kw))
    theirs, _, ref = _warning_texts(lambda: getattr(torch, name)(torch.ones(*shape), **kw))
    assert ours == theirs
    assert all(w.filename == __file__ for w in caught)
    out, ref = (out, ref) if isinstance(ref, tuple) else ((out,), (ref,))
    for o, r in zip(out, ref):
        np.testing.assert_array_equal(o.numpy(), r.numpy())


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "uint8"])
def test_mean_of_integers_names_the_dtype_as_torch(dtype):
    with pytest.raises(RuntimeError) as theirs:
        torch.ones(2, dtype=getattr(torch, dtype)).mean()
    with pytest.raises(RuntimeError) as ours:
        gradstep.ones(2, dtype=getattr(gradstep, dtype)).mean()
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("p", [2, 1, 3, float("inf")])
@pytest.mark.parametrize("upstream", [float("nan"), float("inf"), 1.5])
def test_norm_gradient_at_a_zero_vector_propagates_like_torch(p, upstream):
    """torch's 2-norm backward is grad * (x / norm) with x / norm masked to 0 at a zero norm, so a
    NaN or inf upstream gradient reaches the input as NaN (cosine_similarity of a zero vector
    against an inf, found by the nn fuzzer); other p mask the product instead."""
    grads = []
    for lib in (torch, gradstep):
        x = lib.zeros(2, 3, dtype=lib.float64, requires_grad=True)
        (lib.linalg.vector_norm(x, p, dim=1) * upstream).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


def test_cosine_similarity_of_a_zero_vector_and_an_inf_like_torch():
    a, b = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]]), np.array([[1.0, np.inf, 2.0], [2.0, 1.0, 0.0]])
    grads = []
    for lib in (torch, gradstep):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        lib.nn.functional.cosine_similarity(x, y).sum().backward()
        grads.append((x.grad.numpy(), y.grad.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("name", ["sum", "prod", "cumsum", "cumprod"])
@pytest.mark.parametrize("out_dtype", ["float64", "int64", "float32"])
def test_reduction_out_computes_in_the_out_dtype(name, out_dtype):
    # torch infers the reduction's dtype from out=: float32 data into a float64 out is summed
    # in float64 (gradstep summed in float32, then cast: ~1e-8 off), into int64 truncated first
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32) * 3
    shape = (2, 4) if name in ("sum", "prod") else (2, 4, 3)
    res = []
    for lib in (gradstep, torch):
        out = lib.zeros(shape, dtype=getattr(lib, out_dtype))
        assert getattr(lib, name)(lib.tensor(x), 2, out=out) is out
        res.append(out.numpy())
    if out_dtype == "float32":  # torch's float32 cumsum/cumprod accumulate in double: within
        # the bound of a 3-term float32 sum (or product), 4 * 3 * eps relative to the terms
        eps = 4 * 3 * np.finfo(np.float32).eps
        np.testing.assert_allclose(res[0], res[1], rtol=eps,
                                   atol=eps * np.abs(x).sum(-1).max() if name == "cumsum" else 0)
    else:
        np.testing.assert_array_equal(res[0], res[1])
