"""``torch.testing.make_tensor``: a random tensor of a shape and dtype for tests.

Values are drawn as torch draws them (``randint`` for bool and integers, ``uniform_`` for
floating and complex dtypes, on the real view of a complex tensor), from the same global
generator, so after ``manual_seed`` the values equal torch's. Default ranges: bool [0, 2),
unsigned [0, 10), signed integers [-9, 10), floating and complex [-9, 9).
"""

from __future__ import annotations

import collections.abc
import math
import warnings

_FLOATING = ("float16", "bfloat16", "float32", "float64")
_COMPLEX = ("complex64", "complex128")


def _is_integral(dtype):
    return dtype.name == "bool" or not (dtype.is_floating_point or dtype.is_complex)


def _low_high(low, high, dtype, lowest, highest, default_low, default_high):
    """Defaults, checks and clamping of [low, high) as torch's make_tensor does them."""
    low = default_low if low is None else low
    high = default_high if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low == high and not _is_integral(dtype):
        warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or "
                      "complex types is deprecated since 2.1 and will be removed in 2.3. "
                      "Use `torch.full(...)` instead.", FutureWarning, stacklevel=4)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lowest or low >= highest:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), "
                         f"but {dtype} only supports [{lowest}, {highest})")
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
    if _is_integral(dtype):
        return math.ceil(low), math.ceil(high)
    return low, high


def _uniform(t, low, high, finfo_max):
    """torch's ``_uniform_random_``: halve a range wider than the dtype can hold, then double."""
    if high - low >= finfo_max:
        return t.uniform_(low / 2, high / 2).mul_(2)
    return t.uniform_(low, high)


def _draw(shape, dtype, low, high):
    import gradstep as gs

    if dtype.name == "bool":
        low, high = _low_high(low, high, dtype, 0, 2, 0, 2)
        return gs.randint(low, high, shape, dtype=dtype)
    if _is_integral(dtype):
        info = gs.iinfo(dtype)
        top = info.max + (1 if dtype.name != "int64" else 0)
        low, high = _low_high(low, high, dtype, info.min, top, -9, 10)
        return gs.randint(low, high, shape, dtype=dtype)
    if dtype.name in _FLOATING or dtype.name in _COMPLEX:
        fi = gs.finfo(dtype)
        low, high = _low_high(low, high, dtype, fi.min, fi.max, -9, 9)
        result = gs.empty(shape, dtype=dtype)
        _uniform(gs.view_as_real(result) if dtype.is_complex else result, low, high, fi.max)
        return result
    raise TypeError(f"The requested dtype '{dtype}' is not supported by "
                    "torch.testing.make_tensor(). To request support, file an issue at: "
                    "https://github.com/pytorch/pytorch/issues")


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad=False,
                noncontiguous=False, exclude_zero=False, memory_format=None):
    """A tensor of ``shape`` with values drawn uniformly from ``[low, high)`` (see module doc)."""
    import gradstep as gs

    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError("The parameters `noncontiguous` and `memory_format` are mutually "
                         f"exclusive, but got noncontiguous={noncontiguous} and "
                         f"memory_format={memory_format}")
    if requires_grad and _is_integral(dtype):
        raise ValueError("`requires_grad=True` is not supported for boolean and integral dtypes, "
                         f"but got dtype={dtype}")
    if gs.device(device).type != "cpu":  # torch's CPU build fails making the tensor: so here
        gs.empty(0, device=device)
    numel = 1
    for s in shape:
        numel *= s
    noncontiguous = noncontiguous and numel > 1
    if noncontiguous:
        shape = (*shape[:-1], 2 * shape[-1])
    result = _draw(shape, dtype, low, high)
    if noncontiguous:
        result = result[..., 1::2]
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        result[result == 0] = 1 if _is_integral(dtype) else gs.finfo(dtype).tiny
    if not _is_integral(dtype):
        result.requires_grad = requires_grad
    return result


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """Deprecated since torch 1.12: ``assert_close`` with the old tolerances, no dtype check."""
    import gradstep as gs

    from .testing import assert_close

    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed "
                  "in a future release. Please use `torch.testing.assert_close()` instead. You can "
                  "find detailed upgrade instructions in "
                  "https://github.com/pytorch/pytorch/issues/61844.", FutureWarning, stacklevel=2)
    if not isinstance(actual, gs.Tensor):
        actual = gs.tensor(actual)
    if not isinstance(expected, gs.Tensor):
        expected = gs.tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        old = {"float16": (1e-3, 1e-3), "float32": (1e-4, 1e-5), "float64": (1e-5, 1e-8)}
        pairs = [old.get(t.dtype.name, (0.0, 0.0)) for t in (actual, expected)]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                 check_device=True, check_dtype=False, check_stride=False, msg=msg or None)

