"""Factories against torch: dtype inference, shapes, values, and their errors."""

import array
import collections
import re
import warnings

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import assert_close


def _same(ours, theirs, exact=True):
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    if exact:
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    else:
        assert_close(ours, theirs, ours.dtype.name)


DATA = [
    [1, 2], [1, 2.0], [True, False], [True, 1], [True, 2.5], [[1, 2], [3, 4]], [], [[]], 3, 2.5,
    True, (1, 2), [[1.5], [2.0]], [np.float64(1.0), 2], [np.float32(1.0), 2.0], [np.int32(1), 2],
    [1, np.float16(2)], np.array([1, 2], dtype=np.int32), np.array([1.0, 2.0]), np.float64(2.5),
    np.array([1, 2], dtype=np.uint8), np.int16(3), np.array(2.5), np.array([True]),
]


@pytest.mark.parametrize("i", range(len(DATA)))
def test_tensor_dtype_inference(i):
    data = DATA[i]
    _same(gradstep.tensor(data), torch.tensor(data))


def test_tensor_from_tensors_and_explicit_dtype():
    for L in (gradstep, torch):
        a = L.tensor([L.tensor(1.0), L.tensor(2.0)])
        b = L.tensor([L.tensor(1, dtype=L.int32), 2])
        c = L.tensor([L.tensor(1.0, dtype=L.float64), 2.0])
        d = L.tensor(3.7, dtype=L.int64)
        e = L.tensor([[1, 2]], dtype=L.float64)
        f = L.tensor(np.arange(3), dtype=L.float32)
        g = L.tensor([1.5, -2.5], dtype=L.int32)
        if L is gradstep:
            ours = (a, b, c, d, e, f, g)
    for o, t in zip(ours, (a, b, c, d, e, f, g)):
        _same(o, t)


SEQUENCES = [  # L -> data: what torch reads as a sequence, tensors inside read as scalars
    lambda L: range(5), lambda L: [range(2), range(2)], lambda L: bytearray(b"ab"),
    lambda L: collections.deque([1, 2.5]), lambda L: array.array("f", [1, 2]),
    lambda L: array.array("i", [3, 4]), lambda L: array.array("d", [0.1]), lambda L: [L.tensor([1.0]), L.tensor([[2.0]])],
    lambda L: [[L.tensor([1])], [L.tensor([2])]], lambda L: [L.tensor([1.5]), 2],
    lambda L: (L.tensor(1, dtype=L.int32), L.tensor([2], dtype=L.int32)),
    lambda L: [np.array([1, 2]), np.array([3, 4])], lambda L: L.Size([2, 3]),
]


@pytest.mark.parametrize("i", range(len(SEQUENCES)))
def test_tensor_from_other_sequences_like_torch(i):
    make = SEQUENCES[i]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "a list of numpy.ndarrays is extremely slow"
        _same(gradstep.tensor(make(gradstep)), torch.tensor(make(torch)))
    _same(gradstep.as_tensor(make(gradstep)), torch.as_tensor(make(torch)))


def test_tensor_refuses_what_torch_refuses_in_sequences():
    for L, errors in ((torch, []), (gradstep, [])):
        for data in ([L.ones(2), L.ones(2)], b"ab", {1: 2}, {1, 2}):
            with pytest.raises((ValueError, TypeError, RuntimeError)) as e:
                L.tensor(data)
            errors.append((e.type, str(e.value).split(" (")[0]))
        if L is torch:
            theirs = errors
    assert errors == theirs


def test_tensor_copies_and_flags():
    arr = np.arange(3.0)
    t = gradstep.tensor(arr)
    arr[0] = 9
    assert t[0].item() == 0.0
    src = gradstep.ones(2)
    c = gradstep.tensor(src)
    c[0] = 5
    assert src[0].item() == 1.0
    r = gradstep.tensor([1.0, 2.0], requires_grad=True)
    assert r.requires_grad and r.is_leaf
    assert gradstep.tensor([1.0], device="cpu").device == gradstep.device("cpu")


def test_tensor_errors():
    with pytest.raises(ValueError):
        gradstep.tensor([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="Could not infer dtype of NoneType"):
        gradstep.tensor([1, None])
    with pytest.raises(TypeError):
        gradstep.tensor("abc")
    with pytest.raises((RuntimeError, ValueError, OverflowError)):
        gradstep.tensor(2**63)
    with pytest.raises(TypeError, match="can't convert"):
        gradstep.tensor(np.array([1], dtype=np.clongdouble))
    with pytest.raises(RuntimeError, match="floating point"):
        gradstep.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="cpu"):
        gradstep.zeros(2, device="cuda")


