"""Convolutions where an inf or NaN meets a zero, against torch's native kernels.

torch's native CPU kernels (the float64 ones here, and float32 where it does not pick
oneDNN) treat the zeros two ways: im2col multiplies the padding, so a convolution's output
and a transposed convolution's input and weight gradients are NaN where an inf weight (or
input) meets it; col2im adds only the taps that reach a pixel, so a convolution's input
gradient and a transposed convolution's output never see the zeros around them. gradstep's
stride-1 shortcuts (``conv_shifts``) multiply such zeros and so take col2im's path for a
non-finite weight. Found by tests/nn/test_functional_differential.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.ops.fuzz_ops import disagreement


def _weight(shape, dt, seed=0):
    """Random values with an inf at the first tap of the first channel pair and a NaN at
    the last tap of the last: corner taps, which reach the zeros at one side only."""
    w = np.random.default_rng(seed).standard_normal(shape).astype(dt)
    w.flat[0], w.flat[-1] = np.inf, np.nan
    return w


def _input(shape, dt, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(dt)


# (input shape, weight shape, kwargs): every stride-1 layout of the input gradient
# (channels first, batch innermost for small images, channels-last grid for 16+ channels),
# strided and dilated ones, groups, 'same' padding, 1-D and 3-D
CONVS = [
    ((2, 3, 8, 8), (4, 3, 3, 3), dict(padding=1)),  # channels first
    ((2, 3, 3, 3), (4, 3, 3, 3), dict(padding=1)),  # batch innermost
    ((2, 16, 8, 8), (4, 16, 3, 3), dict(padding=1)),  # channels-last grid
    ((2, 16, 8, 8), (4, 16, 3, 3), dict(padding="same", dilation=2)),
    ((2, 4, 5, 6), (4, 2, 2, 3), dict(padding=(1, 0), groups=2)),
    ((2, 3, 7, 6), (4, 3, 3, 2), dict(stride=2, padding=1)),
    ((1, 3, 4, 4), (2, 3, 3, 3), dict(padding=0)),  # no padding: the grid's own zeros
    ((2, 3, 9), (4, 3, 3), dict(padding=2, dilation=2)),
    ((2, 2, 3, 4, 3), (2, 2, 2, 3, 2), dict(padding=(0, 1, 1))),
]


@pytest.mark.parametrize("x_shape,w_shape,kw", CONVS)
def test_conv_with_nonfinite_weight_matches_torch(x_shape, w_shape, kw):
    x, w = _input(x_shape, "float64"), _weight(w_shape, "float64")
    nd = len(x_shape) - 2
    n = int(np.prod(w_shape[1:])) + 1
    assert disagreement(lambda L, a, b: getattr(L.nn.functional, f"conv{nd}d")(a, b, **kw),
                        x, w, tol="mm", n=n) is None


def test_conv_float32_native_kernel_with_nonfinite_weight_matches_torch():
    # a batch of one, one group, a 3x3 kernel: torch's native float32 kernel, not oneDNN
    x, w = _input((1, 16, 6, 6), "float32"), _weight((4, 16, 3, 3), "float32")
    backend = torch._C._select_conv_backend(torch.tensor(x), torch.tensor(w), None, [1, 1],
                                            [1, 1], [1, 1], False, [0, 0], 1, None)
    assert str(backend).endswith("Slow2d")
    assert disagreement(lambda L, a, b: L.nn.functional.conv2d(a, b, padding=1), x, w,
                        tol="mm", n=16 * 9 + 1) is None


TRANSPOSED = [
    ((2, 4, 3, 3), (4, 3, 3, 3), dict(padding=1)),
    ((2, 4, 3, 3), (4, 3, 3, 3), dict(padding=0, dilation=2)),
    ((2, 4, 3, 2), (4, 1, 2, 3), dict(padding=(1, 0), groups=2, output_padding=(0, 1),
                                      dilation=(1, 2))),
    ((2, 4, 3, 3), (4, 3, 2, 2), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 4), (4, 2, 3), dict(padding=1, dilation=2)),
    ((2, 2, 2, 3, 2), (2, 3, 2, 2, 3), dict(padding=(1, 0, 1))),
    ((1, 2, 2, 2, 2), (2, 1, 3, 2, 2), dict(stride=(2, 1, 1), padding=1, output_padding=(1, 0, 0))),
]


@pytest.mark.parametrize("x_shape,w_shape,kw", TRANSPOSED)
@pytest.mark.parametrize("nonfinite", ["weight", "input"])
def test_conv_transpose_with_nonfinite_values_matches_torch(x_shape, w_shape, kw, nonfinite):
    x, w = _input(x_shape, "float64"), _weight(w_shape, "float64")
    if nonfinite == "input":  # an inf input meets the output gradient's padding
        x, w = _weight(x_shape, "float64"), _input(w_shape, "float64")
    nd = len(x_shape) - 2
    n = x_shape[1] * int(np.prod(w_shape[2:])) + 1
    assert disagreement(lambda L, a, b: getattr(L.nn.functional, f"conv_transpose{nd}d")(
        a, b, **kw), x, w, tol="mm", n=n) is None


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("big_output_padding", [False, True])
@pytest.mark.parametrize("batch", [1, 2])
def test_conv_transpose_empty_output_follows_torchs_kernel_choice(nd, big_output_padding,
                                                                   batch):
    # an output size of 0 is accepted by oneDNN only (float32; a batch of 2 picks it), and
    # torch does not pick oneDNN for an output padding as large as the stride: it raises
    x = _input((batch, 2) + (1,) * nd, "float32")
    w = _input((2, 2) + (1,) * (nd - 1) + (2,), "float32")
    op, dil, pad = (1, 2, 2) if big_output_padding else (0, 1, 1)  # last dim's output size 0
    rest = (0,) * (nd - 1)
    kw = dict(stride=1, padding=rest + (pad,), output_padding=rest + (op,),
              dilation=(1,) * (nd - 1) + (dil,))
    size = None
    try:
        size = getattr(torch.nn.functional, f"conv_transpose{nd}d")(
            torch.tensor(x), torch.tensor(w), **kw).shape
    except RuntimeError:
        pass
    assert (size is not None) == (batch == 2 and not big_output_padding)  # the case
    assert size is None or size[-1] == 0
    assert disagreement(lambda L, a, b: getattr(L.nn.functional, f"conv_transpose{nd}d")(
        a, b, **kw), x, w, tol="mm", n=8) is None
