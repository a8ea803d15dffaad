"""A second backward through a freed graph: it raises exactly where torch's does.

torch raises when a node that saved a tensor runs again after its saved values were freed
(a tensor operand, an index, a mask, and a Python scalar that it wraps in a tensor all count;
sizes and plain scalars do not). gradstep marks such nodes freed in ``Node.release``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.autograd._graph_cases import CASES, leaf

SECOND_TIME = "Trying to backward through the graph a second time"


def _second_backward(lib, build, twice):
    """'raises' or 'ok' for the second of two backward calls through one graph."""
    lib.manual_seed(0)
    y = build(lib)
    twice(lib, y)
    try:
        twice(lib, y)
    except RuntimeError as e:
        assert SECOND_TIME in str(e), str(e)
        return "raises"
    return "ok"


def _backward(lib, y):
    y.backward()


def _grad(lib, y):
    leaves = [t for t in _leaves(y.grad_fn)]
    lib.autograd.grad(y, leaves, allow_unused=True)


def _leaves(fn):
    seen, stack, out = set(), [fn], []
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        if hasattr(n, "variable"):
            out.append(n.variable)
        stack.extend(e[0] for e in n.next_functions)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_backward_raises_where_torch_does(name):
    ours = _second_backward(gradstep, CASES[name], _backward)
    theirs = _second_backward(torch, CASES[name], _backward)
    assert ours == theirs


@pytest.mark.parametrize("name", ["mul_scalar", "cross_entropy", "gather", "add", "dropout",
                                  "sum", "max_pool2d", "index_slice"])
def test_second_autograd_grad_raises_where_torch_does(name):
    ours = _second_backward(gradstep, CASES[name], _grad)
    theirs = _second_backward(torch, CASES[name], _grad)
    assert ours == theirs


def test_the_message_is_torchs():
    msgs = []
    for lib in (gradstep, torch):
        loss = lib.nn.functional.cross_entropy(leaf(lib, (4, 3)), lib.tensor([0, 1, 2, 1]))
        loss.backward()
        with pytest.raises(RuntimeError) as info:
            loss.backward()
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


RETAINED = {
    "mul_scalar": lambda L, x: (x * 3).sum(),
    "cross_entropy": lambda L, x: L.nn.functional.cross_entropy(x, L.tensor([0, 2])),
    "gather": lambda L, x: x.gather(1, L.tensor([[0, 2], [1, 1]])).sum(),
    "max_dim": lambda L, x: x.max(1).values.sum(),
}


@pytest.mark.parametrize("name", sorted(RETAINED))
def test_retain_graph_allows_the_second_backward_with_the_same_gradients(name):
    grads = []
    for lib in (gradstep, torch):
        x = leaf(lib, (2, 3))
        y = RETAINED[name](lib, x)
        y.backward(retain_graph=True)
        y.backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, atol=1e-7)  # float32, 2 sums


def test_custom_function_raises_only_when_it_reads_its_saved_tensors():
    """A custom Function's node is torch's PyNode: saved_tensors raise once freed, nothing else."""
    outcomes = {}
    for lib in (gradstep, torch):

        class Reads(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * 2

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 2

        class Ignores(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        for fn in (Reads, Ignores):
            x = lib.ones(2, requires_grad=True)
            y = fn.apply(x).sum()
            y.backward()
            try:
                y.backward()
                outcomes.setdefault(lib, []).append("ok")
            except RuntimeError as e:
                assert SECOND_TIME in str(e)
                outcomes.setdefault(lib, []).append("raises")
            with pytest.raises(RuntimeError, match=SECOND_TIME):
                y.grad_fn.next_functions[0][0].saved_tensors  # noqa: B018
    assert outcomes[gradstep] == outcomes[torch] == ["raises", "ok"]


def test_a_node_that_saved_nothing_runs_again():
    """An add node holds nothing: the second backward goes through and accumulates again."""
    for lib in (gradstep, torch):
        x = lib.ones(2, requires_grad=True)
        y = (x + 1).sum()
        y.backward()
        y.backward()
        assert x.grad.tolist() == [2.0, 2.0]


def test_double_backward_graph_is_freed_like_torchs():
    """The graph made by create_graph=True is freed by the backward that goes through it."""
    outcomes = []
    for lib in (gradstep, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (g,) = lib.autograd.grad((x ** 3).sum(), x, create_graph=True)
        gg = g.sum()
        gg.backward()
        try:
            gg.backward()
            outcomes.append("ok")
        except RuntimeError:
            outcomes.append("raises")
    assert outcomes[0] == outcomes[1] == "raises"
