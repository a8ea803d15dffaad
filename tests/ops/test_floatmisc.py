"""copysign, fmax/fmin, heaviside, nextafter, signbit, isposinf/isneginf/isreal, positive,
rsub, nansum, nanmean against torch. Exact ops (selection, sign changes) are compared with
the oracle's tolerances, which they meet exactly; nansum/nanmean round like sum/mean."""

import numpy as np
import pytest
import torch

import gradstep
from gradstep.autograd import gradcheck
from tests.helpers import check

NAN, INF = float("nan"), float("inf")


def _with_specials(dt):
    x = np.array([[1.5, NAN, -2.0, 0.0], [-0.0, 3.0, NAN, -1.0]], dt)
    return [gradstep.tensor(x, requires_grad=True)]


def test_copysign():
    check(lambda lib, a, b: lib.copysign(a, b), [(3, 4), (4,)])
    check(lambda lib, a: lib.copysign(a, -1.0), [(5,)])
    check(lambda lib, a, b: a.copysign(b), [(5,), (5,)])
    x = np.array([0.0, -0.0, 2.0, -3.0])
    check(lambda lib, a, b: lib.copysign(a, b),
          inputs=lambda dt: [gradstep.tensor(x.astype(dt), requires_grad=True),
                             gradstep.tensor(x[::-1].astype(dt), requires_grad=True)])


@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin(name):
    check(lambda lib, a, b: getattr(lib, name)(a, b), [(3, 4), (4,)])

    def inputs(dt):
        a = np.array([1.0, NAN, NAN, 2.0, 2.0], dt)
        b = np.array([NAN, 1.0, NAN, 2.0, -1.0], dt)
        return [gradstep.tensor(a, requires_grad=True), gradstep.tensor(b, requires_grad=True)]

    check(lambda lib, a, b: getattr(lib, name)(a, b), inputs=inputs)  # NaN loses; ties to self
    check(lambda lib, a, b: getattr(a, name)(b), inputs=inputs)


def test_heaviside():
    x = np.array([-1.0, 0.0, 2.0, -0.0, NAN])
    for v in (np.array(0.5), np.array([1.0, 2.0, 3.0, 4.0, 5.0])):
        ours = gradstep.heaviside(gradstep.tensor(x), gradstep.tensor(v))
        theirs = torch.heaviside(torch.tensor(x), torch.tensor(v))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours = gradstep.tensor([-2, 0, 3]).heaviside(gradstep.tensor([7]))
    np.testing.assert_array_equal(ours.numpy(),
                                  torch.tensor([-2, 0, 3]).heaviside(torch.tensor([7])).numpy())
    for lib in (gradstep, torch):
        with pytest.raises(RuntimeError, match="different dtypes"):
            lib.heaviside(lib.tensor([1.0]), lib.tensor([1]))


def test_predicates():
    x = np.array([1.0, -INF, INF, NAN, -0.0, 0.0, -3.0], np.float32)
    for name in ("signbit", "isposinf", "isneginf", "isreal"):
        for arr in (x, np.array([-2, 0, 3])):
            ours = getattr(gradstep, name)(gradstep.tensor(arr))
            theirs = getattr(torch, name)(torch.tensor(arr))
            assert str(ours.dtype) == "gradstep.bool"
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=name)
            np.testing.assert_array_equal(getattr(gradstep.tensor(arr), name)().numpy(),
                                          theirs.numpy())


def test_nextafter():
    a = np.array([1.0, 0.0, -1.0, 1e30], np.float32)
    b = np.array([2.0, -1.0, -1.0, INF], np.float32)
    np.testing.assert_array_equal(
        gradstep.nextafter(gradstep.tensor(a), gradstep.tensor(b)).numpy(),
        torch.nextafter(torch.tensor(a), torch.tensor(b)).numpy())


def test_positive_rsub():
    check(lambda lib, a: lib.positive(a), [(3,)])
    check(lambda lib, a, b: lib.rsub(a, b), [(3, 4), (4,)])
    check(lambda lib, a, b: lib.rsub(a, b, alpha=2.5), [(3,), (3,)])
    check(lambda lib, a: lib.rsub(a, 2.0), [(3,)])
    for lib in (gradstep, torch):
        with pytest.raises(RuntimeError, match="bool tensor"):
            lib.positive(lib.tensor([True]))


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 1), False)])
def test_nansum_nanmean(dim, keepdim):
    kw = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    check(lambda lib, a: lib.nansum(a, **kw), inputs=_with_specials)
    check(lambda lib, a: lib.nanmean(a, **kw), inputs=_with_specials)
    check(lambda lib, a: a.nansum(**kw), [(3, 4)])
    check(lambda lib, a: a.nanmean(**kw), [(3, 4)])


