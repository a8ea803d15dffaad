"""clamp with scalar bounds passes no gradient outside the bounds, even an inf/nan one
(torch masks with where; a multiply by the 0/1 mask would give nan)."""

from __future__ import annotations

import pytest
import torch

import gradstep
from tests.helpers import check


@pytest.mark.parametrize("kw", [dict(min=2.0), dict(max=-0.5), dict(min=-1.0, max=1.0)])
def test_clamp_blocks_nonfinite_gradient(kw):
    def fn(lib, x):
        y = x.clamp(**kw)
        bound = kw.get("min", kw.get("max"))
        return 1.0 / (y - bound)  # inf where clamped to that bound

    check(fn, [(3, 4)], low=-3.0, high=3.0)


def _clamp_outcome(lib, **bounds):
    b = lib.tensor([[True], [False]])
    try:
        r = lib.clamp(b, **{k: (lib.tensor(v) if isinstance(v, list) else v) for k, v in bounds.items()})
    except (NotImplementedError, TypeError) as e:
        return type(e).__name__, str(e).split(" - got")[0] if isinstance(e, TypeError) else str(e)
    return str(r.dtype).split(".")[-1], r.flatten().tolist()


@pytest.mark.parametrize("bounds", [
    dict(min=False), dict(max=True), dict(min=False, max=True), dict(min=0),
    dict(min=[[False]]), dict(max=[[True]]), dict(min=[[False]], max=[[True]]),
    dict(min=[[False]], max=True), dict(min=False, max=[[True]]),
], ids=str)
def test_clamp_of_bool_tensors_refuses_as_torch_does(bounds):
    """Found by the ops fuzzer: torch has bool clamp kernels only for one tensor bound, and
    refuses a tensor bound mixed with a number bound."""
    assert _clamp_outcome(gradstep, **bounds) == _clamp_outcome(torch, **bounds)
