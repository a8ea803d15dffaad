"""Index, counting and einsum behaviours found different from torch by probing public code."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import fma_on_both_sides


def _both(fn):
    out = []
    for L in (torch, gradstep):
        try:
            r = fn(L)
            out.append(("ok", [x.tolist() if hasattr(x, "tolist") else x for x in
                               (r if isinstance(r, tuple) else (r,))]))
        except Exception as e:  # noqa: BLE001 - the exception is what is compared
            out.append((type(e).__name__, str(e)))
    return out


@pytest.mark.parametrize("case", [
    lambda L: L.einsum(L.ones(2, 3), [0, 1], L.ones(3, 4), [1, 2], [0, 2]),
    lambda L: L.einsum(L.ones(2, 3), [0, 1], L.ones(3, 4), [1, 2]),
    lambda L: L.einsum(L.ones(5, 2, 3), [Ellipsis, 1], L.ones(3, 4), [1, 2], [Ellipsis, 2]),
    lambda L: L.einsum("ij->ii", L.ones(2, 2)),
    lambda L: L.unique(L.tensor([float("nan"), 1.0, float("nan")]), return_counts=True),
    lambda L: L.tensor([[3.0, 0.0], [4.0, 5.0]]).norm(p="nuc"),
    lambda L: L.norm(L.arange(8.0).reshape(2, 2, 2), p="nuc", dim=(1, 2)),
    lambda L: L.zeros(3).index_add_(0, L.tensor([0]), L.ones(1, dtype=L.float64)),
    lambda L: L.zeros(3, dtype=L.long).index_add_(0, L.tensor([0]), L.ones(1)),
    lambda L: L.zeros(3).index_add(0, L.tensor([0]), L.ones(1, dtype=L.float64)),
    lambda L: L.zeros(3).index_put_((L.tensor([0]),), L.ones(1, dtype=L.float64)),
    lambda L: L.zeros(3).index_put_((L.tensor([0]),), L.tensor(1.0, dtype=L.float64), True),
    lambda L: L.zeros(3).index_put_((L.tensor([0]),), L.ones(1)),
], ids=["sublist", "sublist-implicit", "sublist-ellipsis", "repeated-output", "unique-nan",
        "norm-nuc", "norm-nuc-batched", "index_add_-dtype", "index_add_-long", "index_add-dtype",
        "index_put_-dtype", "index_put_-accumulate-dtype", "index_put_-ok"])
def test_matches_torch(case):
    theirs, ours = _both(case)
    assert ours[0] == theirs[0]
    if ours[0] == "ok":
        np.testing.assert_allclose(np.asarray(ours[1][0], float), np.asarray(theirs[1][0], float),
                                   rtol=1e-6, equal_nan=True)
        assert len(ours[1]) == len(theirs[1])
    else:
        assert ours[1] == theirs[1]


@pytest.mark.parametrize("reduce,base,src", [("amax", [3.0], [1.0, 3.0]), ("amin", [5.0], [5.0, 5.0]),
                                             ("amax", [1.0], [2.0, 2.0])])
@pytest.mark.parametrize("include_self", [False, True])
@pytest.mark.parametrize("op", ["scatter_reduce", "index_reduce"])
def test_extreme_reduce_gradients_split_ties_like_torch(reduce, base, src, include_self, op):
    """torch splits the gradient among every element equal to the result, counting the
    starting value even when include_self=False (which then gets none of it)."""
    grads = []
    for L in (torch, gradstep):
        b = L.tensor(base, requires_grad=True)
        s = L.tensor(src, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # index_reduce is "in beta" in both
            out = getattr(b, op)(0, L.tensor([0, 0]), s, reduce, include_self=include_self)
        (out * 3).sum().backward()
        grads.append((out.tolist(), b.grad.tolist(), s.grad.tolist()))
    for ours, theirs in zip(grads[1], grads[0]):
        assert ours == pytest.approx(theirs)


def test_index_reduce_warns_that_it_is_beta_once(monkeypatch):
    from gradstep import _warn_once

    monkeypatch.setattr(_warn_once, "_given", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            gradstep.zeros(2).index_reduce(0, gradstep.tensor([0]), gradstep.ones(1), "amax")
    assert [str(w.message) for w in caught] == [
        "index_reduce() is in beta and the API may change at any time."]
    assert caught[0].filename == __file__


@pytest.mark.parametrize("case", [
    lambda L: L.cat([]),
    lambda L: L.stack([]),
    lambda L: L.zeros(3).index_add_(0, L.tensor([0.0]), L.ones(1)),
    lambda L: L.zeros(3, 2).index_add_(0, L.tensor([0]), L.ones(1, 3)),
    lambda L: L.zeros(3).index_add_(0, L.tensor([3]), L.ones(1)),
    lambda L: L.zeros(3).index_add_(0, L.tensor([-1]), L.ones(1)),
    lambda L: L.zeros(()).index_add_(0, L.tensor([0]), L.ones(())),
    lambda L: L.zeros(3).index_add_(0, L.tensor([0, 0, 2]), L.ones(3), alpha=2),
], ids=["cat-empty", "stack-empty", "float-index", "source-shape", "index-range", "negative-index",
        "zero-dim", "repeated"])
def test_index_add_and_cat_argument_errors_like_torch(case):
    theirs, ours = _both(case)
    assert ours == theirs


@pytest.mark.parametrize("weight", ["0.3", "0.7", "tensor"])
@pytest.mark.parametrize("inplace", [False, True])
def test_float32_lerp_is_torch_s_multiply_add_bit_for_bit(weight, inplace):
    """Bit for bit where both sides fuse (torch's FMA kernels; gradstep's in-place number
    weight goes through a BLAS that rounds once, ``tests.helpers.fma_on_both_sides``)."""
    rs = np.random.RandomState(1)
    a, b, w = (rs.randn(4096).astype(np.float32) for _ in range(3))
    w = np.abs(w) % 1
    outs = []
    for L in (torch, gradstep):
        wt = L.tensor(w) if weight == "tensor" else float(weight)
        x = L.tensor(a)
        outs.append((x.lerp_(L.tensor(b), wt) if inplace else L.lerp(x, L.tensor(b), wt)).numpy())
    if fma_on_both_sides():
        np.testing.assert_array_equal(outs[1], outs[0])
    else:  # one rounding against two: an ulp of values of size ~1
        np.testing.assert_allclose(outs[1], outs[0], rtol=0, atol=4 * np.finfo(np.float32).eps)
