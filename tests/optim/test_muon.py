"""gradstep.optim.Muon against torch.optim.Muon.

torch runs Newton-Schulz in bfloat16; we emulate it in float32 with bfloat16 rounding after every
op (see gradstep/optim/muon.py). The float32 sums inside the matmuls and the norm are accumulated
in a different order than torch's kernels, so now and then an entry lands on the other side of a
bfloat16 rounding boundary: a one-ulp (2**-8 relative) difference that the following iterations
can spread. Hence the two tolerances below:

* the momentum buffer depends only on the gradients (no bfloat16 involved) and is compared with the
  usual dtype tolerance every step (it is in fact bit-identical);
* a parameter moves by ``adjusted_lr * O`` per step with entries of O below 2 in magnitude, so one
  bfloat16 ulp in an entry moves it by at most ``adjusted_lr * 2**-7``. We allow that much per step,
  accumulated over the steps taken. Measured over this grid and larger matrices (up to 64 x 48,
  50 steps, float32 and float64), the worst difference is a quarter of this bound. A wrong
  coefficient, step count, nesterov, weight decay or lr scaling moves parameters by a large
  multiple of it.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch

import gradstep
from gradstep.optim.muon import adjust_lr, zeropower_via_newtonschulz
from tests.helpers import assert_close
from tests.optim.oracle import (
    compare_state,
    make_params,
    state_dict_to_gradstep,
    state_dict_to_torch,
)

SHAPES = [(5, 4), (3, 5), (16, 12)]  # tall, wide (Newton-Schulz runs on the transpose), larger


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # torch's OpenMP threads spin against NumPy's BLAS threads on small bfloat16 matmuls
    # (70x slower here with 2 cores); one thread keeps these tests fast.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def assert_muon_close(opt, topt, ours, theirs, dtype, steps, what):
    """Buffers to the dtype tolerance; each parameter within ``steps`` bfloat16 ulps of its
    group's step (``adjusted_lr * 2**-7`` per step, see the module docstring)."""
    group_of = {id(p): g for g in opt.param_groups for p in g["params"]}
    for i, (p, tp) in enumerate(zip(ours, theirs)):
        compare_state(dict(opt.state.get(p, {})), dict(topt.state.get(tp, {})), dtype,
                      f"{what}: state {i}")
        g = group_of.get(id(p))
        atol = 0 if g is None else steps * adjust_lr(float(g["lr"]), g["adjust_lr_fn"], p.shape) * 2**-7
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=0, atol=atol,
                                   err_msg=f"{what}: param {i}")


def feed_grads(ours, theirs, rng, dtype, no_grad=()):
    for i, (p, tp) in enumerate(zip(ours, theirs)):
        if i in no_grad:
            continue
        g = rng.standard_normal(p.shape).astype(dtype)
        p.grad, tp.grad = gradstep.tensor(g.copy()), torch.tensor(g.copy())


def run_both(kwargs, dtype, steps=50, shapes=SHAPES, groups=None, on_step=None, no_grad=()):
    """Run both optimizers on the same random gradients; compare state and params every step."""
    ours, theirs = make_params(shapes, dtype)
    groups = groups or (lambda ps: ps)
    opt, topt = gradstep.optim.Muon(groups(ours), **kwargs), torch.optim.Muon(groups(theirs), **kwargs)
    rng = np.random.default_rng(1)
    for k in range(steps):
        if on_step is not None:
            on_step(k, opt, topt, ours, theirs)
        feed_grads(ours, theirs, rng, dtype, no_grad)
        opt.step()
        topt.step()
        assert_muon_close(opt, topt, ours, theirs, dtype, k + 1, f"step {k}")
    return opt, ours


GRID = [dict(nesterov=n, adjust_lr_fn=fn, weight_decay=wd)
        for n, fn, wd in itertools.product((True, False), (None, "original", "match_rms_adamw"),
                                           (0, 0.1))]
