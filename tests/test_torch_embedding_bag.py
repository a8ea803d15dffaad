"""``torch.embedding_bag`` (ATen's form, a 4-tuple) against torch: the output and its gradients
(to the weight and to per-sample weights), and offset2bag, bag_size and max_indices with
their dtypes, over modes, padding, include_last_offset, weight and index dtypes; the errors.

Tolerance: an output element is a sum (or mean) of at most 6 weight products, each rounded
once; 8 ulps of the largest magnitude bounds the difference in summation order."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import gradstep

IDX = [1, 2, 4, 5, 4, 3, 2, 9, 2, 2, 7]
OFFSETS = [0, 4, 4, 8]


def _run(lib, w, idx, offs, mode, psw, include_last, pad, index_dtype, offset_dtype):
    weight = lib.tensor(w, requires_grad=True)
    weights = None if psw is None else lib.tensor(psw, requires_grad=True)
    out = lib.embedding_bag(weight, lib.tensor(idx, dtype=getattr(lib, index_dtype)),
                            lib.tensor(offs, dtype=getattr(lib, offset_dtype)), False, mode,
                            False, weights, include_last, pad)
    g = np.random.default_rng(3).standard_normal(tuple(out[0].shape)).astype(w.dtype)
    (out[0] * lib.tensor(g)).sum().backward()
    return out, weight.grad, None if weights is None else weights.grad


def _close(a, b, dtype):
    a, b = a.detach().numpy(), b.detach().numpy()
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    tol = 8 * np.finfo(dtype).eps * max(1.0, float(np.abs(b).max()) if b.size else 1.0)
    np.testing.assert_allclose(a, b, rtol=0, atol=tol)


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("pad", [None, 2, -1])
@pytest.mark.parametrize("include_last", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("index_dtypes", [("int64", "int64"), ("int32", "int32"),
                                          ("int32", "int64")])
def test_matches_torch(mode, pad, include_last, dtype, index_dtypes):
    w = np.random.default_rng(0).standard_normal((10, 3)).astype(dtype)
    psw = None
    if mode == 0 and pad is None:
        psw = np.random.default_rng(1).uniform(0.5, 2, len(IDX)).astype(dtype)
    offsets = OFFSETS + [len(IDX)] if include_last else OFFSETS  # the last offset ends the last bag
    args = (w, IDX, offsets, mode, psw, include_last, pad) + index_dtypes
    theirs, their_grad, their_psw_grad = _run(torch, *args)
    ours, our_grad, our_psw_grad = _run(gradstep, *args)
    assert len(ours) == len(theirs) == 4
    _close(ours[0], theirs[0], dtype)
    for a, b in zip(ours[1:], theirs[1:]):
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    _close(our_grad, their_grad, dtype)
    if psw is not None:
        _close(our_psw_grad, their_psw_grad, dtype)


@pytest.mark.parametrize("call", [
    lambda lib, w: lib.embedding_bag(w, lib.tensor(IDX), lib.tensor(OFFSETS), False, 3),
    lambda lib, w: lib.embedding_bag(w, lib.tensor(IDX), lib.tensor(OFFSETS), False, 1, False,
                                     lib.ones(len(IDX))),
    lambda lib, w: lib.embedding_bag(w, lib.tensor(IDX), lib.tensor(OFFSETS).view(2, 2),
                                     False, 1),
    lambda lib, w: lib.embedding_bag(w, lib.tensor(IDX).float(), lib.tensor(OFFSETS), False, 1),
    lambda lib, w: lib.embedding_bag(w, lib.tensor(IDX) + 5, lib.tensor(OFFSETS), False, 1),
    lambda lib, w: lib.embedding_bag(w, lib.tensor(IDX), lib.tensor([2, 4]), False, 1),
    lambda lib, w: lib.embedding_bag(w, lib.tensor(IDX), lib.tensor(OFFSETS), False, 1, False,
                                     None, False, 10),
    lambda lib, w: lib.embedding_bag(w, lib.tensor(IDX), lib.tensor(OFFSETS), False, "sum"),
], ids=["mode", "psw_mean", "offsets_2d", "float_indices", "out_of_range", "offsets_start",
        "padding_range", "mode_str"])
def test_errors_match_torch(call):
    w = np.ones((10, 3), "float32")
    with pytest.raises(Exception) as theirs:
        call(torch, torch.tensor(w))
    with pytest.raises(Exception) as ours:
        call(gradstep, gradstep.tensor(w))
    assert type(ours.value).__name__ == type(theirs.value).__name__
    a, b = str(ours.value).splitlines()[0], str(theirs.value).splitlines()[0]
    if a.startswith("Index "):  # torch's kernel names whichever bad index its loop meets
        a, b = (re.sub(r"Index \d+ of input takes value \d+", "", m) for m in (a, b))
    assert a == b  # (torch's message may go on with a printed tensor: its first line)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_sum_bookkeeping_shape_follows_torchs_kernel(requires_grad):
    """torch's forward-only kernel (no gradient recorded) keeps one bag_size entry per offset,
    the include_last_offset one too; the recording kernel one per bag."""
    w = np.ones((10, 3), "float32")
    offsets = OFFSETS + [len(IDX)]
    outs = [lib.embedding_bag(lib.tensor(w, requires_grad=requires_grad), lib.tensor(IDX),
                              lib.tensor(offsets), False, 0, False, None, True)
            for lib in (torch, gradstep)]
    for theirs, ours in zip(outs[0][1:], outs[1][1:]):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert ours.shape[0] == theirs.shape[0]
