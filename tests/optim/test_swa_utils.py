"""AveragedModel, SWALR and update_bn against torch.optim.swa_utils."""

import warnings

import numpy as np
import pytest
import torch

import gradstep as gs
from tests.helpers import assert_close


def _twins():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    gm = gs.nn.Sequential(gs.nn.Linear(4, 8), gs.nn.BatchNorm1d(8), gs.nn.ReLU(), gs.nn.Linear(8, 3))
    gm.load_state_dict({k: gs.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return gm, tm


def _perturb(gm, tm, rng):
    with torch.no_grad(), gs.no_grad():
        for (_, gp), (_, tp) in zip(gm.named_parameters(), tm.named_parameters()):
            noise = rng.standard_normal(tuple(tp.shape)).astype(np.float32)
            tp.add_(torch.from_numpy(noise))
            gp.add_(gs.tensor(noise))
        for (_, gb), (_, tb) in zip(gm.named_buffers(), tm.named_buffers()):
            if tb.is_floating_point():
                noise = rng.uniform(0, 1, tuple(tb.shape)).astype(np.float32)
                tb.add_(torch.from_numpy(noise))
                gb.add_(gs.tensor(noise))


@pytest.mark.parametrize("kind", ["swa", "ema", "avg_fn", "swa_buffers"])
def test_averaged_model_matches_torch(kind):
    gm, tm = _twins()
    if kind == "ema":
        ga = gs.optim.swa_utils.AveragedModel(gm, multi_avg_fn=gs.optim.swa_utils.get_ema_multi_avg_fn(0.9))
        ta = torch.optim.swa_utils.AveragedModel(tm, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9))
    elif kind == "avg_fn":
        ga = gs.optim.swa_utils.AveragedModel(gm, avg_fn=gs.optim.swa_utils.get_ema_avg_fn(0.8))
        ta = torch.optim.swa_utils.AveragedModel(tm, avg_fn=torch.optim.swa_utils.get_ema_avg_fn(0.8))
    else:
        ub = kind == "swa_buffers"
        ga = gs.optim.swa_utils.AveragedModel(gm, use_buffers=ub)
        ta = torch.optim.swa_utils.AveragedModel(tm, use_buffers=ub)
    rng = np.random.default_rng(1)
    for _ in range(6):
        _perturb(gm, tm, rng)
        ga.update_parameters(gm)
        ta.update_parameters(tm)
    tsd = ta.state_dict()
    gsd = ga.state_dict()
    assert list(gsd) == list(tsd)
    for k in tsd:
        assert_close(gsd[k], tsd[k], "float32", what=k)


def test_update_bn_matches_torch():
    gm, tm = _twins()
    rng = np.random.default_rng(2)
    batches = [rng.standard_normal((16, 4)).astype(np.float32) * 3 + 1 for _ in range(5)]
    gs.optim.swa_utils.update_bn([(gs.tensor(b), 0) for b in batches], gm)
    torch.optim.swa_utils.update_bn([(torch.from_numpy(b), 0) for b in batches], tm)
    bn, tbn = gm[1], tm[1]
    assert_close(bn.running_mean, tbn.running_mean, "float32")
    assert_close(bn.running_var, tbn.running_var, "float32")
    assert bn.momentum == tbn.momentum == 0.1


@pytest.mark.parametrize("strategy,epochs", [("cos", 10), ("linear", 5), ("cos", 0)])
def test_swalr_matches_torch(strategy, epochs):
    p, tp = gs.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    opt = gs.optim.SGD([{"params": [p]}, {"params": [gs.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    topt = torch.optim.SGD([{"params": [tp]}, {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}], lr=0.1)
    s = gs.optim.swa_utils.SWALR(opt, swa_lr=[0.01, 0.02], anneal_epochs=epochs, anneal_strategy=strategy)
    t = torch.optim.swa_utils.SWALR(topt, swa_lr=[0.01, 0.02], anneal_epochs=epochs, anneal_strategy=strategy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(30):
            opt.step()
            topt.step()
            s.step()
            t.step()
            np.testing.assert_allclose(s.get_last_lr(), t.get_last_lr(), rtol=1e-12)


def test_bad_decay():
    with pytest.raises(ValueError, match="Invalid decay value"):
        gs.optim.swa_utils.get_ema_multi_avg_fn(1.5)


def test_device_argument_moves_or_refuses_as_a_cpu_torch():
    """``device='cuda'`` on a CPU-only build fails as torch's does, instead of being ignored."""
    for lib in (gs, torch):
        model = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
        swa = lib.optim.swa_utils.AveragedModel(model, device="cpu")
        assert swa.n_averaged.device.type == "cpu" and next(swa.parameters()).device.type == "cpu"
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            lib.optim.swa_utils.AveragedModel(model, device="cuda")
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            lib.optim.swa_utils.update_bn([lib.ones(4, 2)], model, device="cuda")
        lib.optim.swa_utils.update_bn([lib.ones(4, 2)], model, device=lib.device("cpu"))
        assert int(model[1].num_batches_tracked) == 1
