"""3-D pooling (max/avg/adaptive, with indices) and the *_with_indices forms against torch.

Max pooling and its indices are exact selections; averages divide a sum of at most
27 inputs in [-2, 2] by the same divisor as torch: helpers.TOL covers the summation
order.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck
from tests.helpers import check

S = (2, 3, 6, 5, 7)
WINDOWS = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
           dict(kernel_size=(2, 3, 2), stride=(1, 2, 3), padding=(1, 1, 0)),
           dict(kernel_size=3, stride=2, ceil_mode=True)]


def F(L):
    return L.nn.functional


@pytest.mark.parametrize("shape", [S, S[1:]])
@pytest.mark.parametrize("kw", WINDOWS)
def test_max_pool3d(shape, kw):
    check(lambda L, x: F(L).max_pool3d(x, **kw, return_indices=True), [shape])
    check(lambda L, x: F(L).max_pool3d(x, **kw, dilation=(1, 2, 1)), [shape])
    check(lambda L, x: F(L).max_pool3d_with_indices(x, **kw), [shape])


@pytest.mark.parametrize("shape", [S, S[1:]])
@pytest.mark.parametrize("kw", WINDOWS)
@pytest.mark.parametrize("cip", [True, False])
def test_avg_pool3d(shape, kw, cip):
    check(lambda L, x: F(L).avg_pool3d(x, **kw, count_include_pad=cip), [shape])
    check(lambda L, x: F(L).avg_pool3d(x, **kw, divisor_override=5), [shape])


@pytest.mark.parametrize("shape", [S, S[1:]])
@pytest.mark.parametrize("out", [(2, 3, 4), 1, (None, 2, 3), (4, 5, 9)])
def test_adaptive_pool3d(shape, out):
    check(lambda L, x: F(L).adaptive_avg_pool3d(x, out), [shape])
    check(lambda L, x: F(L).adaptive_max_pool3d(x, out, return_indices=True), [shape])
    check(lambda L, x: F(L).adaptive_max_pool3d_with_indices(x, out), [shape])


def test_area_interpolate_3d():
    check(lambda L, x: F(L).interpolate(x, size=(3, 2, 5), mode="area"), [S])


def test_with_indices_1d_2d():
    check(lambda L, x: F(L).max_pool1d_with_indices(x, 3, 2), [(2, 3, 9)])
    check(lambda L, x: F(L).max_pool2d_with_indices(x, 2), [(2, 3, 4, 6)])
    check(lambda L, x: F(L).adaptive_max_pool1d_with_indices(x, 4), [(2, 3, 9)])
    check(lambda L, x: F(L).adaptive_max_pool2d_with_indices(x, (2, 3)), [(2, 3, 4, 6)])


def test_gradcheck():
    x = gradstep.tensor(np.random.default_rng(0).standard_normal((1, 2, 4, 3, 4)),
                        requires_grad=True)
    assert gradcheck(lambda a: F(gradstep).max_pool3d(a, 2, 1, 1), (x,))
    assert gradcheck(lambda a: F(gradstep).avg_pool3d(a, 3, 2, 1, ceil_mode=True), (x,))
    assert gradcheck(lambda a: F(gradstep).adaptive_avg_pool3d(a, (3, 2, 3)), (x,))
    assert gradcheck(lambda a: F(gradstep).adaptive_max_pool3d(a, (3, 2, 3)), (x,))


@pytest.mark.parametrize("call", [
    lambda L: L.nn.functional.max_pool3d(L.zeros(2, 3, 4), 2),
    lambda L: L.nn.functional.avg_pool3d(L.zeros(2, 3, 4), 2),
    lambda L: L.nn.functional.max_pool3d(L.zeros(1, 2, 3, 4, 4), 2, padding=2),
    lambda L: L.nn.functional.max_pool3d(L.zeros(1, 2, 1, 4, 4), 2),
    lambda L: L.nn.functional.adaptive_avg_pool3d(L.zeros(2, 3, 4), 2),
    lambda L: L.nn.functional.adaptive_max_pool3d(L.zeros(2, 3, 4), 2),
])
def test_errors(call):
    with pytest.raises(RuntimeError) as theirs:
        call(torch)
    with pytest.raises(RuntimeError, match=re.escape(str(theirs.value)[:30])):
        call(gradstep)


@pytest.mark.parametrize("name,args", [("MaxPool3d", dict(kernel_size=2, return_indices=True)),
                                       ("AvgPool3d", dict(kernel_size=3, stride=2, padding=1)),
                                       ("AdaptiveAvgPool3d", dict(output_size=(1, None, 2))),
                                       ("AdaptiveMaxPool3d", dict(output_size=2))])
def test_modules(name, args):
    ours, theirs = getattr(gradstep.nn, name)(**args), getattr(torch.nn, name)(**args)
    assert repr(ours) == repr(theirs)
    check(lambda L, x: (ours if L is gradstep else theirs)(x), [S])


# ---- found by tests/nn/test_functional_differential.py
@pytest.mark.parametrize("kw", [dict(padding=1), dict(ceil_mode=True), dict(padding=1, ceil_mode=True)])
def test_avg_pool3d_input_smaller_than_kernel_raises_even_when_padded(kw):
    for L in (gradstep, torch):
        with pytest.raises(RuntimeError, match="smaller than kernel size"):
            L.nn.functional.avg_pool3d(L.zeros(1, 1, 2, 4, 4), 3, **kw)


# ---- found by tests/nn/test_functional_differential.py
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_adaptive_avg_pool3d_keeps_inf_and_nan_in_their_own_windows(dt):
    from tests.ops.fuzz_ops import disagreement

    x = np.random.default_rng(0).standard_normal((1, 2, 3, 5, 4)).astype(dt)
    x.flat[3], x.flat[11], x.flat[17] = np.inf, -np.inf, np.nan
    for out in [(2, 3, 2), (3, 5, 4), (1, 1, 1), (4, 2, 3)]:
        assert disagreement(lambda L, a, o=out: L.nn.functional.adaptive_avg_pool3d(a, o), x,
                            tol="sum", n=16) is None
