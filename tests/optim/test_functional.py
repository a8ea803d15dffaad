"""The functional optimizers: ``torch.optim._functional.adam`` and the module functions
(``torch.optim.adam.adam``, ``torch.optim.sgd.sgd``, ...) with torch's signatures, updating
lists of tensors in place.

Their numbers are the optimizer classes' (checked to the bit against each class's
per-parameter path). Against torch's functions, on float32 and float64: SGD (where both
sides fuse ``y + a*x``, see ``tests.helpers.fma_on_both_sides``) and Rprop agree to the bit,
as their classes do; the others' classes reorder a few roundings (Adam's denominator, a
non-fused ``sum += g*g``), so they agree within the optimizer tests' tolerances (the oracle's:
rtol 1e-5 float32, 1e-10 float64). On float16/bfloat16 SGD, Adam/AdamW, RMSprop and Adagrad
follow torch's roundings (tests/optim/test_lowp_steps.py): equal to the bit.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest
import torch
import torch.optim._functional as torch_functional

import gradstep
from gradstep.optim import _functional
from tests.helpers import assert_close, fma_on_both_sides
from tests.optim.test_lowp_steps import assert_same_bits

SHAPES = [(5, 4), (5,), (3, 5), (3,)]
STEPS = 4


def _zeros(lib, params):
    return [lib.zeros_like(p) for p in params]


def _scalars(value):
    return lambda lib, params: [lib.tensor(value) for _ in params]


def _fulls(value):
    return lambda lib, params: [lib.full_like(p, value) for p in params]


# name: (state list builders, functional kwargs, optimizer class, its kwargs)
CASES = {
    "sgd": ([lambda lib, params: [None] * len(params)],
            dict(weight_decay=0.01, momentum=0.9, lr=0.1, dampening=0.0, nesterov=True,
                 maximize=False),
            "SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)),
    "adam": ([_zeros, _zeros, _zeros, _scalars(0.0)],
             dict(amsgrad=True, beta1=0.9, beta2=0.999, lr=0.01, weight_decay=0.1, eps=1e-8,
                  maximize=False),
             "Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    "adamw": ([_zeros, _zeros, _zeros, _scalars(0.0)],
              dict(amsgrad=False, beta1=0.8, beta2=0.99, lr=0.01, weight_decay=0.1, eps=1e-8,
                   maximize=True),
              "AdamW", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, maximize=True)),
    "adagrad": ([_zeros, _scalars(0.0)],
                dict(lr=0.1, weight_decay=0.01, lr_decay=0.01, eps=1e-10, maximize=False),
                "Adagrad", dict(lr=0.1, weight_decay=0.01, lr_decay=0.01)),
    "adadelta": ([_zeros, _zeros, _scalars(0.0)],
                 dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.01, maximize=False),
                 "Adadelta", dict(weight_decay=0.01)),
    "adamax": ([_zeros, _zeros, _scalars(0.0)],
               dict(eps=1e-8, beta1=0.9, beta2=0.999, lr=0.01, weight_decay=0.01),
               "Adamax", dict(lr=0.01, weight_decay=0.01)),
    "asgd": ([_zeros, _scalars(1.0), _scalars(0.01), _scalars(0.0)],
             dict(lambd=1e-4, lr=0.01, t0=2, alpha=0.75, weight_decay=0.01),
             "ASGD", dict(lr=0.01, t0=2, weight_decay=0.01)),
    "nadam": ([_zeros, _zeros, _scalars(1.0), _scalars(0.0)],
              dict(beta1=0.9, beta2=0.999, lr=0.01, weight_decay=0.01, momentum_decay=4e-3,
                   eps=1e-8),
              "NAdam", dict(lr=0.01, weight_decay=0.01)),
    "radam": ([_zeros, _zeros, _scalars(0.0)],
              dict(beta1=0.9, beta2=0.999, lr=0.01, weight_decay=0.01, eps=1e-8),
              "RAdam", dict(lr=0.01, weight_decay=0.01)),
    "rmsprop": ([_zeros, _zeros, _zeros, _scalars(0.0)],
                dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.01, momentum=0.9,
                     centered=True),
                "RMSprop", dict(lr=0.01, weight_decay=0.01, momentum=0.9, centered=True)),
    "rprop": ([_zeros, _fulls(0.01), _scalars(0.0)],
              dict(step_size_min=1e-6, step_size_max=50, etaminus=0.5, etaplus=1.2),
              "Rprop", dict(lr=0.01)),
}
EXACT_IN_FLOAT32_AND_64 = {"rprop"} | ({"sgd"} if fma_on_both_sides() else set())


def data(dtype, seed=0, shapes=SHAPES, steps=STEPS):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(steps)]
    return init, grads


def _tensors(lib, arrays, dtype):
    return [lib.tensor(a).to(getattr(lib, dtype)) for a in arrays]


def run_functional(lib, name, dtype, init, grads, **extra):
    """Parameters and state lists after ``len(grads)`` calls of ``lib``'s functional ``name``."""
    builders, kwargs, _, _ = CASES[name]
    fn = getattr(importlib.import_module(f"{lib.__name__}.optim._functional"), name)
    params = _tensors(lib, init, dtype)
    state = [build(lib, params) for build in builders]
    with lib.no_grad():
        for step_grads in grads:
            fn(params, _tensors(lib, step_grads, dtype), *state, **kwargs, **extra)
    return params, state


