"""torch.slice_scatter & co., the *_copy functions, sym_* helpers and top-level names, against torch."""

import math

import numpy as np
import pytest
import torch

import gradstep


def _pair(shape, seed, dtype=np.float32):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return torch.tensor(x, requires_grad=True), gradstep.tensor(x, requires_grad=True)


def _same(t, g):
    np.testing.assert_array_equal(np.asarray(g.detach()._data), t.detach().numpy())  # copies: exact


SCATTERS = [
    ("slice_scatter", (4, 6), (4, 2), dict(dim=1, start=1, end=5, step=2)),
    ("slice_scatter", (4, 6), (2, 6), dict(start=2)),
    ("select_scatter", (4, 6), (6,), dict(dim=0, index=-1)),
    ("diagonal_scatter", (4, 6), (3,), dict(offset=1, dim1=1, dim2=0)),
    ("diagonal_scatter", (3, 5), (3,), {}),
    ("as_strided_scatter", (4, 6), (2, 3), dict(size=(2, 3), stride=(2, 1), storage_offset=1)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,shape,src_shape,kw", SCATTERS)
def test_scatters_and_their_gradients_match_torch(name, shape, src_shape, kw, dtype):
    (ti, gi), (ts, gs) = _pair(shape, 0, dtype), _pair(src_shape, 1, dtype)
    to, go = getattr(torch, name)(ti, ts, **kw), getattr(gradstep, name)(gi, gs, **kw)
    _same(to, go)
    _same(getattr(ti, name)(ts, **kw), getattr(gi, name)(gs, **kw))  # the Tensor method
    w = np.random.default_rng(2).standard_normal(shape).astype(dtype)
    (to * torch.tensor(w)).sum().backward()
    (go * gradstep.tensor(w)).sum().backward()
    _same(ts.grad, gs.grad)  # a gradient is a selection of w: exact
    if name == "as_strided_scatter":
        # torch 2.13 gives input the gradient of the overwritten positions (zeros elsewhere),
        # which the result does not depend on; gradstep gives the true one: w where kept
        kept = np.ones(shape, dtype).reshape(-1)
        kept[np.lib.stride_tricks.as_strided(np.arange(kept.size), kw["size"], [
            st * 8 for st in kw["stride"]])[()].reshape(-1) + kw["storage_offset"]] = 0
        np.testing.assert_array_equal(gi.grad._data, w * kept.reshape(shape))
        return
    _same(ti.grad, gi.grad)


def test_scatter_refuses_a_wrong_source_shape():
    with pytest.raises(RuntimeError, match="expected src to have a size equal to the slice"):
        gradstep.slice_scatter(gradstep.zeros(4, 4), gradstep.zeros(3, 4), start=2)


COPIES = [
    ("view_copy", ((3, 8),)), ("permute_copy", ((2, 0, 1),)), ("transpose_copy", (0, 2)),
    ("expand_copy", ((2, 2, 3, 4),)), ("unsqueeze_copy", (1,)), ("select_copy", (1, 2)),
    ("slice_copy", (2, 1, 4, 2)), ("split_copy", (1,)), ("split_with_sizes_copy", ([1, 2], 1)),
    ("unbind_copy", (2,)), ("diagonal_copy", (0, 1, 2)), ("detach_copy", ()), ("alias_copy", ()),
    ("unfold_copy", (2, 2, 1)), ("narrow_copy", (2, 1, 2)), ("squeeze_copy", ()),
    ("as_strided_copy", ((2, 2), (3, 1), 1)),
]


@pytest.mark.parametrize("name,args", COPIES)
def test_copy_functions_match_torch_and_own_their_memory(name, args):
    ti, gi = _pair((2, 3, 4), 3)
    to, go = getattr(torch, name)(ti, *args), getattr(gradstep, name)(gi, *args)
    if isinstance(to, tuple):
        assert isinstance(go, tuple) and len(go) == len(to)
        for t, g in zip(to, go):
            _same(t, g)
        return
    _same(to, go)
    assert tuple(go.shape) == tuple(to.shape)
    before = go.detach().clone()
    with gradstep.no_grad():
        gi.zero_()  # a copy: the source's change does not show
    _same(torch.tensor(before.numpy()), go)


def test_t_copy_and_constant_pad_nd_and_view_as_real_copy():
    ti, gi = _pair((3, 4), 4)
    _same(torch.t_copy(ti), gradstep.t_copy(gi))
    _same(torch.constant_pad_nd(ti, (1, 2, 0, 1), 1.5), gradstep.constant_pad_nd(gi, (1, 2, 0, 1), 1.5))
    _same(ti.narrow_copy(1, 1, 2), gi.narrow_copy(1, 1, 2))
    c = np.array([1 + 2j, 3 - 1j], np.complex64)
    _same(torch.view_as_real_copy(torch.tensor(c)), gradstep.view_as_real_copy(gradstep.tensor(c)))
    r = np.arange(4, dtype=np.float32).reshape(2, 2)
    tc, gc = torch.view_as_complex_copy(torch.tensor(r)), gradstep.view_as_complex_copy(gradstep.tensor(r))
    np.testing.assert_array_equal(gc._data, tc.numpy())


@pytest.mark.parametrize("call", [
    lambda m: m.sym_int(-2.7), lambda m: m.sym_int(3.0), lambda m: m.sym_float(3),
    lambda m: m.sym_max(1, 2.0), lambda m: m.sym_max(3, 2.0), lambda m: m.sym_min(1, 2.5),
    lambda m: m.sym_max(True, 2), lambda m: m.sym_not(0), lambda m: m.sym_not(2),
    lambda m: m.sym_sqrt(4), lambda m: m.sym_ite(True, 1, 2), lambda m: m.sym_ite(False, 1, 2),
    lambda m: m.sym_sum([1, 2, 3]), lambda m: m.sym_sum([1, 2.5]), lambda m: m.sym_sum([]),
])
def test_sym_helpers_on_plain_numbers(call):
    t, g = call(torch), call(gradstep)
    assert g == t and type(g) is type(t)


def test_sym_classes_match_no_plain_number():
    for name in ("SymInt", "SymFloat", "SymBool"):
        cls = getattr(gradstep, name)
        assert isinstance(cls, type) and cls.__name__ == name
        assert not isinstance(3, cls) and not isinstance(2.5, cls) and not isinstance(True, cls)
    with pytest.raises(AssertionError, match="expected SymBool or bool"):
        gradstep.sym_ite(0, 1, 2)
    with pytest.raises(ValueError, match="math domain error"):
        gradstep.sym_sqrt(-1.0)
    assert math.isclose(gradstep.sym_sqrt(2), torch.sym_sqrt(2))


def test_top_level_aliases_and_flags():
    assert gradstep.GradScaler is gradstep.amp.GradScaler
    assert issubclass(gradstep.OutOfMemoryError, RuntimeError)
    assert gradstep.OutOfMemoryError is gradstep.cuda.OutOfMemoryError
    assert issubclass(gradstep.AcceleratorError, RuntimeError)
    # gradstep's own truth (NumPy: no MKL or OpenMP of its own; LAPACK and FFTs it has)
    assert (gradstep.has_mkl, gradstep.has_lapack, gradstep.has_openmp, gradstep.has_spectral) == (
        False, True, False, True)
    assert gradstep.has_mkl == gradstep.backends.mkl.is_available()
    assert gradstep.get_device_module() is gradstep.cpu
    assert gradstep.get_device_module("cpu") is gradstep.cpu
    assert gradstep.get_device_module(gradstep.device("cuda:0")) is gradstep.cuda
    assert gradstep.is_storage(gradstep.zeros(2).untyped_storage())
    assert not gradstep.is_storage(gradstep.zeros(2)) and not torch.is_storage(torch.zeros(2))


def test_deterministic_debug_mode_round_trips_as_torch():
    try:
        for mode, want in (("warn", 1), ("error", 2), ("default", 0), (1, 1), (2, 2), (0, 0)):
            gradstep.set_deterministic_debug_mode(mode)
            torch.set_deterministic_debug_mode(mode)
            assert gradstep.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode() == want
        with pytest.raises(RuntimeError, match="invalid value of debug_mode"):
            gradstep.set_deterministic_debug_mode("loud")
    finally:
        gradstep.set_deterministic_debug_mode(0)
        torch.set_deterministic_debug_mode(0)
