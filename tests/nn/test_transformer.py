"""Transformer and its encoder/decoder stacks and layers against torch: names, outputs, grads."""

from __future__ import annotations

import warnings

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


# ---- decoder layer, decoder stack, full Transformer ----
T_LEN = 4  # target length (S = 5 is the source/memory length)


def _compare_many(gm, tm, arrays, dtype, scale, call=None):
    """Feed the same inputs to both; compare output, every input grad and every parameter grad."""
    call = call or {}
    xs = [gradstep.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    gcall = {k: gradstep.tensor(v) if isinstance(v, np.ndarray) else v for k, v in call.items()}
    tcall = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in call.items()}
    out, tout = gm(*xs, **gcall), tm(*ts, **tcall)
    assert_close(out, tout, dtype, scale, what="output")
    w = np.random.default_rng(9).standard_normal(tuple(tout.shape)).astype(dtype)
    (out * gradstep.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert_close(x.grad, t.grad, dtype, scale, what=f"grad of input {i}")
    tparams = dict(tm.named_parameters())
    assert [n for n, _ in gm.named_parameters()] == list(tparams)
    for name, p in gm.named_parameters():
        assert_close(p.grad, tparams[name].grad, dtype, scale, what=f"grad of {name}")


def _dec_masks(kind, dtype):
    rng = np.random.default_rng(6)
    causal = np.triu(np.full((T_LEN, T_LEN), -np.inf), 1).astype(dtype)
    if kind == "causal":  # detected as causal by the decoder stack; passed as is to a layer
        return {"tgt_mask": causal}
    if kind == "causal_bool_hint":
        return {"tgt_mask": np.triu(np.ones((T_LEN, T_LEN), bool), 1), "tgt_is_causal": True}
    if kind == "padding":
        tkpm, mkpm = rng.random((N, T_LEN)) > 0.6, rng.random((N, S)) > 0.6
        tkpm[:, 0] = mkpm[:, 0] = False  # every row keeps one key, so no all -inf softmax
        return {"tgt_mask": causal, "tgt_key_padding_mask": tkpm, "memory_key_padding_mask": mkpm}
    if kind == "float_masks":
        mem = rng.standard_normal((T_LEN, S)).astype(dtype)
        return {"memory_mask": mem, "tgt_key_padding_mask": np.where(
            rng.random((N, T_LEN)) > 0.6, -1e4, 0.0).astype(dtype)}
    return {}


def _activation_pair(kw):
    tkw = dict(kw)
    if kw.get("activation") == "module":
        kw["activation"], tkw["activation"] = nn.GELU(), torch.nn.GELU()
    if kw.get("activation") == "callable":
        kw["activation"] = tkw["activation"] = _softsign
    return kw, tkw


def _softsign(t):
    return t / (1 + t.abs())


def _seq_inputs(batch_first, dtype, seed, lengths=(T_LEN, S)):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((N, n, D) if batch_first else (n, N, D)).astype(dtype)
            for n in lengths]


# float32 scale: the TOL entry (rtol 1e-5, about 80 ulps) covers one layer -- a few length-8/16
# dot products, a softmax, LayerNorms -- with room; rounding grows with depth, forward and back,
# so the scale is 2 per layer (final norms count as a layer). Measured worst error / TOL over 15
# seeded inits: 0.34 (one decoder layer), 0.5 (2-layer decoder stack), 2.2 (2+2 Transformer).
DEC_GRID = [
    dict(),
    dict(batch_first=True),
    dict(norm_first=True),
    dict(activation="gelu", batch_first=True, norm_first=True),
    dict(activation="module"),
    dict(activation="callable"),
    dict(bias=False, layer_norm_eps=1e-3),
    dict(masks="causal"),
    dict(masks="causal_bool_hint", batch_first=True),
    dict(masks="padding"),
    dict(masks="padding", norm_first=True, batch_first=True),
    dict(masks="float_masks"),
]


def _case_id(c):
    return "-".join(f"{k}={v}" for k, v in c.items()) or "plain"


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", DEC_GRID, ids=_case_id)
def test_decoder_layer_matches_torch(case, dtype, mode):
    torch.manual_seed(0)  # torch draws the weights; both models then hold them
    kw, tkw = _activation_pair(dict(case))
    call = _dec_masks(kw.pop("masks", ""), dtype)
    tkw.pop("masks", None)
    tm = torch.nn.TransformerDecoderLayer(D, NHEAD, FF, dropout=0.0, **tkw)
    tm = tm.to(getattr(torch, dtype))
    gm = nn.TransformerDecoderLayer(D, NHEAD, FF, dropout=0.0, **kw).to(getattr(gradstep, dtype))
    assert list(gm.state_dict()) == list(tm.state_dict())
    _load(gm, tm)
    gm.train(mode == "train")
    tm.train(mode == "train")
    arrays = _seq_inputs(kw.get("batch_first", False), dtype, 11)
    _compare_many(gm, tm, arrays, dtype, 2 if dtype == "float32" else 1, call)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("masks", ["", "causal", "padding"])