def test_as_tensor_and_from_numpy():
    arr = np.arange(4.0)
    t = gradstep.as_tensor(arr)
    arr[0] = 7
    assert t[0].item() == 7  # shares memory when no conversion is needed
    c = gradstep.as_tensor(arr, dtype=gradstep.float32)
    arr[1] = 8
    assert c[1].item() == 1 and c.dtype is gradstep.float32
    g = gradstep.ones(2)
    assert gradstep.as_tensor(g) is g
    assert gradstep.as_tensor(g, dtype=gradstep.float64).dtype is gradstep.float64
    _same(gradstep.as_tensor([1, 2]), torch.as_tensor([1, 2]))
    _same(gradstep.as_tensor([1.5]), torch.as_tensor([1.5]))
    for dt in (np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_, np.float16, np.int8):
        a = np.ones((2, 3), dtype=dt)
        _same(gradstep.from_numpy(a), torch.from_numpy(a))
    a = np.zeros((2, 3))
    f = gradstep.from_numpy(a)
    f[0, 1] = 3.0
    a[1, 2] = 4.0
    assert a[0, 1] == 3.0 and f[1, 2].item() == 4.0
    f.add_(1)
    assert a[0, 0] == 1.0
    with pytest.raises(TypeError):
        gradstep.from_numpy([1, 2])
    with pytest.raises(TypeError):
        gradstep.from_numpy(np.array([1], dtype=np.clongdouble))


FACTORIES = [
    lambda L: L.zeros(2, 3), lambda L: L.zeros((2, 3), dtype=L.int32), lambda L: L.zeros([2, 3]),
    lambda L: L.zeros(L.Size([2, 3])), lambda L: L.zeros(()), lambda L: L.zeros([]),
    lambda L: L.zeros(0, 2), lambda L: L.ones(2, dtype=L.bool), lambda L: L.ones(3, 1, dtype=L.float64),
    lambda L: L.full((2,), 3), lambda L: L.full((2,), 3.0), lambda L: L.full((2,), True),
    lambda L: L.full([2, 2], 1, dtype=L.float64), lambda L: L.full((), 1.5),
    lambda L: L.zeros_like(L.ones(2, dtype=L.int32)), lambda L: L.ones_like(L.ones(2), dtype=L.int64),
    lambda L: L.ones_like(L.ones(2, 3, dtype=L.float64)), lambda L: L.full_like(L.ones(2, dtype=L.int64), 2.7),
    lambda L: L.full_like(L.ones(2), 2.7), lambda L: L.full_like(L.ones(2), 1, dtype=L.float16),
    lambda L: L.arange(5), lambda L: L.arange(5.0), lambda L: L.arange(1, 4), lambda L: L.arange(0, 1, 0.1),
    lambda L: L.arange(10, 0, -3), lambda L: L.arange(1.0, -1.0, -0.25), lambda L: L.arange(0, 5, 2, dtype=L.float64),
    lambda L: L.arange(0.5, 5, dtype=L.int64), lambda L: L.arange(-1.5, 5.5, 1.3), lambda L: L.arange(L.tensor(3)),
    lambda L: L.arange(5, dtype=L.float32), lambda L: L.arange(0, 3, 0.3, dtype=L.float64), lambda L: L.arange(3, 3),
    lambda L: L.arange(-5, -1), lambda L: L.arange(0, -1, -0.1),
    lambda L: L.linspace(0, 1, 5), lambda L: L.linspace(0, 10, 4, dtype=L.int64),
    lambda L: L.linspace(0, 1, 1), lambda L: L.linspace(0, 1, 0), lambda L: L.linspace(3, 1, 5),
    lambda L: L.linspace(-3.3, 7.1, 17), lambda L: L.linspace(0, 1, 1000),
    lambda L: L.eye(3), lambda L: L.eye(2, 3, dtype=L.int64), lambda L: L.eye(0), lambda L: L.eye(3, 1),
    lambda L: L.zeros(size=(2, 3)), lambda L: L.ones(size=[4], dtype=L.int32),
]


@pytest.mark.parametrize("i", range(len(FACTORIES)))
def test_factories_match_torch(i):
    _same(FACTORIES[i](gradstep), FACTORIES[i](torch))


def test_float64_ranges_match_torch():
    for f in [lambda L: L.linspace(-2, 3, 7, dtype=L.float64), lambda L: L.linspace(0, 1, 1000, dtype=L.float64),
              lambda L: L.arange(0, 1, 0.01, dtype=L.float64), lambda L: L.logspace(0, 2, 3)]:
        _same(f(gradstep), f(torch), exact=False)


