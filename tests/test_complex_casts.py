"""``Tensor.cfloat()`` / ``cdouble()`` against torch (dtype, values, gradient back to a real
source), and ``chalf()``, which gradstep refuses: it has no complex32."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep


@pytest.mark.parametrize("method", ["cfloat", "cdouble"])
@pytest.mark.parametrize("src", ["float32", "float64", "float16", "int64", "bool", "complex64",
                                 "complex128"])
def test_complex_casts_match_torch(method, src):
    arr = np.array([[1.5, -2.0], [0.25, 3.0]]).astype(src)
    if src.startswith("complex"):
        arr = arr + 0.5j
    theirs = getattr(torch.tensor(arr), method)()
    ours = getattr(gradstep.tensor(arr), method)()
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("method", ["cfloat", "cdouble"])
def test_gradient_reaches_the_real_source(method):
    w = np.array([1.0 + 2.0j, -0.5 + 0.25j])
    grads = []
    for lib in (torch, gradstep):
        x = lib.tensor([0.5, -1.5], requires_grad=True)
        z = getattr(x, method)(memory_format=lib.preserve_format)
        (z * lib.tensor(w).to(z.dtype)).real.sum().backward()
        assert z.grad_fn is not None and z.grad_fn.name() == "ToCopyBackward0"
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


def test_chalf_refuses_with_a_clear_error():
    assert torch.ones(2).chalf().dtype == torch.complex32  # torch has the dtype ...
    with pytest.raises(TypeError, match="no complex32"):  # ... gradstep (NumPy) has not
        gradstep.ones(2).chalf()
