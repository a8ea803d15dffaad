"""Trigonometric and hyperbolic ops against torch: values and gradients (float32/float64),
broadcasting, integer promotion, gradcheck in float64.

Tolerances are the oracle's defaults (tests/helpers.py): both libraries evaluate the same
libm-grade functions, so results agree to a few ulps (float32 rtol 1e-5 = ~80 ulps,
float64 rtol 1e-10); derivatives are one or two further roundings.
"""

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck
from tests.helpers import check

# name -> input range inside the domain (and away from the poles of the derivative)
UNARY = {
    "tan": (-1.3, 1.3), "asin": (-0.95, 0.95), "arcsin": (-0.95, 0.95),
    "acos": (-0.95, 0.95), "arccos": (-0.95, 0.95), "atan": (-4, 4), "arctan": (-4, 4),
    "sinh": (-4, 4), "cosh": (-4, 4), "asinh": (-4, 4), "arcsinh": (-4, 4),
    "acosh": (1.05, 5), "arccosh": (1.05, 5), "atanh": (-0.95, 0.95), "arctanh": (-0.95, 0.95),
    "deg2rad": (-360, 360), "rad2deg": (-7, 7),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(7,), (3, 4), (0, 2)])
def test_unary_matches_torch(name, shape):
    lo, hi = UNARY[name]
    check(lambda lib, x: getattr(lib, name)(x), [shape], low=lo, high=hi)
    check(lambda lib, x: getattr(x, name)(), [shape], low=lo, high=hi)


@pytest.mark.parametrize("name", ["atan2", "arctan2", "hypot"])
def test_binary_broadcast(name):
    check(lambda lib, a, b: getattr(lib, name)(a, b), [(3, 1, 4), (5, 1)], low=-3, high=3)
    check(lambda lib, a, b: getattr(a, name)(b), [(2, 3), (3,)], low=-3, high=3)
    for lib in (gradstep, torch):  # both refuse a Python number operand
        with pytest.raises(TypeError, match="must be Tensor"):
            getattr(lib, name)(lib.ones(2), 2.0)


@pytest.mark.parametrize("name", ["tan", "asin", "atan", "sinh", "cosh", "asinh", "atanh"])
def test_integer_input_promotes(name):
    x = np.array([0, 1, -1, 2])
    ours = getattr(gradstep, name)(gradstep.tensor(x))
    theirs = getattr(torch, name)(torch.tensor(x))
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "gradstep.")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, equal_nan=True)


def test_out_of_domain_and_edges():
    x = np.array([-2.0, -1.0, 1.0, 2.0, np.inf, -np.inf, np.nan, 0.0])
    for name in ("asin", "acos", "atanh", "acosh", "tan", "cosh"):
        ours = getattr(gradstep, name)(gradstep.tensor(x)).numpy()
        theirs = getattr(torch, name)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-15, equal_nan=True, err_msg=name)


def test_inplace_forms_and_grad_fn():
    x = gradstep.tensor([0.2, 0.4], requires_grad=True)
    y = x * 1.0
    y.tan_()
    y.sum().backward()
    tx = torch.tensor([0.2, 0.4], requires_grad=True)
    ty = tx * 1.0
    ty.tan_()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError):
        x.atan_()  # a leaf that requires grad refuses in-place ops, as in torch
    z = gradstep.tensor([0.5, 0.25])
    assert z.asin_() is z
    np.testing.assert_allclose(z.numpy(), np.arcsin([0.5, 0.25]), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_gradcheck(name):
    lo, hi = UNARY[name]
    x = gradstep.tensor(np.random.default_rng(1).uniform(lo, hi, 5), requires_grad=True)
    assert gradcheck(getattr(gradstep, name), (x,))


def test_gradcheck_binary():
    rng = np.random.default_rng(2)
    a = gradstep.tensor(rng.uniform(-2, 2, (3, 2)), requires_grad=True)
    b = gradstep.tensor(rng.uniform(0.5, 2, (2,)), requires_grad=True)
    assert gradcheck(gradstep.atan2, (a, b))
    assert gradcheck(gradstep.hypot, (a, b))
