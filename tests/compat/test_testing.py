"""``gradstep.testing.assert_close`` against ``torch.testing.assert_close``: same verdicts, same report."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
import gradstep.testing


def _cases(lib):
    t, nan, inf = lib.tensor, float("nan"), float("inf")
    return [
        (t([1.0, 2.0, 3.0]), t([1.0, 2.1, 3.0]), {}),
        (t([1.0, 2.0]), t([1.0, 2.0, 3.0]), {}),
        (t([1.0, 2.0]), t([1.0, 2.0], dtype=lib.float64), {}),
        (t([1.0, 2.0], dtype=lib.float64), t([1.0, 2.000001]), {"check_dtype": False}),
        (t([1, 2]), t([1, 3]), {}),
        (t([[1.0, 2.0], [3.0, 4.0]]), t([[1.0, 2.0], [3.0, 5.0]]), {}),
        (1.0, 1.1, {}),
        (3, 3, {}),
        ([t(1.0)], [t(2.0)], {}),
        ({"a": t(1.0)}, {"a": t(2.0)}, {}),
        ((t(1.0), 2), (t(1.0), 2), {}),
        (t([nan]), t([nan]), {}),
        (t([nan, 1.0]), t([nan, 1.0]), {"equal_nan": True}),
        (t([inf, -inf]), t([inf, -inf]), {}),
        (t([1.0, 2.0]), t([1.0, 2.5]), {"rtol": 0.3, "atol": 0.0}),
        (t([1.0]), t([1.0]), {"rtol": 1e-3}),
        (t([1.0]), [1.0], {}),
    ]


def _outcome(fn, a, b, kw):
    try:
        fn(a, b, **kw)
        return "ok"
    except Exception as e:  # noqa: BLE001 - compared with torch's
        text = str(e).replace("torch.Size", "gradstep.Size").replace("torch.", "gradstep.")
        return type(e).__name__, text.replace("gradstep._tensor.Tensor", "gradstep.Tensor")


@pytest.mark.parametrize("i", range(len(_cases(torch))))
def test_reports_match_torch(i):
    a, b, kw = _cases(torch)[i]
    c, d, kw2 = _cases(gradstep)[i]
    assert _outcome(gradstep.testing.assert_close, c, d, kw2) == \
        _outcome(torch.testing.assert_close, a, b, kw)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_verdicts_at_the_default_tolerance_match_torch(dtype):
    # perturbations from well inside to well outside atol + rtol * |expected|
    rng = np.random.default_rng(0)
    expected = rng.standard_normal(50).astype(dtype)
    rtol, atol = {"float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}[dtype]
    for scale in (0.1, 0.5, 0.9, 1.1, 2.0, 10.0):
        actual = (expected + scale * (atol + rtol * np.abs(expected)) *
                  rng.choice([-1, 1], expected.shape)).astype(dtype)
        assert _outcome(gradstep.testing.assert_close, gradstep.tensor(actual),
                        gradstep.tensor(expected), {}) == \
            _outcome(torch.testing.assert_close, torch.tensor(actual), torch.tensor(expected), {})
