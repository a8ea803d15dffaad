"""The smaller Tensor methods and torch.* functions against torch: apply_ / map_ / map2_,
output_nr, name, volatile, grad_dtype, as_subclass, is_distributed, get_device, is_inference,
norm_except_dim, frombuffer, empty_permuted, and the runtime switches (set_flush_denormal,
set_anomaly_enabled, init_num_threads, prepare_multiprocessing_environment)."""

import array
import warnings

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check


def _both(fn):
    return fn(gradstep), fn(torch)


def _same(fn):
    ours, theirs = _both(fn)
    assert ours == theirs, (ours, theirs)


def _raises_like_torch(fn, exc, match):
    for lib in (gradstep, torch):
        with pytest.raises(exc, match=match):
            fn(lib)


# ---------------------------------------------------------------- apply_ / map_ / map2_
def test_apply_():
    _same(lambda L: L.arange(4.0).apply_(lambda v: v * 2).tolist())
    _same(lambda L: L.arange(4).apply_(lambda v: v / 2).tolist())  # truncated to int64
    _same(lambda L: L.tensor([True, False]).apply_(lambda v: not v).tolist())
    _same(lambda L: L.tensor([1, 2], dtype=L.uint8).apply_(lambda v: v - 5).tolist())

    def order(L):
        seen = []
        L.arange(6.0).view(2, 3).t().apply_(lambda v: seen.append(v) or v)
        return seen

    _same(order)  # C order of the (transposed) view
    x = gradstep.arange(3.0)
    assert x.apply_(lambda v: v + 1) is x and x._version == 1
    _raises_like_torch(lambda L: L.arange(4.0, requires_grad=True).apply_(lambda v: v),
                       RuntimeError, r"Can't call apply_\(\) on Variable that requires grad")
    _raises_like_torch(lambda L: L.arange(4.0).apply_(lambda v: "a"), TypeError,
                       "must be real number, not str")
    _raises_like_torch(lambda L: L.arange(4.0).apply_(3), TypeError, "not callable")
    _raises_like_torch(lambda L: L.tensor([1], dtype=L.int8).apply_(lambda v: 2 ** 40),
                       RuntimeError, "value cannot be converted to type int8 without overflow")


def test_map_and_map2_():
    _same(lambda L: L.arange(4.0).map_(L.ones(4), lambda a, b: a + b).tolist())
    _same(lambda L: L.arange(4.0).map_(L.ones(1), lambda a, b: a - b).tolist())  # broadcast
    _same(lambda L: L.arange(4.0).map2_(L.ones(4), L.full((4,), 2.0),
                                        lambda a, b, c: a + b * c).tolist())
    _same(lambda L: L.arange(4.0).map2_(L.ones(4), L.full((1,), 2.0),
                                        lambda a, b, c: a * c).tolist())
    _raises_like_torch(lambda L: L.ones(1).map_(L.ones(4), lambda a, b: a), RuntimeError,
                       "The expanded size of the tensor")
    _raises_like_torch(lambda L: L.ones(4).map_(L.ones(4, dtype=L.float64), lambda a, b: a),
                       TypeError, r"map_: expected torch.FloatTensor for 'other' \(got "
                                  r"torch.DoubleTensor\)")
    _raises_like_torch(lambda L: L.ones(2).map2_(L.ones(2, dtype=L.int64), L.ones(2),
                                                 lambda a, b, c: a),
                       TypeError, "map2_: expected torch.FloatTensor for argument 'x'")
    _raises_like_torch(lambda L: L.ones(2, requires_grad=True).map_(L.ones(2), lambda a, b: a),
                       RuntimeError, r"Can't call map_\(\) on Variable that requires grad")
    _raises_like_torch(lambda L: L.ones(2).map_(L.ones(2, requires_grad=True), lambda a, b: a),
                       RuntimeError, r"Can't call map_\(\)")
    _raises_like_torch(lambda L: L.ones(2).map_(3, lambda a, b: a), TypeError,
                       "argument 'other' .* must be Tensor, not int")


