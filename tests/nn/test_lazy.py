"""Lazy modules against torch's: repr before, class/shapes/state_dict after the first
forward, torch's initialisation bounds, outputs with equal parameters, and loading a
state_dict into an unmaterialised module."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check

CASES = [
    ("LazyLinear", (3,), {}, (4, 5)),
    ("LazyLinear", (2,), dict(bias=False), (2, 3, 6)),
    ("LazyConv1d", (4, 3), dict(padding=1), (2, 3, 7)),
    ("LazyConv2d", (4, 3), dict(stride=2, groups=2), (2, 6, 7, 6)),
    ("LazyConv3d", (2, 2), {}, (3, 4, 3, 4)),
    ("LazyConvTranspose1d", (4, 3), dict(stride=2), (2, 3, 5)),
    ("LazyConvTranspose2d", (4, 3), dict(output_padding=1, stride=2, groups=2), (2, 4, 3, 4)),
    ("LazyConvTranspose3d", (2, 2), dict(bias=False), (1, 3, 2, 3, 2)),
    ("LazyBatchNorm1d", (), {}, (4, 3)),
    ("LazyBatchNorm2d", (), dict(momentum=None), (2, 3, 4, 4)),
    ("LazyBatchNorm3d", (), dict(affine=False), (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", (), {}, (2, 3, 5)),
    ("LazyInstanceNorm2d", (), dict(track_running_stats=False), (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), {}, (2, 3, 2, 3, 2)),
]


@pytest.mark.parametrize("name,args,kw,shape", CASES)
def test_materialise_like_torch(name, args, kw, shape):
    ours, theirs = getattr(gradstep.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(ours) == repr(theirs)
    assert ours.has_uninitialized_params()
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ours(gradstep.tensor(x))
    theirs(torch.tensor(x))
    assert type(ours).__name__ == type(theirs).__name__
    assert not any(gradstep.nn.parameter.is_lazy(t) for t in ours.state_dict().values())
    assert repr(ours) == repr(theirs)
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(tsd)
    for k in sd:
        assert tuple(sd[k].shape) == tuple(tsd[k].shape), k
    if hasattr(theirs, "weight") and theirs.weight is not None and "Norm" not in name:
        fan_in = theirs.weight.shape[1] * math.prod(theirs.weight.shape[2:])
        bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) and the bias share it
        w = ours.weight.detach().numpy()
        assert np.abs(w).max() <= bound and w.std() > bound / 4
    for k, v in tsd.items():  # equal parameters and buffers -> equal outputs and gradients
        sd[k].copy_(gradstep.tensor(v.numpy().copy()))
    check(lambda L, a: (ours if L is gradstep else theirs)(a), [shape], dtypes=("float32",),
          scale=10)


def test_load_state_dict_materialises():
    ref = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.Conv1d(3, 2, 1),
                              torch.nn.BatchNorm1d(2))
    ours = gradstep.nn.Sequential(gradstep.nn.LazyLinear(3), gradstep.nn.LazyConv1d(2, 1),
                                  gradstep.nn.LazyBatchNorm1d())
    ours.load_state_dict({k: gradstep.tensor(v.numpy().copy())
                          for k, v in ref.state_dict().items()})
    assert [type(m).__name__ for m in ours] == ["Linear", "Conv1d", "BatchNorm1d"]
    assert (ours[0].in_features, ours[1].in_channels, ours[2].num_features) == (5, 3, 2)
    ref.eval()
    ours.eval()
    check(lambda L, a: (ours if L is gradstep else ref)(a), [(4, 3, 5)], dtypes=("float32",))


def test_uninitialized_parameter():
    p = gradstep.nn.UninitializedParameter()
    assert gradstep.nn.parameter.is_lazy(p) and p.requires_grad
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        p.shape  # noqa: B018
    p.materialize((2, 3))
    assert type(p) is gradstep.nn.Parameter and tuple(p.shape) == (2, 3)
    with pytest.raises(ValueError):
        torch.nn.LazyConv2d(3, 1, groups=2)(torch.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError):
        gradstep.nn.LazyConv2d(3, 1, groups=2)(gradstep.zeros(1, 3, 2, 2))


def test_deepcopy_of_a_lazy_module_stays_lazy_like_torch():
    """Parameter.__deepcopy__ rebuilds type(self)(data, requires_grad); the uninitialized kind
    has its own (requires_grad, device, dtype) signature, as in torch."""
    import copy

    seen = []
    for lib in (torch, gradstep):
        lazy = copy.deepcopy(lib.nn.LazyConv2d(4, 3).double())
        kind, dtype = type(lazy.weight).__name__, str(lazy.weight.dtype).split(".")[-1]
        lazy(lib.ones(1, 2, 5, 5, dtype=lib.float64))
        seen.append((kind, dtype, tuple(lazy.weight.shape), type(lazy.weight).__name__))
    assert seen[0] == seen[1] == ("UninitializedParameter", "float64", (4, 2, 3, 3), "Parameter")
