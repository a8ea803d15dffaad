"""NumPy functions called on tensors answer as they do on torch 2.13's CPU tensors.

torch defines ``Tensor.__array__`` (via ``numpy()``: refused for a tensor that requires grad
while grad mode is on) and ``Tensor.__array_wrap__`` (a ufunc's result comes back as a tensor,
bool as uint8, 0-d kept).  Each case runs the same NumPy call on a gradstep tensor and on a
torch tensor built from the same array, and compares what comes back: its kind (tensor,
ndarray, NumPy scalar, Python scalar, tuple), dtype, shape and values, or the exception's type
(and message, where torch's is a sentence a user acts on).  Both sides run the very same NumPy
kernel on the same bytes, so values must agree exactly (NaNs in the same places).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradstep

_BASE = np.array([[1.0, -2.0], [3.0, 4.0]], dtype=np.float32)
_GRAD_MSG = "Can't call numpy() on Tensor that requires grad"


def _inputs(lib):
    """The same tensors in either library, built from the same NumPy arrays."""
    return dict(
        t=lib.tensor(_BASE), t64=lib.tensor(_BASE.astype(np.float64)),
        ti=lib.tensor([1, 2, 3]), t0=lib.tensor(2.0), t16=lib.tensor([0.5, 1.0], dtype=lib.float16),
        tb=lib.tensor([True, False, True]), t8=lib.tensor([1, -2], dtype=lib.int8),
        tg=lib.tensor([1.0, 2.0], requires_grad=True), t0g=lib.tensor(1.0, requires_grad=True),
        p=lib.nn.Parameter(lib.ones(2)), pf=lib.nn.Parameter(lib.ones(2), requires_grad=False),
    )


CASES = {
    # ufuncs: a tensor back
    "exp": lambda x: np.exp(x["t"]),
    "sqrt_nan": lambda x: np.sqrt(x["t"]),
    "sin_f64": lambda x: np.sin(x["t64"]),
    "abs": lambda x: np.abs(x["t"]),
    "sign": lambda x: np.sign(x["t"]),
    "round": lambda x: np.round(x["t"]),
    "add_scalar": lambda x: np.add(x["t"], 1),
    "add_tensors": lambda x: np.add(x["t"], x["t"]),
    "add_ndarray_first": lambda x: np.add(np.ones(2), x["t"]),
    "power": lambda x: np.power(x["t"], 2),
    "maximum": lambda x: np.maximum(x["t"], 0),
    "minimum_f64": lambda x: np.minimum(x["t64"], 0.5),
    "clip": lambda x: np.clip(x["t"], 0, 1),
    "matmul": lambda x: np.matmul(x["t"], x["t"]),
    "exp_int_to_f64": lambda x: np.exp(x["ti"]),
    "negative_int": lambda x: np.negative(x["ti"]),
    "negative_int8": lambda x: np.negative(x["t8"]),
    "tanh_f16": lambda x: np.tanh(x["t16"]),
    "exp_bool_to_f16": lambda x: np.exp(x["tb"]),
    "exp_view": lambda x: np.exp(x["t"][0]),
    "exp_transposed": lambda x: np.exp(x["t"].t()),
    "exp_0d": lambda x: np.exp(x["t0"]),
    "float_of_exp_0d": lambda x: float(np.exp(x["t0"])),
    "item_of_log_0d": lambda x: np.log(x["t0"]).item(),
    "tolist_of_exp": lambda x: np.exp(x["t"]).tolist(),
    "exp_param_no_grad": lambda x: np.exp(x["pf"]),
    "multiply_reduce": lambda x: np.multiply.reduce(x["t"]),
    "cumsum": lambda x: np.cumsum(x["t"]),
    "divmod": lambda x: np.divmod(x["t"], 2),
    "modf": lambda x: np.modf(x["t"]),
    "frexp": lambda x: np.frexp(x["t"]),
    # bool-valued ufuncs: uint8 tensors, as torch's __array_wrap__ makes them
    "isnan": lambda x: np.isnan(x["t"]),
    "isfinite_0d": lambda x: np.isfinite(x["t0"]),
    "greater": lambda x: np.greater(x["t"], 0),
    "equal": lambda x: np.equal(x["t"], x["t"]),
    "logical_and": lambda x: np.logical_and(x["t"] > 0, x["t"] < 3),
    "invert_bool": lambda x: np.invert(x["tb"]),
    # functions that fall back to NumPy and wrap with the tensor's hook
    "argmax": lambda x: np.argmax(x["t"]),
    "reshape": lambda x: np.reshape(x["t"], (4,)),
    "transpose": lambda x: np.transpose(x["t"]),
    # functions NumPy does not wrap: ndarrays or NumPy scalars, as in torch
    "asarray": lambda x: np.asarray(x["t"]),
    "array": lambda x: np.array(x["t"]),
    "array_f64": lambda x: np.array(x["t"], dtype=np.float64),
    "asarray_f64": lambda x: np.asarray(x["t"], dtype=np.float64),
    "concatenate": lambda x: np.concatenate([x["t"], x["t"]]),
    "stack": lambda x: np.stack([x["t"], x["t"]]),
    "where": lambda x: np.where(x["t"] > 0, x["t"], 0),
    "dot_int": lambda x: np.dot(x["ti"], x["ti"]),
    "dot_2d": lambda x: np.dot(x["t"], x["t"]),
    "sort": lambda x: np.sort(x["t"]),
    "unique": lambda x: np.unique(x["ti"]),
    "isclose": lambda x: np.isclose(x["t"], x["t"]),
    "allclose": lambda x: np.allclose(x["t"], x["t"]),
    "linalg_norm": lambda x: np.linalg.norm(x["t"]),
    "float32_of_0d": lambda x: np.float32(x["t0"]),
    "float64_of_0d": lambda x: np.float64(x["t0"]),
    "add_out_ndarray": lambda x: np.add(x["t"], 1, out=np.empty((2, 2))),
    "sum_of_list": lambda x: np.sum([x["ti"], x["ti"]]),
    "mean_of_0d_list": lambda x: np.mean([x["t0"], x["t0"]]),
    "array_of_list": lambda x: np.array([x["t"], x["t"]]),
    # a broader sweep of everyday NumPy calls (each kind of answer as torch gives it)
    "median": lambda x: np.median(x["t"]),
    "percentile": lambda x: np.percentile(x["t"], 50),
    "nanmean": lambda x: np.nanmean(x["t"]),
    "round_decimals": lambda x: np.round(x["t"], 2),
    "cumprod": lambda x: np.cumprod(x["t"]),
    "diff": lambda x: np.diff(x["t"]),
    "nonzero": lambda x: np.nonzero(x["t"]),
    "argsort": lambda x: np.argsort(x["ti"]),
    "argmin": lambda x: np.argmin(x["t"]),
    "repeat": lambda x: np.repeat(x["ti"], 2),
    "ravel": lambda x: np.ravel(x["t"]),
    "copy": lambda x: np.copy(x["t"]),
    "zeros_like": lambda x: np.zeros_like(x["t"]),
    "full_like": lambda x: np.full_like(x["t"], 3),
    "count_nonzero": lambda x: np.count_nonzero(x["t"]),
    "logaddexp": lambda x: np.logaddexp(x["t"], x["t"]),
    "floor_divide": lambda x: np.floor_divide(x["ti"], 2),
    "bitwise_and": lambda x: np.bitwise_and(x["ti"], 1),
    "left_shift": lambda x: np.left_shift(x["ti"], 1),
    "heaviside": lambda x: np.heaviside(x["t"], 0.5),
    "float_power": lambda x: np.float_power(x["t"], 2),
    "squeeze": lambda x: np.squeeze(x["t"]),
    "expand_dims": lambda x: np.expand_dims(x["t"], 0),
    "swapaxes": lambda x: np.swapaxes(x["t"], 0, 1),
    "take": lambda x: np.take(x["t"], [0]),
    "searchsorted": lambda x: np.searchsorted(x["t"][1], 3.5),
    "trace": lambda x: np.trace(x["t"]),
    "outer": lambda x: np.outer(x["ti"], x["ti"]),
    "inner": lambda x: np.inner(x["ti"], x["ti"]),
    "matmul_1d": lambda x: np.matmul(x["ti"], x["ti"]),
    "einsum": lambda x: np.einsum("ij->i", x["t"]),
    "histogram": lambda x: np.histogram(x["t"])[0],
    "bincount": lambda x: np.bincount(x["ti"]),
    "tile": lambda x: np.tile(x["ti"], 2),
    "hstack": lambda x: np.hstack([x["ti"], x["ti"]]),
    "nan_to_num": lambda x: np.nan_to_num(x["t"]),
    "clip_keywords": lambda x: np.clip(x["t"], a_min=0, a_max=None),
    "float32_of_2x2": lambda x: np.float32(x["t"]),
    "ndim": lambda x: np.ndim(x["t"]),
    "shape": lambda x: np.shape(x["t"]),
    "isscalar": lambda x: np.isscalar(x["t"]),
    "testing_assert_allclose": lambda x: np.testing.assert_allclose(x["t"], _BASE),
    "flip": lambda x: np.flip(x["t"]),  # torch refuses the negative-step view: ValueError
    "result_type": lambda x: np.result_type(x["t"]),
    # errors
    "exp_requires_grad": lambda x: np.exp(x["tg"]),
    "add_requires_grad": lambda x: np.add(x["tg"], 1),
    "asarray_requires_grad": lambda x: np.asarray(x["tg"]),
    "exp_parameter": lambda x: np.exp(x["p"]),
    "float32_requires_grad_0d": lambda x: np.float32(x["t0g"]),
    "array_of_list_requires_grad": lambda x: np.array([x["tg"], x["tg"]]),
    "sum_of_list_requires_grad": lambda x: np.sum([x["tg"]]),
    "numpy_method_requires_grad": lambda x: x["tg"].numpy(),
    "ufunc_out_tensor": lambda x: np.exp(x["t"], out=x["t"]),
    # NumPy calls t.mean(axis=..., dtype=..., out=...): both libraries refuse the keywords
    "mean": lambda x: np.mean(x["t"]),
    "sum": lambda x: np.sum(x["t"]),
    "sum_axis": lambda x: np.sum(x["t"], axis=0),
    "sum_requires_grad": lambda x: np.sum(x["tg"]),
    "sum_keepdims": lambda x: np.sum(x["t"], keepdims=True),
    "prod": lambda x: np.prod(x["t"]),
    "var": lambda x: np.var(x["t"]),
    "all": lambda x: np.all(x["t"] > 0),
    "any": lambda x: np.any(x["t"] > 0),
}


def _describe(r):
    """What came back, library-neutral: kind, dtype name, shape, values (or the exception)."""
    if isinstance(r, tuple):
        return ("tuple", [_describe(v) for v in r])
    if isinstance(r, (gradstep.Tensor, torch.Tensor)):
        assert not r.requires_grad
        arr = np.array(r.detach().numpy())
        return ("tensor", str(r.dtype).rsplit(".", 1)[-1], arr.shape, arr)
    if isinstance(r, np.ndarray):
        return ("ndarray", r.dtype.name, r.shape, r)
    if isinstance(r, np.generic):
        return ("numpy-scalar", type(r).__name__, (), np.asarray(r))
    return ("python", type(r).__name__, (), r)


def _run(lib, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's legacy hook signatures warn (NumPy 2); sqrt(-2)
        try:
            return _describe(CASES[name](_inputs(lib)))
        except Exception as e:  # noqa: BLE001 - the exception is the answer compared
            return ("raises", type(e), str(e))


def _assert_same(ours, theirs, name):
    assert ours[0] == theirs[0], f"{name}: {ours} vs torch {theirs}"
    if ours[0] == "raises":
        assert ours[1] is theirs[1], f"{name}: {ours[1:]} vs torch {theirs[1:]}"
        if _GRAD_MSG in theirs[2]:
            assert ours[2] == theirs[2]
        return
    if ours[0] == "tuple":
        assert len(ours[1]) == len(theirs[1])
        for o, t in zip(ours[1], theirs[1]):
            _assert_same(o, t, name)
        return
    assert ours[1:3] == theirs[1:3], f"{name}: kind/dtype/shape {ours[:3]} vs torch {theirs[:3]}"
    if ours[0] == "python":
        assert ours[3] == theirs[3]
    else:
        np.testing.assert_array_equal(ours[3], theirs[3], err_msg=name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_numpy_call_answers_as_torch(name):
    _assert_same(_run(gradstep, name), _run(torch, name), name)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's pre-NumPy-2 hook signatures
def test_ufunc_results_are_fresh_plain_tensors():
    p = gradstep.nn.Parameter(gradstep.ones(3), requires_grad=False)
    r = np.exp(p)
    assert type(r) is gradstep.Tensor and type(np.exp(torch.nn.Parameter(
        torch.ones(3), requires_grad=False))) is torch.Tensor
    assert not r.requires_grad and r.grad_fn is None
    r.add_(1)  # a tensor of its own: writable, and p is untouched
    assert p.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("lib", [gradstep, torch])
def test_asarray_shares_memory_and_array_copies(lib):
    t = lib.tensor([1.0, 2.0])
    shared, copied = np.asarray(t), np.array(t)
    shared[0] = 5.0
    copied[1] = 7.0
    assert t.tolist() == [5.0, 2.0]
    assert not np.shares_memory(copied, t.numpy())
    assert not np.shares_memory(np.asarray(t, copy=True), t.numpy())


@pytest.mark.parametrize("lib", [gradstep, torch])
def test_requires_grad_tensor_converts_under_no_grad(lib):
    t = lib.tensor([1.0, 4.0], requires_grad=True)
    with lib.no_grad():
        assert t.numpy().tolist() == [1.0, 4.0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = np.sqrt(t)
    assert isinstance(r, lib.Tensor) and r.tolist() == [1.0, 2.0] and not r.requires_grad
    assert t.numpy(force=True).tolist() == [1.0, 4.0]
    with pytest.raises(RuntimeError, match="requires grad"):
        t.numpy()


def test_wrap_refuses_a_dtype_tensors_cannot_hold():
    t = gradstep.tensor([1.0])
    with pytest.raises(TypeError, match="can't convert"):
        t.__array_wrap__(np.array(["a"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError, match="can't convert"):
            torch.tensor([1.0]).__array_wrap__(np.array(["a"]))


@pytest.mark.parametrize("make", ["from_numpy", "as_tensor"])
def test_read_only_array_warns_once_and_refuses_in_place_writes(make, monkeypatch):
    """torch warns once when a tensor shares a non-writable array (and then writes into it:
    undefined behaviour); gradstep gives the warning and refuses in-place writes with a
    message naming the read-only memory, not the expanded-tensor one."""
    from gradstep import _warn_once

    monkeypatch.setattr(_warn_once, "_given", set())
    arr = np.arange(4.0)
    arr.flags.writeable = False
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        t = getattr(gradstep, make)(arr)
        getattr(gradstep, make)(arr)
    assert [w.category for w in seen] == [UserWarning]
    assert "NumPy array is not writable" in str(seen[0].message)
    assert seen[0].filename == __file__
    for write in (lambda: t.add_(1), lambda: t.__setitem__(0, 5.0), lambda: t[1:].zero_()):
        with pytest.raises(RuntimeError, match="non-writable NumPy array"):
            write()
    np.testing.assert_array_equal(arr, [0.0, 1.0, 2.0, 3.0])
    assert float((t + 1).sum()) == 10.0  # reading still works
    with pytest.raises(RuntimeError, match="more than one element"):  # an expanded tensor
        gradstep.zeros(3).expand(2, 3).add_(1)
