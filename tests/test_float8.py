"""float8 dtypes: finfo, and conversions bit for bit as torch's CPU casts."""

import numpy as np
import pytest
import torch

import gradstep

FLOAT8 = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz"]


def _float32_inputs():
    """Every bfloat16-exact float32 (all exponents, both signs, ±0, ±inf, NaNs, subnormals),
    random float32 bit patterns (ties and near-ties at every float8 scale), and the edges."""
    rng = np.random.default_rng(0)
    bits = np.concatenate([
        np.arange(0, 2**16, dtype=np.uint32) << 16,
        rng.integers(0, 2**32, 50000, dtype=np.uint64).astype(np.uint32),
        np.array([0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0xFFC00001, 0x00000001,
                  0x80000001, 0x43E00000, 0x43E80000, 0x43F00000, 0x47600000, 0x47700000], np.uint32)])
    return bits.view(np.float32)


@pytest.mark.parametrize("name", FLOAT8)
def test_finfo_and_properties_match_torch(name):
    g, t = getattr(gradstep, name), getattr(torch, name)
    assert (g.is_floating_point, g.is_signed, g.itemsize) == (t.is_floating_point, t.is_signed, t.itemsize)
    assert repr(gradstep.finfo(g)) == repr(torch.finfo(t))
    fg, ft = gradstep.finfo(g), torch.finfo(t)
    assert (fg.bits, fg.eps, fg.max, fg.min, fg.tiny, fg.resolution) == (
        ft.bits, ft.eps, ft.max, ft.min, ft.tiny, ft.resolution)


@pytest.mark.parametrize("src", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("name", FLOAT8)
def test_conversion_to_float8_is_torch_bit_for_bit(name, src):
    with np.errstate(all="ignore"):
        x = _float32_inputs().astype(src)
    want = torch.from_numpy(x).to(getattr(torch, name)).view(torch.uint8).numpy()
    got = gradstep.from_numpy(x).to(getattr(gradstep, name))._data.view(np.uint8)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dst", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("name", FLOAT8)
def test_conversion_from_float8_is_torch_bit_for_bit(name, dst):
    codes = np.arange(256, dtype=np.uint16).astype(np.uint8)  # every float8 value, NaN bits too
    t = torch.from_numpy(codes).view(getattr(torch, name)).to(getattr(torch, dst))
    g = gradstep.from_numpy(codes).view(getattr(gradstep, name)).to(getattr(gradstep, dst))
    width = {"float32": np.uint32, "float64": np.uint64}.get(dst, np.uint16)
    want = t.view(torch.int16 if width == np.uint16 else torch.int32 if width == np.uint32 else torch.int64)
    want, got = want.numpy().view(width), g._data.view(width)
    if width == np.uint16:  # float32 NaN -> half/bfloat16: the NaN's bits are that cast's, not float8's
        nan = np.isnan(t.float().numpy())
        np.testing.assert_array_equal(np.isnan(g.float()._data), nan)
        want, got = want[~nan], got[~nan]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", FLOAT8)
def test_float8_to_integers_and_printing(name):
    x = np.array([0, 1.5, -3, 7, 100], np.float32)
    t, g = torch.tensor(x).to(getattr(torch, name)), gradstep.tensor(x).to(getattr(gradstep, name))
    assert g.long().tolist() == t.long().tolist()
    assert g.type() == t.type()
    saved, gradstep.backend.display_name = gradstep.backend.display_name, "torch"
    try:
        assert str(g) == str(t)
    finally:
        gradstep.backend.display_name = saved
    assert g.requires_grad_().requires_grad  # torch lets a float8 leaf require grad
