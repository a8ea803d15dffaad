"""Selective activation checkpointing and the ``torch.ops.aten`` ops its policies name.

Gradients are compared with torch's at the oracle's tolerances (the same ops in the same order);
the policy calls are compared by op name and count.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tcp

import gradstep
import gradstep.utils.checkpoint as gcp
from tests.helpers import assert_close


def _run(L, cp, a, b, policy_or_list, calls, seen):
    def fn(x, y):
        calls.append(1)
        return L.sigmoid(L.mm(L.mm(x, y), y)) * y.sum()

    x, y = L.tensor(a, requires_grad=True), L.tensor(b, requires_grad=True)
    ctx = functools.partial(cp.create_selective_checkpoint_contexts, policy_or_list)
    out = cp.checkpoint(fn, x, y, use_reentrant=False, context_fn=ctx)
    out.sum().backward()
    return x.grad, y.grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_policy_sees_torchs_ops_and_gradients_match(dtype):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((4, 4)).astype(dtype)
    res, seen_by = [], []
    for L, cp in ((torch, tcp), (gradstep, gcp)):
        seen, calls = [], []

        def policy(ctx, op, *args, L=L, cp=cp, seen=seen, **kwargs):
            seen.append(str(op))
            assert isinstance(ctx, cp.SelectiveCheckpointContext) and not ctx.is_recompute
            if op == L.ops.aten.mm.default:
                return cp.CheckpointPolicy.MUST_SAVE
            return cp.CheckpointPolicy.PREFER_RECOMPUTE

        res.append(_run(L, cp, a, b, policy, calls, seen))
        assert len(calls) == 2
        seen_by.append([s for s in seen if s == "aten.mm.default"])
    assert seen_by[0] == seen_by[1] == ["aten.mm.default"] * 2
    for g, t in zip(res[1], res[0]):
        assert_close(g, t, dtype)


def test_saved_op_is_not_rerun_and_a_second_backward_is_refused(monkeypatch):
    """A saved ``mm`` hands its forward output back in the recompute: backward runs two
    products fewer than with everything recomputed. Backward twice through the region is
    torch's error."""
    from gradstep.ops import linalg

    real, products = linalg.matmul_arrays, []

    def counting(a, b):
        products.append(1)
        return real(a, b)

    monkeypatch.setattr(linalg, "matmul_arrays", counting)
    runs = []
    for ops in ([], [gradstep.ops.aten.mm.default]):
        x = gradstep.ones(2, 3, dtype=gradstep.float64, requires_grad=True)
        y = gradstep.ones(3, 3, dtype=gradstep.float64, requires_grad=True)
        ctx = functools.partial(gcp.create_selective_checkpoint_contexts, ops)
        out = gcp.checkpoint(lambda p, q: (p @ q).tanh() @ q, x, y, use_reentrant=False,
                             context_fn=ctx)
        products.clear()
        out.sum().backward(retain_graph=True)
        runs.append((len(products), x.grad.numpy().copy()))
    assert runs[0][0] - runs[1][0] == 2
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    with pytest.raises(RuntimeError, match="Trying to backward an extra time"):
        out.sum().backward()


def test_mutated_cached_output_is_refused():
    x = gradstep.ones(2, 2, requires_grad=True)
    kept = []

    def policy(ctx, op, *args, **kwargs):
        if op == gradstep.ops.aten.mm.default:
            kept.append(ctx.op_output)
            return gcp.CheckpointPolicy.MUST_SAVE
        return gcp.CheckpointPolicy.PREFER_RECOMPUTE

    ctx = functools.partial(gcp.create_selective_checkpoint_contexts, policy)
    out = gcp.checkpoint(lambda p: (p @ p).tanh().sum(), x, use_reentrant=False, context_fn=ctx)
    with gradstep.no_grad():
        kept[0].add_(1)
    with pytest.raises(RuntimeError, match="cached during selective activation checkpoint has "
                                           "been mutated"):
        out.backward()


def test_context_argument_errors_match_torch():
    for ours_arg, theirs_arg, exc in (([gradstep.ops.aten.mm], [torch.ops.aten.mm], ValueError),
                                      (3, 3, TypeError)):
        with pytest.raises(exc) as ours:
            gcp.create_selective_checkpoint_contexts(ours_arg)
        with pytest.raises(exc) as theirs:
            tcp.create_selective_checkpoint_contexts(theirs_arg)
        assert str(ours.value).split(" of type")[0] == str(theirs.value).split(" of type")[0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_aten_ops_compute_torchs_values(dtype):
    rng = np.random.default_rng(1)
    a, b, c = (rng.standard_normal(s).astype(dtype) for s in ((2, 3), (3, 4), (4,)))
    xi, wi = rng.standard_normal((1, 2, 5, 5)).astype(dtype), rng.standard_normal((3, 2, 3, 3)).astype(dtype)
    for name, args, kwargs in (("mm", (a, b), {}), ("addmm", (c, a, b), {"beta": 2, "alpha": 0.5}),
                               ("convolution", (xi, wi, None, [1, 1], [1, 1], [1, 1], False,
                                                [0, 0], 1), {})):
        g = getattr(gradstep.ops.aten, name).default(
            *[gradstep.tensor(v) if isinstance(v, np.ndarray) else v for v in args], **kwargs)
        t = getattr(torch.ops.aten, name).default(
            *[torch.tensor(v) if isinstance(v, np.ndarray) else v for v in args], **kwargs)
        assert_close(g, t, dtype)
    assert str(gradstep.ops.aten.mm.default) == str(torch.ops.aten.mm.default)
    assert gradstep.ops.aten.mm.default.name() == torch.ops.aten.mm.default.name()


def test_gpu_only_attention_ops_have_no_cpu_kernel_as_in_torch():
    q = np.zeros((1, 1, 2, 4), "float32")
    for name in ("_scaled_dot_product_flash_attention",
                 "_scaled_dot_product_efficient_attention"):
        args = (q, q, q) if "flash" in name else (q, q, q, None, False)
        for L in (torch, gradstep):
            op = getattr(L.ops.aten, name).default
            with pytest.raises(NotImplementedError, match="Could not run 'aten::" + name):
                op(*[L.tensor(v) if isinstance(v, np.ndarray) else v for v in args])
