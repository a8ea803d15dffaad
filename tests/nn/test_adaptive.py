"""AdaptiveLogSoftmaxWithLoss against torch with equal parameters: output, loss, their
gradients (input and every parameter), log_prob, predict, checks.

Tolerance: helpers.TOL x10 — two small matrix products and a log_softmax per row.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import assert_close

ARGS = dict(in_features=8, n_classes=20, cutoffs=[4, 9, 15], div_value=2.0)


def _pair(head_bias):
    torch.manual_seed(0)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(**ARGS, head_bias=head_bias).double()
    ours = gradstep.nn.AdaptiveLogSoftmaxWithLoss(**ARGS, head_bias=head_bias,
                                                  dtype=gradstep.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: gradstep.tensor(v.numpy().copy())
                          for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    return ours, theirs


@pytest.mark.parametrize("head_bias", [False, True])
def test_forward_backward(head_bias):
    ours, theirs = _pair(head_bias)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 8))
    y = np.array([0, 3, 4, 8, 9, 14, 15, 19, 2, 11, 16, 5])
    xo, xt = gradstep.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(xo, gradstep.tensor(y)), theirs(xt, torch.tensor(y))
    assert_close(out.output, tout.output, "float64", 10)
    assert_close(out.loss, tout.loss, "float64", 10)
    w = rng.standard_normal(12)
    ((out.output * gradstep.tensor(w)).sum() + out.loss).backward()
    ((tout.output * torch.tensor(w)).sum() + tout.loss).backward()
    assert_close(xo.grad, xt.grad, "float64", 10, what="input grad")
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(p.grad, tp.grad, "float64", 10, what=name)
    assert_close(ours.log_prob(gradstep.tensor(x)), theirs.log_prob(torch.tensor(x)), "float64",
                 10)
    assert_close(ours.predict(gradstep.tensor(x)), theirs.predict(torch.tensor(x)), "float64")
    single = ours(gradstep.tensor(x[0]), gradstep.tensor(y[0]))
    tsingle = theirs(torch.tensor(x[0]), torch.tensor(y[0]))
    assert_close(single.output, tsingle.output, "float64", 10)


def test_errors():
    for L in (torch, gradstep):
        for cutoffs in ([], [5, 3], [0, 4], [4, 20], [4, 4]):
            with pytest.raises(ValueError):
                L.nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)
        m = L.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4])
        with pytest.raises(RuntimeError):
            m(L.zeros(3, 8), L.tensor([0, 1, 25]))
        with pytest.raises(RuntimeError):
            m(L.zeros(3, 8), L.tensor([0, 1]))
        with pytest.raises(RuntimeError):
            m(L.zeros(3, 8), L.zeros(3, 2).long())
