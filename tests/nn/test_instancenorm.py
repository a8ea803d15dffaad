"""instance_norm / InstanceNorm1d-3d and local_response_norm / LocalResponseNorm against torch.

Tolerances: helpers.TOL scaled x10 for the norms (a mean and a variance over the
spatial positions, then a division by sqrt(var + eps): a few roundings of
quantities of size ~1, the same reductions as torch in another order).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck
from tests.helpers import assert_close, check


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 5), (1, 2, 3, 4, 2)])
def test_instance_norm_functional(shape):
    c = shape[1]
    check(lambda L, x, w, b: L.nn.functional.instance_norm(x, weight=w, bias=b, eps=1e-3),
          [shape, (c,), (c,)], scale=10)
    check(lambda L, x: L.nn.functional.instance_norm(x), [shape], scale=10)


@pytest.mark.parametrize("name,shape", [("InstanceNorm1d", (3, 4, 6)), ("InstanceNorm1d", (4, 6)),
                                        ("InstanceNorm2d", (2, 4, 3, 5)),
                                        ("InstanceNorm3d", (2, 4, 3, 2, 3))])
@pytest.mark.parametrize("kw", [dict(), dict(affine=True), dict(track_running_stats=True),
                                dict(affine=True, track_running_stats=True, momentum=None)])
def test_instance_norm_modules(name, shape, kw):
    ours, theirs = getattr(gradstep.nn, name)(4, **kw), getattr(torch.nn, name)(4, **kw)
    assert repr(ours) == repr(theirs)
    if kw.get("affine"):
        rng = np.random.default_rng(3)
        for p, tp in zip(ours.parameters(), theirs.parameters()):
            v = rng.standard_normal(tuple(tp.shape)).astype(np.float32)
            p.data = gradstep.tensor(v)
            tp.data = torch.tensor(v)
    for _ in range(2):  # training updates the running statistics twice
        check(lambda L, x: (ours if L is gradstep else theirs)(x), [shape], dtypes=("float32",),
              scale=10)
    for b, tb in zip(ours.buffers(), theirs.buffers()):
        assert_close(b, tb, "float32", scale=10, what="buffer")
    ours.eval()
    theirs.eval()
    check(lambda L, x: (ours if L is gradstep else theirs)(x), [shape], dtypes=("float32",),
          scale=10)


def test_instance_norm_errors():
    for call in (lambda L: L.nn.InstanceNorm2d(3)(L.zeros(2, 3)),
                 lambda L: L.nn.InstanceNorm2d(3, affine=True)(L.zeros(2, 4, 3, 3)),
                 lambda L: L.nn.functional.instance_norm(L.zeros(2, 3, 1))):
        with pytest.raises(ValueError):
            call(torch)
        with pytest.raises(ValueError):
            call(gradstep)


def test_instance_norm_gradcheck():
    rng = np.random.default_rng(0)
    x, w = (gradstep.tensor(rng.standard_normal(s), requires_grad=True)
            for s in ((2, 3, 4), (3,)))
    assert gradcheck(lambda a, b: gradstep.nn.functional.instance_norm(a, weight=b), (x, w))


@pytest.mark.parametrize("shape", [(2, 5, 4), (2, 6, 3, 4), (1, 4, 2, 3, 2), (2, 1, 3)])
@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_local_response_norm(shape, size):
    check(lambda L, x: L.nn.functional.local_response_norm(x, size, alpha=0.1, beta=0.7, k=2.0),
          [shape], scale=10)
    ours, theirs = gradstep.nn.LocalResponseNorm(size), torch.nn.LocalResponseNorm(size)
    assert repr(ours) == repr(theirs)
    check(lambda L, x: (ours if L is gradstep else theirs)(x), [shape], scale=10)


def test_local_response_norm_gradcheck_and_errors():
    x = gradstep.tensor(np.random.default_rng(0).standard_normal((2, 4, 3)), requires_grad=True)
    assert gradcheck(lambda a: gradstep.nn.functional.local_response_norm(a, 3, 0.5), (x,))
    with pytest.raises(ValueError):
        torch.nn.functional.local_response_norm(torch.zeros(2, 3), 2)
    with pytest.raises(ValueError):
        gradstep.nn.functional.local_response_norm(gradstep.zeros(2, 3), 2)
