"""The oracle: run the same function in gradstep and in torch, compare values and gradients."""

from __future__ import annotations

import numpy as np
import torch

import gradstep

TOL = {
    "float64": dict(rtol=1e-10, atol=1e-12),
    "float32": dict(rtol=1e-5, atol=1e-6),
}


def _to_torch(x):
    if isinstance(x, gradstep.Tensor):
        t = torch.from_numpy(np.array(x.detach().numpy()))
        return t.requires_grad_(x.requires_grad)
    if isinstance(x, (list, tuple)):
        return type(x)(_to_torch(v) for v in x)
    return x


def _flatten(out):
    if isinstance(out, (list, tuple)):
        res = []
        for o in out:
            res.extend(_flatten(o))
        return res
    return [out]


def assert_close(ours, theirs, dtype_name, scale=1.0, what="value"):
    """Compare a gradstep tensor (or array) to a torch tensor with the dtype's tolerance."""
    a = ours.detach().numpy() if isinstance(ours, gradstep.Tensor) else np.asarray(ours)
    b = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    if b.dtype.kind in "iub":
        np.testing.assert_array_equal(a, b, err_msg=what)
        return
    tol = TOL.get(dtype_name, TOL["float32"])
    finite = np.isfinite(b)  # scale atol by finite values only: an inf must not disable the check
    mag = max(1.0, float(np.abs(b[finite]).max()) if finite.any() else 1.0)
    np.testing.assert_allclose(a, b, rtol=tol["rtol"] * scale,
                               atol=tol["atol"] * scale * mag, err_msg=what, equal_nan=True)


def make_inputs(shapes, dtype_name, *, low=-2.0, high=2.0, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    out = []
    for s in shapes:
        arr = rng.uniform(low, high, size=s).astype(dtype_name)
        out.append(gradstep.tensor(arr, requires_grad=requires_grad))
    return out


def check(fn, shapes=None, *, inputs=None, dtypes=("float32", "float64"), grad=True,
          low=-2.0, high=2.0, seed=0, scale=1.0, torch_fn=None):
    """Run ``fn(lib, *inputs)`` with lib=gradstep and lib=torch; compare outputs and input grads.

    ``shapes`` gives random uniform inputs in [low, high); ``inputs`` supplies
    gradstep tensors (or a callable dtype_name -> list of tensors) directly.
    """
    for dt in dtypes:
        if inputs is None:
            xs = make_inputs(shapes, dt, low=low, high=high, seed=seed, requires_grad=grad)
        else:
            xs = inputs(dt) if callable(inputs) else inputs
        ts = [_to_torch(x) for x in xs]
        out = fn(gradstep, *xs)
        tout = (torch_fn or fn)(torch, *ts)
        outs, touts = _flatten(out), _flatten(tout)
        assert len(outs) == len(touts)
        for o, to in zip(outs, touts):
            if isinstance(to, torch.Tensor):
                assert o.dtype.name == str(to.dtype).replace("torch.", ""), (o.dtype, to.dtype)
            assert_close(o, to, dt, scale, what=f"forward ({dt})")
        if not grad:
            continue
        diff = [(o, to) for o, to in zip(outs, touts)
                if isinstance(to, torch.Tensor) and to.requires_grad]
        if not diff:
            continue
        rng = np.random.default_rng(seed + 1)
        loss, tloss = 0, 0
        for o, to in diff:
            w = rng.standard_normal(tuple(to.shape)).astype(dt)
            loss = loss + (o * gradstep.tensor(w)).sum()
            tloss = tloss + (to * torch.from_numpy(w)).sum()
        loss.backward()
        tloss.backward()
        for i, (x, t) in enumerate(zip(xs, ts)):
            if isinstance(t, torch.Tensor) and t.requires_grad:
                if t.grad is None:
                    assert x.grad is None or not np.any(x.grad.numpy()), f"input {i}: torch has no grad"
                    continue
                assert x.grad is not None, f"input {i}: no gradient"
                assert x.grad.dtype.name == str(t.grad.dtype).replace("torch.", "")
                assert_close(x.grad, t.grad, dt, scale, what=f"grad of input {i} ({dt})")


def fma_on_both_sides():
    """True when gradstep's fused updates (``gradstep._blas``, used only where NumPy's BLAS
    kernel rounds every element once) and torch's vectorised CPU kernels (AVX2/AVX-512 FMA)
    both round ``y + a*x`` once, so their results must agree to the bit."""
    from gradstep import _blas

    return _blas.available() and torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512")
