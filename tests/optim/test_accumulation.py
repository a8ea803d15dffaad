"""Gradient accumulation: k backward calls on loss / k, then one step, equals one big-batch step.

This is why ``zero_grad`` exists: ``backward`` adds into ``.grad``, so gradients of
several mini-batches sum until the optimizer clears them.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep


def _data(seed=0, n=12):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((3, 4)), rng.standard_normal(3),
            rng.standard_normal((n, 4)), rng.standard_normal((n, 3)))


def _loss(lib, w, b, x, y):
    out = lib.tanh(lib.matmul(x, w.t()) + b)
    return ((out - y) ** 2).mean()


def _train(lib, opt_name, kwargs, k, set_to_none, steps=3):
    w0, b0, x, y = _data()
    w = lib.tensor(w0, requires_grad=True)
    b = lib.tensor(b0, requires_grad=True)
    opt = getattr(lib.optim, opt_name)([w, b], **kwargs)
    xs, ys = np.split(x, k), np.split(y, k)
    for _ in range(steps):
        opt.zero_grad(set_to_none=set_to_none)
        for xi, yi in zip(xs, ys):
            (_loss(lib, w, b, lib.tensor(xi), lib.tensor(yi)) / k).backward()
        opt.step()
    return [w.detach().numpy().copy(), b.detach().numpy().copy()]


@pytest.mark.parametrize("opt_name, kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("Adam", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
])
@pytest.mark.parametrize("set_to_none", [True, False])
@pytest.mark.parametrize("k", [2, 3, 4])
def test_accumulated_steps_equal_one_big_batch(opt_name, kwargs, set_to_none, k):
    big = _train(gradstep, opt_name, kwargs, 1, set_to_none)
    accumulated = _train(gradstep, opt_name, kwargs, k, set_to_none)
    theirs = _train(torch, opt_name, kwargs, k, set_to_none)
    for a, b, t in zip(accumulated, big, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(a, t, rtol=1e-12)


def test_without_zero_grad_gradients_keep_summing():
    """Forgetting zero_grad doubles the gradient: the accumulation is real, not a copy."""
    w0, b0, x, y = _data()
    w = gradstep.tensor(w0, requires_grad=True)
    b = gradstep.tensor(b0, requires_grad=True)
    _loss(gradstep, w, b, gradstep.tensor(x), gradstep.tensor(y)).backward()
    once = w.grad.numpy().copy()
    _loss(gradstep, w, b, gradstep.tensor(x), gradstep.tensor(y)).backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * once, rtol=1e-14)
    gradstep.optim.SGD([w, b], lr=0.1).zero_grad()
    assert w.grad is None and b.grad is None
