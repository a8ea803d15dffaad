"""Counting and ordering ops against torch: values, index tensors (exact, int64) and gradients.

Order statistics on random continuous inputs have no ties, except where a test builds them on
purpose to check torch's tie rule (stable order, NaN last). Gradients of picked elements are
exact (a scatter of the upstream gradient); quantile's interpolation and logcumsumexp's sums
are a few roundings, within tests/helpers.py's default tolerances.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check


def _ints(lib, data, dtype="int64"):
    return lib.tensor(np.asarray(data), dtype=getattr(lib, dtype))


TIES = [[3.0, 1, 3, 1, 2], [2.0, 2, 2, 5, 5]]
NANS = [[3.0, float("nan"), 1, float("nan"), 2, 2], [1.0, 4, 2, 2, 0, 9]]


@pytest.mark.parametrize("kw", [dict(), dict(return_inverse=True), dict(return_counts=True),
                                dict(return_inverse=True, return_counts=True, dim=0),
                                dict(return_inverse=True, dim=1)])
def test_unique(kw):
    data = [[3, 1, 3], [2, 2, 0], [3, 1, 3]]
    for fn in ("unique", "unique_consecutive"):
        ours = getattr(gradstep, fn)(_ints(gradstep, data), **kw)
        theirs = getattr(torch, fn)(_ints(torch, data), **kw)
        check(lambda lib, o=ours, t=theirs: o if lib is gradstep else t, [], grad=False,
              dtypes=("float64",))


def test_bincount_histc_histogram():
    x = [1, 1, 3, 3, 2, 0, 7]
    for kw in (dict(), dict(minlength=10)):
        check(lambda lib, kw=kw: lib.bincount(_ints(lib, x), **kw), [], grad=False)
    check(lambda lib, w: lib.bincount(_ints(lib, x), weights=w), [(7,)], grad=False)
    check(lambda lib, a: lib.histc(a, bins=7), [(50,)], grad=False)
    check(lambda lib, a: lib.histc(a, bins=4, min=-1, max=1), [(50,)], grad=False)
    check(lambda lib, a: tuple(lib.histogram(a, 5)), [(50,)], grad=False)
    check(lambda lib, a: tuple(lib.histogram(a, 5, range=(-1.0, 1.0), density=True)), [(50,)],
          grad=False)


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_bucketize(right):
    seq = [[0.0, 1, 1, 2, 5], [-1.0, 0, 3, 3, 4]]
    vals = [[1.0, 3, -2, 5, 6], [3.0, 3, 0, 10, -5]]
    f = gradstep.float64
    t = torch.float64
    ours = gradstep.searchsorted(gradstep.tensor(seq, dtype=f), gradstep.tensor(vals, dtype=f),
                                 right=right)
    theirs = torch.searchsorted(torch.tensor(seq, dtype=t), torch.tensor(vals, dtype=t),
                                right=right)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype is gradstep.int64
    side = "right" if right else "left"
    ours = gradstep.searchsorted(gradstep.tensor(seq[0]), gradstep.tensor(vals), side=side,
                                 out_int32=True)
    theirs = torch.searchsorted(torch.tensor(seq[0]), torch.tensor(vals), side=side,
                                out_int32=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype is gradstep.int32
    ours = gradstep.bucketize(gradstep.tensor(vals), gradstep.tensor(seq[0]), right=right)
    theirs = torch.bucketize(torch.tensor(vals), torch.tensor(seq[0]), right=right)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("fn", ["cummax", "cummin"])
def test_cummax_cummin(fn):
    check(lambda lib, a: tuple(getattr(lib, fn)(a, 1)), [(3, 6)])
    check(lambda lib, a: tuple(getattr(lib, fn)(a, 0)), [(4, 2)])
    check(lambda lib, a: tuple(getattr(lib, fn)(a, 0)), [()])
    check(lambda lib: tuple(getattr(lib, fn)(lib.tensor(TIES), 1)), [], grad=False)
    check(lambda lib: tuple(getattr(lib, fn)(lib.tensor(NANS), 1)), [], grad=False)


def test_logcumsumexp_diff():
    check(lambda lib, a: lib.logcumsumexp(a * 10, 1), [(3, 5)])
    check(lambda lib, a: lib.logcumsumexp(a, 0), [(4,)])
    check(lambda lib, a: lib.diff(a), [(3, 5)])
    check(lambda lib, a: lib.diff(a, n=2, dim=0), [(4, 3)])
    check(lambda lib, a, p, q: lib.diff(a, dim=1, prepend=p, append=q), [(3, 4), (3, 1), (3, 2)])
    check(lambda lib: lib.diff(lib.tensor([True, False, False, True])), [], grad=False)


@pytest.mark.parametrize("keepdim", [False, True])
def test_order_statistics(keepdim):
    check(lambda lib, a: tuple(lib.kthvalue(a, 2, 1, keepdim)), [(3, 5)])
    check(lambda lib, a: tuple(lib.median(a, 0, keepdim)), [(4, 3)])
    check(lambda lib, a: tuple(lib.nanmedian(a, 1, keepdim)), [(3, 4)])
    check(lambda lib, a: lib.median(a), [(3, 5)])
    check(lambda lib, a: lib.nanmedian(a), [(3, 4)])
    for data in (TIES, NANS):
        check(lambda lib, d=data: tuple(lib.median(lib.tensor(d), 1, keepdim)), [], grad=False)
        check(lambda lib, d=data: tuple(lib.nanmedian(lib.tensor(d), 1, keepdim)), [],
              grad=False)
        # torch's kthvalue index among tied values is its quickselect's: values only
        check(lambda lib, d=data: lib.kthvalue(lib.tensor(d), 2, 1, keepdim).values, [],
              grad=False)
    check(lambda lib: tuple(lib.mode(lib.tensor(TIES), 1, keepdim)), [], grad=False)
    check(lambda lib, a: tuple(lib.mode(a, 0, keepdim)), [(3, 2)])


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile(interpolation):
    kw = dict(interpolation=interpolation)
    check(lambda lib, a: lib.quantile(a, 0.3, **kw), [(3, 5)])
    check(lambda lib, a: lib.quantile(a, lib.tensor([0.0, 0.25, 0.5, 1.0], dtype=a.dtype), 1,
                                      True, **kw), [(3, 5)])
    check(lambda lib, a: lib.nanquantile(a, 0.75, 0, **kw), [(4, 3)])
    check(lambda lib: lib.quantile(lib.tensor(NANS), 0.4, 1, **kw), [], grad=False)
    check(lambda lib: lib.nanquantile(lib.tensor(NANS), 0.4, 1, **kw), [], grad=False)


def test_small_ones():
    check(lambda lib, a: lib.msort(a), [(4, 3)])
    check(lambda lib, a: tuple(lib.aminmax(a)), [(4, 3)], grad=False)
    check(lambda lib, a: tuple(lib.aminmax(a, dim=1, keepdim=True)), [(4, 3)], grad=False)
    check(lambda lib: lib.isin(_ints(lib, [[1, 2], [3, 4]]), _ints(lib, [2, 3])), [],
          grad=False)
    check(lambda lib: lib.isin(_ints(lib, [1, 2, 5]), _ints(lib, [2]), invert=True), [],
          grad=False)
    check(lambda lib, a: lib.argwhere(a > 0), [(3, 4)], grad=False)
    check(lambda lib, a: lib.take(a, _ints(lib, [[0, 5], [-1, 3]])), [(3, 4)])
    check(lambda lib, a, s: a.put(_ints(lib, [0, 5, 5]), s, accumulate=True), [(3, 4), (3,)])
    check(lambda lib, a, s: a.put(_ints(lib, [0, 5, 7]), s), [(3, 4), (3,)])


def test_errors_match_torch():
    cases = [
        lambda lib: lib.take(lib.zeros(2, 3), _ints(lib, [6])),
        lambda lib: lib.kthvalue(lib.zeros(3), 4),
        lambda lib: lib.bincount(_ints(lib, [-1, 2])),
        lambda lib: lib.quantile(lib.zeros(3), 1.5),
        lambda lib: lib.quantile(lib.zeros(2, 0), 0.5, dim=0),
        lambda lib: lib.logcumsumexp(_ints(lib, [1, 2]), 0),
    ]
    for case in cases:
        with pytest.raises((RuntimeError, IndexError, NotImplementedError)) as theirs:
            case(torch)
        with pytest.raises(type(theirs.value)) as ours:
            case(gradstep)
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("fn", ["median", "nanmedian"])
@pytest.mark.parametrize("data", [[1.0, 2, 2, 0, 0, -1], [3.0, 1, 3, 3],
                                  [1.0, float("nan"), 2, float("nan")],
                                  [float("nan"), float("nan")], [[1.0, 2], [2, 1]]])
def test_full_median_shares_gradient_among_ties(fn, data):
    """median()/nanmedian() with no dim share the gradient evenly among every element equal to
    the result (all NaNs for a NaN result), unlike the dim forms (the returned index only).
    Exact: each share is 1/count of the upstream gradient."""
    grads = []
    for lib in (torch, gradstep):
        x = lib.tensor(data, requires_grad=True)
        value = getattr(x, fn)()
        (value * 3).backward()
        grads.append(x.grad.numpy())
        assert value.grad_fn.name() == ("NanmedianBackward0" if fn == "nanmedian"
                                        else "MedianBackward0")
    np.testing.assert_array_equal(grads[1], grads[0])


def test_histogram_default_bins_and_not_implemented_grad():
    # torch.histogram(t, density=True): bins defaults to 100; an input that requires grad gives
    # outputs that require grad through torch's NotImplemented node, whose backward raises
    x = np.random.RandomState(0).randn(50).astype(np.float32)
    hist, edges = gradstep.histogram(gradstep.tensor(x, requires_grad=True), density=True)
    th, te = torch.histogram(torch.tensor(x, requires_grad=True), density=True)
    assert tuple(hist.shape) == tuple(th.shape) == (100,) and tuple(edges.shape) == (101,)
    # numpy's float64 edges/density rounded to float32 vs torch's float32 arithmetic: ulps
    np.testing.assert_allclose(hist.detach().numpy(), th.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(edges.detach().numpy(), te.detach().numpy(), rtol=1e-6, atol=1e-6)
    assert hist.requires_grad and th.requires_grad
    assert hist.grad_fn.name() == th.grad_fn.name() == "torch::autograd::NotImplemented"
    with pytest.raises(RuntimeError, match="derivative for aten::histogram is not implemented"):
        hist.sum().backward()
    plain = gradstep.histogram(gradstep.tensor(x), 4)
    assert not plain.hist.requires_grad and plain.hist.grad_fn is None
