"""max_unpool1d/2d/3d and MaxUnpool modules against torch (a pool -> unpool round trip).

A scatter of values and a gather of gradients: exact, so helpers.TOL is ample.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check


def F(L):
    return L.nn.functional


@pytest.mark.parametrize("nd,shape,kw,out", [
    (1, (2, 3, 9), dict(kernel_size=3, stride=2, padding=1), None),
    (1, (3, 8), dict(kernel_size=2), None),
    (2, (2, 3, 6, 7), dict(kernel_size=2), (6, 7)),
    (2, (2, 3, 6, 7), dict(kernel_size=3, stride=2, padding=1), (2, 3, 6, 7)),
    (2, (3, 5, 5), dict(kernel_size=2), [5, 5]),
    (3, (2, 2, 4, 5, 6), dict(kernel_size=2), (4, 5, 6)),
    (3, (1, 2, 4, 6, 4), dict(kernel_size=2), None),
])
def test_roundtrip(nd, shape, kw, out):
    def fn(L, x):
        vals, idx = getattr(F(L), f"max_pool{nd}d")(x, **kw, return_indices=True)
        return getattr(F(L), f"max_unpool{nd}d")(vals, idx, **kw, output_size=out)

    check(fn, [shape])


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_modules(nd):
    shape = (2, 3) + (6,) * nd
    pool_t = getattr(torch.nn, f"MaxPool{nd}d")(2, return_indices=True)
    ours = getattr(gradstep.nn, f"MaxUnpool{nd}d")(2)
    theirs = getattr(torch.nn, f"MaxUnpool{nd}d")(2)
    assert repr(ours) == repr(theirs)
    pool_o = getattr(gradstep.nn, f"MaxPool{nd}d")(2, return_indices=True)

    def fn(L, x):
        return (ours if L is gradstep else theirs)(*(pool_o if L is gradstep else pool_t)(x))

    check(fn, [shape])


@pytest.mark.parametrize("call,exc", [
    (lambda L, v, i: F(L).max_unpool2d(v, i, 2, output_size=(9, 9)), ValueError),
    (lambda L, v, i: F(L).max_unpool2d(v, i, 2, output_size=(1, 2, 3)), ValueError),
    (lambda L, v, i: F(L).max_unpool2d(v, i * 100, 2), RuntimeError),
    (lambda L, v, i: F(L).max_unpool2d(v, i[..., :1], 2), RuntimeError),
])
def test_errors(call, exc):
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 4)).astype(np.float32)
    for L in (torch, gradstep):
        v, i = F(L).max_pool2d(L.tensor(x), 2, return_indices=True)
        with pytest.raises(exc):
            call(L, v, i)
