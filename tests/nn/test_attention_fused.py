"""The one-node ``scaled_dot_product_attention`` (``attention_fused.Attention``): the numbers
of the Tensor-op composition it replaces (dropout included, under a seed), torch's graph name
and memory layout, gradients of any order, and the cases that keep the composition."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradstep
from gradstep.autograd import gradcheck, gradgradcheck
from gradstep.nn import functional as F
from gradstep.nn._functional import attention_fused
from tests.helpers import assert_close

FUSED_NAME = "ScaledDotProductFlashAttentionForCpuBackward0"
SHAPES = [((3, 2, 5, 4), (3, 2, 7, 4), (3, 2, 7, 6)), ((5, 4), (6, 4), (6, 3))]
EPS = {"float32": np.finfo(np.float32).eps, "float64": np.finfo(np.float64).eps}


def _masks(L, S, dtype, rng):
    bool_mask = rng.random((L, S)) > 0.4
    bool_mask[1] = False  # a query that attends to nothing: a zero row, zero gradient
    return {
        "none": {},
        "causal": {"is_causal": True},
        "bool": {"attn_mask": gradstep.tensor(bool_mask)},
        "float": {"attn_mask": gradstep.tensor(rng.standard_normal((L, S)).astype(dtype))},
        "float_per_batch_head": None,  # filled below for 4-D inputs
    }


def _run(q, k, v, g, fused, **kw):
    """Output and q/k/v gradients of one SDPA call, by the fused node or the composition."""
    usable = attention_fused.usable
    if not fused:
        attention_fused.usable = lambda *a: False
    try:
        ts = [gradstep.tensor(a, requires_grad=True) for a in (q, k, v)]
        y = F.scaled_dot_product_attention(*ts, **kw)
        y.backward(gradstep.tensor(g))
    finally:
        attention_fused.usable = usable
    return y, [y.detach().numpy()] + [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", SHAPES, ids=["4d", "2d"])
@pytest.mark.parametrize("mask", ["none", "causal", "bool", "float", "float_per_batch_head"])
def test_fused_equals_the_composition(dtype, shapes, mask):
    rng = np.random.default_rng(7)
    q, k, v = (rng.standard_normal(s).astype(dtype) for s in shapes)
    g = rng.standard_normal(q.shape[:-1] + (v.shape[-1],)).astype(dtype)
    L, S = q.shape[-2], k.shape[-2]
    kw = _masks(L, S, dtype, rng)[mask]
    if kw is None:
        if q.ndim < 4:
            pytest.skip("a per-(batch, head) mask needs batch dims")
        kw = {"attn_mask": gradstep.tensor(rng.standard_normal(q.shape[:-1] + (S,)).astype(dtype))}
    y, fused = _run(q, k, v, g, True, **kw)
    assert isinstance(y.grad_fn, attention_fused.Attention)
    _, composed = _run(q, k, v, g, False, **kw)
    # the same operations in the same order: bit-identical with OpenBLAS here, but BLAS may
    # take another kernel for the other output layout (and grad k's product is taken the other
    # way round), so allow each of the K <= 7 term products its rounding, K * eps * sum |ab|,
    # with |a|, |b| of a few units: far below any semantic difference
    for what, a, b in zip(("out", "grad q", "grad k", "grad v"), fused, composed):
        scale = np.abs(b).max() + 1
        np.testing.assert_allclose(a, b, rtol=0, atol=64 * EPS[dtype] * scale, err_msg=what)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_matches_torch_on_heads_split_from_a_projection(dtype):
    """The transformer's layout: q, k, v are (N, L, H*E) projections viewed as (N, H, L, E)."""
    rng = np.random.default_rng(3)
    n, L, h, e = 3, 6, 2, 4
    base = [rng.standard_normal((n, L, h * e)).astype(dtype) for _ in range(3)]
    w = rng.standard_normal((n, L, h * e)).astype(dtype)
    mask = np.triu(np.full((L, L), -np.inf, dtype), 1)
    outs = {}
    for lib in (gradstep, torch):
        xs = [lib.tensor(b, requires_grad=True) for b in base]
        heads = [x.view(n, L, h, e).transpose(1, 2) for x in xs]
        fn = F.scaled_dot_product_attention if lib is gradstep else TF.scaled_dot_product_attention
        y = fn(*heads, attn_mask=lib.tensor(mask))
        merged = y.transpose(1, 2).reshape(n, L, h * e)
        (merged * lib.tensor(w)).sum().backward()
        outs[lib] = (y, merged, xs)
    (y, merged, xs), (ty, tmerged, txs) = outs[gradstep], outs[torch]
    assert y.grad_fn.name() == ty.grad_fn.name() == FUSED_NAME
    assert y.stride() == ty.stride()  # the output is laid out like q, as torch's
    assert merged.stride() == tmerged.stride()
    assert_close(merged, tmerged, dtype)
    for x, tx in zip(xs, txs):
        assert_close(x.grad, tx.grad, dtype, what="grad")


def test_contiguous_inputs_give_a_contiguous_output_like_torch():
    q = gradstep.randn(2, 3, 4, 5)
    tq = torch.from_numpy(q.numpy())
    y = F.scaled_dot_product_attention(q, q, q)
    assert y.stride() == TF.scaled_dot_product_attention(tq, tq, tq).stride()
    v = gradstep.randn(2, 3, 4, 2)  # another width: a fresh contiguous output
    assert F.scaled_dot_product_attention(q, q, v).is_contiguous()


