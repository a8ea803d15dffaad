"""Two op details that optimizer forks hit, compared with torch 2.13.

* ``lerp`` takes a 0-d ``weight`` tensor of any real dtype (schedule_free's
  ``p.lerp_(end=z, weight=ckp1)`` with a tensor lr gives a float32 ``ckp1`` for float64
  parameters; ``torch._foreach_lerp_`` takes it as a Scalar); a weight with dimensions must
  match the input's dtype.
* ``torch._foreach_addcdiv_``/``addcmul`` refuse a list of tensors as ``scalars`` (a fork's
  ``[lr / bc for ...]`` with a tensor lr): torch's ScalarList takes numbers only.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep

PAIRS = [("float32", "float64"), ("float64", "float32"), ("float32", "float16"),
         ("bfloat16", "float32"), ("float64", "int64")]


def _operands(lib, dtype):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=257), rng.normal(size=257)
    return lib.tensor(a).to(getattr(lib, dtype)), lib.tensor(b).to(getattr(lib, dtype))


@pytest.mark.parametrize("weight", [1 / 3, 0.7, 2.0])
@pytest.mark.parametrize(("dtype", "weight_dtype"), PAIRS)
def test_lerp_zero_dim_weight_of_another_dtype_matches_torch(dtype, weight_dtype, weight):
    """Same op order as torch's kernel once the weight is in the input's dtype: bit-identical."""
    out = []
    for lib in (gradstep, torch):
        a, b = _operands(lib, dtype)
        w = lib.tensor(weight).to(getattr(lib, weight_dtype))
        results = [a.lerp(b, w), a.clone().lerp_(end=b, weight=w),
                   lib._foreach_lerp([a], [b], w)[0]]
        out.append([r.float().numpy() for r in results] + [str(results[0].dtype)])
    for ours, theirs in zip(out[0][:3], out[1][:3]):
        np.testing.assert_array_equal(ours, theirs)
    assert out[0][3].split(".")[-1] == out[1][3].split(".")[-1] == dtype


def test_lerp_weight_with_dimensions_must_match_dtype():
    messages = []
    for lib in (gradstep, torch):
        a, b = _operands(lib, "float32")
        with pytest.raises(RuntimeError) as info:
            a.lerp(b, lib.full((257,), 0.5, dtype=lib.float64))
        messages.append(str(info.value))
    assert messages[0] == messages[1] == "expected dtype float for `weight` but got dtype double"


def test_lerp_zero_dim_weight_of_another_dtype_keeps_its_gradient():
    w = gradstep.tensor(0.25, dtype=gradstep.float32, requires_grad=True)
    a = gradstep.zeros(3, dtype=gradstep.float64)
    b = gradstep.ones(3, dtype=gradstep.float64)
    a.lerp(b, w).sum().backward()
    assert w.grad.dtype == gradstep.float32 and float(w.grad) == 3.0


@pytest.mark.parametrize("name", ["_foreach_addcdiv_", "_foreach_addcdiv", "_foreach_addcmul"])
@pytest.mark.parametrize("container", [list, tuple])
def test_foreach_pointwise_refuses_tensors_as_scalars(name, container):
    lines = []
    for lib in (gradstep, torch):
        y = [lib.ones(3)]
        with pytest.raises(TypeError) as info:
            getattr(lib, name)(y, y, y, container([lib.tensor(0.5)]))
        lines.append(str(info.value).splitlines()[0])
    assert lines[0] == lines[1]
    assert "received an invalid combination of arguments" in lines[0]
