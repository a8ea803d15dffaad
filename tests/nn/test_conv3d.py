"""conv3d / conv_transpose3d and Conv3d / ConvTranspose3d against torch.

Tolerances: helpers.TOL scaled x10. Each output sums C*kd*kh*kw <= 4*27 products of
inputs in [-2, 2]: float32 accumulation error ~ sqrt(K) * eps * |terms| stays within
1e-5 relative of the output scale; the 3-D sum is regrouped (depth taps last),
so only the summation order differs from torch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck
from tests.helpers import check

CONV = [((2, 4, 5, 6, 5), (6, 2, 3, 2, 3), dict(groups=2)),
        ((2, 3, 7, 6, 5), (4, 3, 3, 3, 2), dict(stride=(2, 1, 2), padding=(1, 0, 1),
                                                 dilation=(2, 1, 1))),
        ((3, 4, 5, 6), (2, 3, 1, 2, 3), dict(padding="same")),
        ((1, 3, 5, 4, 4), (2, 3, 2, 3, 2), dict(padding="valid", stride=2))]
TRANSPOSED = [((2, 4, 3, 4, 3), (4, 3, 3, 2, 3), dict()),
              ((2, 4, 3, 4, 3), (4, 2, 3, 2, 3), dict(groups=2, stride=(2, 3, 1),
                                                      padding=(1, 0, 1),
                                                      output_padding=(1, 2, 0))),
              ((4, 3, 4, 3), (4, 2, 2, 2, 2), dict(stride=2, dilation=(2, 1, 3),
                                                   output_padding=1))]


@pytest.mark.parametrize("xs,ws,kw", CONV)
def test_conv3d(xs, ws, kw):
    check(lambda L, x, w, b: L.nn.functional.conv3d(x, w, b, **kw), [xs, ws, (ws[0],)], scale=10)
    check(lambda L, x, w: L.nn.functional.conv3d(x, w, **kw), [xs, ws], scale=10)


@pytest.mark.parametrize("xs,ws,kw", TRANSPOSED)
def test_conv_transpose3d(xs, ws, kw):
    out_c = ws[1] * kw.get("groups", 1)
    check(lambda L, x, w, b: L.nn.functional.conv_transpose3d(x, w, b, **kw),
          [xs, ws, (out_c,)], scale=10)


def test_gradcheck():
    rng = np.random.default_rng(0)
    x, w = (gradstep.tensor(rng.standard_normal(s), requires_grad=True)
            for s in ((1, 2, 3, 4, 3), (2, 2, 2, 2, 2)))
    F = gradstep.nn.functional
    assert gradcheck(lambda a, b: F.conv3d(a, b, stride=(2, 1, 1), padding=1), (x, w))
    assert gradcheck(lambda a, b: F.conv_transpose3d(a, b, stride=2, output_padding=1), (x, w))


@pytest.mark.parametrize("call", [
    lambda L: L.nn.functional.conv3d(L.zeros(1, 3, 4, 4), L.zeros(2, 3, 2, 2, 2)),
    lambda L: L.nn.functional.conv3d(L.zeros(1, 2, 4, 4, 4), L.zeros(2, 3, 2, 2, 2)),
    lambda L: L.nn.functional.conv3d(L.zeros(1, 3, 1, 4, 4), L.zeros(2, 3, 2, 2, 2)),
    lambda L: L.nn.functional.conv_transpose3d(L.zeros(1, 2, 2, 2, 2), L.zeros(2, 3, 2, 2, 2),
                                               output_padding=2),
])
def test_errors(call):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError):
        call(gradstep)


@pytest.mark.parametrize("name,args,kw,shape", [
    ("Conv3d", (4, 6, 3), dict(stride=2, padding=1, groups=2), (2, 4, 5, 6, 5)),
    ("Conv3d", (3, 2, (1, 2, 3)), dict(padding="same", bias=False), (3, 4, 5, 4)),
    ("Conv3d", (3, 2, 3), dict(padding=1, padding_mode="reflect"), (1, 3, 4, 5, 4)),
    ("ConvTranspose3d", (4, 2, 3), dict(stride=2, padding=1, output_padding=1), (2, 4, 3, 2, 3)),
])
def test_modules(name, args, kw, shape):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, **kw)
    ours = getattr(gradstep.nn, name)(*args, **kw)
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        assert tuple(p.shape) == tuple(tp.shape)
        p.data = gradstep.tensor(tp.detach().numpy().copy())
    check(lambda L, x: (ours if L is gradstep else theirs)(x), [shape], dtypes=("float32",),
          scale=10)


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_conv_tbc(pad):
    check(lambda L, x, w, b: L.nn.functional.conv_tbc(x, w, b, pad), [(7, 2, 3), (3, 3, 4), (4,)],
          scale=10)
    check(lambda L, x, w, b: L.conv_tbc(x, w, b, pad), [(5, 1, 2), (2, 2, 3), (3,)], scale=10)
    for L in (torch, gradstep):
        with pytest.raises(RuntimeError):
            L.conv_tbc(L.zeros(5, 2, 3), L.zeros(2, 4, 3), L.zeros(3))
