"""nn.utils.rnn (pad/unpad, PackedSequence, pack/pad/unpack) against torch: values, dtype, gradients, errors."""

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


# ---------------------------------------------------------------- PackedSequence and packing
from gradstep.nn.utils.rnn import (  # noqa: E402
    PackedSequence,
    invert_permutation,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    unpack_sequence,
)

TRNN = torch.nn.utils.rnn


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [5, 3, 3, 1]), (False, [3, 5, 1, 3])])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_pack_pad_round_trip_matches_torch(dtype, batch_first, enforce_sorted, lengths,
                                           as_tensor):
    rng = np.random.default_rng(0)
    shape = (4, 6, 2) if batch_first else (6, 4, 2)  # T = 6 > longest length 5
    x = rng.standard_normal(shape).astype(dtype)
    gx, tx = gradstep.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    glen = gradstep.tensor(lengths) if as_tensor else lengths
    tlen = torch.tensor(lengths) if as_tensor else lengths
    gp = pack_padded_sequence(gx, glen, batch_first=batch_first, enforce_sorted=enforce_sorted)
    tp = TRNN.pack_padded_sequence(tx, tlen, batch_first=batch_first,
                                   enforce_sorted=enforce_sorted)
    np.testing.assert_array_equal(gp.data.detach().numpy(), tp.data.detach().numpy())
    assert gp.batch_sizes.dtype == gradstep.int64
    assert gp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    for a, b in ((gp.sorted_indices, tp.sorted_indices), (gp.unsorted_indices,
                                                         tp.unsorted_indices)):
        assert (a is None and b is None) or a.tolist() == b.tolist()
    gpad, gl = pad_packed_sequence(gp, batch_first=batch_first, padding_value=-3.0,
                                   total_length=7)
    tpad, tl = TRNN.pad_packed_sequence(tp, batch_first=batch_first, padding_value=-3.0,
                                        total_length=7)
    np.testing.assert_array_equal(gpad.detach().numpy(), tpad.detach().numpy())  # copies only
    assert gl.dtype == gradstep.int64 and gl.tolist() == tl.tolist()
    w = rng.standard_normal(tuple(tpad.shape)).astype(dtype)
    (gpad * gradstep.tensor(w)).sum().backward()
    (tpad * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(gx.grad.numpy(), tx.grad.numpy())


def test_pack_sequence_unpack_sequence_and_invert_permutation():
    arrays = [np.arange(n * 2, dtype="float32").reshape(n, 2) + n for n in (2, 4, 1)]
    gp = pack_sequence([gradstep.tensor(a) for a in arrays], enforce_sorted=False)
    tp = TRNN.pack_sequence([torch.tensor(a) for a in arrays], enforce_sorted=False)
    np.testing.assert_array_equal(gp.data.numpy(), tp.data.numpy())
    for g, a in zip(unpack_sequence(gp), arrays):
        np.testing.assert_array_equal(g.numpy(), a)
    perm = [2, 0, 3, 1]
    assert invert_permutation(gradstep.tensor(perm)).tolist() == \
        TRNN.invert_permutation(torch.tensor(perm)).tolist()
    assert invert_permutation(None) is None


def test_packed_sequence_methods_and_constructor():
    p = pack_sequence([gradstep.ones(3, 2), gradstep.ones(1, 2)])
    assert isinstance(p, tuple) and p._fields == TRNN.PackedSequence._fields
    assert p.double().data.dtype == gradstep.float64 and p.to(gradstep.float32) is p
    assert p.long().data.dtype == gradstep.int64 and not p.is_cuda
    q = PackedSequence((p.data, p.batch_sizes))  # the (data, batch_sizes) pair form
    assert q.batch_sizes is p.batch_sizes and q.unsorted_indices is None
    r = PackedSequence(p.data, p.batch_sizes, gradstep.tensor([1, 0]))
    assert r.unsorted_indices.tolist() == [1, 0]


def test_pack_errors_like_torch():
    x = gradstep.zeros(3, 2)
    for lengths, msg in (([1, 2], "sorted in decreasing order"), ([0, 0], "greater than 0"),
                         ([1], "equal to batch_size")):
        with pytest.raises(RuntimeError, match=msg):
            pack_padded_sequence(x, lengths)
        with pytest.raises(RuntimeError, match=msg):
            TRNN.pack_padded_sequence(torch.zeros(3, 2), lengths)
    with pytest.raises(ValueError, match="total_length"):
        pad_packed_sequence(pack_padded_sequence(x, [3, 2]), total_length=2)