def test_empty_and_requires_grad():
    for f in [lambda L: L.empty(2, 3), lambda L: L.empty((2,), dtype=L.int64),
              lambda L: L.empty_like(L.ones(2, 3, dtype=L.float64))]:
        o, t = f(gradstep), f(torch)
        assert tuple(o.shape) == tuple(t.shape) and o.dtype.name == str(t.dtype)[6:]
    for f in (gradstep.zeros, gradstep.ones, gradstep.empty, gradstep.rand, gradstep.randn):
        t = f(2, requires_grad=True)
        assert t.requires_grad and t.is_leaf
    assert gradstep.arange(3.0, requires_grad=True).requires_grad
    assert gradstep.full((2,), 1.0, requires_grad=True).requires_grad
    assert gradstep.zeros_like(gradstep.ones(2), requires_grad=True).requires_grad


def test_factory_errors():
    with pytest.raises(RuntimeError, match="negative"):
        gradstep.zeros(-1)
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        gradstep.arange(0, 1, 0)
    with pytest.raises(RuntimeError, match="inconsistent with step sign"):
        gradstep.arange(0, 10, -1)
    with pytest.raises(RuntimeError, match="non-negative"):
        gradstep.linspace(0, 1, -1)
    with pytest.raises(TypeError, match="steps"):
        gradstep.linspace(0, 1, 2.5)
    with pytest.raises(RuntimeError, match="n must be greater or equal to 0"):
        gradstep.eye(-1)
    with pytest.raises(RuntimeError, match="negative dimension"):
        gradstep.randperm(-1)


def test_float_sizes_are_refused_like_torch():
    """A float size is a TypeError at construction (torch), not a later failure inside an op."""
    for make in (lambda m: m.zeros(2.0), lambda m: m.empty((2, 3.0)), lambda m: m.nn.Linear(3.0, 2),
                 lambda m: m.nn.Conv2d(4, 2.0, 1)):
        with pytest.raises(TypeError):
            make(torch)
        with pytest.raises(TypeError, match="tuple of ints"):
            make(gradstep)
    assert gradstep.zeros(gradstep.tensor(3)).shape == (3,) == torch.zeros(torch.tensor(3)).shape


@pytest.mark.parametrize("size,stride", [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((2, 0), (1, 2)),
                                         ((4,), (0,)), ((3, 1, 2), (2, 7, 1)), ((), ())])
def test_empty_strided_and_new_empty_strided_like_torch(size, stride):
    ours = gradstep.empty_strided(size, stride, dtype=gradstep.float64)
    theirs = torch.empty_strided(size, stride, dtype=torch.float64)
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.stride() == theirs.stride()
    assert ours.dtype == gradstep.float64 and ours.is_contiguous() == theirs.is_contiguous()
    new = gradstep.ones(2, dtype=gradstep.int32).new_empty_strided(size, stride)
    assert new.dtype == gradstep.int32 and new.stride() == theirs.stride()
    src = np.arange(int(np.prod(size)), dtype=np.float64).reshape(size)
    if all(s > 0 for s in stride):  # a non-overlapping layout holds any values
        np.testing.assert_array_equal(ours.copy_(gradstep.tensor(src)).numpy(), src)


def test_empty_strided_errors_like_torch():
    for size, stride in [((2, 3), (1,)), ((2, 3), (-1, 2)), ((2, -3), (1, 2))]:
        with pytest.raises(RuntimeError) as theirs:
            torch.empty_strided(size, stride)
        with pytest.raises(RuntimeError, match=re.escape(str(theirs.value))):
            gradstep.empty_strided(size, stride)
    t = gradstep.empty_strided((2, 2), (1, 2), requires_grad=True)
    assert t.requires_grad and t.is_leaf


LIST_OF_ARRAYS_CASES = {
    "list": lambda L: L.tensor([np.ones(2), np.zeros(2)]),
    "tuple_with_dtype": lambda L: L.tensor((np.ones(2), np.ones(2)), dtype=L.float32),
    "nested_not_first": lambda L: L.tensor([[1.0, 2.0], np.ones(2)]),
    "legacy_constructor": lambda L: L.FloatTensor([np.ones(3, dtype=np.float32)]),
    "as_tensor": lambda L: L.as_tensor([np.ones(2)]),
    "new_tensor": lambda L: L.ones(1).new_tensor([np.ones(2)]),
    "numpy_scalars": lambda L: L.tensor([1.0, np.float64(2)]),
}


@pytest.mark.parametrize("case", LIST_OF_ARRAYS_CASES)
def test_list_of_ndarrays_warns_once_like_torch(case, monkeypatch):
    """DQN replay buffers write ``torch.tensor(list_of_states)``; torch warns (once per
    process) that this is slow, for arrays of one or more dimensions anywhere in the list."""
    from gradstep import _warn_once

    monkeypatch.setattr(_warn_once, "_given", set())
    torch._C._set_warnAlways(True)  # torch's warn-once may have fired earlier in this process
    try:
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            expected = LIST_OF_ARRAYS_CASES[case](torch)
    finally:
        torch._C._set_warnAlways(False)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        got = LIST_OF_ARRAYS_CASES[case](gradstep)
        LIST_OF_ARRAYS_CASES[case](gradstep)  # once per process
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
    torch_texts = {str(w.message).split(" (Triggered internally")[0] for w in theirs}
    assert [str(w.message) for w in ours] == sorted(torch_texts)  # one warning, or none
    assert all(w.filename == __file__ for w in ours)


