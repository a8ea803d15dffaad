"""F.linear_cross_entropy, nn.LinearCrossEntropyLoss and LinearCrossEntropyOptions (torch 2.13)
against torch: values and gradients of input, weight and bias for class and probability
targets, K-dimensional weights, reductions, ignore_index, label smoothing, options; errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradstep

# the composition's error: a product of length in_features, then a log-softmax and a mean;
# 64 eps covers both libraries' rounding orders for these sizes
TOL = {np.float32: 64 * np.finfo(np.float32).eps, np.float64: 64 * np.finfo(np.float64).eps}


def _both(arr, rg=False):
    return (gradstep.tensor(arr.copy(), requires_grad=rg), torch.tensor(arr.copy(), requires_grad=rg))


def _close(a, b, dtype):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=TOL[dtype],
                               atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [
    dict(), dict(reduction="sum"), dict(reduction="none"), dict(ignore_index=2),
    dict(label_smoothing=0.1), dict(weight=True), dict(bias=True), dict(out=(3,)),
    dict(out=(2, 2), bias=True, reduction="none"), dict(probs=True), dict(unbatched=True),
    dict(options=True), dict(options=True, reduction="none", bias=True),
])
def test_matches_torch(dtype, case):
    rng = np.random.default_rng(0)
    n, d, c, out = 6, 5, 4, case.get("out", ())
    x = rng.standard_normal((d,) if case.get("unbatched") else (n, d)).astype(dtype)
    w = rng.standard_normal((c, *out, d)).astype(dtype)
    batch = () if case.get("unbatched") else (n,)
    if case.get("probs"):
        p = rng.random((*batch, c, *out)).astype(dtype)
        t_np = p / p.sum(axis=len(batch), keepdims=True)
    else:
        t_np = rng.integers(0, c, (*batch, *out))
    libs = []
    for lib, k in ((gradstep, 0), (torch, 1)):
        xs, ws = _both(x, True)[k], _both(w, True)[k]
        kw = {key: case[key] for key in ("reduction", "ignore_index", "label_smoothing")
              if key in case}
        bs = None
        if case.get("bias"):
            bs = _both(rng.standard_normal((c, *out)).astype(dtype) * 0 + 0.5, True)[k]
            kw["linear_bias"] = bs
        if case.get("weight"):
            kw["weight"] = lib.tensor(np.linspace(0.5, 2, c).astype(dtype))
        if case.get("options"):
            kw["options"] = lib.nn.LinearCrossEntropyOptions(batch_chunk_size=2)
        loss = lib.nn.functional.linear_cross_entropy(xs, ws, lib.tensor(t_np), **kw)
        loss.sum().backward()
        libs.append((loss, xs.grad, ws.grad, None if bs is None else bs.grad))
    for a, b in zip(*libs):
        if a is None:
            assert b is None
            continue
        assert tuple(a.shape) == tuple(b.shape)
        _close(a, b, dtype)


def test_module_matches_torch_and_prints_like_it():
    rng = np.random.default_rng(1)
    mods = [lib.nn.LinearCrossEntropyLoss(5, 4, out_features=(2,), bias=True,
                                          label_smoothing=0.05) for lib in (gradstep, torch)]
    state = {k: v.detach().numpy() for k, v in mods[1].state_dict().items()}
    mods[0].load_state_dict({k: gradstep.tensor(v) for k, v in state.items()})
    assert repr(mods[0]) == repr(mods[1])
    x = rng.standard_normal((3, 5)).astype(np.float32)
    t = rng.integers(0, 4, (3, 2))
    losses = [m(lib.tensor(x), lib.tensor(t)) for m, lib in zip(mods, (gradstep, torch))]
    for loss in losses:
        loss.backward()
    _close(losses[0], losses[1], np.float32)
    _close(mods[0].linear.weight.grad, mods[1].linear.weight.grad, np.float32)


@pytest.mark.parametrize("call", [
    lambda lib, F: F.linear_cross_entropy(lib.ones(2, 3, 4), lib.ones(5, 4), lib.zeros(2, dtype=lib.long)),
    lambda lib, F: F.linear_cross_entropy(lib.ones(2, 4), lib.ones(4), lib.zeros(2, dtype=lib.long)),
    lambda lib, F: F.linear_cross_entropy(lib.ones(2, 3), lib.ones(5, 4), lib.zeros(2, dtype=lib.long)),
    lambda lib, F: F.linear_cross_entropy(lib.ones(2, 4), lib.ones(5, 4), lib.zeros(2, dtype=lib.long),
                                          linear_bias=lib.ones(4)),
    lambda lib, F: F.linear_cross_entropy(lib.ones(4), lib.ones(5, 2, 4), lib.zeros(2, dtype=lib.long)),
    lambda lib, F: F.linear_cross_entropy(lib.ones(2, 4), lib.ones(5, 4), lib.ones(2, 5) / 5,
                                          ignore_index=1),
    lambda lib, F: lib.nn.LinearCrossEntropyLoss(4, 5, weight=lib.ones(4)),
    lambda lib, F: lib.nn.LinearCrossEntropyLoss(4, 5, label_smoothing=1.5),
])
def test_errors_as_torch(call):
    with pytest.raises(RuntimeError) as theirs:
        call(torch, torch.nn.functional)
    with pytest.raises(RuntimeError) as ours:
        call(gradstep, gradstep.nn.functional)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("kw", [dict(acc_policy="x"), dict(batch_chunk_size=0),
                                dict(chunking_method="aspect_ratio:0"), dict(chunking_method="y")])
def test_options_validation_as_torch(kw):
    with pytest.raises(ValueError) as theirs:
        torch.nn.LinearCrossEntropyOptions(**kw)
    with pytest.raises(ValueError) as ours:
        gradstep.nn.LinearCrossEntropyOptions(**kw)
    assert str(ours.value) == str(theirs.value)
    assert repr(gradstep.nn.LinearCrossEntropyOptions()) == repr(torch.nn.LinearCrossEntropyOptions())


def test_options_with_label_smoothing_warn_as_torch():
    msgs = []
    for lib in (gradstep, torch):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            lib.nn.functional.linear_cross_entropy(
                lib.ones(2, 4), lib.ones(5, 4), lib.zeros(2, dtype=lib.long), label_smoothing=0.1,
                options=lib.nn.LinearCrossEntropyOptions())
        msgs.append([str(w.message).replace(lib.__name__ + ".", "torch.") for w in rec])
    assert msgs[0] == msgs[1] and len(msgs[0]) == 1
