"""BatchNorm against torch: train/eval outputs, gradients, running statistics, buffers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck, gradgradcheck
from tests.helpers import assert_close, check


def _twin(ours, theirs):
    sd = ours.state_dict()
    assert list(sd.keys()) == list(theirs.state_dict().keys())
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in sd.items()})


def _randomize_affine(bn, rng):
    with gradstep.no_grad():
        if bn.weight is not None:
            bn.weight.copy_(gradstep.tensor(rng.uniform(0.5, 1.5, bn.num_features)))
        if bn.bias is not None:
            bn.bias.copy_(gradstep.tensor(rng.standard_normal(bn.num_features)))


def _step(ours, theirs, x, g, dtype, what):
    """Forward + backward on both; compare output, input grad and parameter grads."""
    gx, tx = gradstep.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(gx), theirs(tx)
    assert_close(out, tout, dtype, what=f"{what} forward")
    (out * gradstep.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    assert_close(gx.grad, tx.grad, dtype, what=f"{what} input grad")
    tparams = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad, tparams[name].grad, dtype, what=f"{what} {name} grad")
    ours.zero_grad()
    theirs.zero_grad()


def _compare_buffers(ours, theirs, dtype):
    tbufs = dict(theirs.named_buffers())
    for name, b in ours.named_buffers():
        assert_close(b, tbufs[name], dtype, what=name)


CASES = [
    ("BatchNorm1d", dict(), (6, 4)),
    ("BatchNorm1d", dict(momentum=0.3), (5, 4, 7)),
    ("BatchNorm2d", dict(), (4, 3, 5, 6)),
    ("BatchNorm2d", dict(momentum=None), (4, 3, 5, 6)),
    ("BatchNorm2d", dict(affine=False, eps=1e-3), (4, 3, 5, 6)),
    ("BatchNorm2d", dict(bias=False), (4, 3, 5, 6)),
    ("BatchNorm2d", dict(track_running_stats=False), (4, 3, 5, 6)),
    ("BatchNorm3d", dict(momentum=0.5), (3, 2, 3, 4, 5)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw,x_shape", CASES)
def test_train_then_eval_matches_torch(name, kw, x_shape, dtype):
    rng = np.random.default_rng(0)
    c = x_shape[1]
    ours = getattr(gradstep.nn, name)(c, **kw, dtype=getattr(gradstep, dtype))
    theirs = getattr(torch.nn, name)(c, **kw, dtype=getattr(torch, dtype))
    assert repr(ours) == repr(theirs)
    _randomize_affine(ours, rng)
    _twin(ours, theirs)
    for step in range(3):  # running statistics must track torch's step by step
        x = (rng.standard_normal(x_shape) * (step + 1) + step).astype(dtype)
        g = rng.standard_normal(x_shape).astype(dtype)
        _step(ours, theirs, x, g, dtype, f"train step {step}")
        _compare_buffers(ours, theirs, dtype)
    if ours.track_running_stats:
        assert int(ours.num_batches_tracked) == 3
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(x_shape).astype(dtype)
    _step(ours, theirs, x, rng.standard_normal(x_shape).astype(dtype), dtype, "eval")
    _compare_buffers(ours, theirs, dtype)  # eval leaves the buffers alone


def test_eval_uses_running_stats_loaded_from_torch():
    theirs = torch.nn.BatchNorm2d(3)
    with torch.no_grad():
        theirs.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]))
        theirs.running_var.copy_(torch.tensor([0.25, 4.0, 1.0]))
        theirs.weight.copy_(torch.tensor([1.0, 2.0, 3.0]))
        theirs.bias.copy_(torch.tensor([0.0, 0.1, -0.1]))
    ours = gradstep.nn.BatchNorm2d(3)
    ours.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 4)).astype("float32")
    assert_close(ours(gradstep.tensor(x)), theirs(torch.tensor(x)), "float32")
    assert ours.num_batches_tracked.dtype is gradstep.int64


def test_functional_batch_norm_matches_torch():
    def fn(L, x, w, b):
        rm, rv = L.zeros(4, dtype=x.dtype), L.ones(4, dtype=x.dtype)
        y1 = L.nn.functional.batch_norm(x, rm, rv, w, b, True, 0.3, 1e-5)
        y2 = L.nn.functional.batch_norm(x * 2 + 1, rm, rv, w, b, training=True, momentum=0.1)
        y3 = L.nn.functional.batch_norm(x, rm, rv, w, b)  # eval: running statistics
        y4 = L.nn.functional.batch_norm(x, None, None, training=True)
        return y1, y2, y3, y4, rm, rv

    check(fn, [(3, 4, 5, 2), (4,), (4,)])


def test_gradcheck_batch_norm():
    rng = np.random.default_rng(0)
    x = gradstep.tensor(rng.standard_normal((4, 3, 2, 2)), requires_grad=True)
    w = gradstep.tensor(rng.uniform(0.5, 1.5, 3), requires_grad=True)
    b = gradstep.tensor(rng.standard_normal(3), requires_grad=True)

    def fn(x, w, b):
        return gradstep.nn.functional.batch_norm(x, None, None, w, b, training=True)

    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


def _both_raise(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn(torch)
    with pytest.raises(exc, match=match):
        fn(gradstep)


def test_errors():
    _both_raise(lambda L: L.nn.BatchNorm2d(3)(L.zeros(2, 3, 4)), ValueError,
                r"expected 4D input \(got 3D input\)")
    _both_raise(lambda L: L.nn.BatchNorm1d(3)(L.zeros(2, 3, 4, 5)), ValueError,
                r"expected 2D or 3D input \(got 4D input\)")
    _both_raise(lambda L: L.nn.BatchNorm2d(3)(L.zeros(2, 4, 4, 4)), RuntimeError,
                "running_mean should contain 4 elements not 3")
    _both_raise(lambda L: L.nn.BatchNorm1d(3)(L.zeros(1, 3)), ValueError,
                "Expected more than 1 value per channel when training")
    _both_raise(lambda L: L.nn.functional.batch_norm(L.zeros(4, 3), None, None), RuntimeError,
                "running_mean must be defined in evaluation mode")
