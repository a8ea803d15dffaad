"""exp2, logaddexp(2), xlogy, xlog1py, sinc, logit, float_power, ldexp, frexp against torch.

Default oracle tolerances (tests/helpers.py): each op is one or two libm calls in the
input's dtype, so both libraries agree to a few ulps; gradients add a few roundings.
"""

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck
from tests.helpers import check


@pytest.mark.parametrize("shape", [(6,), (2, 3), (0,)])
def test_exp2_sinc(shape):
    check(lambda lib, x: lib.exp2(x), [shape], low=-5, high=5)
    check(lambda lib, x: x.exp2(), [shape], low=-5, high=5)
    check(lambda lib, x: lib.sinc(x), [shape], low=-3, high=3)
    check(lambda lib, x: lib.special.sinc(x), [shape], low=-3, high=3)


def test_sinc_at_zero():
    def inputs(dt):
        return [gradstep.tensor(np.array([0.0, 1.0, -0.5, 2.0], dt), requires_grad=True)]

    check(lambda lib, a: lib.sinc(a), inputs=inputs)  # sinc(0) = 1, its derivative 0


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_logaddexp(name):
    check(lambda lib, a, b: getattr(lib, name)(a, b), [(3, 4), (4,)], low=-30, high=30)
    check(lambda lib, a, b: getattr(a, name)(b), [(5,), (5,)], low=-3, high=3)


@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
def test_xlogy_family(name):
    fn = (lambda lib, a, b: lib.xlogy(a, b)) if name == "xlogy" else (
        lambda lib, a, b: lib.special.xlog1py(a, b))
    check(fn, [(3, 4), (4,)], low=0.1, high=3)
    # zeros of x, NaN and non-positive y: torch's special cases (values and gradients)
    x = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 0.0])
    y = np.array([0.0, -1.0, np.nan, 0.5, 3.0, 2.0])

    def inputs(dt):
        return [gradstep.tensor(x.astype(dt), requires_grad=True),
                gradstep.tensor(y.astype(dt), requires_grad=True)]

    check(fn, inputs=inputs)


def test_xlogy_scalars_and_ints():
    check(lambda lib, a: lib.xlogy(a, 3.0), [(4,)], low=0.0, high=2)
    check(lambda lib, a: lib.xlogy(2, a), [(4,)], low=0.5, high=2)
    ours = gradstep.xlogy(gradstep.tensor([0, 1, 2]), gradstep.tensor([3, 4, 5]))
    theirs = torch.xlogy(torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5]))
    assert str(ours.dtype) == "gradstep.float32" and theirs.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("eps", [None, 1e-3, 0.2])
def test_logit(eps):
    check(lambda lib, x: lib.logit(x, eps), [(7,)], low=0.01, high=0.99)
    check(lambda lib, x: lib.logit(x, eps=eps), [(7,)], low=-0.5, high=1.5)
    check(lambda lib, x: x.logit(eps), [(2, 3)], low=0.05, high=0.95)


def test_float_power_and_ldexp():
    check(lambda lib, a, b: lib.float_power(a, b), [(3, 4), (4,)], low=0.5, high=2)
    check(lambda lib, a: lib.float_power(a, 3), [(5,)])
    check(lambda lib, a: a.float_power(2.5), [(5,)], low=0.1, high=2)
    for lib in (gradstep, torch):
        assert str(lib.float_power(lib.ones(2), 2).dtype).endswith("float64")
    check(lambda lib, a: lib.ldexp(a, lib.tensor([1, -2, 3])), [(2, 3)])


def test_frexp():
    x = np.array([0.0, 1.0, -3.5, 1e-10, 1234.5, np.inf], np.float32)
    m, e = gradstep.frexp(gradstep.tensor(x))
    tm, te = torch.frexp(torch.tensor(x))
    np.testing.assert_array_equal(m.numpy(), tm.numpy())
    np.testing.assert_array_equal(e.numpy(), te.numpy())
    assert str(e.dtype) == "gradstep.int32" and te.dtype == torch.int32
    check(lambda lib, a: lib.frexp(a).mantissa, [(6,)], low=-100, high=100)
    with pytest.raises(RuntimeError):
        gradstep.frexp(gradstep.tensor([1, 2]))


def test_gradcheck():
    rng = np.random.default_rng(0)
    a = gradstep.tensor(rng.uniform(0.1, 2, (3, 2)), requires_grad=True)
    b = gradstep.tensor(rng.uniform(0.1, 2, (2,)), requires_grad=True)
    p = gradstep.tensor(rng.uniform(0.1, 0.9, (4,)), requires_grad=True)
    for fn in (gradstep.logaddexp, gradstep.logaddexp2, gradstep.xlogy,
               gradstep.special.xlog1py, gradstep.float_power):
        assert gradcheck(fn, (a, b))
    assert gradcheck(gradstep.sinc, (a,))
    assert gradcheck(gradstep.exp2, (a,))
    assert gradcheck(lambda t: gradstep.logit(t, 0.2), (p,))


def test_frexp_returns_torch_return_types_frexp():
    # a torch.return_types structseq: printed as "torch.return_types.frexp(\nmantissa=...,\nexponent=...)"
    r = gradstep.frexp(gradstep.tensor([8.0, 0.3]))
    assert type(r) is gradstep.return_types.frexp and r._fields == ("mantissa", "exponent")
    t = torch.frexp(torch.tensor([8.0, 0.3]))
    assert repr(r).split("\n")[0] == repr(t).split("\n")[0].replace("torch.", "gradstep.")
    assert repr(r).count("\n") == repr(t).count("\n") == 2
