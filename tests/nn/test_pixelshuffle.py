"""pixel_shuffle / pixel_unshuffle / channel_shuffle and their modules against torch.

Pure permutations: values and gradients must match exactly (helpers.TOL is far looser).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check


@pytest.mark.parametrize("shape,r", [((1, 8, 3, 2), 2), ((2, 3, 9, 2, 4), 3), ((4, 1, 1), 2),
                                     ((0, 4, 2, 2), 2)])
def test_pixel_shuffle_roundtrip(shape, r):
    grad = 0 not in shape  # torch's PixelShuffleBackward rejects its own empty-batch gradient
    check(lambda L, x: L.nn.functional.pixel_shuffle(x, r), [shape] if shape[-3] % (r * r) == 0
          else [shape[:-3] + (shape[-3] * r * r,) + shape[-2:]], grad=grad)
    h, w = shape[-2] * r, shape[-1] * r
    check(lambda L, x: L.nn.functional.pixel_unshuffle(x, r), [shape[:-2] + (h, w)], grad=grad)


@pytest.mark.parametrize("shape,g", [((2, 6, 3), 2), ((1, 6, 2, 2), 3), ((2, 4, 1, 2, 3), 4)])
def test_channel_shuffle(shape, g):
    check(lambda L, x: L.nn.functional.channel_shuffle(x, g), [shape])
    check(lambda L, x: L.nn.functional.native_channel_shuffle(x, g), [shape], grad=False)


@pytest.mark.parametrize("call", [
    lambda L, x: L.nn.functional.pixel_shuffle(x[0, 0], 2),
    lambda L, x: L.nn.functional.pixel_shuffle(x[:, :3], 2),
    lambda L, x: L.nn.functional.pixel_shuffle(x, 0),
    lambda L, x: L.nn.functional.pixel_unshuffle(x[..., :3, :], 2),
    lambda L, x: L.nn.functional.pixel_unshuffle(x[..., :3], 2),
    lambda L, x: L.nn.functional.pixel_unshuffle(x, -1),
    lambda L, x: L.nn.functional.channel_shuffle(x, 3),
    lambda L, x: L.nn.functional.channel_shuffle(x, 0),
    lambda L, x: L.nn.functional.channel_shuffle(x[0, 0], 2),
])
def test_errors(call):
    x = np.zeros((1, 4, 4, 4), np.float32)
    with pytest.raises(RuntimeError) as theirs:
        call(torch, torch.tensor(x))
    with pytest.raises(RuntimeError, match=str(theirs.value).split(",")[0][:40]):
        call(gradstep, gradstep.tensor(x))


@pytest.mark.parametrize("name,arg", [("PixelShuffle", 2), ("PixelUnshuffle", 2),
                                      ("ChannelShuffle", 2)])
def test_modules(name, arg):
    ours, theirs = getattr(gradstep.nn, name)(arg), getattr(torch.nn, name)(arg)
    assert repr(ours) == repr(theirs)
    check(lambda L, x: (ours if L is gradstep else theirs)(x), [(2, 8, 4, 6)])
