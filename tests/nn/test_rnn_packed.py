"""RNN, LSTM and GRU on PackedSequence input against torch: same weights, packed outputs, final
states (taken at each sequence's own last step) and every gradient.

Tolerances: float64 uses the oracle's 1e-10 relative; float32 uses 10x the oracle's 1e-5, since
each output goes through up to T=5 recurrent steps of matmuls and gate nonlinearities in a
different summation order than torch's kernels.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils import rnn as trnn

import gradstep
from gradstep.nn.utils import rnn as grnn
from tests.helpers import assert_close

I, H = 3, 4
LENGTHS = [3, 5, 1, 5, 2]  # unsorted, with a tie
MODES = {
    "lstm": lambda L, **kw: L.nn.LSTM(I, H, **kw),
    "gru": lambda L, **kw: L.nn.GRU(I, H, **kw),
    "rnn_tanh": lambda L, **kw: L.nn.RNN(I, H, **kw),
    "rnn_relu": lambda L, **kw: L.nn.RNN(I, H, nonlinearity="relu", **kw),
    "lstm_proj": lambda L, **kw: L.nn.LSTM(I, H, proj_size=2, **kw),
}


def _pair(mode, dtype, **kw):
    tm = MODES[mode](torch, **kw).to(getattr(torch, dtype))
    gm = MODES[mode](gradstep, **kw).to(getattr(gradstep, dtype))
    gm.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return tm, gm


def _flat(out):
    if isinstance(out, (trnn.PackedSequence, grnn.PackedSequence)):
        return [out.data]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_packed_rnn_matches_torch(dtype, mode, bidirectional, batch_first, with_state):
    tm, gm = _pair(mode, dtype, num_layers=2, bidirectional=bidirectional,
                   batch_first=batch_first)
    rng = np.random.default_rng(0)
    B, T = len(LENGTHS), max(LENGTHS)
    shape = (B, T, I) if batch_first else (T, B, I)
    x = rng.standard_normal(shape).astype(dtype)
    gx, tx = gradstep.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    gp = grnn.pack_padded_sequence(gx, LENGTHS, batch_first=batch_first, enforce_sorted=False)
    tp = trnn.pack_padded_sequence(tx, LENGTHS, batch_first=batch_first, enforce_sorted=False)
    g_args, t_args, leaves = [gp], [tp], [(gx, tx)]
    if with_state:
        D = 2 if bidirectional else 1
        width = 2 if mode == "lstm_proj" else H
        states = [rng.standard_normal((2 * D, B, width)).astype(dtype)]
        if mode.startswith("lstm"):
            states.append(rng.standard_normal((2 * D, B, H)).astype(dtype))
        gs = [gradstep.tensor(s, requires_grad=True) for s in states]
        ts = [torch.tensor(s, requires_grad=True) for s in states]
        leaves += list(zip(gs, ts))
        g_args.append(tuple(gs) if len(gs) == 2 else gs[0])
        t_args.append(tuple(ts) if len(ts) == 2 else ts[0])
    gout, tout = gm(*g_args), tm(*t_args)
    assert isinstance(gout[0], grnn.PackedSequence)
    assert gout[0].batch_sizes.tolist() == tout[0].batch_sizes.tolist()
    assert gout[0].sorted_indices.tolist() == tout[0].sorted_indices.tolist()
    scale = 10 if dtype == "float32" else 1
    outs, touts = _flat(gout), _flat(tout)
    assert len(outs) == len(touts)
    loss, tloss = 0, 0
    for o, to in zip(outs, touts):
        assert_close(o, to, dtype, scale, what="forward")
        w = rng.standard_normal(tuple(to.shape)).astype(dtype)
        loss = loss + (o * gradstep.tensor(w)).sum()
        tloss = tloss + (to * torch.tensor(w)).sum()
    loss.backward()
    tloss.backward()
    for g, t in leaves:
        assert_close(g.grad, t.grad, dtype, scale, what="input grad")
    tparams = dict(tm.named_parameters())
    for name, p in gm.named_parameters():
        assert_close(p.grad, tparams[name].grad, dtype, scale, what=f"grad {name}")


def test_packed_sorted_input_and_padded_output_round_trip():
    tm, gm = _pair("gru", "float64")
    seqs = [np.random.default_rng(i).standard_normal((n, I)) for i, n in enumerate((4, 2, 2))]
    gp = grnn.pack_sequence([gradstep.tensor(s) for s in seqs])
    tp = trnn.pack_sequence([torch.tensor(s) for s in seqs])
    (go, gh), (to, th) = gm(gp), tm(tp)
    assert go.sorted_indices is None and to.sorted_indices is None
    gpad, glen = grnn.pad_packed_sequence(go, batch_first=True)
    tpad, tlen = trnn.pad_packed_sequence(to, batch_first=True)
    assert_close(gpad, tpad, "float64")
    assert_close(gh, th, "float64")
    assert glen.tolist() == tlen.tolist()


def test_packed_wrong_state_batch_raises():
    _, gm = _pair("lstm", "float64")
    gp = grnn.pack_sequence([gradstep.zeros(3, I, dtype=gradstep.float64)] * 2)
    h = gradstep.zeros(1, 3, H, dtype=gradstep.float64)
    with pytest.raises(RuntimeError):
        gm(gp, (h, h))