GRID += [dict(momentum=0.5, ns_steps=3), dict(momentum=0.9, eps=1e-3, nesterov=False),
         dict(ns_coefficients=(2.0, -1.5, 0.5), ns_steps=7)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hp", GRID, ids=lambda hp: "-".join(f"{k}={v}" for k, v in hp.items()))
def test_grid_matches_torch(hp, dtype):
    run_both(dict(lr=0.02, **hp), dtype)


@pytest.mark.parametrize("shape", [(4, 5), (16, 12), (32, 48), (64, 40)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_newton_schulz_matches_torch(shape, dtype):
    """Entries agree to a few bfloat16 ulps (here most bit for bit, but that depends on the
    summation order of the machine's matmul kernels, so it is not asserted)."""
    from torch.optim._muon import _zeropower_via_newtonschulz

    g = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    coeffs = (3.4445, -4.7750, 2.0315)
    theirs = _zeropower_via_newtonschulz(torch.tensor(g), coeffs, 5, 1e-7).float().numpy()
    ours = zeropower_via_newtonschulz(g, coeffs, 5, 1e-7)
    assert ours.shape == theirs.shape == shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=2**-6)
    # and the values are bfloat16 numbers, as torch's are
    assert np.all(ours.view(np.uint32) & 0xFFFF == 0)


def test_buffer_is_exact_and_first_step_matches():
    """After one step the update is a single Newton-Schulz call: compare it tightly."""
    opt, ours = run_both(dict(lr=0.02), "float64", steps=1)
    assert set(opt.state[ours[0]]) == {"momentum_buffer"}


def test_rejects_non_matrix_parameters():
    with pytest.raises(ValueError, match=r"Muon only supports 2D parameters .* size: gradstep.Size\(\[3\]\)"):
        gradstep.optim.Muon([gradstep.zeros(3, requires_grad=True)])
    opt = gradstep.optim.Muon([gradstep.zeros(2, 2, requires_grad=True)])
    b = gradstep.zeros(3, requires_grad=True)
    opt.add_param_group({"params": [b]})
    b.grad = gradstep.ones(3)
    with pytest.raises(ValueError, match="Param gradient must be a 2D matrix"):
        opt.step()


def test_too_many_newton_schulz_steps():
    p = gradstep.zeros(2, 2, requires_grad=True)
    opt = gradstep.optim.Muon([p], ns_steps=100)
    p.grad = gradstep.ones(2, 2)
    with pytest.raises(ValueError, match="less than 100"):
        opt.step()


def assert_same_error(kwargs):
    """Constructing both optimizers with ``kwargs`` fails with torch's type and message."""
    with pytest.raises(Exception) as theirs:
        torch.optim.Muon([torch.zeros(2, 2, requires_grad=True)], **kwargs)
    with pytest.raises(type(theirs.value), match=re.escape(str(theirs.value))):
        gradstep.optim.Muon([gradstep.zeros(2, 2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("kwargs", [dict(lr=-1), dict(momentum=-0.1), dict(weight_decay=-1),
                                    dict(adjust_lr_fn="nope")], ids=str)
def test_validation_matches_torch(kwargs):
    assert_same_error(kwargs)


def test_defaults_match_torch():
    ours = gradstep.optim.Muon([gradstep.zeros(2, 2, requires_grad=True)])
    theirs = torch.optim.Muon([torch.zeros(2, 2, requires_grad=True)])
    assert ours.defaults == theirs.defaults


def test_tensor_lr():
    (p,), (tp,) = make_params([(4, 3)])
    opt = gradstep.optim.Muon([p], lr=gradstep.tensor([0.05]))
    topt = torch.optim.Muon([tp], lr=torch.tensor([0.05]))
    g = np.linspace(-1, 1, 12).reshape(4, 3)
    p.grad, tp.grad = gradstep.tensor(g), torch.tensor(g)
    opt.step()
    topt.step()
    assert_close(p, tp.detach(), "float64")


@pytest.mark.parametrize("source", ["gradstep", "torch"])
def test_state_dict_cross_loads_with_torch(source):
    """The state is the momentum buffer alone: either library's, converted and loaded into both,
    continues both alike."""
    ours, theirs = make_params(SHAPES)
    params = ours if source == "gradstep" else theirs
    first = (gradstep.optim.Muon if source == "gradstep" else torch.optim.Muon)(params, lr=0.02)
    rng = np.random.default_rng(3)
    for _ in range(5):
        feed_grads(ours, theirs, rng, "float64")
        first.step()
    sd = first.state_dict()
    values = [p.detach().numpy().copy() for p in params]
    ours = [gradstep.tensor(v.copy(), requires_grad=True) for v in values]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    opt, topt = gradstep.optim.Muon(ours, lr=0.02), torch.optim.Muon(theirs, lr=0.02)
    opt.load_state_dict(sd if source == "gradstep" else state_dict_to_gradstep(sd))
    topt.load_state_dict(state_dict_to_torch(sd) if source == "gradstep" else sd)
    assert_muon_close(opt, topt, ours, theirs, "float64", 0, "loaded")
    for k in range(5):
        feed_grads(ours, theirs, rng, "float64")
        opt.step()
        topt.step()
        assert_muon_close(opt, topt, ours, theirs, "float64", k + 1, f"step {k} after loading")


def test_groups_added_group_and_missing_grads_match_torch():
    """Two groups with different hyperparameters, a third added at step 5, one matrix that never
    gets a gradient (it gets no state)."""
    def groups(ps):
        return [{"params": ps[:1], "lr": 0.03}, {"params": ps[1:3], "nesterov": False,
                                                  "adjust_lr_fn": "match_rms_adamw"}]

    def on_step(k, opt, topt, ours, theirs):
        if k == 5:
            opt.add_param_group({"params": ours[3:], "lr": 0.002})
            topt.add_param_group({"params": theirs[3:], "lr": 0.002})

    opt, params = run_both(dict(lr=0.02), "float64", steps=15,
                           shapes=[(5, 4), (3, 5), (4, 3), (2, 6)], groups=groups,
                           on_step=on_step, no_grad=(1,))
    assert params[1] not in opt.state
