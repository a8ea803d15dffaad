"""RNN, LSTM, GRU and their cells against torch: same weights, outputs, states and every gradient."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

import gradstep
from gradstep import nn
from gradstep.autograd import gradcheck
from tests.helpers import assert_close
from tests.nn.bad_input import assert_same_outcome, rand

T, N, I, H = 4, 3, 5, 6

KINDS = {
    "rnn_tanh": (lambda L, **kw: L.nn.RNN(I, H, **kw)),
    "rnn_relu": (lambda L, **kw: L.nn.RNN(I, H, nonlinearity="relu", **kw)),
    "lstm": (lambda L, **kw: L.nn.LSTM(I, H, **kw)),
    "gru": (lambda L, **kw: L.nn.GRU(I, H, **kw)),
    "lstm_proj": (lambda L, **kw: L.nn.LSTM(I, H, proj_size=P, **kw)),
}
P = 4  # LSTM projection size


def _pair(kind, dtype, **kw):
    """A torch module and a gradstep one holding the same weights (copied through state_dict)."""
    tm = KINDS[kind](torch, **kw).to(getattr(torch, dtype))
    gm = KINDS[kind](gradstep, **kw).to(getattr(gradstep, dtype))
    state = {k: gradstep.tensor(v.numpy()) for k, v in tm.state_dict().items()}
    gm.load_state_dict(state)
    return tm, gm


def _both(arr):
    return gradstep.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _compare(gm, tm, g_args, t_args, dtype):
    """Run both, compare every output, then backprop a random weighting and compare all grads."""
    outs, touts = _flat(gm(*g_args)), _flat(tm(*t_args))
    assert len(outs) == len(touts)
    scale = 10 if dtype == "float32" else 1
    for o, to in zip(outs, touts):
        assert_close(o, to, dtype, scale, what="forward")
    rng = np.random.default_rng(7)
    loss, tloss = 0, 0
    for o, to in zip(outs, touts):
        w = rng.standard_normal(tuple(to.shape)).astype(dtype)
        loss = loss + (o * gradstep.tensor(w)).sum()
        tloss = tloss + (to * torch.tensor(w)).sum()
    loss.backward()
    tloss.backward()
    for x, tx in zip(_flat(g_args), _flat(t_args)):
        assert_close(x.grad, tx.grad, dtype, scale, what="input grad")
    tparams = dict(tm.named_parameters())
    for name, p in gm.named_parameters():
        assert_close(p.grad, tparams[name].grad, dtype, scale, what=f"grad of {name}")


pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")

GRID = list(itertools.product(KINDS, (1, 2), (False, True), (False, True), (False, True)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind,layers,batch_first,bidir,init", GRID)
def test_matches_torch(kind, layers, batch_first, bidir, init, dtype):
    tm, gm = _pair(kind, dtype, num_layers=layers, batch_first=batch_first, bidirectional=bidir)
    rng = np.random.default_rng(0)
    shape = (N, T, I) if batch_first else (T, N, I)
    x, tx = _both(rng.standard_normal(shape).astype(dtype))
    g_args, t_args = [x], [tx]
    if init:
        D = layers * (2 if bidir else 1)
        h, th = _both(rng.standard_normal((D, N, P if kind == "lstm_proj" else H)).astype(dtype))
        if kind.startswith("lstm"):
            c, tc = _both(rng.standard_normal((D, N, H)).astype(dtype))
            g_args.append((h, c))
            t_args.append((th, tc))
        else:
            g_args.append(h)
            t_args.append(th)
    _compare(gm, tm, g_args, t_args, dtype)


@pytest.mark.parametrize("kind", list(KINDS))
def test_unbatched_and_no_bias(kind):
    tm, gm = _pair(kind, "float64", bias=False, bidirectional=True)
    x, tx = _both(np.random.default_rng(1).standard_normal((T, I)))
    _compare(gm, tm, [x], [tx], "float64")
    assert "bias_ih_l0" not in dict(gm.named_parameters())


def test_state_dict_keys_and_shapes_match_torch():
    tm = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True)
    gm = nn.LSTM(I, H, num_layers=2, bidirectional=True)
    tsd, gsd = tm.state_dict(), gm.state_dict()
    assert list(gsd) == list(tsd)
    for k in tsd:
        assert tuple(gsd[k].shape) == tuple(tsd[k].shape), k
    assert repr(gm) == repr(tm)
    tp, gp = torch.nn.LSTM(I, H, proj_size=P, bidirectional=True), nn.LSTM(I, H, proj_size=P, bidirectional=True)
    assert list(gp.state_dict()) == list(tp.state_dict())
    assert [tuple(v.shape) for v in gp.state_dict().values()] == [tuple(v.shape) for v in tp.state_dict().values()]
    assert repr(gp) == repr(tp)
    assert repr(nn.RNN(3, 4, 2, "relu", batch_first=True)) == repr(torch.nn.RNN(3, 4, 2, "relu", batch_first=True))


def test_init_is_uniform_with_torch_bound():
    gm = nn.GRU(64, 400)
    bound = 1 / np.sqrt(400)
    w = gm.weight_hh_l0.detach().numpy()
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert abs(w.mean()) < 0.01 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound


def test_dropout_between_layers():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm, gm = _pair("lstm", "float64", num_layers=2, dropout=0.5)
    x = np.random.default_rng(2).standard_normal((T, N, I))
    gm.eval()
    tm.eval()
    out = gm(gradstep.tensor(x))[0]
    assert_close(out, tm(torch.tensor(x))[0], "float64")
    gm.train()
    gradstep.manual_seed(0)
    out_train = gm(gradstep.tensor(x))[0]
    assert not np.allclose(out_train.detach().numpy(), out.detach().numpy())  # the mask changed layer 2's input
    gm0 = nn.LSTM(I, H, num_layers=1)
    with pytest.warns(UserWarning, match="dropout"):
        nn.LSTM(I, H, num_layers=1, dropout=0.3)
    assert gm0.dropout == 0.0


def test_double_precision_gradcheck():
    gm = nn.GRU(2, 3, bidirectional=True).double()
    x = gradstep.randn(3, 2, 2, dtype=gradstep.float64, requires_grad=True)
    h = gradstep.randn(2, 2, 3, dtype=gradstep.float64, requires_grad=True)
    assert gradcheck(lambda x, h: gm(x, h), (x, h))
    lstm = nn.LSTM(2, 3).double()
    c = gradstep.randn(1, 2, 3, dtype=gradstep.float64, requires_grad=True)
    h1 = gradstep.randn(1, 2, 3, dtype=gradstep.float64, requires_grad=True)
    assert gradcheck(lambda x, h, c: (lambda o: (o[0], o[1][0], o[1][1]))(lstm(x, (h, c))), (x, h1, c))
    proj = nn.LSTM(2, 3, proj_size=2).double()
    assert gradcheck(lambda x: (lambda o: (o[0], o[1][0], o[1][1]))(proj(x)), (x,))


def test_bad_input_messages():
    gm = nn.LSTM(I, H, num_layers=2)
    with pytest.raises(RuntimeError, match="Expected 5, got 4"):
        gm(gradstep.randn(T, N, 4))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(2, 3, 6\), got \[1, 3, 6\]"):
        gm(gradstep.randn(T, N, I), (gradstep.zeros(1, N, H), gradstep.zeros(2, N, H)))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D"):
        gm(gradstep.randn(I))
    with pytest.raises(ValueError, match="does not match weight dtype"):
        gm(gradstep.randn(T, N, I, dtype=gradstep.float64))
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        nn.RNN(I, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="smaller than hidden_size"):
        nn.LSTM(I, H, proj_size=H)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.GRU(I, H, proj_size=2)
    with pytest.raises(ValueError, match="dropout should be a number"):
        nn.GRU(I, H, dropout=1.5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(name, dtype):
    tm = getattr(torch.nn, name)(I, H).to(getattr(torch, dtype))
    gm = getattr(nn, name)(I, H).to(getattr(gradstep, dtype))
    gm.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(3)
    x, tx = _both(rng.standard_normal((N, I)).astype(dtype))
    h, th = _both(rng.standard_normal((N, H)).astype(dtype))
    if name == "LSTMCell":
        c, tc = _both(rng.standard_normal((N, H)).astype(dtype))
        _compare(gm, tm, [x, (h, c)], [tx, (th, tc)], dtype)
    else:
        _compare(gm, tm, [x, h], [tx, th], dtype)
    # unbatched, default state
    x1, tx1 = _both(rng.standard_normal(I).astype(dtype))
    gm.zero_grad()
    tm.zero_grad()
    _compare(gm, tm, [x1], [tx1], dtype)


def test_relu_cell_and_double_backward_through_cell():
    tm = torch.nn.RNNCell(I, H, nonlinearity="relu").double()
    gm = nn.RNNCell(I, H, nonlinearity="relu").double()
    gm.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x, tx = _both(np.random.default_rng(4).standard_normal((N, I)))
    _compare(gm, tm, [x], [tx], "float64")
    cell = nn.GRUCell(2, 3).double()
    x = gradstep.randn(2, 2, dtype=gradstep.float64, requires_grad=True)
    (g,) = gradstep.autograd.grad(cell(x).pow(2).sum(), x, create_graph=True)
    g.sum().backward()  # second order works through the Tensor-op cells
    assert x.grad is not None


def test_double_backward_through_fused_layer_raises():
    gm = nn.LSTM(2, 3).double()
    x = gradstep.randn(3, 1, 2, dtype=gradstep.float64, requires_grad=True)
    (gx,) = gradstep.autograd.grad(gm(x)[0].pow(2).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="no double backward"):
        gx.sum().backward()


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_an_empty_batch_runs_as_in_torch(mode, batch_first):
    def build(L):
        L.manual_seed(0)
        x = rand(L, (0, 2, 4) if batch_first else (2, 0, 4))
        return getattr(L.nn, mode)(4, 3, batch_first=batch_first)(x)
    assert_same_outcome(build)
