"""torch's keyword names and out= on gradstep.* functions (gradstep/_signatures.py):
a table of calls spelled as torch programs spell them, run in both libraries."""

import warnings

import numpy as np
import pytest
import torch

import gradstep


def _args(lib):
    rng = np.random.default_rng(0)
    a = lib.tensor(rng.uniform(0.1, 2, (2, 3)))
    b = lib.tensor(rng.uniform(0.1, 2, (2, 3)))
    return a, b


# name -> call(lib, a, b) with torch's keyword names
CALLS = {
    "add": lambda lib, a, b: lib.add(input=a, other=b, alpha=2),
    "sub": lambda lib, a, b: lib.sub(a, other=b),
    "mul": lambda lib, a, b: lib.mul(input=a, other=b),
    "div": lambda lib, a, b: lib.div(a, other=b, rounding_mode="floor"),
    "pow": lambda lib, a, b: lib.pow(input=a, exponent=b),
    "remainder": lambda lib, a, b: lib.remainder(input=a, other=b),
    "maximum": lambda lib, a, b: lib.maximum(input=a, other=b),
    "eq": lambda lib, a, b: lib.eq(input=a, other=b),
    "lt": lambda lib, a, b: lib.lt(input=a, other=b),
    "logical_and": lambda lib, a, b: lib.logical_and(input=a, other=b),
    "where": lambda lib, a, b: lib.where(condition=a > 1, input=a, other=b),
    "clamp": lambda lib, a, b: lib.clamp(input=a, min=0.5, max=1.5),
    "exp": lambda lib, a, b: lib.exp(input=a),
    "log": lambda lib, a, b: lib.log(input=a),
    "abs": lambda lib, a, b: lib.abs(input=a),
    "sum": lambda lib, a, b: lib.sum(input=a, dim=1, keepdim=True),
    "mean": lambda lib, a, b: lib.mean(input=a, dim=0),
    "softmax": lambda lib, a, b: lib.softmax(input=a, dim=1),
    "cumsum": lambda lib, a, b: lib.cumsum(input=a, dim=1),
    "matmul": lambda lib, a, b: lib.matmul(input=a, other=b.T),
    "mm": lambda lib, a, b: lib.mm(input=a, mat2=b.T),
    "transpose": lambda lib, a, b: lib.transpose(input=a, dim0=0, dim1=1),
    "flatten": lambda lib, a, b: lib.flatten(input=a),
    "cat": lambda lib, a, b: lib.cat(tensors=[a, b], dim=1),
    "stack": lambda lib, a, b: lib.stack(tensors=[a, b], dim=0),
    "tan": lambda lib, a, b: lib.tan(input=a),
    "atan2": lambda lib, a, b: lib.atan2(input=a, other=b),
    "xlogy": lambda lib, a, b: lib.xlogy(input=a, other=b),
    "special.gammaln": lambda lib, a, b: lib.special.gammaln(input=a),
    "method.add": lambda lib, a, b: a.add(other=b, alpha=3),
    "method.mul": lambda lib, a, b: a.mul(other=b),
    "method.pow": lambda lib, a, b: a.pow(exponent=2),
    "method.lt": lambda lib, a, b: a.lt(other=b),
    "method.maximum": lambda lib, a, b: a.maximum(other=b),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_torch_keywords(name):
    ours = CALLS[name](gradstep, *_args(gradstep))
    theirs = CALLS[name](torch, *_args(torch))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


# name -> (call without out, out's shape)
OUT_CALLS = {
    "add": (lambda lib, a, b, **kw: lib.add(a, b, **kw), (2, 3)),
    "exp": (lambda lib, a, b, **kw: lib.exp(a, **kw), (2, 3)),
    "tan": (lambda lib, a, b, **kw: lib.tan(a, **kw), (2, 3)),
    "sum": (lambda lib, a, b, **kw: lib.sum(a, 1, **kw), (2,)),
    "cumsum": (lambda lib, a, b, **kw: lib.cumsum(a, 0, **kw), (2, 3)),
    "matmul": (lambda lib, a, b, **kw: lib.matmul(a, b.T, **kw), (2, 2)),
    "cat": (lambda lib, a, b, **kw: lib.cat([a, b], **kw), (4, 3)),
    "stack": (lambda lib, a, b, **kw: lib.stack([a, b], **kw), (2, 2, 3)),
    "where": (lambda lib, a, b, **kw: lib.where(a > 1, a, b, **kw), (2, 3)),
    "zeros": (lambda lib, a, b, **kw: lib.zeros(2, 2, **kw), (2, 2)),
    "arange": (lambda lib, a, b, **kw: lib.arange(5, **kw), (5,)),
    "logaddexp": (lambda lib, a, b, **kw: lib.logaddexp(a, b, **kw), (2, 3)),
    "clamp": (lambda lib, a, b, **kw: lib.clamp(a, 0.5, 1.5, **kw), (2, 3)),
}


@pytest.mark.parametrize("name", sorted(OUT_CALLS))
def test_out_writes_and_resizes(name):
    fn, shape = OUT_CALLS[name]
    results = []
    for lib in (gradstep, torch):
        a, b = _args(lib)
        dtype = lib.int64 if name == "arange" else lib.float64
        exact = lib.empty(shape, dtype=dtype)
        r = fn(lib, a, b, out=exact)
        assert r is exact
        empty = lib.empty(0, dtype=dtype)
        fn(lib, a, b, out=empty)  # a zero-element out is resized silently
        assert tuple(empty.shape) == shape
        wrong = lib.empty(7, dtype=dtype)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            fn(lib, a, b, out=wrong)  # a non-empty one: resized, warned about unless a factory
        assert tuple(wrong.shape) == shape
        warned = any("resized" in str(m.message) for m in w)
        results.append((exact.numpy(), empty.numpy(), wrong.numpy(), warned))
    ours, theirs = results
    assert ours[3] == theirs[3], "resize warning differs from torch's"
    for o, t in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(o, t, rtol=1e-12)


def test_out_refuses_autograd_and_bad_casts():
    for lib in (gradstep, torch):
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            lib.exp(x, out=lib.empty(3))
        with lib.no_grad():
            out = lib.empty(3)
            lib.exp(x, out=out)
        np.testing.assert_allclose(out.numpy(), np.e)
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            lib.exp(lib.ones(3), out=lib.empty(3, dtype=lib.int64))
        out = lib.empty(3, dtype=lib.float64)  # a wider float out is fine
        lib.add(lib.ones(3), 1, out=out)
        assert out.dtype == lib.float64 and out.tolist() == [2.0, 2.0, 2.0]


def test_numpy_axis_and_keepdims_aliases_like_torch():
    """torch's parser takes ``axis=``/``keepdims=`` for ``dim=``/``keepdim=`` (Karpathy-style code)."""

    def calls(m, x):
        return [x.sum(axis=0), x.sum(1, keepdims=True), m.sum(x, axis=2, keepdims=True),
                x.mean(axis=1), x.std(0, keepdims=True), m.cat([x, x], axis=1), x.argmax(axis=1),
                m.max(x, axis=0).values, x.max(axis=2, keepdims=True)[0], m.amax(x, axis=(0, 1)),
                x.softmax(axis=-1), m.stack([x, x], axis=0), x.var(axis=0), x.logsumexp(axis=1),
                x.cumsum(axis=1), x.prod(axis=0, keepdims=True)]

    data = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7
    ours = calls(gradstep, gradstep.tensor(data))
    theirs = calls(torch, torch.tensor(data))
    for a, b in zip(ours, theirs):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=0)


def test_size_keywords_of_varargs_functions_like_torch():
    """Sizes taken as ``*varargs`` here also come by torch's keyword (``x.view(size=...)``)."""

    def calls(m, x):
        return [m.reshape(input=x, shape=(3, 2)), m.permute(input=x, dims=(1, 0)), x.view(size=(6,)),
                x.reshape(shape=(3, 2)), x.permute(dims=(1, 0)), x[:1].expand(size=(2, 3)),
                x.repeat(repeats=(2, 1)), x.new_zeros(size=(2,)), x.new_ones(size=(1, 2)),
                x.split(split_size=1, dim=0)[1]]

    data = np.arange(6, dtype=np.float64).reshape(2, 3)
    for a, b in zip(calls(gradstep, gradstep.tensor(data)), calls(torch, torch.tensor(data))):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
