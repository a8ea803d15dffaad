"""TransformerEncoderLayer / TransformerEncoder against torch: state_dict names, outputs, all gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep import nn
from gradstep.nn.modules.normalization import LayerNorm
from tests.helpers import assert_close

D, NHEAD, FF, S, N = 8, 2, 16, 5, 3


def _load(gm, tm):
    gm.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tm.state_dict().items()})


def _layer_pair(dtype, **kw):
    tkw = dict(kw)
    if tkw.get("activation") == "module":
        kw["activation"], tkw["activation"] = nn.GELU(), torch.nn.GELU()
    tm = torch.nn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.0, **tkw).to(getattr(torch, dtype))
    gm = nn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.0, **kw).to(getattr(gradstep, dtype))
    _load(gm, tm)
    return tm, gm


def _compare(gm, tm, x_arr, dtype, **call):
    x, tx = gradstep.tensor(x_arr, requires_grad=True), torch.tensor(x_arr, requires_grad=True)
    gcall = {k: gradstep.tensor(v) for k, v in call.items() if isinstance(v, np.ndarray)}
    tcall = {k: torch.tensor(v) for k, v in call.items() if isinstance(v, np.ndarray)}
    for k, v in call.items():
        if not isinstance(v, np.ndarray):
            gcall[k] = tcall[k] = v
    out, tout = gm(x, **gcall), tm(tx, **tcall)
    scale = 20 if dtype == "float32" else 1
    assert_close(out, tout, dtype, scale, what="output")
    w = np.random.default_rng(9).standard_normal(tuple(tout.shape)).astype(dtype)
    (out * gradstep.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    assert_close(x.grad, tx.grad, dtype, scale, what="input grad")
    tparams = dict(tm.named_parameters())
    names = [n for n, _ in gm.named_parameters()]
    assert names == list(tparams)
    for name, p in gm.named_parameters():
        assert_close(p.grad, tparams[name].grad, dtype, scale, what=f"grad of {name}")


def _mask(kind, dtype):
    rng = np.random.default_rng(4)
    if kind == "causal_float":
        return {"src_mask": np.triu(np.full((S, S), -np.inf), 1).astype(dtype), "is_causal": True}
    if kind == "bool":
        return {"src_mask": rng.random((S, S)) > 0.7}
    if kind == "kpm":
        kpm = rng.random((N, S)) > 0.6
        kpm[:, 0] = False
        return {"src_key_padding_mask": kpm}
    return {}


LAYER_GRID = [
    dict(),
    dict(batch_first=True),
    dict(norm_first=True),
    dict(activation="gelu", norm_first=True, batch_first=True),
    dict(activation="module"),
    dict(bias=False, layer_norm_eps=1e-3),
    dict(masks="causal_float"),
    dict(masks="bool", batch_first=True),
    dict(masks="kpm"),
    dict(masks="kpm", norm_first=True, batch_first=True),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", LAYER_GRID, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()) or "plain")
def test_encoder_layer_matches_torch(case, dtype):
    case = dict(case)
    call = _mask(case.pop("masks", ""), dtype)
    tm, gm = _layer_pair(dtype, **case)
    shape = (N, S, D) if case.get("batch_first") else (S, N, D)
    _compare(gm, tm, np.random.default_rng(1).standard_normal(shape).astype(dtype), dtype, **call)


def test_encoder_layer_unbatched_and_callable_activation():
    def act(t):
        return t.tanh()

    tm = torch.nn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.0, activation=act).double()
    gm = nn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.0, activation=act).double()
    _load(gm, tm)
    _compare(gm, tm, np.random.default_rng(2).standard_normal((S, D)), "float64")


@pytest.mark.parametrize("norm", [False, True])
def test_encoder_stack_matches_torch(norm):
    tl = torch.nn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.0, batch_first=True)
    tm = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(D) if norm else None,
                                     enable_nested_tensor=False).double()
    gl = nn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.0, batch_first=True)
    gm = nn.TransformerEncoder(gl, 2, norm=LayerNorm(D) if norm else None).double()
    assert list(gm.state_dict()) == list(tm.state_dict())
    _load(gm, tm)
    x = np.random.default_rng(3).standard_normal((N, S, D))
    mask = np.triu(np.full((S, S), -np.inf), 1)  # detected as causal, like torch
    _compare(gm, tm, x, "float64", mask=mask)
    gm.zero_grad()
    tm.zero_grad()
    _compare(gm, tm, x, "float64", **{"src_key_padding_mask": _mask("kpm", "float64")["src_key_padding_mask"]})


def test_state_dict_keys_match_torch_and_layers_are_independent_copies():
    tm = torch.nn.TransformerEncoderLayer(D, NHEAD)
    gm = nn.TransformerEncoderLayer(D, NHEAD)
    tsd, gsd = tm.state_dict(), gm.state_dict()
    assert list(gsd) == list(tsd)
    for k, v in tsd.items():
        assert tuple(gsd[k].shape) == tuple(v.shape), k
    enc = nn.TransformerEncoder(gm, 2)
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    assert enc.layers[0].linear1.weight is not gm.linear1.weight
    assert gm.dropout.p == 0.1 and gm.self_attn.dropout == 0.1


def test_dropout_eval_is_identity_and_train_is_not():
    tm = torch.nn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.5).double()
    gm = nn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.5).double()
    _load(gm, tm)
    x = np.random.default_rng(5).standard_normal((S, N, D))
    gm.eval()
    tm.eval()
    with torch.no_grad():
        tout = tm(torch.tensor(x))
    out = gm(gradstep.tensor(x))
    assert_close(out, tout, "float64")
    gm.train()
    assert not np.allclose(gm(gradstep.tensor(x)).detach().numpy(), out.detach().numpy())


def test_bad_activation():
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(D, NHEAD, activation="tanh")