def run_class(name, dtype, init, grads):
    """gradstep's optimizer class on the same problem, per-parameter path."""
    _, _, cls, kwargs = CASES[name]
    params = [gradstep.nn.Parameter(t) for t in _tensors(gradstep, init, dtype)]
    opt = getattr(gradstep.optim, cls)(params, foreach=False, **kwargs)
    for step_grads in grads:
        for p, g in zip(params, _tensors(gradstep, step_grads, dtype)):
            p.grad = g
        opt.step()
    return params


def _state_tensors(state):
    return [t for lst in state for t in lst if isinstance(t, (gradstep.Tensor, torch.Tensor))]


# ---------------------------------------------------------------- API
def test_exports_cover_torch():
    theirs = {n for n, v in vars(torch_functional).items()
              if inspect.isfunction(v) and not n.startswith("_")}
    assert theirs == set(CASES) | {"sparse_adam"}
    assert theirs <= set(_functional.__all__)
    assert gradstep.optim._functional is _functional


@pytest.mark.parametrize("name", sorted(set(CASES) | {"sparse_adam"}))
def test_signature_matches_torch(name):
    ours = inspect.signature(getattr(_functional, name)).parameters
    theirs = inspect.signature(getattr(torch_functional, name)).parameters
    assert list(ours) == list(theirs)
    for key, p in theirs.items():
        assert (ours[key].kind, ours[key].default) == (p.kind, p.default), key


@pytest.mark.parametrize("name", sorted(CASES))
def test_module_function_is_the_functional_one(name):
    """``torch.optim.adam.adam`` is reachable as ``gradstep.optim.adam.adam`` (the module
    rule), and listed in the module's ``__all__`` as in torch's."""
    module = importlib.import_module(f"gradstep.optim.{name}")
    torch_module = importlib.import_module(f"torch.optim.{name}")
    assert getattr(module, name) is getattr(_functional, name)
    assert set(torch_module.__all__) <= set(module.__all__)


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_numbers_are_the_optimizer_class(name, dtype):
    init, grads = data(dtype)
    params, _ = run_functional(gradstep, name, dtype, init, grads)
    for p, q in zip(params, run_class(name, dtype, init, grads)):
        np.testing.assert_array_equal(p.numpy(), q.detach().numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_numbers_match_torch(name, dtype):
    init, grads = data(dtype, seed=1)
    params, state = run_functional(gradstep, name, dtype, init, grads)
    t_params, t_state = run_functional(torch, name, dtype, init, grads)
    ours, theirs = params + _state_tensors(state), t_params + _state_tensors(t_state)
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.dtype.name == str(b.dtype).split(".")[-1], i
        if name in EXACT_IN_FLOAT32_AND_64:
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"tensor {i}")
        else:
            assert_close(a, b, dtype, what=f"tensor {i}")


LOWP = {"sgd": dict(), "adam": dict(), "adamw": dict(), "rmsprop": dict(), "adagrad": dict()}


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(LOWP))
def test_float16_and_bfloat16_equal_torch_bit_for_bit(name, dtype, foreach):
    init, grads = data(dtype, seed=2, shapes=[(8, 64), (64,)], steps=5)
    params, state = run_functional(gradstep, name, dtype, init, grads, foreach=foreach)
    t_params, t_state = run_functional(torch, name, dtype, init, grads, foreach=foreach)
    ours, theirs = params + _state_tensors(state), t_params + _state_tensors(t_state)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if b.dim():
            assert_same_bits(a._data.view(np.uint16), b.view(torch.int16).numpy().view(np.uint16),
                             dtype, f"tensor {i}")


