"""fractional_max_pool2d/3d and FractionalMaxPool modules against torch, with the random
samples passed explicitly (``_random_samples``) so both draw the same windows.

Values and indices are exact selections; gradients go to the selected inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check

CASES = [(2, (2, 3, 9, 8), dict(kernel_size=2, output_size=(4, 5))),
         (2, (3, 10, 7), dict(kernel_size=(3, 2), output_ratio=(0.5, 0.6))),
         (2, (1, 2, 5, 5), dict(kernel_size=2, output_size=1)),
         (3, (2, 2, 7, 8, 6), dict(kernel_size=2, output_size=(3, 4, 2))),
         (3, (2, 6, 5, 7), dict(kernel_size=(1, 2, 3), output_ratio=(0.5, 0.5, 0.5)))]


def _inputs(nd, shape, seed=5):
    nb = shape[0] if len(shape) == nd + 2 else 1
    u = np.random.default_rng(seed).random((nb, shape[-nd - 1], nd))

    def inputs(dt):
        x = np.random.default_rng(3).standard_normal(shape).astype(dt)
        return [gradstep.tensor(x, requires_grad=True), gradstep.tensor(u.astype(dt))]

    return inputs


@pytest.mark.parametrize("nd,shape,kw", CASES)
def test_fractional_max_pool(nd, shape, kw):
    def fn(L, x, s):
        return getattr(L.nn.functional, f"fractional_max_pool{nd}d")(
            x, **kw, return_indices=True, _random_samples=s)

    check(fn, inputs=_inputs(nd, shape))

    def fn_idx(L, x, s):
        return getattr(L.nn.functional, f"fractional_max_pool{nd}d_with_indices")(
            x, **kw, _random_samples=s)

    check(fn_idx, inputs=_inputs(nd, shape, seed=8))


@pytest.mark.parametrize("nd", [2, 3])
def test_modules(nd):
    shape = (2, 3) + (7,) * nd
    u = np.random.default_rng(0).random((2, 3, nd)).astype(np.float32)
    name = f"FractionalMaxPool{nd}d"
    ours = getattr(gradstep.nn, name)(2, output_ratio=0.5, _random_samples=gradstep.tensor(u))
    theirs = getattr(torch.nn, name)(2, output_ratio=0.5, _random_samples=torch.tensor(u))
    assert ours.output_ratio == theirs.output_ratio and ours.kernel_size == theirs.kernel_size
    check(lambda L, x: (ours if L is gradstep else theirs)(x), [shape], dtypes=("float32",))
    y = getattr(gradstep.nn, name)(3, output_size=2)(gradstep.randn(*shape))  # own samples
    assert tuple(y.shape) == (2, 3) + (2,) * nd
    for L in (torch, gradstep):
        with pytest.raises(ValueError):
            getattr(L.nn, name)(2)
        with pytest.raises(ValueError):
            getattr(L.nn, name)(2, output_ratio=1.5)
        with pytest.raises(ValueError):
            getattr(L.nn, name)(2, output_size=3, output_ratio=0.5)
