"""Inference tensors: what ``inference_mode()`` makes, and torch's refusals for them."""

from __future__ import annotations

import threading

import pytest
import torch

import gradstep

MADE = {
    "ones": lambda L: L.ones(3),
    "tensor": lambda L: L.tensor([1.0, 2.0]),
    "arange": lambda L: L.arange(3),
    "randn": lambda L: L.randn(2),
    "empty": lambda L: L.empty(2),
    "full": lambda L: L.full((2,), 1.0),
    "legacy_constructor": lambda L: L.Tensor(2),
    "as_tensor": lambda L: L.as_tensor([1.0]),
    "op_result": lambda L: L.ones(2) + 1,
    "requires_grad": lambda L: L.ones(2, requires_grad=True),
    "parameter": lambda L: L.nn.Linear(2, 2).weight,
}


@pytest.mark.parametrize("name", sorted(MADE))
def test_tensors_made_in_inference_mode_are_inference_tensors(name):
    for lib in (gradstep, torch):
        with lib.inference_mode():
            t = MADE[name](lib)
        assert t.is_inference()
        assert not MADE[name](lib).is_inference()


def test_views_share_it_and_new_tensors_do_not():
    results = []
    for lib in (gradstep, torch):
        with lib.inference_mode():
            x = lib.ones(2, 3)
            normal_view = NORMAL[lib][0]
            with lib.inference_mode(False):
                nested = lib.ones(1)
        results.append((x[0].is_inference(), x.view(6).is_inference(), x.detach().is_inference(),
                        x.t().is_inference(), (x + 1).is_inference(), x.clone().is_inference(),
                        normal_view.is_inference(), nested.is_inference()))
    assert results[0] == results[1] == (True, True, True, True, False, False, False, False)


NORMAL = {lib: lib.ones(2, 2) for lib in (gradstep, torch)}


def _refusal(lib, fn):
    with lib.inference_mode():
        x = lib.ones(3)
    p = lib.ones(3, requires_grad=True)
    try:
        out = fn(lib, x, p)
    except RuntimeError as e:
        return "raises", str(e), x.tolist()
    return "ok", out, x.tolist()


REFUSALS = {
    "saved_for_backward": lambda L, x, p: p * x,
    "saved_by_linear": lambda L, x, p: L.nn.functional.linear(x[None], p[None]),
    "used_without_saving": lambda L, x, p: (p + x).requires_grad,
    "saved_under_no_grad": lambda L, x, p: _no_grad(L, lambda: (p * x).requires_grad),
    "inplace_outside": lambda L, x, p: x.add_(1),
    "inplace_outside_under_no_grad": lambda L, x, p: _no_grad(L, lambda: x.mul_(2)),
    "version": lambda L, x, p: x._version,
    "requires_grad_": lambda L, x, p: x.requires_grad_(),
    "clone_then_train": lambda L, x, p: (p * x.clone()).requires_grad,
    "inplace_inside": lambda L, x, p: _inference(L, lambda: x.add_(1).tolist()),
}


def _no_grad(lib, fn):
    with lib.no_grad():
        return fn()


def _inference(lib, fn):
    with lib.inference_mode():
        return fn()


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refusals_are_torchs(name):
    ours, theirs = (_refusal(lib, REFUSALS[name]) for lib in (gradstep, torch))
    assert ours[0] == theirs[0]
    if ours[0] == "raises":
        assert ours[1] == theirs[1]
    else:
        assert not isinstance(ours[1], gradstep.Tensor)
        assert ours[1] == theirs[1]
    assert ours[2] == theirs[2]  # torch, too, has changed the data when it refuses in place


def test_normal_tensors_are_untouched_after_inference_mode():
    with gradstep.inference_mode():
        pass
    x = gradstep.ones(2, requires_grad=True)
    y = x * x
    y.sum().backward()
    assert type(y._vc) is list and x.grad.tolist() == [2.0, 2.0]
    assert gradstep.Tensor.__dict__["_make"] is _PLAIN_MAKE


_PLAIN_MAKE = gradstep.Tensor.__dict__["_make"]


def test_inference_mode_in_one_thread_leaves_another_threads_tensors_normal():
    entered, made = threading.Event(), threading.Event()
    seen = {}

    def other():
        entered.wait()
        seen["other"] = gradstep.ones(1).is_inference()
        made.set()

    thread = threading.Thread(target=other)
    thread.start()
    with gradstep.inference_mode():
        entered.set()
        made.wait()
        seen["inside"] = gradstep.ones(1).is_inference()
    thread.join()
    assert seen == {"other": False, "inside": True}


@pytest.mark.parametrize("lib", [gradstep, torch], ids=["gradstep", "torch"])
def test_decorator_form(lib):
    @lib.inference_mode()
    def make():
        return lib.zeros(2)

    assert make().is_inference() and not lib.zeros(2).is_inference()
