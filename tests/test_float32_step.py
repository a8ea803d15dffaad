"""A full float32 training step of each benchmark model stays float32 end to end.

An accidental float64 upcast anywhere (a Python float turned into a float64
array, a float64 constant, a reduction in float64) doubles memory traffic and
slows the step; this walks the recorded graph and checks every input of every
op, then the gradients and the optimizer state.
"""

import os
import sys

import numpy as np
import pytest

import gradstep as gs

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
import _train  # noqa: E402


def _graph_dtypes(loss):
    """(node name, input index, dtype) for every floating input of every node reachable from ``loss``."""
    seen, stack, found = set(), [loss.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for i, (_, dt) in enumerate(getattr(node, "_metas", ())):
            if np.dtype(dt).kind == "f":
                found.append((node.name(), i, np.dtype(dt)))
        stack.extend(e[0] for e in node._next if e is not None)
    return found


@pytest.mark.parametrize("case", ["mlp-64", "lenet-64", "widecnn-128", "transformer-32"])
def test_training_step_is_float32_throughout(case, monkeypatch):
    if case == "transformer-32":  # a smaller instance of the same architecture keeps the test fast
        monkeypatch.setattr(_train, "SEQ", 16)
        monkeypatch.setattr(_train, "LAYERS", 2)
    gs.manual_seed(0)
    model = _train.build(gs, _train.CASES[case]["model"])
    x_np, y_np = _train.data(case)
    if case == "transformer-32":
        x_np, y_np = x_np[:4, :16], y_np[:4, :16]
    x, y = gs.tensor(x_np[:8]), gs.tensor(y_np[:8])
    opt = gs.optim.AdamW(model.parameters()) if case.startswith("transformer") else \
        gs.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    out = model(x)
    loss = gs.nn.CrossEntropyLoss()(out.reshape(-1, out.shape[-1]), y.reshape(-1))
    assert out.dtype == gs.float32 and loss.dtype == gs.float32
    upcasts = [f for f in _graph_dtypes(loss) if f[2] != np.float32]
    assert not upcasts, f"float64 inside the graph: {upcasts[:5]}"
    opt.zero_grad()
    loss.backward()
    opt.step()
    for name, p in model.named_parameters():
        assert p.dtype == gs.float32 and p.grad.dtype == gs.float32, name
    for state in opt.state.values():
        for key, v in state.items():
            if isinstance(v, gs.Tensor) and v.is_floating_point() and key != "step":
                assert v.dtype == gs.float32, key