def test_linspace_is_bit_identical_to_torch_on_random_ranges():
    """torch's float64 linspace fuses each ``start + step * i`` (one rounding, an FMA): the
    emulation must agree to the last bit; float32 computes in double, then rounds."""
    rng = np.random.default_rng(2026)
    for _ in range(60):
        start, end = rng.standard_normal(2) * 10.0 ** rng.integers(-6, 7, 2)
        steps = int(rng.integers(2, 5000))
        for name in ("float64", "float32"):
            ours = gradstep.linspace(start, end, steps, dtype=getattr(gradstep, name)).numpy()
            theirs = torch.linspace(start, end, steps, dtype=getattr(torch, name)).numpy()
            np.testing.assert_array_equal(ours, theirs, err_msg=f"{start} {end} {steps} {name}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # infinite ends: inf/nan points, silently, as torch
        for ends in ((0.0, float("inf")), (-1e308, 1e308)):
            np.testing.assert_array_equal(gradstep.linspace(*ends, 7, dtype=gradstep.float64).numpy(),
                                          torch.linspace(*ends, 7, dtype=torch.float64).numpy())


def test_float_arange_is_bit_identical_to_torch_on_random_ranges():
    """torch's floating arange: fused vector bases and lanes, fused scalar tails, per thread
    share above 32768 points (so large ranges need the same thread count as torch's)."""
    rng = np.random.default_rng(2027)
    same_threads = gradstep.get_num_threads() == torch.get_num_threads()
    for k in range(80):
        start = float(rng.standard_normal() * 10.0 ** rng.integers(-3, 3))
        step = float(abs(rng.standard_normal()) * 10.0 ** rng.integers(-3, 2)) * (-1) ** k
        if k % 4 == 0:  # whole and dyadic arguments: the exact fast path
            start, step = float(int(start)), float(2.0 ** rng.integers(-4, 3))
        n = int(rng.integers(40000, 90000)) if k % 20 == 1 and same_threads else int(rng.integers(2, 3000))
        for name in ("float32", "float64"):
            ours = gradstep.arange(start, start + n * step, step, dtype=getattr(gradstep, name)).numpy()
            theirs = torch.arange(start, start + n * step, step, dtype=getattr(torch, name)).numpy()
            np.testing.assert_array_equal(ours, theirs, err_msg=f"{start} {step} {n} {name}")
    for args in ((10,), (0, 1, 0.1), (-5, 5, 0.25), (1.5,), (2.0**24 + 3,)):
        np.testing.assert_array_equal(gradstep.arange(*args, dtype=gradstep.float32).numpy(),
                                      torch.arange(*args, dtype=torch.float32).numpy())


@pytest.mark.parametrize("args", [(0, float("inf"), 1.0), (float("nan"), 5, 1.0), (-float("inf"), 0.0),
                                  (0, 5, float("nan")), (0, 5, 0), (0.0, 1e20, 1e-10),
                                  (0, 5, float("inf")), (5, 0, 1)])
def test_arange_bad_ranges_raise_like_torch(args):
    outcomes = []
    for lib in (torch, gradstep):
        try:
            outcomes.append(lib.arange(*args).tolist())
        except RuntimeError as e:  # torch's: unsupported range, nonzero step, overflow, sign
            outcomes.append(str(e))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("pytype", [bool, int, float, complex])
def test_python_types_as_dtypes_are_torchs(pytype):
    # torch takes the classes themselves: float is a double (float64 whatever the default dtype),
    # complex complex128, int int64, bool bool
    def name(t):
        return str(t.dtype).split(".")[1]

    gs = gradstep
    for make in (lambda L: L.ones(2, dtype=pytype), lambda L: L.zeros((2, 1), dtype=pytype),
                 lambda L: L.tensor([1, 0], dtype=pytype), lambda L: L.ones(2).to(pytype),
                 lambda L: L.ones(2).new_zeros(3, dtype=pytype), lambda L: L.zeros_like(L.ones(2), dtype=pytype),
                 lambda L: L.full((2,), 1, dtype=pytype)):
        assert name(make(gs)) == name(make(torch))
    gs.set_default_dtype(gs.float64)
    try:
        assert name(gs.ones(2, dtype=pytype)) == name(torch.ones(2, dtype=pytype))
    finally:
        gs.set_default_dtype(gs.float32)
