"""scaled_dot_product_attention and MultiheadAttention against torch (values and all gradients)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradstep
from gradstep import nn
from gradstep.nn import functional as F
from tests.helpers import assert_close, check
from tests.nn.bad_input import assert_same_outcome, rand

RNG = np.random.default_rng(0)
MASK_LS = RNG.random((4, 6)) > 0.4
MASK_LS[1] = False  # a query that may attend to nothing: torch gives a zero row
QKV = [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)]


def _sdpa(L, *args, **kw):
    fn = F.scaled_dot_product_attention if L is gradstep else TF.scaled_dot_product_attention
    return fn(*args, **kw)


@pytest.mark.parametrize("kw", [
    {}, {"is_causal": True}, {"scale": 0.3},
    {"mask": "bool"}, {"mask": "bool", "scale": 2.0},
], ids=["plain", "causal", "scale", "bool_mask", "bool_mask_scale"])
def test_sdpa_matches_torch(kw):
    kw = dict(kw)
    if kw.pop("mask", None):
        def fn(L, q, k, v):
            return _sdpa(L, q, k, v, attn_mask=L.tensor(MASK_LS), **kw)
    else:
        def fn(L, q, k, v):
            return _sdpa(L, q, k, v, **kw)
    check(fn, QKV, scale=10)


def test_sdpa_float_mask_gets_a_gradient_and_broadcasts():
    check(lambda L, q, k, v, m: _sdpa(L, q, k, v, attn_mask=m), QKV + [(3, 4, 6)], scale=10)
    check(lambda L, q, k, v, m: _sdpa(L, q, k, v, attn_mask=m), [(4, 5), (6, 5), (6, 3), (4, 6)])


def test_sdpa_causal_with_more_queries_than_keys_and_gqa():
    check(lambda L, q, k, v: _sdpa(L, q, k, v, is_causal=True), [(2, 6, 3), (2, 4, 3), (2, 4, 2)])
    check(lambda L, q, k, v: _sdpa(L, q, k, v, enable_gqa=True), [(2, 4, 3, 5), (2, 2, 6, 5), (2, 2, 6, 5)])


def test_sdpa_dropout_drops_and_rescales_weights():
    q = gradstep.randn(2, 8, 4, dtype=gradstep.float64)
    k = gradstep.randn(2, 10, 4, dtype=gradstep.float64)
    v = gradstep.eye(10, dtype=gradstep.float64).expand(2, 10, 10)  # output = the weights
    ref = F.scaled_dot_product_attention(q, k, v).numpy()
    gradstep.manual_seed(3)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25).numpy()
    kept = out != 0
    assert 0.6 < kept.mean() < 0.9
    np.testing.assert_allclose(out[kept], ref[kept] / 0.75, rtol=1e-12)


def test_sdpa_errors():
    q, k, v = (gradstep.randn(*s) for s in QKV)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(RuntimeError, match=r"query \[2, 3, 4, 5\] and key \[2, 3, 6, 4\]"):
        F.scaled_dot_product_attention(q, gradstep.randn(2, 3, 6, 4), v)
    with pytest.raises(RuntimeError, match="should not be set when is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=gradstep.tensor(MASK_LS), is_causal=True)
    with pytest.raises(RuntimeError, match="attn_mask"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=gradstep.ones(5, 6))


# ---------------------------------------------------------------- MultiheadAttention
E, HEADS, L_, S_, N_ = 8, 2, 4, 5, 3


def _mha_pair(dtype, **kw):
    tm = torch.nn.MultiheadAttention(E, HEADS, **kw).to(getattr(torch, dtype))
    gm = nn.MultiheadAttention(E, HEADS, **kw).to(getattr(gradstep, dtype))
    gm.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return tm, gm


def _both(arr):
    return gradstep.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


def _run_mha(dtype, self_attn=False, batch_first=False, unbatched=False, kdim=None, mask_kw=None,
             module_kw=None, **call_kw):
    module_kw = dict(module_kw or {})
    if kdim:
        module_kw.update(kdim=kdim, vdim=kdim + 1)
    tm, gm = _mha_pair(dtype, batch_first=batch_first, **module_kw)
    rng = np.random.default_rng(1)
    S = L_ if self_attn else S_

    def seq(n, d):
        if unbatched:
            return rng.standard_normal((n, d)).astype(dtype)
        return rng.standard_normal((N_, n, d) if batch_first else (n, N_, d)).astype(dtype)

    q, tq = _both(seq(L_, E))
    if self_attn:
        args, targs = [q, q, q], [tq, tq, tq]
    else:
        k, tk = _both(seq(S, kdim or E))
        v, tv = _both(seq(S, (kdim + 1) if kdim else E))
        args, targs = [q, k, v], [tq, tk, tv]
    gkw, tkw = dict(call_kw), dict(call_kw)
    for name, arr in (mask_kw or {}).items():
        arr = arr.astype(dtype) if arr.dtype.kind == "f" else arr
        gkw[name], tkw[name] = gradstep.tensor(arr), torch.tensor(arr)
    out, w = gm(*args, **gkw)
    tout, tw = tm(*targs, **tkw)
    scale = 10 if dtype == "float32" else 1
    assert_close(out, tout, dtype, scale, what="output")
    if tw is None:
        assert w is None
    else:
        assert_close(w, tw, dtype, scale, what="weights")
    rng2 = np.random.default_rng(2)
    g = rng2.standard_normal(tuple(tout.shape)).astype(dtype)
    loss, tloss = (out * gradstep.tensor(g)).sum(), (tout * torch.tensor(g)).sum()
    if tw is not None and not torch.isnan(tw).any():
        gw = rng2.standard_normal(tuple(tw.shape)).astype(dtype)
        loss, tloss = loss + (w * gradstep.tensor(gw)).sum(), tloss + (tw * torch.tensor(gw)).sum()
    loss.backward()
    tloss.backward()
    for a, ta in zip(args[:1] if self_attn else args, targs[:1] if self_attn else targs):
        assert_close(a.grad, ta.grad, dtype, scale, what="input grad")
    tparams = dict(tm.named_parameters())
    for name, p in gm.named_parameters():
        assert_close(p.grad, tparams[name].grad, dtype, scale, what=f"grad of {name}")


def _masks(batch_first, self_attn, which):
    rng = np.random.default_rng(5)
    S = L_ if self_attn else S_
    out = {}
    if "bool" in which:
        out["attn_mask"] = rng.random((L_, S)) > 0.7
    if "float" in which:
        out["attn_mask"] = rng.standard_normal((L_, S))
    if "3d" in which:
        out["attn_mask"] = rng.standard_normal((N_ * HEADS, L_, S))
    if "causal" in which:
        out["attn_mask"] = np.triu(np.ones((L_, S), bool), 1)
    if "kpm" in which:
        kpm = rng.random((N_, S)) > 0.6
        kpm[:, 0] = False
        out["key_padding_mask"] = kpm
    return out


MHA_GRID = [
    dict(),
    dict(need_weights=False),
    dict(batch_first=True),
    dict(batch_first=True, need_weights=False, self_attn=True),
    dict(average_attn_weights=False),
    dict(masks="bool"),
    dict(masks="bool", need_weights=False),
    dict(masks="float"),
    dict(masks="3d", batch_first=True),
    dict(masks="kpm"),
    dict(masks="kpm", need_weights=False, batch_first=True),
    dict(masks="bool+kpm"),
    dict(masks="causal", is_causal=True, self_attn=True),
    dict(masks="causal", is_causal=True, self_attn=True, need_weights=False),
    dict(masks="causal+kpm", is_causal=True, self_attn=True, need_weights=False),
    dict(unbatched=True),
    dict(unbatched=True, need_weights=False, self_attn=True),
    dict(kdim=3),
    dict(kdim=3, batch_first=True, need_weights=False),
    dict(module_kw=dict(bias=False)),
    dict(module_kw=dict(add_bias_kv=True), masks="bool+kpm"),
    dict(module_kw=dict(add_zero_attn=True), masks="kpm"),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", MHA_GRID, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()) or "plain")
def test_mha_matches_torch(case, dtype):
    case = dict(case)
    which = case.pop("masks", "")
    masks = _masks(case.get("batch_first", False), case.get("self_attn", False), which)
    _run_mha(dtype, mask_kw=masks, **case)


def test_mha_state_dict_and_init_follow_torch():
    tm = torch.nn.MultiheadAttention(16, 4)
    gm = nn.MultiheadAttention(16, 4)
    assert list(gm.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        assert tuple(gm.state_dict()[k].shape) == tuple(v.shape)
    assert not gm.in_proj_bias.detach().numpy().any() and not gm.out_proj.bias.detach().numpy().any()
    bound = np.sqrt(6 / (16 + 48))
    w = gm.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    sep = nn.MultiheadAttention(16, 4, kdim=5, vdim=7)
    tsep = torch.nn.MultiheadAttention(16, 4, kdim=5, vdim=7)
    assert list(sep.state_dict()) == list(tsep.state_dict())
    assert sep.in_proj_weight is None


def test_mha_dropout_train_and_eval():
    tm, gm = _mha_pair("float64", dropout=0.5)
    x = np.random.default_rng(3).standard_normal((L_, N_, E))
    gm.eval()
    tm.eval()
    out, w = gm(gradstep.tensor(x), gradstep.tensor(x), gradstep.tensor(x))
    tout, tw = tm(torch.tensor(x), torch.tensor(x), torch.tensor(x))
    assert_close(out, tout, "float64")
    assert_close(w, tw, "float64")
    gm.train()
    _, w_train = gm(gradstep.tensor(x), gradstep.tensor(x), gradstep.tensor(x), average_attn_weights=False)
    wt = w_train.detach().numpy()
    assert (wt == 0).mean() > 0.3  # dropped weights are returned, as torch does


def test_mha_errors():
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="greater than 0"):
        nn.MultiheadAttention(0, 2)
    m = nn.MultiheadAttention(E, HEADS)
    x = gradstep.randn(L_, N_, E)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        m(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \[3, 4\], but should be \[4, 4\]"):
        m(x, x, x, attn_mask=gradstep.zeros(3, 4))
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8"):
        y = gradstep.randn(L_, N_, 6)
        m(y, y, y)


def test_gradcheck_sdpa_and_mha():
    from gradstep.autograd import gradcheck

    def r(*s):
        return gradstep.randn(*s, dtype=gradstep.float64, requires_grad=True)

    q, k, v, m = r(2, 3, 4), r(2, 5, 4), r(2, 5, 2), r(3, 5)
    assert gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), (q, k, v, m))
    mha = nn.MultiheadAttention(4, 2, add_bias_kv=True).double()
    x = r(3, 2, 4)
    kpm = gradstep.tensor([[False, False, True], [False, False, False]])
    assert gradcheck(lambda x: mha(x, x, x, key_padding_mask=kpm), (x,))


def test_out_proj_class_and_reprs_are_torchs():
    """print(model) shows torch's NonDynamicallyQuantizableLinear; it is a Linear."""
    import torch

    ours, theirs = gradstep.nn.MultiheadAttention(4, 2), torch.nn.MultiheadAttention(4, 2)
    assert isinstance(ours.out_proj, gradstep.nn.Linear)
    assert repr(ours.out_proj) == repr(theirs.out_proj)
    assert type(ours.out_proj).__name__ == type(theirs.out_proj).__name__
    bag_ours = gradstep.nn.EmbeddingBag(5, 2, mode="sum")
    assert repr(bag_ours) == repr(torch.nn.EmbeddingBag(5, 2, mode="sum"))


@pytest.mark.parametrize("q,kv", [((2, 0, 8), (2, 0, 8)), ((2, 3, 8), (2, 0, 8)),
                                  ((2, 0, 8), (2, 3, 8)), ((1, 2, 0, 8), (1, 2, 0, 8))])
def test_sdpa_of_empty_sequences_matches_torch(q, kv):
    """No key (S = 0) gives zeros; no query (L = 0) an empty result."""
    assert_same_outcome(lambda L: L.nn.functional.scaled_dot_product_attention(
        rand(L, q), rand(L, kv, seed=1), rand(L, kv, seed=2)))


def test_attention_layers_take_an_empty_batch_as_torch():
    def build(L):
        L.manual_seed(0)
        return L.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0)(rand(L, (2, 0, 4)))
    assert_same_outcome(build)
