"""DLPack exchange (``torch.to_dlpack``, ``torch.from_dlpack``, ``torch.utils.dlpack`` and
``Tensor.__dlpack__``) between gradstep, torch and NumPy: values, dtypes, strides kept and
memory shared both ways, and torch's refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
import gradstep.utils.dlpack as gdl

DTYPES = ["float32", "float64", "int64", "int32", "uint8", "bool", "complex64"]


def _array(dtype):
    return (np.arange(12).reshape(3, 4) % 3).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_capsule_round_trip_with_torch_shares_memory(dtype):
    ours = gradstep.tensor(_array(dtype))
    theirs = torch.from_dlpack(gradstep.to_dlpack(ours))
    np.testing.assert_array_equal(theirs.numpy(), _array(dtype))
    theirs[0, 0] = 1
    assert ours[0, 0].item() == 1

    t = torch.from_numpy(_array(dtype))
    back = gradstep.from_dlpack(torch.to_dlpack(t))
    assert back.dtype.name == str(t.dtype).split(".")[-1]
    np.testing.assert_array_equal(back.numpy(), t.numpy())
    back[1, 1] = 1
    assert t[1, 1].item() == 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_protocol_with_numpy_and_torch(dtype):
    ours = gradstep.tensor(_array(dtype))
    np.testing.assert_array_equal(np.from_dlpack(ours), _array(dtype))
    np.testing.assert_array_equal(torch.from_dlpack(ours).numpy(), _array(dtype))
    assert ours.__dlpack_device__() == (gdl.DLDeviceType.kDLCPU, 0)
    arr = _array(dtype)
    view = gradstep.from_dlpack(arr)
    view[2, 3] = 1
    assert arr[2, 3] == 1


def test_strided_views_keep_their_layout():
    t = torch.arange(12.0).view(3, 4).t()
    ours = gradstep.from_dlpack(t)
    np.testing.assert_array_equal(ours.numpy(), t.numpy())
    back = torch.from_dlpack(ours)
    assert back.stride() == t.stride()


def test_copy_true_does_not_share():
    arr = np.arange(3.0)
    copied = gradstep.from_dlpack(arr, copy=True)
    copied[0] = 7
    assert arr[0] == 0


def test_utils_module_matches_torch_names():
    assert gradstep.utils.dlpack.to_dlpack is gradstep.to_dlpack
    assert gradstep.utils.dlpack.from_dlpack is gradstep.from_dlpack
    for name in torch.utils.dlpack.DLDeviceType.__members__:
        assert gdl.DLDeviceType[name] == torch.utils.dlpack.DLDeviceType[name]


def test_refusals_match_torch():
    for lib in (torch, gradstep):
        with pytest.raises(BufferError, match="Can't export tensors that require gradient"):
            lib.ones(2, requires_grad=True).__dlpack__()
    with pytest.raises(TypeError) as theirs:
        torch.to_dlpack(5)
    with pytest.raises(TypeError) as ours:
        gradstep.to_dlpack(5)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="'cuda'|CUDA|cuda"):
        gradstep.from_dlpack(np.arange(2), device="cuda")
