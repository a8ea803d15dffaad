"""Optimizers with Tensor hyperparameters (``lr=torch.tensor(0.01)``) against torch, bit for bit.

torch keeps a Tensor lr as a 0-d tensor and does its single-tensor update with tensor
arithmetic; gradstep's steps for such groups (``gradstep.optim._tensor_hyper``) repeat that op
sequence, so parameters and state must be equal to the bit. Where the update takes a square
root, torch's float32/float64 ``sqrt`` on this CPU is not correctly rounded (it differs from
NumPy's by an ulp in some elements), so those optimizers are compared bit for bit on the state
that no square root reaches and within a few ulps of the update on the parameters.
"""

import numpy as np
import pytest
import torch

import gradstep

STEPS = 5
SHAPE = (40, 30)


def _run(lib, name, param_dtype, lr_dtype, options, seed=0):
    rng = np.random.default_rng(seed)
    init = rng.standard_normal(SHAPE)
    grads = [rng.standard_normal(SHAPE) for _ in range(STEPS)]
    dtype = getattr(lib, param_dtype)
    p = lib.tensor(init, dtype=dtype, requires_grad=True)
    lr = lib.tensor(0.01, dtype=getattr(lib, lr_dtype))
    opt = getattr(lib.optim, name)([p], lr=lr, **options)
    for g in grads:
        p.grad = lib.tensor(g, dtype=dtype)
        opt.step()
    state = {k: np.asarray(v.detach().numpy() if hasattr(v, "numpy") else v)
             for k, v in opt.state[p].items()}
    return p.detach().numpy(), state, opt


SGD_OPTIONS = [
    dict(),
    dict(weight_decay=0.1),
    dict(momentum=0.9),
    dict(momentum=0.9, nesterov=True, weight_decay=0.1),
    dict(momentum=0.9, dampening=0.1, maximize=True),
]


@pytest.mark.parametrize("param_dtype", ["float32", "float64"])
@pytest.mark.parametrize("lr_dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", SGD_OPTIONS, ids=str)
def test_sgd_tensor_lr_is_bit_identical(param_dtype, lr_dtype, options):
    want, want_state, _ = _run(torch, "SGD", param_dtype, lr_dtype, options)
    got, got_state, opt = _run(gradstep, "SGD", param_dtype, lr_dtype, options)
    np.testing.assert_array_equal(got, want)
    assert set(got_state) == set(want_state)
    for key in want_state:
        np.testing.assert_array_equal(got_state[key], want_state[key])
    assert isinstance(opt.param_groups[0]["lr"], gradstep.Tensor)  # kept as a tensor, as torch


SQRT_CASES = [
    ("Adam", dict(), ("exp_avg", "exp_avg_sq")),
    ("AdamW", dict(), ("exp_avg", "exp_avg_sq")),
    ("Adam", dict(amsgrad=True, maximize=True), ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")),
    ("RMSprop", dict(), ("square_avg",)),
    ("Adagrad", dict(lr_decay=0.01), ("sum",)),
]


@pytest.mark.parametrize("param_dtype", ["float32", "float64"])
@pytest.mark.parametrize("lr_dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,options,exact_keys", SQRT_CASES, ids=lambda v: str(v))
def test_sqrt_optimizers_with_tensor_lr(param_dtype, lr_dtype, name, options, exact_keys):
    want, want_state, _ = _run(torch, name, param_dtype, lr_dtype, options)
    got, got_state, _ = _run(gradstep, name, param_dtype, lr_dtype, options)
    assert set(got_state) == set(want_state)
    for key in exact_keys:  # no square root reaches these: torch's op sequence to the bit
        np.testing.assert_array_equal(got_state[key], want_state[key])
    np.testing.assert_array_equal(got_state["step"], want_state["step"])
    # an ulp of sqrt in the denominator moves a step's update by an ulp of the update, which can
    # flip the rounding of ``param + update``: at most an ulp of the parameter per step
    eps = np.finfo(np.dtype(param_dtype)).eps
    np.testing.assert_allclose(got, want, rtol=0, atol=2 * STEPS * eps * np.abs(want).max())


@pytest.mark.parametrize("lib", [torch, gradstep], ids=["torch", "gradstep"])
def test_tensor_lr_with_foreach_is_refused(lib):
    p = lib.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="lr as a Tensor is not supported for capturable=False "
                                         "and foreach=True"):
        lib.optim.Adam([p], lr=lib.tensor(0.01), foreach=True)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam",
                                  "RAdam", "ASGD", "Adadelta", "Rprop"])
def test_tensor_lr_must_have_one_element(name):
    for lib in (torch, gradstep):
        p = lib.zeros(3, requires_grad=True)
        with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
            getattr(lib.optim, name)([p], lr=lib.tensor([0.01, 0.02]))


def test_mixed_betas_are_refused_as_torch():
    for lib in (torch, gradstep):
        p = lib.zeros(3, requires_grad=True)
        with pytest.raises(ValueError, match="betas must be either both floats or both Tensors"):
            lib.optim.Adam([p], betas=(lib.tensor(0.9), 0.999))


def test_float_lr_group_keeps_its_path():
    """A group of plain numbers does not take the Tensor path (its numbers are unchanged)."""
    from gradstep.optim import _tensor_hyper

    group = dict(lr=0.01, betas=(0.9, 0.999), weight_decay=0)
    assert not _tensor_hyper.has_tensor(group, "lr", "betas", "weight_decay")
    group["betas"] = (gradstep.tensor(0.9), gradstep.tensor(0.999))
    assert _tensor_hyper.has_tensor(group, "lr", "betas", "weight_decay")
