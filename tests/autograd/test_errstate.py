"""Ops that make inf or nan are silent, as torch is, whatever NumPy's error state is.

gradstep runs each op's forward, each node's backward and each optimizer step with NumPy's
floating-point errors ignored (gradstep._errstate), and leaves the caller's ``np.geterr()`` as
it was: no RuntimeWarning from log(0), x/0, sqrt(-1), exp(1000), 0*inf, empty means..., no
FloatingPointError under the caller's ``np.seterr(all="raise")``, and torch's values.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import assert_close

# (id, fn(lib, x) with x = [0, -1, 1000, inf, 2] in the dtype, differentiable)
CASES = [
    ("log", lambda lib, x: lib.log(x), True),
    ("div-by-zero", lambda lib, x: x / (x * 0), True),
    ("sqrt-negative", lambda lib, x: lib.sqrt(x), True),
    ("exp-overflow", lambda lib, x: lib.exp(x), True),
    ("zero-times-inf", lambda lib, x: (x * 0) * lib.exp(x), True),
    ("pow-negative-fraction", lambda lib, x: x ** 0.5, True),
    ("reciprocal", lambda lib, x: lib.reciprocal(x), True),
    ("rsqrt", lambda lib, x: lib.rsqrt(x), True),
    ("log1p", lambda lib, x: lib.log1p(-lib.abs(x) - 1), True),
    ("tanh-of-inf-minus-inf", lambda lib, x: lib.tanh(x - x), True),
    ("softmax-inf", lambda lib, x: lib.softmax(x, 0), True),
    ("logsumexp-inf", lambda lib, x: lib.logsumexp(x, 0), True),
    ("sigmoid-big", lambda lib, x: lib.sigmoid(-x), True),
    ("scalar-overflow", lambda lib, x: x * 1e300, False),  # 1e300 becomes inf in float32
    ("mean-empty", lambda lib, x: x[:0].mean(), False),
    ("var-one-element", lambda lib, x: x[:1].var(), True),
    ("std-correction-too-big", lambda lib, x: lib.std(x, correction=7), True),
    ("mse-inf", lambda lib, x: lib.nn.functional.mse_loss(x, x * 0), True),
    ("cross-entropy-inf", lambda lib, x: lib.nn.functional.cross_entropy(
        x.reshape(1, -1), lib.tensor([1])), True),
]


def inputs(lib, dtype):
    return lib.tensor(np.array([0.0, -1.0, 1000.0, np.inf, 2.0], dtype=dtype), requires_grad=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cid, fn, diff", CASES, ids=[c[0] for c in CASES])
def test_inf_and_nan_without_warnings_and_as_torch(cid, fn, diff, dtype):
    x, tx = inputs(gradstep, dtype), inputs(torch, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning (RuntimeWarning above all) fails the test
        # but torch's own var/std dof warning, which we give as torch does (tests/ops/test_reduce.py)
        warnings.filterwarnings("ignore", "(var|std)(_mean)?\\(\\): degrees of freedom", UserWarning)
        out = fn(gradstep, x)
        if diff:
            out.sum().backward()
    with warnings.catch_warnings():  # torch's own UserWarning for var/std with dof <= 0
        warnings.simplefilter("ignore", UserWarning)
        tout = fn(torch, tx)
    assert_close(out, tout, dtype, what="forward")
    if diff:
        tout.sum().backward()
        assert_close(x.grad, tx.grad, dtype, what="grad")


def test_the_callers_error_state_is_left_as_it_was():
    x = inputs(gradstep, "float64")
    with np.errstate(divide="raise", over="warn", under="print", invalid="call"):
        np.seterrcall(lambda *a: None)
        before = np.geterr()
        y = gradstep.log(x) / (x * 0)
        y.sum().backward()
        assert np.geterr() == before
    assert np.isnan(y.detach().numpy()).any()


def test_the_callers_raise_mode_does_not_make_ops_raise():
    x = inputs(gradstep, "float64")
    with np.errstate(all="raise"):
        y = gradstep.sqrt(x) * gradstep.exp(x)
        y.sum().backward()
        opt = gradstep.optim.Adam([x], lr=0.1)
        opt.step()  # inf and nan gradients
        with pytest.raises(FloatingPointError):  # NumPy outside gradstep still raises
            np.log(np.zeros(1))
    tx = inputs(torch, "float64")
    ty = torch.sqrt(tx) * torch.exp(tx)
    ty.sum().backward()
    topt = torch.optim.Adam([tx], lr=0.1)
    topt.step()
    assert_close(y, ty, "float64", what="forward")
    assert_close(x.detach(), tx.detach(), "float64", what="after an Adam step")


def test_an_optimizer_step_on_inf_gradients_is_silent():
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "NAdam", "RAdam"):
        p = gradstep.zeros(3, requires_grad=True)
        p.grad = gradstep.tensor([np.inf, -np.inf, np.nan])
        opt = getattr(gradstep.optim, name)([p], lr=0.1)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            opt.step()


def test_hooks_during_backward_see_the_callers_error_state():
    """The engine ignores NumPy errors for a whole pass; user hooks still run in the caller's."""
    x = inputs(gradstep, "float64")
    y = x * 2
    seen = []

    def record(*_):
        seen.append(np.geterr()["divide"])

    y.register_hook(record)  # a non-leaf tensor hook
    y.grad_fn.register_prehook(record)  # node pre- and post-hooks
    y.grad_fn.register_hook(record)
    x.register_hook(record)  # a leaf's hook and its post-accumulate hook
    x.register_post_accumulate_grad_hook(record)
    with np.errstate(divide="raise"):
        (gradstep.log(y) / (y * 0)).sum().backward()  # inf/nan gradients, silently
        assert np.geterr()["divide"] == "raise"
    assert seen == ["raise"] * 5