def test_nan_reductions_dtypes():
    ours, theirs = gradstep.nansum(gradstep.tensor([1, 2])), torch.nansum(torch.tensor([1, 2]))
    assert ours.item() == theirs.item() and str(ours.dtype) == "gradstep.int64"
    all_nan = np.array([NAN, NAN])
    assert np.isnan(gradstep.nanmean(gradstep.tensor(all_nan)).item())
    with pytest.raises(RuntimeError):
        gradstep.nanmean(gradstep.tensor([1, 2]))
    with pytest.raises(RuntimeError):
        torch.nanmean(torch.tensor([1, 2]))


def test_gradcheck():
    rng = np.random.default_rng(0)
    a = gradstep.tensor(rng.uniform(-2, 2, (3, 2)), requires_grad=True)
    b = gradstep.tensor(rng.uniform(-2, 2, (2,)), requires_grad=True)
    for fn in (gradstep.fmax, gradstep.fmin, gradstep.copysign, gradstep.rsub):
        assert gradcheck(fn, (a, b))
    assert gradcheck(lambda t: gradstep.nanmean(t, 0), (a,))


@pytest.mark.parametrize("name", ["fmax", "fmin", "nextafter", "logaddexp", "logaddexp2"])
@pytest.mark.parametrize("other", [2, 0.5], ids=["int", "float"])
def test_binary_tensor_only_functions_refuse_a_number(name, other):
    # torch has no Scalar overload for these (TypeError naming the argument); gradstep took one
    with pytest.raises(TypeError) as theirs:
        getattr(torch, name)(torch.ones(2), other)
    with pytest.raises(TypeError) as ours:
        getattr(gradstep, name)(gradstep.ones(2), other)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2", "nextafter"])
@pytest.mark.parametrize("dt", ["int64", "int32", "uint8", "bool"])
def test_float_only_kernels_refuse_integer_tensors(name, dt):
    # torch's logaddexp kernels are floating only; gradstep computed them in float32
    with pytest.raises(NotImplementedError) as theirs:
        getattr(torch, name)(torch.ones(2, dtype=getattr(torch, dt)), torch.ones(2, dtype=getattr(torch, dt)))
    with pytest.raises(NotImplementedError) as ours:
        getattr(gradstep, name)(gradstep.ones(2, dtype=getattr(gradstep, dt)),
                                gradstep.ones(2, dtype=getattr(gradstep, dt)))
    assert str(ours.value) == str(theirs.value)


def test_heaviside_shape_mismatch_is_torchs_runtime_error():
    # NumPy's broadcasting ValueError escaped (ops fuzzer)
    with pytest.raises(RuntimeError) as theirs:
        torch.heaviside(torch.ones(1, 2), torch.ones(1, 4))
    with pytest.raises(RuntimeError) as ours:
        gradstep.heaviside(gradstep.ones(1, 2), gradstep.ones(1, 4))
    assert str(ours.value) == str(theirs.value)


def test_copysign_of_an_unsigned_tensor_by_a_negative_number():
    # -1 was wrapped into uint8 (255, positive) before the copysign (ops fuzzer)
    for dt in ("uint8", "int64", "bool"):
        ours = gradstep.copysign(gradstep.tensor([6, 0], dtype=getattr(gradstep, dt)), -1)
        theirs = torch.copysign(torch.tensor([6, 0], dtype=getattr(torch, dt)), -1)
        assert ours.tolist() == theirs.tolist() and str(ours.dtype)[9:] == str(theirs.dtype)[6:]


@pytest.mark.parametrize("method", ["fmod", "fmod_", "remainder", "remainder_"])
def test_bool_fmod_and_remainder_have_no_kernel_like_torch(method):
    messages = []
    for lib in (torch, gradstep):
        x = lib.tensor([True, False])
        for other in (lib.tensor([True]), True):
            with pytest.raises(NotImplementedError) as info:
                getattr(x, method)(other)
            messages.append(str(info.value))
        assert getattr(lib.tensor([3, 1]), method.rstrip("_"))(2).tolist() == [1, 1]
    assert messages[:2] == messages[2:]
