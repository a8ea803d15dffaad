"""clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters vs torch."""

import math
import warnings

import numpy as np
import pytest
import torch

import gradstep
from gradstep import nn
from gradstep.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)


def _twins(scale=1.0):
    r = np.random.default_rng(0)
    shapes = [(3, 4), (5,), (2, 2, 2)]
    arrays = [r.normal(size=s) for s in shapes]
    grads = [r.normal(size=s) * scale for s in shapes]
    ours = [nn.Parameter(gradstep.tensor(a)) for a in arrays]
    theirs = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
    for p, tp, g in zip(ours, theirs, grads):
        p.grad = gradstep.tensor(g)
        tp.grad = torch.tensor(g)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = _twins()
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-12)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_nonfinite_and_single_tensor():
    ours, _ = _twins()
    ours[1].grad.data[0] = float("nan")  # .data shares memory
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    assert np.isnan(clip_grad_norm_(ours, 1.0).item())
    p = nn.Parameter(gradstep.ones(4))
    p.grad = gradstep.full((4,), 3.0)
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(6.0)
    np.testing.assert_allclose(p.grad.numpy(), 3.0 / (6.0 + 1e-6), rtol=1e-6)
    q = nn.Parameter(gradstep.ones(2))  # no grad: skipped
    assert clip_grad_norm_([q], 1.0).item() == 0.0


def test_clip_grad_value():
    ours, theirs = _twins(scale=3.0)
    clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, tp in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy())


def test_parameters_to_vector_roundtrip():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    model.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tmodel.state_dict().items()})
    vec = parameters_to_vector(model.parameters())
    tvec = torch.nn.utils.parameters_to_vector(tmodel.parameters())
    np.testing.assert_array_equal(vec.detach().numpy(), tvec.detach().numpy())
    assert vec.requires_grad
    vector_to_parameters(vec.detach() * 2, model.parameters())
    np.testing.assert_array_equal(model[1].bias.detach().numpy(),
                                  tmodel[1].bias.detach().numpy() * 2)
    assert isinstance(model[1].bias, nn.Parameter)
    with pytest.raises(RuntimeError, match="has 3 elements but the parameters need 26"):
        vector_to_parameters(gradstep.zeros(3), model.parameters())
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        vector_to_parameters([1.0], model.parameters())


def test_clip_grad_norm_float32_bitwise_like_torch():
    r = np.random.default_rng(1)
    gs_ = [r.normal(size=(7, 5)).astype("float32"), r.normal(size=(9,)).astype("float32")]
    ours = [nn.Parameter(gradstep.tensor(g)) for g in gs_]
    theirs = [torch.nn.Parameter(torch.tensor(g)) for g in gs_]
    for p, tp, g in zip(ours, theirs, gs_):
        p.grad, tp.grad = gradstep.tensor(g * 3), torch.tensor(g * 3)
    total = clip_grad_norm_(ours, 0.7)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 0.7)
    assert total.dtype == gradstep.float32
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-6)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=2e-7, atol=0)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_low_precision_bitwise_like_torch(dtype, norm_type):
    """float16/bfloat16 norms accumulate in float32 and round once per tensor and once for the
    total, as torch's kernels: the same roundings give the same bits. (A low-precision running
    sum of 4000 squares stalls: BertAdam's clip inside step got a 30% smaller norm.)"""
    r = np.random.default_rng(2)
    arrays = [r.normal(size=(40, 100)).astype("float32"), r.normal(size=(7,)).astype("float32")]
    runs = []
    for lib in (gradstep, torch):
        params = [lib.nn.Parameter(lib.tensor(a).to(getattr(lib, dtype))) for a in arrays]
        for p in params:
            p.grad = p.detach().clone()
        total = lib.nn.utils.clip_grad_norm_(params, 0.5, norm_type=norm_type)
        runs.append([total.float().numpy()] + [p.grad.float().numpy() for p in params])
    assert str(total.dtype).endswith(dtype)
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_clip_grad_norm_of_an_infinite_gradient_is_silent_like_torch():
    import warnings

    results = []
    for L in (torch, gradstep):
        m = L.nn.Linear(2, 1)
        m.weight.grad = L.tensor([[float("inf"), 1.0]])
        m.bias.grad = L.ones(1)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # NumPy's "invalid value" RuntimeWarning included
            total = L.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        results.append((total.item(), m.weight.grad.tolist(), m.bias.grad.tolist()))
    assert str(results[1]) == str(results[0])


@pytest.mark.parametrize("source", ["used_generator", "empty_list", "no_grads"])
def test_clip_grad_norm_warns_of_an_exhausted_generator_as_torch(source):
    """``model.parameters()`` is a generator: passed a second time it is empty, and torch warns
    that nothing will be clipped (an empty list or gradient-less parameters stay quiet)."""
    seen = []
    for lib in (gradstep, torch):
        model = lib.nn.Linear(2, 1)
        params = {"used_generator": model.parameters(), "empty_list": [],
                  "no_grads": list(model.parameters())}[source]
        if source == "used_generator":
            list(params)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            total = lib.nn.utils.clip_grad_norm_(params, 1.0)
        seen.append(([(w.category, str(w.message), w.filename) for w in caught], float(total)))
    assert seen[0] == seen[1]
    assert len(seen[1][0]) == (source == "used_generator")