# ---------------------------------------------------------------- attributes
def _two_outputs(L):
    class Two(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            return ga * 2 + gb * 3

    return Two


def test_output_nr_name_volatile_is_distributed():
    def run(L):
        x = L.ones(4, requires_grad=True)
        a, b = _two_outputs(L).apply(x)
        return x.output_nr, a.output_nr, b.output_nr, (x * 2).output_nr, x.name, \
            x.is_distributed(), L.is_distributed(x)

    _same(run)
    # gradstep records a built-in multi-output op (split, unbind, svd) as one node per output,
    # so each of those outputs is output 0 of its own grad_fn (torch: 0, 1, ... of one node)
    assert [t.output_nr for t in gradstep.ones(4, requires_grad=True).split(2)] == [0, 0]
    for L in (gradstep, torch):
        t = L.ones(2)
        with pytest.warns(UserWarning, match="volatile was removed"):
            assert t.volatile is False
        with pytest.warns(UserWarning, match="volatile was removed and now has no effect"):
            t.volatile = True
        with pytest.raises(AttributeError):
            t.name = "x"
        with pytest.raises(AttributeError):
            t.output_nr = 1


def test_grad_dtype():
    _same(lambda L: (str(L.ones(2).grad_dtype).split(".")[-1],
                     str(L.arange(3).grad_dtype).split(".")[-1]))
    _raises_like_torch(lambda L: (L.ones(2, requires_grad=True) * 2).grad_dtype, RuntimeError,
                       "grad_dtype can only be accessed on leaf tensors")
    t = gradstep.ones(2, requires_grad=True)
    t.grad_dtype = None
    assert t.grad_dtype is None
    t.grad_dtype = gradstep.float32
    assert t.grad_dtype == gradstep.float32
    with pytest.raises(NotImplementedError, match="accumulates a tensor's gradient in its own "
                                                  "dtype"):
        t.grad_dtype = gradstep.float64


def test_as_subclass():
    class Mine(gradstep.Tensor):
        pass

    class Theirs(torch.Tensor):
        pass

    x = gradstep.ones(2, requires_grad=True)
    y = (x * 2).as_subclass(Mine)
    yt = (torch.ones(2, requires_grad=True) * 2).as_subclass(Theirs)
    assert type(y) is Mine and y.grad_fn.name() == yt.grad_fn.name() == "AliasBackward0"
    (y * 3).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    p = gradstep.arange(3.0).as_subclass(gradstep.nn.Parameter)
    assert isinstance(p, gradstep.nn.Parameter) and not p.requires_grad
    z = gradstep.zeros(2)
    w = z.as_subclass(Mine)
    w[0] = 5.0
    assert z.tolist() == [5.0, 0.0]  # the same memory
    _raises_like_torch(lambda L: L.ones(2).as_subclass(int), TypeError,
                       "does not inherit from Tensor")


# ---------------------------------------------------------------- torch.* function forms
def test_get_device_is_inference_is_distributed():
    _same(lambda L: (L.get_device(L.ones(2)), L.is_inference(L.ones(2)),
                     L.is_distributed(L.ones(2))))
    _raises_like_torch(lambda L: L.get_device(3), TypeError,
                       r"get_device\(\): argument 'input' \(position 1\) must be Tensor, not int")
    _raises_like_torch(lambda L: L.is_inference(3), TypeError, "must be Tensor, not int")


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2])
@pytest.mark.parametrize("p", [2, 3])
def test_norm_except_dim(dim, p):
    check(lambda L, v: L.norm_except_dim(v, p, dim), [(3, 4, 5)], low=0.1)
    check(lambda L, v: L.norm_except_dim(v, pow=p, dim=dim), [(2, 3)], low=0.1) \
        if dim in (0, 1, -1) else None


def test_norm_except_dim_default_and_graph():
    _same(lambda L: tuple(L.norm_except_dim(L.ones(3, 4)).shape))
    _same(lambda L: L.norm_except_dim(L.ones(3, 4, requires_grad=True)).grad_fn.name())


# ---------------------------------------------------------------- frombuffer / empty_permuted
def test_frombuffer_shares_memory():
    for L in (gradstep, torch):
        buf = bytearray(b"\x01\x00\x00\x00\x02\x00\x00\x00")
        t = L.frombuffer(buf, dtype=L.int32)
        assert t.tolist() == [1, 2]
        buf[0] = 9
        assert t.tolist() == [9, 2]
        t[1] = 5
        assert buf[4] == 5
    _same(lambda L: L.frombuffer(bytearray(range(8)), dtype=L.int32, count=1, offset=4).tolist())
    _same(lambda L: L.frombuffer(array.array("d", [1.0, 2.0]), dtype=L.float64).tolist())
    _same(lambda L: L.frombuffer(memoryview(bytearray(4)), dtype=L.int16).tolist())
    _same(lambda L: L.frombuffer(bytearray(8), dtype=L.float32, requires_grad=True).requires_grad)
    _same(lambda L: L.frombuffer(bytearray(8), dtype=L.int32, count=-2).tolist())


