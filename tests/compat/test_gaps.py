"""Small drop-in gaps found by running public-style torch programs under ``gradstep run``.

Each test asks torch 2.13 and gradstep the same thing and compares the answers exactly
(index results and enum values are integers, so there is no tolerance to choose).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_where_condition_only_is_nonzero_as_tuple(seed, shape):
    cond = np.random.default_rng(seed).random(shape) > 0.5
    ours = gradstep.where(gradstep.tensor(cond))
    theirs = torch.where(torch.tensor(cond))
    assert isinstance(ours, tuple) and len(ours) == len(theirs) == len(shape)
    for o, t in zip(ours, theirs):
        assert o.dtype == gradstep.int64 and o.tolist() == t.tolist()


def test_where_condition_only_non_bool_and_keyword():
    vals = [0, 3, 0, -1]
    assert gradstep.where(gradstep.tensor(vals))[0].tolist() == \
        torch.where(torch.tensor(vals))[0].tolist()
    c = [[True, False], [True, True]]
    ours = gradstep.where(condition=gradstep.tensor(c))
    theirs = torch.where(condition=torch.tensor(c))
    assert [o.tolist() for o in ours] == [t.tolist() for t in theirs]


def test_where_two_arguments_is_a_type_error():
    with pytest.raises(TypeError):
        torch.where(torch.tensor([True]), torch.tensor([1.0]))
    with pytest.raises(TypeError):
        gradstep.where(gradstep.tensor([True]), gradstep.tensor([1.0]))


def _flags(mod):
    c = mod.backends.cuda
    return (c.flash_sdp_enabled(), c.mem_efficient_sdp_enabled(), c.math_sdp_enabled(),
            c.cudnn_sdp_enabled())


def test_sdp_backend_enum_matches_torch():
    ours, theirs = gradstep.nn.attention.SDPBackend, torch.nn.attention.SDPBackend
    assert [(k, int(v)) for k, v in ours.__members__.items()] == \
        [(k, int(v)) for k, v in theirs.__members__.items()]
    assert str(ours.MATH) == str(theirs.MATH) and repr(ours.MATH) == repr(theirs.MATH)


@pytest.mark.parametrize("names", [["MATH"], ["FLASH_ATTENTION"], ["MATH", "EFFICIENT_ATTENTION"],
                                   ["CUDNN_ATTENTION", "FLASH_ATTENTION"], []])
def test_sdpa_kernel_sets_and_restores_switches(names):
    for mod in (torch, gradstep):
        before = _flags(mod)
        backends = [getattr(mod.nn.attention.SDPBackend, n) for n in names]
        arg = backends[0] if len(backends) == 1 else backends
        with mod.nn.attention.sdpa_kernel(arg) as got:
            inside = _flags(mod)
            assert got == {}
        assert _flags(mod) == before
        if mod is torch:
            expected = inside
        else:
            assert inside == expected


def test_sdpa_kernel_rejects_other_types():
    for mod in (torch, gradstep):
        with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend"):
            with mod.nn.attention.sdpa_kernel("MATH"):
                pass


def test_sdpa_kernel_inside_attention_gives_the_same_numbers():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 2, 5, 4)) for _ in range(3))
    with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):
        theirs = torch.nn.functional.scaled_dot_product_attention(
            *(torch.tensor(a) for a in (q, k, v)), is_causal=True)
    with gradstep.nn.attention.sdpa_kernel(gradstep.nn.attention.SDPBackend.MATH):
        ours = gradstep.nn.functional.scaled_dot_product_attention(
            *(gradstep.tensor(a) for a in (q, k, v)), is_causal=True)
    # float64 softmax-weighted sums of 5 terms: differences are a few ulps
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
           "float64"]


@pytest.mark.parametrize("src", _DTYPES)
def test_can_cast_matches_torch(src):
    for dst in _DTYPES:
        ours = gradstep.can_cast(getattr(gradstep, src), getattr(gradstep, dst))
        assert type(ours) is bool
        assert ours == torch.can_cast(getattr(torch, src), getattr(torch, dst)), (src, dst)
