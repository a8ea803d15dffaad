"""utils.checkpoint against the plain (uncheckpointed) run and against torch's checkpoint.

Gradients of a checkpointed segment come from the same ops as the plain run, recomputed in the
same order, so they are compared exactly with gradstep's own plain run; against torch the
oracle's tolerances apply (float64 1e-10 relative, float32 1e-5).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tcp

import gradstep
import gradstep.utils.checkpoint as gcp
from tests.helpers import assert_close


def _pair(dtype, p_drop=0.0):
    def build(L):
        return L.nn.Sequential(L.nn.Linear(4, 8), L.nn.Tanh(), L.nn.Dropout(p_drop),
                               L.nn.Linear(8, 3), L.nn.Sigmoid())

    tm = build(torch).to(getattr(torch, dtype))
    gm = build(gradstep).to(getattr(gradstep, dtype))
    gm.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return tm, gm


def _grads(m):
    return [p.grad.numpy().copy() for p in m.parameters()]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("use_reentrant", [True, False])
def test_checkpoint_matches_torch(dtype, use_reentrant):
    tm, gm = _pair(dtype)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(dtype)
    gx, tx = gradstep.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    gy = gcp.checkpoint(gm, gx, use_reentrant=use_reentrant)
    ty = tcp.checkpoint(tm, tx, use_reentrant=use_reentrant)
    assert_close(gy, ty, dtype)
    (gy * gy).sum().backward()
    (ty * ty).sum().backward()
    assert_close(gx.grad, tx.grad, dtype)
    for g, t in zip(gm.parameters(), tm.parameters()):
        assert_close(g.grad, t.grad, dtype)


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_checkpoint_recomputes_with_the_same_dropout_mask(use_reentrant):
    _, gm = _pair("float64", p_drop=0.5)
    x = gradstep.tensor(np.random.default_rng(1).standard_normal((6, 4)), requires_grad=True)
    gradstep.manual_seed(3)
    plain = gm(x)
    plain.sum().backward()
    want, want_x = _grads(gm), x.grad.numpy().copy()
    gm.zero_grad()
    x.grad = None
    calls = []

    def fn(inp):
        calls.append(1)
        return gm(inp)

    gradstep.manual_seed(3)
    out = gcp.checkpoint(fn, x, use_reentrant=use_reentrant)
    np.testing.assert_array_equal(out.detach().numpy(), plain.detach().numpy())
    after_forward = gradstep.random.get_rng_state()
    out.sum().backward()
    assert len(calls) == 2  # once forward, once recomputed in backward
    np.testing.assert_array_equal(gradstep.random.get_rng_state(), after_forward)  # restored
    for g, w in zip(_grads(gm), want):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(x.grad.numpy(), want_x)


def test_checkpoint_without_rng_preservation_draws_new_masks():
    _, gm = _pair("float64", p_drop=0.5)
    x = gradstep.tensor(np.ones((64, 4)), requires_grad=True)
    gradstep.manual_seed(3)
    plain_grad = gradstep.autograd.grad(gm(x).sum(), x)[0]
    gradstep.manual_seed(3)
    out = gcp.checkpoint(gm, x, use_reentrant=True, preserve_rng_state=False)
    out.sum().backward()  # the recompute draws the next masks, not the forward's
    assert not np.array_equal(x.grad.numpy(), plain_grad.numpy())


def test_non_reentrant_kwargs_and_inputs_without_grad():
    _, gm = _pair("float64")
    x = gradstep.tensor(np.random.default_rng(2).standard_normal((3, 4)))  # no requires_grad

    def fn(inp, scale=1.0):
        return gm(inp) * scale

    want = gradstep.autograd.grad((gm(x) * 2.0).sum(), list(gm.parameters()))
    out = gcp.checkpoint(fn, x, use_reentrant=False, scale=2.0)
    out.sum().backward()
    for p, w in zip(gm.parameters(), want):
        np.testing.assert_array_equal(p.grad.numpy(), w.numpy())
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        gcp.checkpoint(fn, x, use_reentrant=True, scale=2.0)
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed"):
        gcp.checkpoint(gm, x)


@pytest.mark.parametrize("segments", [1, 2, 3])
def test_checkpoint_sequential_matches_torch(segments):
    tm, gm = _pair("float64")
    x = np.random.default_rng(4).standard_normal((5, 4))
    gx, tx = gradstep.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    gy = gcp.checkpoint_sequential(gm, segments, gx, use_reentrant=True)
    ty = tcp.checkpoint_sequential(tm, segments, tx, use_reentrant=True)
    assert_close(gy, ty, "float64")
    gy.sum().backward()
    ty.sum().backward()
    assert_close(gx.grad, tx.grad, "float64")
    for g, t in zip(gm.parameters(), tm.parameters()):
        assert_close(g.grad, t.grad, "float64")


def test_non_reentrant_nested_outputs_carry_gradients_like_torch():
    """A block returning a dict / nested list / namedtuple (``{'h': ..., 'attn': ...}``): the
    non-reentrant checkpoint keeps the structure and every tensor in it differentiable, as
    torch's does; a non-tensor leaf passes through."""
    from collections import namedtuple

    Out = namedtuple("Out", ["y", "extra"])
    tm, gm = _pair("float64")
    x = np.random.default_rng(3).standard_normal((5, 4))

    def block(L, m):
        def fn(h):
            y = m(h)
            return {"y": y, "rest": [y.sum(), (2 * y, 7)], "nt": Out(y * y, "tag")}
        return fn

    results = []
    for L, m in ((torch, tm), (gradstep, gm)):
        h = L.tensor(x, requires_grad=True)
        out = (tcp if L is torch else gcp).checkpoint(block(L, m), h, use_reentrant=False)
        assert isinstance(out, dict) and isinstance(out["rest"], list)
        assert isinstance(out["nt"], Out) and out["nt"].extra == "tag" and out["rest"][1][1] == 7
        loss = out["y"].pow(2).sum() + out["rest"][0] + out["rest"][1][0].sum() + out["nt"].y.sum()
        loss.backward()
        results.append([h.grad.numpy().copy()] + [p.grad.numpy().copy() for p in m.parameters()])
    for theirs, ours in zip(*results):
        assert_close(gradstep.tensor(ours), torch.tensor(theirs), "float64")


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_backward_outside_autocast_recomputes_in_the_forwards_bfloat16(use_reentrant):
    """The forward ran under CPU autocast, the backward runs after the region closed: the
    recompute must cast to bfloat16 again (torch saves and restores the autocast state), or
    the gradients come from a float32 graph that never ran. Both round the same float32
    values to bfloat16 before each matmul, so they agree to float32 accumulation (1e-5)."""
    tm, gm = _pair("float32")
    x = np.random.default_rng(2).standard_normal((5, 4)).astype("float32")
    gx, tx = gradstep.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with gradstep.autocast("cpu", dtype=gradstep.bfloat16):
        gy = gcp.checkpoint(gm, gx, use_reentrant=use_reentrant)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ty = tcp.checkpoint(tm, tx, use_reentrant=use_reentrant)
    assert gy.dtype == gradstep.bfloat16 and ty.dtype == torch.bfloat16
    gy.float().sum().backward()
    ty.float().sum().backward()
    assert_close(gx.grad, tx.grad, "float32")
    for g, t in zip(gm.parameters(), tm.parameters()):
        assert_close(g.grad, t.grad, "float32")