def test_frombuffer_errors():
    b = bytearray(8)
    cases = [
        (lambda L: L.frombuffer(b, dtype=L.int32, count=3), "requested buffer length"),
        (lambda L: L.frombuffer(b, dtype=L.int32, offset=8), r"offset \(8 bytes\) must be"),
        (lambda L: L.frombuffer(b, dtype=L.int32, offset=-1), r"offset \(-1 bytes\) must be"),
        (lambda L: L.frombuffer(b, dtype=L.int32, count=0), "must not be 0"),
        (lambda L: L.frombuffer(b, dtype=L.int32, offset=1), "must be a multiple of element"),
        (lambda L: L.frombuffer(bytearray(0), dtype=L.int32), "must not be 0"),
        (lambda L: L.frombuffer([1, 2], dtype=L.int32), "buffer protocol"),
    ]
    for fn, match in cases:
        _raises_like_torch(fn, ValueError, match)
    _raises_like_torch(lambda L: L.frombuffer(b), TypeError, "dtype")


def test_frombuffer_read_only_buffer_warns():
    from gradstep import _warn_once

    _warn_once._given.discard("frombuffer-read-only")
    with pytest.warns(UserWarning, match="The given buffer is not writable"):
        t = gradstep.frombuffer(bytes(8), dtype=gradstep.int32)
    assert t.tolist() == [0, 0]
    with pytest.raises(RuntimeError):
        t[0] = 1  # read-only here (torch would write into the bytes object)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradstep.frombuffer(bytes(4), dtype=gradstep.int32)  # once per process, as torch


def test_empty_permuted():
    _same(lambda L: L.empty_permuted((2, 3, 5, 7), (0, 2, 3, 1)).stride())
    _same(lambda L: L.empty_permuted([2, 3], [1, 0]).stride())
    _same(lambda L: (lambda t: (tuple(t.shape), str(t.dtype).split(".")[-1], t.requires_grad))(
        L.empty_permuted((2, 3), (1, 0), dtype=L.float64, requires_grad=True)))
    _same(lambda L: L.empty_permuted((4,), (0,)).stride())
    _raises_like_torch(lambda L: L.empty_permuted((2, 3), (0, 0)), RuntimeError,
                       "Duplicate dim not allowed")
    _raises_like_torch(lambda L: L.empty_permuted((2, 3), (0,)), RuntimeError,
                       "Number of dimensions in size does not match the length of the "
                       "physical_layout")
    _raises_like_torch(lambda L: L.empty_permuted((2, 3), (1, 2)), RuntimeError,
                       "Dimension out of range")


# ---------------------------------------------------------------- runtime switches
def test_set_flush_denormal():
    tiny = np.array([1e-39], dtype=np.float32)  # a float32 denormal
    assert gradstep.set_flush_denormal(True) is torch.set_flush_denormal(True)
    try:
        if gradstep.set_flush_denormal(True):
            assert (gradstep.from_numpy(tiny) * 1.0).item() == 0.0
    finally:
        assert gradstep.set_flush_denormal(False) is torch.set_flush_denormal(False)
    assert (gradstep.from_numpy(tiny) * 1.0).item() > 0.0
    with pytest.raises(TypeError):
        gradstep.set_flush_denormal(1)


def test_set_anomaly_enabled():
    for L in (gradstep, torch):
        try:
            assert L.set_anomaly_enabled(True) is None
            assert L.is_anomaly_enabled() and L.is_anomaly_check_nan_enabled()
            L.set_anomaly_enabled(False, False)
            assert not L.is_anomaly_enabled() and not L.is_anomaly_check_nan_enabled()
        finally:
            L.set_anomaly_enabled(False)
        assert not L.is_anomaly_enabled() and L.is_anomaly_check_nan_enabled()
    gradstep.set_anomaly_enabled(True)
    try:
        x = gradstep.tensor([-1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="returned nan values"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                x.sqrt().sum().backward()
    finally:
        gradstep.set_anomaly_enabled(False)


def test_no_op_setup_functions():
    _same(lambda L: (L.init_num_threads(), L.prepare_multiprocessing_environment("/tmp")))


def test_size_of_a_dim_of_a_0d_tensor_raises_torchs_index_error():
    messages = []
    for lib in (torch, gradstep):
        for d in (0, -1, 1):
            with pytest.raises(IndexError) as info:
                lib.tensor(1.0).size(d)
            messages.append(str(info.value))
    assert messages[:3] == messages[3:]
    assert gradstep.zeros(2, 3).size(-1) == 3
