"""``Tensor.copy_`` with a source that needs a gradient (torch's ``CopyBackwards``), and
``ctx.mark_dirty`` on leaves (torch's refusal), against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep


def _names(fn):
    return [None if n is None else n.name() for n, _ in fn.next_functions]


def test_copy_records_copybackwards_with_torchs_edges():
    for lib in (gradstep, torch):
        src = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        t = lib.zeros(3)
        t.copy_(src)
        assert t.grad_fn.name() == "torch::autograd::CopyBackwards"
        assert repr(t.grad_fn).startswith("<CopyBackwards object")
        assert _names(t.grad_fn) == [None, "torch::autograd::AccumulateGrad"]
        assert t.grad_fn is not src.grad_fn


COPIES = {
    # (the copy, the loss weights): gradients to the source and to the base's leaf
    "whole": lambda L, a, s: (a * 2).copy_(s),
    "into_a_view": lambda L, a, s: _into_view(L, a, s),
    "broadcast": lambda L, a, s: (a * 2).copy_(s[:1]),
    "to_float64": lambda L, a, s: (a.double() * 2).copy_(s),
    "from_float64": lambda L, a, s: (a * 2).copy_(s.double()),
}


def _into_view(L, a, s):
    base = a * 2
    base[1:3].copy_(s[:2])
    return base


@pytest.mark.parametrize("name", sorted(COPIES))
def test_copy_gradients_are_torchs(name):
    rng = np.random.default_rng(0)
    a_np, s_np = rng.standard_normal(4).astype("float32"), rng.standard_normal(4).astype("float32")
    w_np = rng.standard_normal(4)
    results = []
    for lib in (gradstep, torch):
        a = lib.tensor(a_np, requires_grad=True)
        s = lib.tensor(s_np, requires_grad=True)
        out = COPIES[name](lib, a, s)
        (out * lib.tensor(w_np, dtype=out.dtype)).sum().backward()
        results.append((out.detach().numpy(), a.grad.numpy(), s.grad.numpy(),
                        out.grad_fn.name()))
    ours, theirs = results
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)  # zeros where overwritten
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)  # one sum at most: float rounding
    assert ours[3] == theirs[3]


def test_copy_into_a_leaf_that_requires_grad_is_refused():
    for lib in (gradstep, torch):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            lib.zeros(2, requires_grad=True).copy_(lib.ones(2))


def test_copy_shape_error_is_torchs_with_a_gradient_too():
    msgs = []
    for lib in (gradstep, torch):
        with pytest.raises(RuntimeError) as info:
            lib.zeros(3).copy_(lib.ones(2, requires_grad=True))
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


def test_copy_into_an_integer_tensor_records_nothing():
    for lib in (gradstep, torch):
        t = lib.zeros(3, dtype=lib.int64)
        t.copy_(lib.tensor([1.5, 2.5, -3.5], requires_grad=True))
        assert t.tolist() == [1, 2, -3] and not t.requires_grad and t.grad_fn is None


# ---------------------------------------------------------------- mark_dirty
def _double_in_place(lib):
    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    return Double


@pytest.mark.parametrize("case", ["leaf", "view_of_leaf"])
def test_mark_dirty_on_a_leaf_that_requires_grad_raises_torchs_error(case):
    outcomes = []
    for lib in (gradstep, torch):
        a = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError) as info:
            _double_in_place(lib).apply(a if case == "leaf" else a[:2])
        outcomes.append((str(info.value), a.tolist()))  # the forward has run, as in torch
    assert outcomes[0] == outcomes[1]


def test_mark_dirty_on_a_non_leaf_returns_it_with_the_new_history():
    grads = []
    for lib in (gradstep, torch):
        a = lib.ones(3, requires_grad=True)
        b = a * 1
        out = _double_in_place(lib).apply(b)
        assert out is b and b.grad_fn.name() == "DoubleBackward"
        out.sum().backward()
        grads.append(a.grad.tolist())
    assert grads[0] == grads[1] == [2.0, 2.0, 2.0]


def test_mark_dirty_without_grad_is_allowed():
    for lib in (gradstep, torch):
        a = lib.ones(2, requires_grad=True)
        with lib.no_grad():
            assert _double_in_place(lib).apply(a).tolist() == [2.0, 2.0]
        assert _double_in_place(lib).apply(lib.ones(2)).grad_fn is None


def test_inplace_function_is_torchs_legacy_base():
    for lib in (gradstep, torch):
        cls = lib.autograd.function.InplaceFunction
        assert issubclass(cls, lib.autograd.Function)
        assert cls(inplace=True).inplace is True and cls().inplace is False
