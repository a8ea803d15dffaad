"""nn.utils.rnn.pad_sequence / unpad_sequence against torch: values, dtype, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.nn.utils.rnn import pad_sequence, unpad_sequence

LENGTHS = (3, 5, 1)


def _seqs(dtype, trail=(2,)):
    rng = np.random.default_rng(0)
    return [rng.standard_normal((n, *trail)).astype(dtype) for n in LENGTHS]


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pad_sequence_matches_torch(dtype, batch_first, side):
    arrays = _seqs(dtype)
    ours = [gradstep.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = pad_sequence(ours, batch_first=batch_first, padding_value=-2.5, padding_side=side)
    tout = torch.nn.utils.rnn.pad_sequence(theirs, batch_first=batch_first, padding_value=-2.5,
                                           padding_side=side)
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())  # copies only
    w = np.random.default_rng(1).standard_normal(tuple(tout.shape)).astype(dtype)
    (out * gradstep.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for g, t in zip(ours, theirs):
        np.testing.assert_array_equal(g.grad.numpy(), t.grad.numpy())


def test_pad_sequence_dtype_trailing_dims_and_unpad():
    a = [np.arange(n * 6).reshape(n, 2, 3) for n in LENGTHS]
    out = pad_sequence([gradstep.tensor(x) for x in a], padding_value=-1.5)
    tout = torch.nn.utils.rnn.pad_sequence([torch.tensor(x) for x in a], padding_value=-1.5)
    assert out.dtype is gradstep.int64  # -1.5 becomes -1 in an integer result, as in torch
    np.testing.assert_array_equal(out.numpy(), tout.numpy())
    mixed = pad_sequence([gradstep.ones(2), gradstep.ones(3, dtype=gradstep.float64)])
    assert mixed.dtype is gradstep.float32  # the first sequence's dtype
    lengths = gradstep.tensor(list(LENGTHS))
    back = unpad_sequence(out, lengths)
    tback = torch.nn.utils.rnn.unpad_sequence(tout, torch.tensor(list(LENGTHS)))
    for b, t in zip(back, tback):
        np.testing.assert_array_equal(b.numpy(), t.numpy())
    bf = unpad_sequence(pad_sequence([gradstep.tensor(x) for x in a], batch_first=True), lengths,
                        batch_first=True)
    assert [tuple(x.shape) for x in bf] == [tuple(x.shape) for x in tback]


def test_pad_sequence_errors():
    with pytest.raises(RuntimeError, match="empty list of sequences"):
        pad_sequence([])
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor"):
        pad_sequence([gradstep.ones(2, 3), gradstep.ones(2, 4)])
    with pytest.raises(RuntimeError, match="padding_side to be one of left or right"):
        pad_sequence([gradstep.ones(2)], padding_side="middle")
    with pytest.raises(RuntimeError, match="Expected iterable"):
        pad_sequence(3)