def test_only_the_inputs_that_require_grad_get_one():
    rng = np.random.default_rng(0)
    q, k, v = (gradstep.tensor(rng.standard_normal((2, 4, 3))) for _ in range(3))
    k.requires_grad_()
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert isinstance(y.grad_fn, attention_fused.Attention)
    y.sum().backward()
    assert q.grad is None and v.grad is None
    tq, tk, tv = (torch.from_numpy(t.detach().numpy()) for t in (q, k, v))
    tk.requires_grad_()
    TF.scaled_dot_product_attention(tq, tk, tv, is_causal=True).sum().backward()
    assert_close(k.grad, tk.grad, "float64")


def test_gradients_of_any_order_through_the_fused_node():
    def r(*s):
        return gradstep.randn(*s, dtype=gradstep.float64, requires_grad=True)

    q, k, v = r(2, 3, 4), r(2, 5, 4), r(2, 5, 2)
    mask = gradstep.randn(3, 5, dtype=gradstep.float64)  # a float mask without a gradient

    def fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    assert isinstance(fn(q, k, v).grad_fn, attention_fused.Attention)
    assert gradcheck(fn, (q, k, v))
    assert gradgradcheck(fn, (q, k, v))
    causal = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)  # noqa: E731
    assert gradgradcheck(causal, (q, k, v))


def test_a_changed_input_is_caught_before_the_fused_backward():
    q = gradstep.randn(2, 3, 4, requires_grad=True)
    k = gradstep.randn(2, 3, 4)
    y = F.scaled_dot_product_attention(q, k, k)
    k.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def _seeded(fused, fn, seed=5):
    """``fn()`` under ``manual_seed(seed)``, by the fused node or the composition."""
    usable = attention_fused.usable
    if not fused:
        attention_fused.usable = lambda *a: False
    try:
        gradstep.manual_seed(seed)
        return fn()
    finally:
        attention_fused.usable = usable


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_draws_the_compositions_mask_so_seeded_runs_agree(dtype):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((2, 3, 6, 4)).astype(dtype) for _ in range(3)]
    g = rng.standard_normal((2, 3, 6, 4)).astype(dtype)

    def run():
        ts = [gradstep.tensor(a, requires_grad=True) for a in arrays]
        y = F.scaled_dot_product_attention(*ts, dropout_p=0.3, is_causal=True)
        y.backward(gradstep.tensor(g))
        return y, [y.detach().numpy()] + [t.grad.numpy() for t in ts]

    (y, fused), (_, composed) = _seeded(True, run), _seeded(False, run)
    assert isinstance(y.grad_fn, attention_fused.Attention)
    assert (fused[0] == 0).any()  # some weights were dropped
    for what, a, b in zip(("out", "grad q", "grad k", "grad v"), fused, composed):
        np.testing.assert_allclose(a, b, rtol=0, atol=64 * EPS[dtype] * (np.abs(b).max() + 1),
                                   err_msg=what)


def test_dropout_with_double_backward_agrees_with_the_composition():
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((2, 5, 3)) for _ in range(3)]

    def run():
        q, k, v = (gradstep.tensor(a, requires_grad=True) for a in arrays)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
        gq, = gradstep.autograd.grad((y * y).sum(), q, create_graph=True)
        (gq * gq).sum().backward()
        return [gq.detach().numpy(), k.grad.numpy(), v.grad.numpy()]

    for a, b in zip(_seeded(True, run), _seeded(False, run)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_a_dropout_probability_outside_0_1_is_refused_like_the_composition():
    q = gradstep.randn(2, 3, 4)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        F.scaled_dot_product_attention(q, q, q, dropout_p=1.5)


@pytest.mark.parametrize("case", ["mask_with_grad", "broadcast_batch", "float16"])
def test_the_composition_keeps_what_the_node_does_not_cover(case):
    rng = np.random.default_rng(1)
    q = gradstep.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    k = gradstep.tensor(rng.standard_normal((2, 5, 4)))
    kw = {}
    if case == "mask_with_grad":
        kw["attn_mask"] = gradstep.zeros(3, 5, dtype=gradstep.float64, requires_grad=True)
    elif case == "broadcast_batch":
        k = gradstep.tensor(rng.standard_normal((1, 5, 4)))
    else:
        q = q.detach().half().requires_grad_()
        k = k.half()
    y = F.scaled_dot_product_attention(q, k, k, **kw)
    assert not isinstance(y.grad_fn, attention_fused.Attention)
    y.sum().backward()
    assert q.grad is not None and q.grad.shape == q.shape


def test_a_mask_that_does_not_fit_the_scores_raises_torchs_error():
    messages = []
    for L, fn in ((gradstep, F.scaled_dot_product_attention), (torch, TF.scaled_dot_product_attention)):
        q = L.zeros(2, 4, 5, 3)
        with pytest.raises(RuntimeError) as err:
            fn(q, q, q, attn_mask=L.zeros(3, 5, 5))
        messages.append(str(err.value))
    assert messages[0] == messages[1]