def test_decoder_stack_matches_torch(masks, dtype):
    torch.manual_seed(1)
    tl = torch.nn.TransformerDecoderLayer(D, NHEAD, FF, dropout=0.0)
    tm = torch.nn.TransformerDecoder(tl, 2, norm=torch.nn.LayerNorm(D)).to(getattr(torch, dtype))
    gl = nn.TransformerDecoderLayer(D, NHEAD, FF, dropout=0.0)
    gm = nn.TransformerDecoder(gl, 2, norm=LayerNorm(D)).to(getattr(gradstep, dtype))
    assert list(gm.state_dict()) == list(tm.state_dict())
    _load(gm, tm)
    _compare_many(gm, tm, _seq_inputs(False, dtype, 12), dtype,
                  4 if dtype == "float32" else 1, _dec_masks(masks, dtype))


TRANSFORMER_GRID = [
    dict(),
    dict(batch_first=True, norm_first=True),
    dict(activation="gelu"),
    dict(activation="callable", batch_first=True),
    dict(masks="all"),
    dict(masks="all", batch_first=True, norm_first=True),
]


def _transformer_masks(dtype):
    rng = np.random.default_rng(7)
    skpm, tkpm = rng.random((N, S)) > 0.6, rng.random((N, T_LEN)) > 0.6
    skpm[:, 0] = tkpm[:, 0] = False
    return {
        "src_mask": rng.random((S, S)) > 0.8,
        "tgt_mask": nn.Transformer.generate_square_subsequent_mask(T_LEN, dtype=getattr(
            gradstep, dtype)).numpy(),
        "memory_mask": rng.standard_normal((T_LEN, S)).astype(dtype),
        "src_key_padding_mask": skpm,
        "tgt_key_padding_mask": tkpm,
        "memory_key_padding_mask": skpm,
    }


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", TRANSFORMER_GRID, ids=_case_id)
def test_transformer_matches_torch(case, dtype, mode):
    torch.manual_seed(2)
    kw, tkw = _activation_pair(dict(case))
    masks = kw.pop("masks", "")
    tkw.pop("masks", None)
    shape = dict(d_model=D, nhead=NHEAD, num_encoder_layers=2, num_decoder_layers=2,
                 dim_feedforward=FF, dropout=0.0)
    tm = torch.nn.Transformer(**shape, **tkw).to(getattr(torch, dtype))
    gm = nn.Transformer(**shape, **kw).to(getattr(gradstep, dtype))
    assert list(gm.state_dict()) == list(tm.state_dict())
    _load(gm, tm)
    gm.train(mode == "train")
    tm.train(mode == "train")
    arrays = _seq_inputs(kw.get("batch_first", False), dtype, 13, lengths=(S, T_LEN))
    call = _transformer_masks(dtype) if masks else {}
    # 2 encoder + 2 decoder layers and the final norms: scale 2 per layer, see DEC_GRID's note
    _compare_many(gm, tm, arrays, dtype, 10 if dtype == "float32" else 1, call)


def test_transformer_square_subsequent_mask_matches_torch():
    for dt in ("float32", "float64"):
        ours = nn.Transformer.generate_square_subsequent_mask(5, dtype=getattr(gradstep, dt))
        theirs = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=getattr(torch, dt))
        assert ours.dtype.name == dt
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert nn.Transformer.generate_square_subsequent_mask(3).dtype is gradstep.float32


def test_transformer_init_and_errors():
    gm = nn.Transformer(d_model=D, nhead=NHEAD, num_encoder_layers=1, num_decoder_layers=1,
                        dim_feedforward=FF)
    tm = torch.nn.Transformer(d_model=D, nhead=NHEAD, num_encoder_layers=1, num_decoder_layers=1,
                              dim_feedforward=FF)
    for (name, p), (tname, tp) in zip(gm.state_dict().items(), tm.state_dict().items()):
        assert name == tname and tuple(p.shape) == tuple(tp.shape)
        if p.dim() > 1:  # xavier-uniform: bound sqrt(6 / (fan_in + fan_out))
            bound = (6.0 / (p.shape[0] + p.shape[1])) ** 0.5
            assert float(p.abs().max()) <= bound
    assert gm.d_model == D and gm.nhead == NHEAD and gm.batch_first is False
    assert gm.decoder.layers[0].dropout.p == 0.1
    src, tgt = gradstep.randn(S, N, D), gradstep.randn(T_LEN, N + 1, D)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        gm(src, tgt)
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal to"):
        gm(src, gradstep.randn(T_LEN, N, D + 2))


