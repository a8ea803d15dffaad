"""Non-reentrant checkpoint as torch's: the plain graph (autograd.grad reaches the parameters,
create_graph / double backward work), saved tensors recomputed once per backward pass; the
reentrant variant refuses autograd.grad with torch's message.

The same ops run in the same order as in torch, so values agree to the oracle's tolerances
(float64 1e-10 relative, float32 1e-5): checkpointing changes when a value is computed, not how.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tcp

import gradstep
import gradstep.utils.checkpoint as gcp
from tests.helpers import assert_close


def _both(dtype, seed=0):
    """A Linear of each library with torch's weights, and one input array."""
    tl = torch.nn.Linear(4, 3).to(getattr(torch, dtype))
    gl = gradstep.nn.Linear(4, 3).to(getattr(gradstep, dtype))
    gl.load_state_dict({k: gradstep.tensor(v.numpy()) for k, v in tl.state_dict().items()})
    x = np.random.default_rng(seed).standard_normal((5, 4)).astype(dtype)
    return (torch, tl, tcp, torch.tensor(x, requires_grad=True)), \
        (gradstep, gl, gcp, gradstep.tensor(x, requires_grad=True))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_autograd_grad_reaches_parameters_used_inside(dtype):
    res = []
    for L, lin, cp, x in _both(dtype):
        out = cp.checkpoint(lin, x, use_reentrant=False)
        res.append(L.autograd.grad(out.sum(), [lin.weight, lin.bias, x]))
    for g, t in zip(res[1], res[0]):
        assert_close(g, t, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_double_backward_through_a_non_reentrant_checkpoint(dtype):
    res = []
    for L, lin, cp, x in _both(dtype, seed=1):
        def f(z, L=L, lin=lin):
            return L.tanh(lin(z)) * z.sum()

        out = cp.checkpoint(f, x, use_reentrant=False)
        gx, = L.autograd.grad(out.pow(2).sum(), x, create_graph=True)
        assert gx.requires_grad
        gw, hx = L.autograd.grad(gx.pow(2).sum(), [lin.weight, x])
        res.append((gx, gw, hx))
    for g, t in zip(res[1], res[0]):
        assert_close(g, t, dtype, scale=10.0)


def test_recompute_once_per_backward_with_the_forward_dropout_masks():
    """One recompute per backward pass (a second, retain_graph one recomputes again), with the
    forward's RNG state: gradients equal the uncheckpointed run's exactly."""
    gradstep.manual_seed(0)
    m = gradstep.nn.Sequential(gradstep.nn.Linear(4, 8), gradstep.nn.Dropout(0.5),
                               gradstep.nn.GELU(), gradstep.nn.Linear(8, 2)).double()
    x = gradstep.randn(6, 4, dtype=gradstep.float64, requires_grad=True)
    gradstep.manual_seed(7)
    want = gradstep.autograd.grad(m(x).sum(), [x, m[0].weight])
    calls = []

    def fn(inp):
        calls.append(1)
        return m(inp)

    gradstep.manual_seed(7)
    out = gcp.checkpoint(fn, x, use_reentrant=False)
    for n in (2, 3):
        got = gradstep.autograd.grad(out.sum(), [x, m[0].weight], retain_graph=True)
        assert len(calls) == n
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_reentrant_refuses_autograd_grad_and_backward_inputs_as_torch():
    msgs = []
    for L, lin, cp, x in _both("float64"):
        out = cp.checkpoint(lin, x, use_reentrant=True)
        assert type(out.grad_fn).__name__ == "CheckpointFunctionBackward"
        with pytest.raises(RuntimeError) as e1:
            L.autograd.grad(out.sum(), x)
        out = cp.checkpoint(lin, x, use_reentrant=True)
        with pytest.raises(RuntimeError) as e2:
            out.sum().backward(inputs=[x])
        msgs.append((str(e1.value), str(e2.value)))
    assert msgs[0] == msgs[1]
    assert "incompatible with .grad()" in msgs[1][0]


def test_custom_function_node_class_is_named_as_torch():
    class Double(gradstep.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    y = Double.apply(gradstep.ones(2, requires_grad=True))
    assert type(y.grad_fn).__name__ == "DoubleBackward"
    assert y.grad_fn._forward_cls is Double
    assert isinstance(y.grad_fn, gradstep.autograd.function.BackwardCFunction)


def test_recompute_that_saves_other_tensors_is_refused_as_torch():
    msgs = []
    for L, lin, cp, x in _both("float64"):
        state = {"n": 0}

        def f(z, L=L, state=state):
            state["n"] += 1
            return z.sin() if state["n"] == 1 else z.sin().cos()  # cos saves one more

        with cp.set_checkpoint_early_stop(False):
            out = cp.checkpoint(f, x, use_reentrant=False)
        with pytest.raises(cp.CheckpointError) as e:
            out.sum().backward()
        msgs.append(str(e.value).split("\n")[0])
    assert msgs[0] == msgs[1]


def test_checkpoint_names_match_torch():
    for name in ("set_checkpoint_early_stop", "set_checkpoint_debug_enabled",
                 "get_device_states", "set_device_states", "DefaultDeviceType",
                 "CheckpointPolicy", "SelectiveCheckpointContext",
                 "create_selective_checkpoint_contexts", "GraphExecGroup", "SAC_IGNORED_OPS"):
        assert hasattr(gcp, name), name
    x = gradstep.ones(2)
    assert gcp.get_device_states(x, [x]) == ([], []) == tcp.get_device_states(torch.ones(2))
    gcp.set_device_states([], [])
    assert gcp.DefaultDeviceType.get_device_type() == tcp.DefaultDeviceType.get_device_type()
    assert [p.name for p in gcp.CheckpointPolicy] == [p.name for p in tcp.CheckpointPolicy]
    assert [p.value for p in gcp.CheckpointPolicy] == [p.value for p in tcp.CheckpointPolicy]
    with gcp.set_checkpoint_debug_enabled(True):
        assert gcp._checkpoint_debug_enabled is True
    assert gcp._checkpoint_debug_enabled is None
    with gcp.GraphExecGroup(), pytest.raises(RuntimeError, match="cannot be nested"):
        with gcp.GraphExecGroup():
            pass


def test_non_reentrant_argument_errors_match_torch():
    x = gradstep.ones(2, requires_grad=True)
    tx = torch.ones(2, requires_grad=True)
    for kw in ({"determinism_check": "bogus"},
               {"debug": True, "context_fn": lambda: (None, None)}):
        with pytest.raises(ValueError) as ours:
            gcp.checkpoint(lambda a: a * 2, x, use_reentrant=False, **kw)
        with pytest.raises(ValueError) as theirs:
            tcp.checkpoint(lambda a: a * 2, tx, use_reentrant=False, **kw)
        assert str(ours.value) == str(theirs.value)
