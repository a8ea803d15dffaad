"""Threads: grad mode and inference mode are per thread, and independent graphs train at once.

Semantics are checked against torch in the same test (the scenario runs once per library and
the observations must match); training in threads is checked bit for bit against the same
training run serially (each thread owns its model, optimizer and data, so nothing but the
scheduling differs, and NumPy gives the same bits for the same inputs in any thread).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import gradstep
from gradstep import nn

LIBS = {"gradstep": gradstep, "torch": torch}


def in_thread(fn):
    """Run ``fn()`` in a new thread; return its result (re-raise its exception)."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive(), "thread did not finish"
    if "error" in box:
        raise box["error"]
    return box["value"]


def records(lib):
    """Whether an op on a tensor that requires grad records a graph in this thread."""
    x = lib.ones(3, requires_grad=True)
    return (x * 2).requires_grad


# ---------------------------------------------------------------- semantics, against torch
def context_in_other_thread(lib, make_context):
    """Thread A enters ``make_context(lib)`` and waits; thread B looks at its own modes meanwhile."""
    entered, looked = threading.Event(), threading.Event()
    seen = {}

    def a():
        with make_context(lib):
            seen["a"] = (lib.is_grad_enabled(), records(lib))
            entered.set()
            assert looked.wait(30)
            seen["a_after"] = lib.is_grad_enabled()

    def b():
        assert entered.wait(30)
        seen["b"] = (lib.is_grad_enabled(), records(lib), lib.is_inference_mode_enabled())
        looked.set()

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    ta.start()
    tb.start()
    ta.join(30)
    tb.join(30)
    return seen


@pytest.mark.parametrize("context", ["no_grad", "inference_mode", "set_grad_enabled"])
def test_a_context_in_one_thread_leaves_another_recording(context):
    make = {
        "no_grad": lambda lib: lib.no_grad(),
        "inference_mode": lambda lib: lib.inference_mode(),
        "set_grad_enabled": lambda lib: lib.set_grad_enabled(False),
    }[context]
    ours, theirs = (context_in_other_thread(lib, make) for lib in (gradstep, torch))
    assert theirs == {"a": (False, False), "b": (True, True, False), "a_after": False}
    assert ours == theirs


@pytest.mark.parametrize("name", ["gradstep", "torch"])
def test_a_new_thread_starts_with_grad_enabled(name):
    lib = LIBS[name]
    prev = lib.is_grad_enabled()
    lib.set_grad_enabled(False)
    try:
        seen = in_thread(lambda: (lib.is_grad_enabled(), records(lib)))
        assert lib.is_grad_enabled() is False and not records(lib)  # this thread's mode stays
    finally:
        lib.set_grad_enabled(prev)
    assert seen == (True, True)
    with lib.inference_mode():
        seen = in_thread(lambda: (lib.is_grad_enabled(), lib.is_inference_mode_enabled()))
        assert lib.is_inference_mode_enabled()
    assert seen == (True, False)


def test_inference_mode_flags_match_torch():
    def observe(lib):
        out = []
        with lib.no_grad():
            with lib.inference_mode(False):
                out.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))
        with lib.inference_mode():
            out.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))
        out.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))
        bare = lib.inference_mode(lambda: (lib.is_grad_enabled(), lib.is_inference_mode_enabled()))
        out.append(bare())
        return out

    assert observe(gradstep) == observe(torch)


def test_anomaly_mode_is_one_switch_for_the_process_like_torch():
    """torch's anomaly mode is a process-wide flag (unlike grad mode); gradstep's too."""
    def observe(lib):
        with lib.autograd.set_detect_anomaly(True):
            inside = in_thread(lib.is_anomaly_enabled)
        return inside, in_thread(lib.is_anomaly_enabled)

    assert observe(gradstep) == observe(torch) == (True, False)


def test_backward_in_a_thread_does_not_switch_grad_off_in_another():
    """Backward sets grad mode to ``create_graph`` while it runs: only in its own thread."""
    inside, resume = threading.Event(), threading.Event()
    seen = {}

    def hook(g):
        inside.set()  # thread A is in the middle of its backward pass (grad mode off there)
        assert resume.wait(30)
        return g

    def a():
        w = gradstep.ones(4, requires_grad=True)
        y = (w * 3).sum()
        y.register_hook(hook)
        y.backward()
        seen["grad"] = w.grad.tolist()

    def b():
        assert inside.wait(30)
        seen["b"] = (gradstep.is_grad_enabled(), records(gradstep))
        resume.set()

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    ta.start()
    tb.start()
    ta.join(30)
    tb.join(30)
    assert seen == {"b": (True, True), "grad": [3.0] * 4}


