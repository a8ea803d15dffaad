"""torch.autograd.graph.allow_mutation_on_saved_tensors against torch: an in-place change of a
tensor saved for backward keeps the original for backward (cloned on write).

Tolerance: the dtype's (float32 1e-5, float64 1e-10 relative). The gradients are the same
products as torch's; exp/sin come from NumPy's libm, which can differ from torch's in the last
ulp, and exp of ~20 amplifies no relative error.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import assert_close

DT = ["float32", "float64"]


def _arr(dtype, *shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)


def _cases():
    def doc_example(lib, x, w):  # torch's docstring: b**2 saves b, then b.sin_()
        a = lib.tensor(x, requires_grad=True)
        b = a.clone()
        out = (b ** 2).sum()
        b.sin_()
        out.backward()
        return a.grad, b

    def saved_input_and_weight(lib, x, w):
        a, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        h = a * 1
        y = (h * wt).exp()
        h.mul_(10)
        wt.data.add_(100)  # a leaf's memory changed under the graph
        y.sum().backward()
        return a.grad, wt.grad

    def saved_output(lib, x, w):  # exp saves its output
        a = lib.tensor(x, requires_grad=True)
        y = a.exp()
        z = y * 1
        y.add_(1)
        z.sum().backward()
        return (a.grad,)

    def plain_tensor_setitem_zero(lib, x, w):
        a, c = lib.tensor(x, requires_grad=True), lib.tensor(w)
        y = (a * c).sum()
        c.zero_()
        c[0] = 7
        y.backward()
        return a.grad, c

    def view_written(lib, x, w):
        a = lib.tensor(x, requires_grad=True)
        b = a * 2
        y = (b.tanh() * b).sum()
        b[0].copy_(lib.tensor(w[0]))  # through a view of the saved tensor
        y.backward()
        return a.grad, b

    def double_backward(lib, x, w):
        a = lib.tensor(x, requires_grad=True)
        b = a * 1
        y = (b * a).sum()
        b.add_(1)
        (g,) = lib.autograd.grad(y, a, create_graph=True)
        g.pow(2).sum().backward()
        return g, a.grad

    def custom_function(lib, x, w):
        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, t):
                ctx.save_for_backward(t)
                return t * t

            @staticmethod
            def backward(ctx, g):
                (t,) = ctx.saved_tensors
                return 2 * t * g

        a = lib.tensor(x, requires_grad=True)
        b = a + 0
        y = Square.apply(b).sum()
        b.mul_(3)
        y.backward()
        return (a.grad,)

    return {f.__name__: f for f in (doc_example, saved_input_and_weight, saved_output,
                                    plain_tensor_setitem_zero, view_written, double_backward,
                                    custom_function)}


def _run(lib, name, dtype):
    x, w = _arr(dtype, 3, 4, seed=0), _arr(dtype, 3, 4, seed=1)
    with lib.autograd.graph.allow_mutation_on_saved_tensors():
        return _cases()[name](lib, x, w)


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("name", sorted(_cases()))
def test_gradients_use_the_saved_original_like_torch(name, dtype):
    ours, theirs = _run(gradstep, name, dtype), _run(torch, name, dtype)
    for a, b in zip(ours, theirs, strict=True):
        assert_close(a, b, dtype)


def test_without_the_context_the_version_error_stays():
    a = gradstep.tensor([1.0, 2.0], requires_grad=True)
    c = a.clone()
    y = (c * c).sum()
    c.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_nested_contexts_are_refused_like_torch():
    for lib in (gradstep, torch):
        with lib.autograd.graph.allow_mutation_on_saved_tensors():
            with pytest.raises(RuntimeError, match="contexts cannot be nested"):
                with lib.autograd.graph.allow_mutation_on_saved_tensors():
                    pass
    from gradstep.autograd import _saved_mutation, function

    assert _saved_mutation.active is None and function._op_hook is None


def _backward_outside(lib):
    with lib.autograd.graph.allow_mutation_on_saved_tensors():
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a.clone()
        y = (b * b).sum()
        b.add_(1)
    y.backward()


def test_backward_outside_the_context_is_refused_like_torch():
    with pytest.raises(AssertionError) as theirs:
        _backward_outside(torch)
    with pytest.raises(AssertionError) as ours:
        _backward_outside(gradstep)
    assert str(ours.value) == str(theirs.value)


def test_context_object_is_cleared_on_exit():
    with gradstep.autograd.graph.allow_mutation_on_saved_tensors() as ctx:
        a = gradstep.ones(2, requires_grad=True)
        y = (a * a).sum()
        assert y.grad_fn in ctx.nodes
    assert len(ctx.nodes) == 0
