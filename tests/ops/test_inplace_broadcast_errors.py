"""In-place ops whose operands do not broadcast into ``self``: torch's RuntimeError and words
(the clashing sizes, or "output with shape ... doesn't match the broadcast shape ...")."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.ops._util import numpy_broadcast_error


def _ones(lib, shape):
    return lib.ones(shape)


CASES = {
    "add_": lambda lib, a, b: a.add_(b),
    "mul_": lambda lib, a, b: a.mul_(b),
    "addcmul_t2": lambda lib, a, b: a.addcmul_(lib.ones(a.shape), b),
    "addcmul_t1": lambda lib, a, b: a.addcmul_(b, lib.ones(a.shape), value=2),
    "addcdiv_t2": lambda lib, a, b: a.addcdiv_(lib.ones(a.shape), b),
    "addcdiv_t1": lambda lib, a, b: a.addcdiv_(b, lib.ones(a.shape), value=0.5),
    "lerp_": lambda lib, a, b: a.lerp_(b, 0.5),
    "lerp_weight": lambda lib, a, b: a.lerp_(lib.ones(a.shape), b),
    "copy_": lambda lib, a, b: a.copy_(b),
    "foreach_add_": lambda lib, a, b: lib._foreach_add_([a], [b]),
    "foreach_addcmul_": lambda lib, a, b: lib._foreach_addcmul_([a], [b], [b], value=1.0),
    "foreach_lerp_": lambda lib, a, b: lib._foreach_lerp_([a], [b], 0.5),
    "foreach_copy_": lambda lib, a, b: lib._foreach_copy_([a], [b]),
}
SHAPES = [((3, 4), (2, 4)), ((1, 4), (3, 4)), ((4,), (3, 4)), ((2, 3, 4), (5, 4)),
          ((3, 4), (2, 1, 4))]


def _error(lib, case, sa, sb):
    try:
        CASES[case](lib, _ones(lib, sa), _ones(lib, sb))
    except Exception as e:  # noqa: BLE001 - the outcome is what is compared
        return e
    return None


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("case", sorted(CASES))
def test_inplace_broadcast_error_matches_torch(case, shapes):
    theirs = _error(torch, case, *shapes)
    ours = _error(gradstep, case, *shapes)
    assert type(ours) is type(theirs), f"ours {ours!r}, torch {theirs!r}"
    if theirs is not None:
        assert str(ours) == str(theirs)


@pytest.mark.parametrize("make", [
    lambda: np.ones((3, 4)) + np.ones((2, 4)),
    lambda: np.add(np.ones((1, 4)), np.ones((3, 4)), out=np.ones((1, 4))),
    lambda: np.copyto(np.ones((2, 4)), np.ones((3, 4))),
    lambda: np.ones((2, 4)).__setitem__(Ellipsis, np.ones((3, 4))),
])
def test_numpy_broadcast_errors_become_runtime_errors(make):
    with pytest.raises(ValueError) as info:
        make()
    converted = numpy_broadcast_error(info.value)
    assert type(converted) is RuntimeError
    assert "must match the size" in str(converted) or "broadcast shape" in str(converted)


def test_numpy_broadcast_error_ignores_other_errors():
    assert numpy_broadcast_error(ValueError("math domain error")) is None
    assert numpy_broadcast_error(TypeError("could not broadcast")) is None
