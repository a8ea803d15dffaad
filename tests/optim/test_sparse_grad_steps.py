"""Optimizers given the sparse gradients of ``nn.Embedding(sparse=True)``, against torch:
SparseAdam, SGD (momentum, dampening, Nesterov, maximize, mixed groups), Adagrad and LBFGS
take them; the others refuse them with torch's messages; zero_grad empties them.

Trajectories run a few steps over batches with repeated indices and rows that no batch
touches. float64 runs agree to a few ulps over the steps; float32 ones to float32 rounding
(the per-step updates are the same sums, possibly rounded in another order)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import assert_close

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks")]
W = np.random.default_rng(1).standard_normal((8, 4))
BATCHES = ([0, 2, 2, 5], [5, 1], [7, 7, 7, 0, 2], [3])  # rows 4 and 6: never looked up


def both(fn):
    return fn(gradstep), fn(torch)


def train(lib, make_opt, dtype="float32", steps=8, dense_layer=False, zero_to_none=True):
    """Steps of an embedding (and optionally a linear layer in the same group); the weights."""
    e = lib.nn.Embedding(8, 4, sparse=True, _weight=lib.tensor(W.astype(dtype)))
    params = list(e.parameters())
    lin = None
    if dense_layer:
        lin = lib.nn.Linear(4, 2).to(getattr(lib, dtype))
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(W[:2].astype(dtype)))
            lin.bias.fill_(0.5)
        params += list(lin.parameters())
    opt = make_opt(lib, params)
    scale = lib.arange(1.0, 5.0, dtype=getattr(lib, dtype))
    for i in range(steps):
        opt.zero_grad(set_to_none=zero_to_none)
        h = e(lib.tensor(BATCHES[i % len(BATCHES)])) * scale
        loss = h.pow(2).sum() if lin is None else lin(h).tanh().sum() + h.pow(2).sum()
        loss.backward()
        opt.step()
    return [p.detach() for p in params], opt


def assert_same_training(make_opt, dtype, **kwargs):
    (ours, _), (theirs, _) = both(lambda lib: train(lib, make_opt, dtype, **kwargs))
    for a, b in zip(ours, theirs):
        assert_close(a, b, dtype)


OPTIMIZERS = {
    "sparse_adam": lambda lib, p: lib.optim.SparseAdam(p, lr=0.1),
    "sparse_adam_maximize": lambda lib, p: lib.optim.SparseAdam(p, lr=0.05, betas=(0.8, 0.9),
                                                                eps=1e-6, maximize=True),
    "sgd": lambda lib, p: lib.optim.SGD(p, lr=0.01),
    "sgd_momentum": lambda lib, p: lib.optim.SGD(p, lr=0.01, momentum=0.9),
    "sgd_dampening": lambda lib, p: lib.optim.SGD(p, lr=0.01, momentum=0.9, dampening=0.3),
    "sgd_nesterov": lambda lib, p: lib.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
    "sgd_maximize": lambda lib, p: lib.optim.SGD(p, lr=0.01, maximize=True, foreach=False),
    "adagrad": lambda lib, p: lib.optim.Adagrad(p, lr=0.1),
    "adagrad_decay": lambda lib, p: lib.optim.Adagrad(p, lr=0.1, lr_decay=0.1, eps=1e-3,
                                                      initial_accumulator_value=0.5),
    "adagrad_maximize": lambda lib, p: lib.optim.Adagrad(p, lr=0.1, maximize=True),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_training_with_sparse_grads_matches_torch(name, dtype):
    assert_same_training(OPTIMIZERS[name], dtype)


@pytest.mark.parametrize("name", ["sgd", "sgd_momentum", "sgd_nesterov", "adagrad"])
def test_sparse_and_dense_parameters_in_one_group(name):
    assert_same_training(OPTIMIZERS[name], "float64", dense_layer=True)


def test_zero_grad_keeping_tensors_empties_the_sparse_grad():
    assert_same_training(OPTIMIZERS["sgd_momentum"], "float64", zero_to_none=False)

    def run(lib):
        e = lib.nn.Embedding(8, 4, sparse=True)
        e(lib.tensor([0, 2])).sum().backward()
        grad = e.weight.grad
        lib.optim.SGD(e.parameters(), lr=0.1).zero_grad(set_to_none=False)
        empty = (grad._nnz(), tuple(grad._indices().shape), grad.is_coalesced())
        e(lib.tensor([5, 1, 5])).sum().backward()
        return empty, e.weight.grad is grad, grad._indices().numpy().tolist()

    assert both(run)[0] == both(run)[1]


def test_sparse_momentum_buffer_is_sparse_as_torch():
    def run(lib):
        _, opt = train(lib, OPTIMIZERS["sgd_momentum"], "float64", steps=2)
        buf = next(iter(opt.state.values()))["momentum_buffer"]
        return buf.is_sparse, buf._indices().numpy().tolist(), buf.is_coalesced()

    ours, theirs = both(run)
    assert ours == theirs


def test_sparse_adam_state_is_torchs():
    def run(lib):
        _, opt = train(lib, OPTIMIZERS["sparse_adam"], "float64", steps=3)
        state = opt.state_dict()["state"][0]
        return sorted(state), state["step"], state["exp_avg"].numpy(), state["exp_avg_sq"].numpy()

    ours, theirs = both(run)
    assert ours[:2] == theirs[:2] and isinstance(ours[1], int)
    assert_close(ours[2], theirs[2], "float64")
    assert_close(ours[3], theirs[3], "float64")


def test_sparse_adam_refuses_a_dense_gradient():
    msgs = []
    for lib in (gradstep, torch):
        lin = lib.nn.Linear(2, 2)
        lin(lib.ones(1, 2)).sum().backward()
        with pytest.raises(RuntimeError) as info:
            lib.optim.SparseAdam(lin.parameters()).step()
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


def test_sparse_adam_refuses_a_sparse_parameter():
    msgs = []
    for lib in (gradstep, torch):
        s = lib.sparse_coo_tensor([[0]], [1.0], (2,)).requires_grad_()
        with pytest.raises(ValueError) as info:
            lib.optim.SparseAdam([s])
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


def test_functional_sparse_adam_matches_the_class():
    def run(lib):
        p = lib.tensor(W.copy())
        m, v = lib.zeros_like(p), lib.zeros_like(p)
        g = lib.sparse_coo_tensor([[1, 6, 1]], lib.tensor(W[:3] * 0.5), (8, 4))
        from_functional = lib.optim._functional.sparse_adam
        for step in (1, 2):
            from_functional([p], [g], [m], [v], [step], eps=1e-8, beta1=0.9, beta2=0.99, lr=0.1,
                            maximize=False)
        return p

    ours, theirs = both(run)
    assert_close(ours, theirs, "float64")


@pytest.mark.parametrize("name, kwargs", [
    ("Adam", {}), ("AdamW", {}), ("RMSprop", {}), ("Adamax", {}), ("NAdam", {}),
    ("RAdam", {}), ("Adadelta", {}), ("ASGD", {}), ("Rprop", {}), ("Adafactor", {}),
    ("Adam", dict(foreach=False)), ("SGD", dict(weight_decay=0.1)),
    ("Adagrad", dict(weight_decay=0.1)),
])
def test_optimizers_that_refuse_sparse_grads_say_what_torch_says(name, kwargs):
    def run(lib):
        e = lib.nn.Embedding(8, 4, sparse=True, _weight=lib.tensor(W.astype("float32")))
        e(lib.tensor([0, 2])).sum().backward()
        before = e.weight.detach().clone()
        with pytest.raises(RuntimeError) as info:
            getattr(lib.optim, name)(e.parameters(), lr=0.1, **kwargs).step()
        return str(info.value), np.array_equal(before.numpy(), e.weight.detach().numpy())

    ours, theirs = both(run)
    assert ours == theirs and ours[1]


def test_lbfgs_uses_the_dense_form_of_a_sparse_grad():
    def run(lib):
        e = lib.nn.Embedding(8, 4, sparse=True, _weight=lib.tensor(W))
        opt = lib.optim.LBFGS(e.parameters(), lr=0.5, max_iter=5)

        def closure():
            opt.zero_grad()
            loss = (e(lib.tensor([0, 2, 2, 5])) - 1).pow(2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        return e.weight.detach()

    ours, theirs = both(run)
    assert_close(ours, theirs, "float64")
