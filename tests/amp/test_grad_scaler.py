"""GradScaler against torch 2.13's: the scale sequence and skipped steps on a run with
planted overflows, the disabled and 'cuda' (no GPU) forms, errors and state dicts.

Scales are powers of two times the factors, so the scale sequence is compared
exactly; unscaling multiplies by the float32 reciprocal of the scale, exact for
powers of two, so parameters after each step agree to float32 rounding of SGD.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch

import gradstep


def _model(lib, seed=0):
    rng = np.random.default_rng(seed)
    lin = lib.nn.Linear(6, 3)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor(rng.standard_normal((3, 6)).astype(np.float32)))
        lin.bias.copy_(lib.tensor(rng.standard_normal(3).astype(np.float32)))
    return lin


def _sgd(lib, params):
    class Recording(lib.optim.SGD):
        def step(self, closure=None):
            super().step(closure)
            return "stepped"

    return Recording(params, lr=0.1)


def _run(lib, plant, steps=14, **kw):
    """Train with planted non-finite gradients; record per step what the scaler did."""
    model = _model(lib)
    opt = _sgd(lib, model.parameters())
    scaler = lib.amp.GradScaler("cpu", **kw)
    rng = np.random.default_rng(1)
    log = []
    for i in range(steps):
        x = lib.tensor(rng.standard_normal((5, 6)).astype(np.float32))
        opt.zero_grad()
        loss = model(x).square().mean()
        scaler.scale(loss).backward()
        if i in plant:
            with lib.no_grad():
                model.weight.grad[0, i % 6] = plant[i]
        ret = scaler.step(opt)
        scaler.update()
        log.append((ret, scaler.get_scale(), scaler._get_growth_tracker()))
    return log, model


@pytest.mark.parametrize("kw", [
    dict(init_scale=2.0**10, growth_interval=3),
    dict(init_scale=2.0**20, growth_factor=4.0, backoff_factor=0.25, growth_interval=2),
])
def test_scale_sequence_and_skipped_steps_equal_torch(kw):
    plant = {1: float("inf"), 2: float("nan"), 6: -float("inf"), 11: float("nan")}
    (ours, gm), (theirs, tm) = _run(gradstep, plant, **kw), _run(torch, plant, **kw)
    assert ours == theirs
    skipped = [i for i, (ret, _, _) in enumerate(ours) if ret is None]
    assert skipped == sorted(plant)
    np.testing.assert_allclose(gm.weight.detach().numpy(), tm.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("scale", [2.0**126, 2.0**127, 3.0e38, 1.5, 2.0**-140])
@pytest.mark.parametrize("tracker,found_inf", [(0, 0.0), (2, 0.0), (3, 0.0), (2, 1.0)])
def test_update_rule_equals_torch_amp_update_scale(scale, tracker, found_inf):
    """Each update against torch's own kernel, including a growth that would overflow
    float32 (torch keeps the old scale) and factors that round in float32."""
    from gradstep.amp.grad_scaler import _update_scale

    for growth, backoff, interval in ((2.0, 0.5, 3), (3.3, 0.3, 4), (2.0, 0.5, 1)):
        s, t = torch.tensor(scale), torch.tensor(tracker, dtype=torch.int32)
        torch._amp_update_scale_(s, t, torch.tensor(found_inf), growth, backoff, interval)
        ours = _update_scale(np.float32(scale).item(), tracker, found_inf, growth, backoff,
                             interval)
        assert (np.float32(ours[0]).tobytes(), ours[1]) == (s.numpy().tobytes(), t.item())


def test_disabled_scaler_is_transparent():
    outs = []
    for scaler in (None, gradstep.amp.GradScaler("cpu", enabled=False)):
        model = _model(gradstep)
        opt = gradstep.optim.SGD(model.parameters(), lr=0.1)
        x = gradstep.tensor(np.random.default_rng(2).standard_normal((5, 6)).astype(np.float32))
        for _ in range(3):
            opt.zero_grad()
            loss = model(x).square().mean()
            if scaler is None:
                loss.backward()
                opt.step()
            else:
                assert scaler.scale(loss) is loss
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
                scaler.step(opt)
                scaler.update()
                assert scaler.get_scale() == 1.0 and scaler.state_dict() == {}
        outs.append(model.weight.detach().numpy().copy())
    np.testing.assert_array_equal(outs[0], outs[1])


def test_cuda_scaler_without_gpu_behaves_like_torch():
    for lib in (torch, gradstep):
        with pytest.warns(UserWarning, match="CUDA is not available.  Disabling"):
            scaler = lib.amp.GradScaler()  # device defaults to 'cuda'
        assert not scaler.is_enabled() and scaler.get_scale() == 1.0
        with pytest.warns(FutureWarning, match=r"torch\.cuda\.amp\.GradScaler"), \
                pytest.warns(UserWarning, match="CUDA is not available"):
            old = lib.cuda.amp.GradScaler(init_scale=2.0**8)
        assert not old.is_enabled()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert not lib.amp.GradScaler("cuda", enabled=False).is_enabled()
        with pytest.warns(FutureWarning, match=r"torch\.cpu\.amp\.GradScaler"):
            assert lib.cpu.amp.GradScaler().is_enabled()


def test_scale_nested_outputs():
    for lib in (torch, gradstep):
        scaler = lib.amp.GradScaler("cpu", init_scale=4.0)
        a, b = lib.ones(2), lib.full((3,), 2.0)
        out = scaler.scale([a, (b, [a])])
        assert isinstance(out, list) and isinstance(out[1], tuple) and isinstance(out[1][1], list)
        assert out[0].tolist() == [4.0, 4.0] and out[1][0].tolist() == [8.0] * 3
        with pytest.raises(ValueError, match="must be a Tensor or an iterable"):
            scaler.scale(3.0)


def test_unscale_rules_and_errors_match_torch():
    for lib in (torch, gradstep):
        model = _model(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        scaler = lib.amp.GradScaler("cpu", init_scale=8.0)
        with pytest.raises(AssertionError, match="_scale is None"):
            scaler.unscale_(opt)
        loss = model(lib.ones(2, 6)).sum()
        scaler.scale(loss).backward()
        g_scaled = model.bias.grad.clone()
        scaler.unscale_(opt)
        assert model.bias.grad.tolist() == (g_scaled / 8).tolist()
        with pytest.raises(RuntimeError, match="already been called"):
            scaler.unscale_(opt)
        scaler.step(opt)
        with pytest.raises(RuntimeError, match="after step"):
            scaler.unscale_(opt)
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
            scaler.step(opt)
        with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
            scaler.step(opt, closure=lambda: 0)
        scaler.update()
        model.half()
        loss = model(lib.ones(2, 6, dtype=lib.float16)).float().sum()
        scaler.scale(loss).backward()
        with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
            scaler.unscale_(opt)


def test_bfloat16_gradients_unscaled_like_torch():
    grads = []
    for lib in (torch, gradstep):
        model = _model(lib).bfloat16()
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        scaler = lib.amp.GradScaler("cpu", init_scale=3.0)  # 1/3 is inexact: rounding shows
        loss = model(lib.ones(4, 6, dtype=lib.bfloat16)).float().square().sum()
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        grads.append(model.weight.grad.float().numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


def test_update_with_new_scale_and_state_dict():
    for lib in (torch, gradstep):
        scaler = lib.amp.GradScaler("cpu", init_scale=16.0, growth_interval=7)
        assert scaler.get_scale() == 16.0  # before the first scale(): init_scale
        scaler.scale(lib.ones(1))
        scaler.update(new_scale=2.0)
        assert scaler.get_scale() == 2.0
        scaler.update(new_scale=lib.tensor(0.5))
        sd = scaler.state_dict()
        assert sd == {"scale": 0.5, "growth_factor": 2.0, "backoff_factor": 0.5,
                      "growth_interval": 7, "_growth_tracker": 0}
        other = lib.amp.GradScaler("cpu")
        other.load_state_dict(sd)
        assert other.state_dict() == sd and other.get_growth_interval() == 7
        with pytest.raises(RuntimeError, match="source state dict is empty"):
            other.load_state_dict({})
        back = pickle.loads(pickle.dumps(scaler))
        assert back.get_scale() == 0.5
        with pytest.raises(AssertionError, match="No inf checks were recorded prior to update"):
            scaler.update()
        with pytest.raises(AssertionError, match="growth factor must be > 1.0"):
            lib.amp.GradScaler("cpu", growth_factor=1.0)


def test_step_without_gradients_is_an_error_like_torch():
    for lib in (torch, gradstep):
        model = _model(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        scaler = lib.amp.GradScaler("cpu")
        scaler.scale(lib.ones(1))
        with pytest.raises(AssertionError, match="No inf checks were recorded for this optimizer"):
            scaler.step(opt)


def test_broadcast_gradient_is_unscaled():
    """A gradient that is a read-only broadcast view is replaced by an unscaled copy."""
    p = gradstep.nn.Parameter(gradstep.zeros(3, 4))
    opt = gradstep.optim.SGD([p], lr=1.0)
    scaler = gradstep.amp.GradScaler("cpu", init_scale=4.0)
    scaler.scale(gradstep.ones(1))
    p.grad = gradstep.full((1, 4), 8.0).expand(3, 4)
    scaler.unscale_(opt)
    assert p.grad.tolist() == [[2.0] * 4] * 3


def test_autocast_training_loop_matches_torch():
    """The usual loop: bfloat16 autocast forward, scaled backward, scaler.step/update.
    Each step's forward and gradients agree with torch's bit for bit or to a bfloat16
    rounding flip (tests/amp/test_autocast.py); over 5 SGD steps the parameters stay
    within 2**-8 of the update size (lr * gradient, both O(0.1))."""
    params = {}
    for lib in (torch, gradstep):
        model = lib.nn.Sequential(lib.nn.Linear(6, 16), lib.nn.ReLU(), lib.nn.Linear(16, 3))
        if lib is gradstep:
            model.load_state_dict({k: gradstep.tensor(v.detach().numpy())
                                   for k, v in params["init"].items()})
        else:
            params["init"] = {k: v.clone() for k, v in model.state_dict().items()}
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        scaler = lib.amp.GradScaler("cpu", init_scale=2.0**8, growth_interval=2)
        rng = np.random.default_rng(3)
        scales = []
        for _ in range(5):
            x = lib.tensor(rng.standard_normal((8, 6)).astype(np.float32))
            y = lib.tensor(rng.integers(0, 3, 8))
            opt.zero_grad()
            with lib.autocast("cpu"):
                loss = lib.nn.functional.cross_entropy(model(x), y)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            scales.append(scaler.get_scale())
        params[lib] = [p.detach().numpy().copy() for p in model.parameters()], scales
    (tp, ts), (gp, gs) = params[torch], params[gradstep]
    assert gs == ts
    for a, b in zip(gp, tp):
        np.testing.assert_allclose(a, b, rtol=0, atol=2.0**-8 * 0.1)
