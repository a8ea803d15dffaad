"""What pasted published optimizers (Muon, PSGD Kron, K-FAC) rely on beyond the built-ins.

* Muon adds its bfloat16 Newton-Schulz update to float32 parameters with
  ``p.add_(update, alpha=-lr)``: torch computes ``alpha * other`` in the promoted dtype, so
  the result must equal the same call with ``update.float()``, bit for bit.
* PSGD Kron writes ``torch.triu(term1, out=term1)``.
* K-FAC's full backward hooks sit on a first layer whose input needs no gradient: torch warns.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradstep
from gradstep import _blas

LOW = ["bfloat16", "float16", "float32"]


def _pair(lib, arr, dtype):
    return lib.from_numpy(arr.copy()).to(getattr(lib, dtype))


def _operands(lib, self_dtype, other_dtype):
    rs = np.random.RandomState(0)
    p = _pair(lib, rs.randn(257), self_dtype)
    u = _pair(lib, rs.randn(257), other_dtype)
    v = _pair(lib, np.abs(rs.randn(257)) + 0.5, other_dtype)
    return p, u, v


CALLS = {
    "add_alpha": lambda p, u, v: p.clone().add_(u, alpha=-0.02),
    "sub_alpha": lambda p, u, v: p.clone().sub_(u, alpha=0.3),
    "add": lambda p, u, v: p.clone().add_(u),
    "addcmul_": lambda p, u, v: p.clone().addcmul_(u, v, value=0.3),
    "addcdiv_": lambda p, u, v: p.clone().addcdiv_(u, v, value=-0.3),
    "addcmul": lambda p, u, v: p.addcmul(u, v, value=0.3),
    "addcdiv": lambda p, u, v: p.addcdiv(u, v, value=-0.3),
}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("self_dtype,other_dtype",
                         [("float32", d) for d in LOW[:2]] + [("float64", d) for d in LOW])
def test_narrower_operand_computed_in_self_dtype(call, self_dtype, other_dtype):
    """A narrower floating operand is widened before it is scaled: ``0.3 * u`` in bfloat16
    would round to 8 bits. The widening is exact, so the result is the same-dtype call's."""
    ours = CALLS[call](*_operands(gradstep, self_dtype, other_dtype))
    theirs = CALLS[call](*_operands(torch, self_dtype, other_dtype))
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    wide = CALLS[call](*(t.to(getattr(gradstep, self_dtype))
                         for t in _operands(gradstep, self_dtype, other_dtype)))
    np.testing.assert_array_equal(ours.numpy(), wide.numpy())
    # against torch: equal up to the same-dtype op's own rounding (one ulp: fma vs two roundings)
    eps = np.finfo(self_dtype).eps
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2 * eps, atol=2 * eps)


def test_inplace_add_of_bfloat16_into_float32_is_exact():
    """Muon's update step: equal to torch's, bit for bit where the BLAS axpy is one FMA in
    float32, as torch's kernel is (gradstep/_blas.py probes it). A BLAS that rounds the product
    and the sum apart (OpenBLAS's Haswell kernel) is within those two roundings."""
    ours = CALLS["add_alpha"](*_operands(gradstep, "float32", "bfloat16")).numpy()
    theirs = CALLS["add_alpha"](*_operands(torch, "float32", "bfloat16")).numpy()
    f32 = np.zeros(4, np.float32)
    if _blas.can_fuse(f32, f32.copy()):
        np.testing.assert_array_equal(ours, theirs)
    else:
        eps = float(np.finfo(np.float32).eps)
        np.testing.assert_allclose(ours, theirs, rtol=eps, atol=eps * float(np.abs(theirs).max()))


@pytest.mark.parametrize("name", ["triu", "tril"])
@pytest.mark.parametrize("aliased", [False, True], ids=["fresh_out", "out_is_input"])
def test_triangle_out(name, aliased):
    """``torch.triu(x, out=x)`` (PSGD Kron), and into an ``out`` of another shape: resized,
    with torch's deprecation warning."""
    arr = np.random.RandomState(1).randn(4, 5)
    results, messages = [], []
    for lib in (gradstep, torch):
        x = lib.from_numpy(arr.copy())
        out = x if aliased else lib.empty(2, 2, dtype=x.dtype)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ret = getattr(lib, name)(x, 1, out=out)
        assert ret is out
        results.append(out.numpy().copy())
        messages.append([str(w.message).split(" (Triggered")[0] for w in caught])
    np.testing.assert_array_equal(*results)
    assert messages[0] == messages[1]
    assert len(messages[0]) == (0 if aliased else 1)


def test_triangle_out_refused_with_grad():
    x = gradstep.ones(3, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        gradstep.triu(x, out=gradstep.empty(3, 3))


def _hook_warnings(lib, input_requires_grad, pre_hook_only=False):
    lib.manual_seed(0)
    layer = lib.nn.Linear(3, 2)
    if pre_hook_only:
        layer.register_full_backward_pre_hook(lambda m, g: None)
    else:
        layer.register_full_backward_hook(lambda m, gi, go: None)
    x = lib.ones(4, 3, requires_grad=input_requires_grad)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer(x).sum().backward()
    return [(str(w.message), w.filename) for w in caught]


@pytest.mark.parametrize("input_requires_grad", [False, True])
@pytest.mark.parametrize("pre_hook_only", [False, True])
def test_full_backward_hook_warning_without_input_grads(input_requires_grad, pre_hook_only):
    """torch warns, at the caller's ``backward()`` line, when a module's full backward hooks
    fire with no input requiring grad (K-FAC on the first layer); not otherwise."""
    ours = _hook_warnings(gradstep, input_requires_grad, pre_hook_only)
    theirs = _hook_warnings(torch, input_requires_grad, pre_hook_only)
    assert [m for m, _ in ours] == [m for m, _ in theirs]
    assert len(ours) == (0 if input_requires_grad else 1)
    assert all(f == __file__ for _, f in ours)
