"""Run a gradstep layer and its torch twin with the same weights; compare everything."""

from __future__ import annotations

import numpy as np
import torch

import gradstep
from tests.helpers import assert_close


def to_ours(t):
    """A torch tensor as a gradstep tensor (same values and dtype)."""
    return gradstep.tensor(t.detach().numpy().copy())


def load_torch_weights(ours, theirs):
    """Copy torch's state_dict into ``ours`` by name (also checks the keys agree)."""
    sd = {k: to_ours(v) for k, v in theirs.state_dict().items()}
    result = ours.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []


def compare_layer(make, shapes, *, dtypes=("float32", "float64"), modes=("train", "eval"),
                  seed=0, low=-2.0, high=2.0, scale=1.0, inputs=None):
    """``make(lib)`` builds the layer in gradstep or torch; inputs are uniform random floats.

    Compares the forward output, every input gradient and every parameter gradient.
    ``inputs(lib, dtype_name)`` may supply inputs instead (e.g. integer indices).
    """
    for dt in dtypes:
        for mode in modes:
            theirs = make(torch).to(getattr(torch, dt))
            ours = make(gradstep).to(getattr(gradstep, dt))
            load_torch_weights(ours, theirs)
            ours.train(mode == "train")
            theirs.train(mode == "train")
            if inputs is None:
                rng = np.random.default_rng(seed)
                arrays = [rng.uniform(low, high, s).astype(dt) for s in shapes]
                xs = [gradstep.tensor(a, requires_grad=True) for a in arrays]
                ts = [torch.tensor(a, requires_grad=True) for a in arrays]
            else:
                xs, ts = inputs(gradstep, dt), inputs(torch, dt)
            out, tout = ours(*xs), theirs(*ts)
            assert out.dtype.name == str(tout.dtype).replace("torch.", "")
            assert_close(out, tout, dt, scale, what=f"output ({dt}, {mode})")
            w = np.random.default_rng(seed + 1).standard_normal(tuple(tout.shape)).astype(dt)
            (out * gradstep.tensor(w)).sum().backward()
            (tout * torch.tensor(w)).sum().backward()
            for i, (x, t) in enumerate(zip(xs, ts)):
                if isinstance(t, torch.Tensor) and t.requires_grad:
                    assert_close(x.grad, t.grad, dt, scale, what=f"grad of input {i} ({dt})")
            tparams = dict(theirs.named_parameters())
            for name, p in ours.named_parameters():
                tp = tparams[name]
                if tp.grad is None:
                    assert p.grad is None, name
                    continue
                assert_close(p.grad, tp.grad, dt, scale, what=f"grad of {name} ({dt}, {mode})")
            assert set(tparams) == {n for n, _ in ours.named_parameters()}