def test_sgd_fills_missing_momentum_buffers_like_torch():
    init, grads = data("float32", steps=1)
    _, (ours,) = run_functional(gradstep, "sgd", "float32", init, grads)
    _, (theirs,) = run_functional(torch, "sgd", "float32", init, grads)
    for a, b in zip(ours, theirs):
        assert isinstance(a, gradstep.Tensor)
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_steps_and_versions_move():
    init, grads = data("float32", steps=3)
    params, state = run_functional(gradstep, "adam", "float32", init, grads)
    assert [float(t) for t in state[-1]] == [3.0] * len(params)
    assert all(p._version >= 3 for p in params)


# ---------------------------------------------------------------- errors
def _call(lib, name, params, grads, state, **kwargs):
    fn = getattr(importlib.import_module(f"{lib.__name__}.optim._functional"), name)
    try:
        fn(params, grads, *state, **{**CASES[name][1], **kwargs})
    except Exception as e:  # noqa: BLE001 - the exception itself is compared
        return e
    return None


def _same_error(make_args, name, **kwargs):
    errors = []
    for lib in (gradstep, torch):
        params, grads, state = make_args(lib)
        errors.append(_call(lib, name, params, grads, state, **kwargs))
    ours, theirs = errors
    assert theirs is not None
    assert type(ours) is type(theirs)
    assert str(ours) == str(theirs)


def _args(requires_grad=False, steps_as_numbers=False):
    def make(lib):
        params = [lib.zeros(3, requires_grad=requires_grad)]
        state = [_zeros(lib, params), _zeros(lib, params), _zeros(lib, params),
                 [1] if steps_as_numbers else [lib.tensor(0.0)]]
        return params, [lib.ones(3)], state

    return make


def test_state_steps_must_be_tensors_as_in_torch():
    with torch.no_grad(), gradstep.no_grad():
        _same_error(_args(steps_as_numbers=True), "adam")


def test_leaf_requiring_grad_outside_no_grad_is_torchs_error():
    _same_error(_args(requires_grad=True), "adam", weight_decay=0.0, amsgrad=False)


def test_grad_scale_without_fused_is_torchs_error():
    with torch.no_grad(), gradstep.no_grad():
        _same_error(_args(), "adam", grad_scale=2.0)


def test_grad_scale_with_fused_is_refused():
    params, grads, state = _args()(gradstep)
    with gradstep.no_grad():
        error = _call(gradstep, "adam", params, grads, state, fused=True,
                      grad_scale=gradstep.tensor(1.0))
    assert isinstance(error, NotImplementedError) and "grad_scale" in str(error)


def test_differentiable_is_refused():
    params, grads, state = _args()(gradstep)
    error = _call(gradstep, "adam", params, grads, state, differentiable=True)
    assert isinstance(error, NotImplementedError) and "differentiable" in str(error)


def test_a_graph_under_grad_mode_is_refused():
    """torch would record the update in the graph of a non-leaf parameter; gradstep cannot."""
    leaf = gradstep.zeros(3, requires_grad=True)
    params, grads, state = [leaf * 2], [gradstep.ones(3)], _args()(gradstep)[2]
    error = _call(gradstep, "adam", params, grads, state)
    assert isinstance(error, NotImplementedError) and "no_grad" in str(error)


def test_sparse_adam_refuses_dense_gradients_like_torch():
    def make(lib):
        params = [lib.zeros(3)]
        return params, [lib.ones(3)], [_zeros(lib, params), _zeros(lib, params), [1]]

    kwargs = dict(eps=1e-8, beta1=0.9, beta2=0.999, lr=0.1, maximize=False)
    errors = []
    for lib in (gradstep, torch):
        params, grads, state = make(lib)
        fn = importlib.import_module(f"{lib.__name__}.optim._functional").sparse_adam
        with pytest.raises(RuntimeError) as info:
            fn(params, grads, *state, **kwargs)
        errors.append(str(info.value))
        assert fn([], [], [], [], [], **kwargs) is None
    assert errors[0] == errors[1]
