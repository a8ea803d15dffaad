"""``requires_grad`` must be a bool, as torch checks it: ``requires_grad_(1)``, ``tensor(...,
requires_grad=1)``, ``Parameter(t, 1)`` and ``t.requires_grad = 1`` are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep

VALUES = [True, False, 1, 0, 2, "x", None, 1.0, np.bool_(True), [1], "tensor"]

CALLS = {
    "requires_grad_": lambda lib, a: lib.ones(2).requires_grad_(a),
    "tensor": lambda lib, a: lib.tensor([1.0], requires_grad=a),
    "ones": lambda lib, a: lib.ones(2, requires_grad=a),
    "zeros_like": lambda lib, a: lib.zeros_like(lib.ones(2), requires_grad=a),
    "empty": lambda lib, a: lib.empty(2, requires_grad=a),
    "full": lambda lib, a: lib.full((2,), 1.0, requires_grad=a),
    "setter": lambda lib, a: setattr(lib.ones(2), "requires_grad", a),
    "Parameter": lambda lib, a: lib.nn.Parameter(lib.ones(2), requires_grad=a),
}


def _outcome(lib, call, value):
    if isinstance(value, str) and value == "tensor":
        value = lib.tensor(True)
    try:
        out = CALLS[call](lib, value)
    except (TypeError, RuntimeError) as e:
        return type(e).__name__, str(e)
    return "ok", getattr(out, "requires_grad", None)


@pytest.mark.parametrize("value", VALUES, ids=repr)
@pytest.mark.parametrize("call", sorted(CALLS))
def test_requires_grad_argument_matches_torch(call, value):
    assert _outcome(gradstep, call, value) == _outcome(torch, call, value)


@pytest.mark.parametrize("value", [1, "x", None])
def test_randn_refuses_non_bool_requires_grad(value):
    """torch's randn/arange word it as an overload mismatch; the type is what must match."""
    for lib in (torch, gradstep):
        if value is None:
            assert lib.randn(2, requires_grad=value).requires_grad is False
        else:
            with pytest.raises(TypeError, match="requires_grad"):
                lib.randn(2, requires_grad=value)
