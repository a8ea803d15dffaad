"""``torch.testing.assert_close``: compare tensors, numbers and containers of them.

Closeness is ``|actual - expected| <= atol + rtol * |expected|`` elementwise, with
torch's default tolerances by dtype (float32: rtol 1.3e-6, atol 1e-5; float64 and
Python floats: 1e-7, 1e-7; float16: 1e-3, 1e-5; bfloat16: 1.6e-2, 1e-5; integers and
bool: exact). A mismatch raises ``AssertionError`` with torch's report: how many
elements differ and the greatest absolute and relative differences.
"""

from __future__ import annotations

import collections.abc
import math

import numpy as np

from ._make_tensor import assert_allclose, make_tensor  # noqa: F401 - torch.testing names
from ._tensor import Tensor

_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7)}


def _tolerance(dtype_name):
    return _TOLERANCES.get(dtype_name, (0.0, 0.0))


def _compare_arrays(a, e, rtol, atol, equal_nan, scalar, exact):
    """torch's report: differences in the common dtype (integers as int64, their ratio float32)."""
    dt = np.result_type(a, e)
    floating = dt.kind in "fc" or dt.name == "bfloat16"
    a, e = (a.astype(dt), e.astype(dt)) if floating else (a.astype(np.int64), e.astype(np.int64))
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - e)
        close = diff <= np.asarray(atol + rtol * np.abs(e)).astype(diff.dtype)
        close |= a == e  # equal infinities
    if equal_nan and floating:
        close |= np.isnan(a) & np.isnan(e)
    if close.all():
        return None
    kind, verb = ("Scalars" if scalar else "Tensor-likes"), ("equal" if exact else "close")
    allowed_a = "" if exact else f" (up to {atol} allowed)"
    allowed_r = "" if exact else f" (up to {rtol} allowed)"
    diff = np.where(close, 0, diff)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_dt = dt if floating else np.float32  # torch divides int64 by int64 into float32
        rel = np.where(close, 0, diff.astype(ratio_dt) / np.abs(e).astype(ratio_dt))
    if scalar:
        a_val, e_val = a.reshape(()).item(), e.reshape(()).item()
        return (f"{kind} are not {verb}!\n\nExpected {e_val} but got {a_val}.\n"
                f"Absolute difference: {diff.item()}{allowed_a}\n"
                f"Relative difference: {rel.item()}{allowed_r}")
    n_bad, n = int((~close).sum()), close.size
    ia = np.unravel_index(int(np.argmax(diff)), a.shape)  # argmax: the first NaN, like torch.max
    ir = np.unravel_index(int(np.argmax(rel)), a.shape)
    return (f"{kind} are not {verb}!\n\nMismatched elements: {n_bad} / {n} ({n_bad / n:.1%})\n"
            f"Greatest absolute difference: {diff[ia].item()} at index "
            f"{tuple(int(i) for i in ia)}{allowed_a}\n"
            f"Greatest relative difference: {rel[ir].item()} at index "
            f"{tuple(int(i) for i in ir)}{allowed_r}")


def _as_pair(actual, expected):
    """(array, array, dtype name of each, is_scalar) for two tensors or two numbers."""
    if isinstance(actual, Tensor) and isinstance(expected, Tensor):
        return (actual.detach().numpy(), expected.detach().numpy(), actual.dtype.name,
                expected.dtype.name, actual.ndim == 0)
    numbers = (bool, int, float)
    if isinstance(actual, numbers) and isinstance(expected, numbers):
        def name(x):
            return "bool" if isinstance(x, bool) else ("int64" if isinstance(x, int) else "float64")
        return np.asarray(actual), np.asarray(expected), name(actual), name(expected), True
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and "
                    f"{type(expected)}.")


def _check_leaf(actual, expected, rtol, atol, equal_nan, check_dtype):
    a, e, da, de, scalar = _as_pair(actual, expected)
    if a.shape != e.shape:
        return (f"The values for attribute 'shape' do not match: gradstep.Size({list(a.shape)}) != "
                f"gradstep.Size({list(e.shape)}).")
    if check_dtype and da != de and isinstance(actual, Tensor):
        return f"The values for attribute 'dtype' do not match: gradstep.{da} != gradstep.{de}."
    if rtol is None:
        (r1, a1), (r2, a2) = _tolerance(da), _tolerance(de)
        rtol, atol = max(r1, r2), max(a1, a2)
    exact = rtol == 0 and atol == 0 and da not in _TOLERANCES and de not in _TOLERANCES
    return _compare_arrays(a, e, rtol, atol, equal_nan, scalar, exact)


def _check(actual, expected, rtol, atol, equal_nan, check_dtype, where):
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        if set(actual) != set(expected):
            return f"The keys of the mappings do not match: {sorted(map(str, actual))} != " \
                   f"{sorted(map(str, expected))}", where
        for k in actual:
            r = _check(actual[k], expected[k], rtol, atol, equal_nan, check_dtype, [*where, repr(k)])
            if r:
                return r
        return None
    seq = collections.abc.Sequence
    if isinstance(actual, seq) and isinstance(expected, seq) and not isinstance(actual, str):
        if len(actual) != len(expected):
            return f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", where
        for i, (x, y) in enumerate(zip(actual, expected)):
            r = _check(x, y, rtol, atol, equal_nan, check_dtype, [*where, str(i)])
            if r:
                return r
        return None
    msg = _check_leaf(actual, expected, rtol, atol, equal_nan, check_dtype)
    return (msg, where) if msg else None


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    """Raise ``AssertionError`` unless ``actual`` and ``expected`` are close (see the module doc)."""
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{missing}.")
    if rtol is not None and (math.isnan(rtol) or math.isnan(atol)):
        raise ValueError("rtol and atol must not be NaN")
    found = _check(actual, expected, rtol, atol, equal_nan, check_dtype, [])
    if found:
        text, where = found
        if where:
            text += "\n\nThe failure occurred for item " + "".join(f"[{w}]" for w in where)
        raise AssertionError(msg(text) if callable(msg) else (msg or text))
