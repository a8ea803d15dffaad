"""SGD and hand-written torch-1.x optimizers give torch's float32 numbers to the bit.

torch rounds every ``add_(x, alpha=a)`` once (a fused multiply-add); gradstep does the
same through ``gradstep._blas``. Where both sides fuse (``fma_on_both_sides``) the
parameters after several steps must be equal; elsewhere they agree within the same
tolerances as the other optimizer tests.
"""

import numpy as np
import pytest
import torch

import gradstep
from gradstep.optim import _flat
from tests.helpers import fma_on_both_sides

SHAPES = [(300, 200), (200,), (5000,), (7, 3)]
SGD_CONFIGS = [
    dict(momentum=0.9),
    dict(momentum=0.9, weight_decay=1e-4),
    dict(momentum=0.9, nesterov=True, weight_decay=1e-2),
    dict(momentum=0.9, dampening=0.3),
    dict(),
    dict(weight_decay=0.1, maximize=True),
]


def run_steps(lib, make_opt, init, grads):
    params = [lib.nn.Parameter(lib.tensor(a.copy())) for a in init]
    opt = make_opt(lib, params)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = lib.tensor(g.copy())
        opt.step()
    return [p.detach().numpy() for p in params]


def data(shapes, steps, dtype, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    return init, grads


def assert_params(ours, theirs, dtype):
    for a, b in zip(ours, theirs):
        if fma_on_both_sides():
            np.testing.assert_array_equal(a, b)
        else:  # a few steps of one-ulp differences in the update, on parameters of size ~1
            np.testing.assert_allclose(a, b, rtol=0, atol=20 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("foreach", [None, False])
@pytest.mark.parametrize("config", SGD_CONFIGS, ids=str)
def test_sgd_equals_torch(config, foreach, dtype):
    init, grads = data(SHAPES, 5, dtype)

    def make(lib, params):
        return lib.optim.SGD(params, lr=0.01, foreach=foreach, **config)

    assert_params(run_steps(gradstep, make, init, grads), run_steps(torch, make, init, grads), dtype)


def test_sgd_equals_torch_on_a_group_split_among_threads(monkeypatch):
    """A group above the flat path's threading size runs on several threads, BLAS serial."""
    monkeypatch.setattr(_flat, "MIN_THREADED", 1 << 12)
    monkeypatch.setattr(_flat, "THREADS", 3)
    monkeypatch.setattr(_flat, "CHUNK", 1 << 12)
    init, grads = data([(60000,), (333,), (20000,)], 3, np.float32, seed=1)

    def make(lib, params):
        return lib.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-3, nesterov=True)

    threads_before = gradstep.get_num_threads()
    assert_params(run_steps(gradstep, make, init, grads), run_steps(torch, make, init, grads),
                  np.float32)
    assert gradstep.get_num_threads() == threads_before


def legacy_sgd(lib):
    """The article's optimizer: a torch 1.x ``Optimizer`` subclass with positional-alpha overloads."""

    class LegacySGD(lib.optim.Optimizer):
        def __init__(self, params, lr, momentum=0.9, weight_decay=1e-4):
            super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

        def step(self, closure=None):
            for group in self.param_groups:
                weight_decay, momentum = group["weight_decay"], group["momentum"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    d_p = p.grad.data
                    if weight_decay != 0:
                        d_p = d_p.add(weight_decay, p.data)
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        buf = state["momentum_buffer"] = d_p.clone()
                    else:
                        buf = state["momentum_buffer"]
                        buf.mul_(momentum).add_(1 - 0.1, d_p)
                    p.data.add_(-group["lr"], buf)

    return LegacySGD


@pytest.mark.filterwarnings("ignore:This overload of add")
def test_torch_1x_optimizer_with_positional_alpha_equals_torch():
    init, grads = data(SHAPES, 6, np.float32, seed=2)

    def make(lib, params):
        return legacy_sgd(lib)(params, lr=0.02)

    assert_params(run_steps(gradstep, make, init, grads), run_steps(torch, make, init, grads),
                  np.float32)