def test_custom_encoder_decoder_and_subclass_replacing_decoder():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, NHEAD, FF), 1)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, NHEAD, FF), 1)
    m = nn.Transformer(d_model=D, nhead=NHEAD, custom_encoder=enc, custom_decoder=dec)
    assert m.encoder is enc and m.decoder is dec

    class LM(nn.Transformer):  # the shape of PyTorch's word_language_model TransformerModel
        def __init__(self):
            super().__init__(d_model=D, nhead=NHEAD, dim_feedforward=FF, num_encoder_layers=2)
            self.decoder = nn.Linear(D, 11)

    lm = LM()
    assert isinstance(lm.decoder, nn.Linear)
    assert not any(k.startswith("decoder.layers") for k in lm.state_dict())
    x = gradstep.randn(S, N, D)
    mask = lm.generate_square_subsequent_mask(S)
    assert tuple(lm.decoder(lm.encoder(x, mask=mask)).shape) == (S, N, 11)


def _encoder_pair(batch_first=True, norm=False, nhead=2):
    kw = dict(d_model=8, nhead=nhead, dim_feedforward=16, dropout=0.0, batch_first=batch_first)
    tm = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(**kw), 2,
                                     norm=torch.nn.LayerNorm(8) if norm else None)
    gm = nn.TransformerEncoder(nn.TransformerEncoderLayer(**kw), 2,
                               norm=nn.LayerNorm(8) if norm else None)
    _load(gm, tm)
    return gm, tm


@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("mode", ["eval no_grad", "eval with grad", "train", "not left-aligned"])
def test_encoder_padded_positions_as_torch_fast_path(norm, mode):
    """In eval without autograd torch runs the stack on a nested tensor: padded positions of
    a left-aligned key padding mask come out as zeros (before the final norm)."""
    import warnings

    gm, tm = _encoder_pair(norm=norm)
    x = np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32)
    pad = np.array([[False, False, False, True, True], [False] * 5])
    if mode == "not left-aligned":
        pad = np.array([[False, True, False, False, True], [False] * 5])
    outs = []
    for m, L in ((tm, torch), (gm, gradstep)):
        m.train(mode == "train")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: nested tensors are a prototype
            with L.set_grad_enabled(mode not in ("eval no_grad", "not left-aligned")):
                outs.append(m(L.tensor(x), src_key_padding_mask=L.tensor(pad)).detach().numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-5, atol=1e-5)
    zeroed = not np.abs(outs[1][0, 3:]).sum()
    assert zeroed == (mode == "eval no_grad")  # a fresh final LayerNorm maps zeros to zeros


def test_encoder_warns_when_torch_would_not_use_nested_tensors():
    import warnings

    for kw in (dict(batch_first=False), dict(nhead=1), dict()):
        caught = []
        for L in (torch, gradstep):
            layer = L.nn.TransformerEncoderLayer(8, kw.get("nhead", 2), 16,
                                                 batch_first=kw.get("batch_first", True))
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                L.nn.TransformerEncoder(layer, 1)
            caught.append([str(x.message) for x in w])
        assert caught[1] == caught[0]
        assert bool(caught[0]) == bool(kw)


def _mask_warnings(L, call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(L)
    return [str(w.message) for w in caught if "mismatched" in str(w.message)]


@pytest.mark.parametrize("which", ["encoder", "layer", "mha"])
def test_mismatched_padding_and_attention_mask_dtypes_warn_like_torch(which):
    """A bool key-padding mask with a float attention mask: torch warns once per call."""
    def call(L):
        L.manual_seed(0)
        x = L.zeros(3, 2, 4)
        kpm = L.tensor([[False, False, True], [False, False, False]])
        float_mask = L.zeros(3, 3)
        layer = L.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0)
        if which == "encoder":
            enc = L.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            enc(x, mask=float_mask, src_key_padding_mask=kpm)
        elif which == "layer":
            layer(x, src_mask=float_mask, src_key_padding_mask=kpm)
        else:
            layer.self_attn(x, x, x, key_padding_mask=kpm, attn_mask=float_mask)
        layer(x, src_mask=float_mask, src_key_padding_mask=kpm.float())  # same types: quiet

    ours, theirs = _mask_warnings(gradstep, call), _mask_warnings(torch, call)
    assert ours == theirs and len(ours) == 1
