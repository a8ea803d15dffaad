"""Training-infrastructure APIs found missing or different by probing public code, against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradstep


def test_fork_rng_restores_the_global_generator():
    for L in (torch, gradstep):
        L.manual_seed(3)
        with L.random.fork_rng():
            L.rand(5)
        after_fork = L.rand(2).tolist()
        L.manual_seed(3)
        assert L.rand(2).tolist() == after_fork
        with L.random.fork_rng(enabled=False):
            L.rand(1)


def test_compiler_and_dynamo_namespaces_scripts_touch():
    import gradstep._dynamo as dynamo

    assert gradstep.compiler.is_compiling() is False
    assert gradstep.compiler.disable(len) is len and gradstep.compiler.disable()(len) is len
    dynamo.config.suppress_errors = True  # as training scripts set it
    assert dynamo.is_compiling() is False and dynamo.optimize("inductor")(len) is len
    dynamo.reset()


def test_set_default_tensor_type_like_torch(monkeypatch):
    from gradstep import _warn_once

    monkeypatch.setattr(_warn_once, "_given", set())
    results = []
    for L in (torch, gradstep):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                L.set_default_tensor_type(L.DoubleTensor)
                first = str(L.get_default_dtype()).split(".")[-1]
                L.set_default_tensor_type("torch.FloatTensor")
                second = str(L.get_default_dtype()).split(".")[-1]
                with pytest.raises(TypeError, match="only floating-point types"):
                    L.set_default_tensor_type(L.LongTensor)
            finally:
                L.set_default_dtype(L.float32)
        results.append((first, second, str(caught[0].message).split(" (Triggered")[0]))
    assert results[1] == results[0]


def test_functions_in_setup_context_style_and_broadcast_gradients_like_torch():
    grads = []
    for L in (torch, gradstep):
        class Mul(L.autograd.Function):
            @staticmethod
            def forward(x, k):
                return x * k

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.k = inputs[1]

            @staticmethod
            def backward(ctx, g):
                return g.unsqueeze(0) * ctx.k, None  # an extra leading 1: summed back by torch

        a = L.tensor([1.0, 2.0], requires_grad=True)
        Mul.apply(a, 3.0).sum().backward()
        grads.append(a.grad.tolist())
    assert grads[1] == grads[0] == [3.0, 3.0]


def test_parametrized_weight_norm_loads_an_old_weight_norm_state_dict():
    outs = []
    for L in (torch, gradstep):
        old = L.nn.utils.weight_norm(L.nn.Linear(3, 2))
        with L.no_grad():
            old.weight_v.copy_(L.arange(6.0).reshape(2, 3))
            old.weight_g.fill_(2.0)
        new = L.nn.utils.parametrizations.weight_norm(L.nn.Linear(3, 2))
        new.load_state_dict(old.state_dict())
        outs.append(new.weight.detach().numpy().copy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-6)
