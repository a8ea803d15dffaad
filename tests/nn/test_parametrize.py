"""nn.utils.parametrize against torch: state_dict layout, values, gradients, right_inverse
assignment, caching, chaining, removal and transfer (all exact: the same few elementwise ops)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.nn.utils import parametrize as P
from tests.helpers import assert_close


def _symmetric(L):
    class Symmetric(L.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()

    return Symmetric()


def _scale(L):
    class Scale(L.nn.Module):
        def forward(self, X):
            return 2 * X

        def right_inverse(self, A):
            return A / 2

    return Scale()


def _pair(dtype="float64"):
    tm = torch.nn.Linear(4, 4).to(getattr(torch, dtype))
    gm = gradstep.nn.Linear(4, 4).to(getattr(gradstep, dtype))
    gm.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return tm, gm


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_register_chain_state_dict_values_and_grads(dtype):
    tm, gm = _pair(dtype)
    for L, m in ((torch, tm), (gradstep, gm)):
        L.nn.utils.parametrize.register_parametrization(m, "weight", _symmetric(L))
        L.nn.utils.parametrize.register_parametrization(m, "weight", _scale(L))
    assert sorted(gm.state_dict()) == sorted(tm.state_dict())
    assert "parametrizations.weight.original" in gm.state_dict()
    assert type(gm).__name__ == "ParametrizedLinear"
    assert P.type_before_parametrizations(gm) is gradstep.nn.Linear
    assert P.is_parametrized(gm) and P.is_parametrized(gm, "weight")
    assert not P.is_parametrized(gm, "bias")
    assert_close(gm.weight, tm.weight, dtype)
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(dtype)
    gm(gradstep.tensor(x)).sum().backward()
    tm(torch.tensor(x)).sum().backward()
    assert_close(gm.parametrizations.weight.original.grad,
                 tm.parametrizations.weight.original.grad, dtype)


def test_assignment_goes_through_right_inverse_and_cached():
    tm, gm = _pair()
    for L, m in ((torch, tm), (gradstep, gm)):
        L.nn.utils.parametrize.register_parametrization(m, "weight", _symmetric(L))
    a = np.random.default_rng(1).standard_normal((4, 4))
    gm.weight = gradstep.tensor(a)
    with torch.no_grad():
        tm.weight = torch.tensor(a)
    assert_close(gm.parametrizations.weight.original, tm.parametrizations.weight.original,
                 "float64")
    with P.cached():
        assert gm.weight is gm.weight
    assert gm.weight is not gm.weight


@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations(leave):
    tm, gm = _pair()
    for L, m in ((torch, tm), (gradstep, gm)):
        L.nn.utils.parametrize.register_parametrization(m, "weight", _scale(L))
        L.nn.utils.parametrize.remove_parametrizations(m, "weight", leave_parametrized=leave)
    assert type(gm) is gradstep.nn.Linear and not P.is_parametrized(gm)
    assert sorted(gm.state_dict()) == sorted(tm.state_dict()) == ["bias", "weight"]
    assert isinstance(gm.weight, gradstep.nn.Parameter)
    assert_close(gm.weight, tm.weight, "float64")
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        P.remove_parametrizations(gm, "weight")


def test_transfer_and_errors():
    _, gm = _pair()
    P.register_parametrization(gm, "weight", _scale(gradstep))
    other = gradstep.nn.Linear(4, 4).double()
    P.transfer_parametrizations_and_params(gm, other)
    assert P.is_parametrized(other, "weight")
    assert other.parametrizations.weight.original is gm.parametrizations.weight.original
    np.testing.assert_array_equal(other.weight.detach().numpy(), gm.weight.detach().numpy())

    class Shrink(gradstep.nn.Module):
        def forward(self, X):
            return X[:2]

    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(gradstep.nn.Linear(3, 4), "weight", Shrink())
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        P.register_parametrization(gradstep.nn.Linear(3, 4), "nothing", _scale(gradstep))
    m = P.register_parametrization(gradstep.nn.Linear(3, 4), "weight", Shrink(), unsafe=True)
    assert tuple(m.weight.shape) == (2, 3)
