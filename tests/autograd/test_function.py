"""User-defined autograd.Function, and gradcheck itself."""

import numpy as np
import pytest

import gradstep as gs
from gradstep.autograd.gradcheck import GradcheckError


class Cube(gs.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x * x * x * k

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x * ctx.k, None


def test_custom_function_forward_backward():
    x = gs.tensor([1.0, 2.0], dtype=gs.float64, requires_grad=True)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn is not None and "CubeBackward" in y.grad_fn.name()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 24.0])
    assert gs.autograd.gradcheck(lambda t: Cube.apply(t, 2.0), (x,))


def test_needs_input_grad():
    seen = {}

    class Probe(gs.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["needs"] = ctx.needs_input_grad
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, None

    Probe.apply(gs.ones(2, requires_grad=True), gs.ones(2))
    assert seen["needs"] == (True, False)


def test_custom_function_multiple_outputs():
    class Split2(gs.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            return ga * 2 + gb * 3

    x = gs.tensor([1.0, 1.0], requires_grad=True)
    a, b = Split2.apply(x)
    (a.sum() + 10 * b.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [32.0, 32.0])


def test_saved_tensor_version_checked_in_custom_function():
    x = gs.tensor([1.0, 2.0], requires_grad=True)
    w = x * 1
    y = Cube.apply(w, 1.0)
    w.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


class _WrongSquare(gs.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, g):
        return g  # should be 2 * x * g


def test_gradcheck_catches_a_wrong_gradient():
    Wrong = _WrongSquare
    x = gs.tensor([0.5, 1.5], dtype=gs.float64, requires_grad=True)
    with pytest.raises(GradcheckError):
        gs.autograd.gradcheck(Wrong.apply, (x,))
    assert not gs.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False)


def test_gradgradcheck_on_composite():
    x = gs.tensor([0.3, -0.7, 1.1], dtype=gs.float64, requires_grad=True)
    assert gs.autograd.gradgradcheck(lambda t: (t.tanh() * t.exp()).sum(), (x,))


def test_gradcheck_on_non_contiguous_inputs_and_outputs():
    """Perturbing a transposed or strided input must reach the tensor (a flat copy would not):
    right gradients pass, as in torch, and a wrong one is still caught."""
    base = gs.tensor([[0.3, -0.7, 1.1, 0.2], [0.9, -1.3, 0.4, 2.0], [-0.5, 0.6, 1.7, -0.8]],
                     dtype=gs.float64)
    xt = base.t().detach().requires_grad_()
    xs = base[:, ::2].detach().requires_grad_()
    assert not xt.is_contiguous() and not xs.is_contiguous()
    assert gs.autograd.gradcheck(lambda a: (a * a).sum(1), (xt,))
    assert gs.autograd.gradcheck(lambda a: a.exp().cumsum(0).t(), (xs,))
    assert gs.autograd.gradgradcheck(lambda a: (a * a * a).sum(1), (xt,))
    assert not gs.autograd.gradcheck(_WrongSquare.apply, (xt,), raise_exception=False)


def _view_functions(lib):
    class Passthrough(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x  # an input returned as is

        @staticmethod
        def backward(ctx, g):
            return g

    class Halves(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone(), x.view(-1)[1:]  # a copy, then a view made inside forward

        @staticmethod
        def backward(ctx, g, h):
            return g

    class DoubleInPlace(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x.mul_(2)

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    return Passthrough, Halves, DoubleInPlace


def _inplace_outcome(lib, case):
    passthrough, halves, dirty = _view_functions(lib)
    a = lib.ones(4, requires_grad=True)
    outs = {"as_is": lambda: passthrough.apply(a * 1), "view": lambda: halves.apply(a * 1)[1],
            "copy": lambda: halves.apply(a * 1)[0], "dirty": lambda: dirty.apply(a * 1),
            "view_of_it": lambda: passthrough.apply(a * 1).view(2, 2).t()}[case]()
    try:
        outs.add_(1)
    except RuntimeError as e:
        return str(e)
    outs.sum().backward()
    return a.grad.tolist()


@pytest.mark.parametrize("case", ["as_is", "view", "copy", "dirty", "view_of_it"])
def test_inplace_on_a_custom_function_view_is_refused_as_torch(case):
    """torch forbids changing in place an output of a custom Function that is a view or an
    input returned as is (its view+inplace handling would bypass the custom backward), or a
    view of such an output; copies and inputs marked dirty may be changed."""
    torch = pytest.importorskip("torch")
    assert _inplace_outcome(gs, case) == _inplace_outcome(torch, case)


def test_custom_function_view_may_change_in_place_without_grad():
    passthrough, _, _ = _view_functions(gs)
    y = passthrough.apply(gs.ones(2, requires_grad=True) * 1)
    with gs.no_grad():
        y.add_(1)
    assert y.tolist() == [2.0, 2.0]