# ---------------------------------------------------------------- training in threads
N_THREADS, STEPS = 4, 12


def make_model(kind, seed):
    rng = np.random.default_rng(seed)
    layers = {
        0: [nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3)],
        1: [nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 12), nn.GELU(), nn.Linear(12, 3)],
        2: [nn.Linear(6, 16), nn.BatchNorm1d(16), nn.Sigmoid(), nn.Linear(16, 3)],
        3: [nn.Linear(6, 8), nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 3)],
    }[kind]
    model = nn.Sequential(*layers).double()
    with gradstep.no_grad():
        for p in model.parameters():  # the initial values from this model's own generator
            p.copy_(gradstep.from_numpy(rng.standard_normal(tuple(p.shape)) * 0.5))
    opt = {
        0: lambda ps: gradstep.optim.SGD(ps, lr=0.05, momentum=0.9),
        1: lambda ps: gradstep.optim.Adam(ps, lr=1e-2),
        2: lambda ps: gradstep.optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
        3: lambda ps: gradstep.optim.RMSprop(ps, lr=1e-3, momentum=0.5),
    }[kind](model.parameters())
    return model, opt


def train(kind, sync=None):
    """Train model ``kind``; at every step one of the threads evaluates under no_grad
    (or inference_mode) while the others train. ``sync()`` is a barrier shared by the threads."""
    sync = sync or (lambda: None)
    model, opt = make_model(kind, seed=kind)
    rng = np.random.default_rng(100 + kind)
    x_eval = gradstep.from_numpy(rng.standard_normal((16, 6)))
    losses, evals = [], []
    for step in range(STEPS):
        x = gradstep.from_numpy(rng.standard_normal((8, 6)))
        y = gradstep.from_numpy(rng.standard_normal((8, 3)))
        if step % N_THREADS == kind:  # evaluate now, while the other threads are mid-step
            model.eval()
            ctx = gradstep.no_grad() if step % 2 else gradstep.inference_mode()
            with ctx:
                sync()
                out = model(x_eval)
                assert not out.requires_grad
                evals.append(out.numpy().copy())
                sync()
            model.train()
        else:
            sync()
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            sync()  # the evaluating thread is inside no_grad right now
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sync()
    params = [p.detach().numpy().copy() for p in model.parameters()]
    buffers = [b.numpy().copy() for b in model.buffers()]
    return losses, evals, params, buffers


def test_four_models_in_four_threads_train_as_they_do_serially():
    serial = [train(k) for k in range(N_THREADS)]
    barrier = threading.Barrier(N_THREADS, timeout=60)
    results, errors = [None] * N_THREADS, []

    def worker(k):
        try:
            results[k] = train(k, barrier.wait)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise errors[0]
    for k in range(N_THREADS):
        s_losses, s_evals, s_params, s_buffers = serial[k]
        losses, evals, params, buffers = results[k]
        assert losses == s_losses, f"model {k}: training losses differ"
        assert len(evals) == len(s_evals) == STEPS // N_THREADS
        for a, b in zip(evals + params + buffers, s_evals + s_params + s_buffers):
            np.testing.assert_array_equal(a, b, err_msg=f"model {k}")


def test_threads_sharing_a_leaf_add_every_gradient():
    """Hogwild-style: concurrent backward passes into one leaf's ``.grad`` all land.

    Every gradient is a vector of small integers, so the sum is exact in any order.
    """
    w = gradstep.zeros(1000, dtype=gradstep.float64, requires_grad=True)
    n_threads, n_calls = 4, 50
    barrier = threading.Barrier(n_threads, timeout=60)
    coef = [gradstep.from_numpy(np.arange(1000.0) % 7 + k) for k in range(n_threads)]

    def worker(k):
        barrier.wait()
        for _ in range(n_calls):
            (w * coef[k]).sum().backward()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    expected = n_calls * sum(c.numpy() for c in coef)
    np.testing.assert_array_equal(w.grad.numpy(), expected)
