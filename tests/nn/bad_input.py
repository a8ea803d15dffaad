"""Bad-input parity: run one call under torch and under gradstep and compare what happens.

Either both raise the same exception class (and, where torch's message is a sentence a user
acts on, the same message), or both return a result of the same shape and dtype whose
values agree to the dtype's tolerance (``tests.helpers.assert_close``).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

import gradstep
from tests.helpers import assert_close


def outcome(lib, build):
    """``build(lib)``'s result (the first tensor of a tuple), or the exception it raised."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = build(lib)
    except Exception as e:  # noqa: BLE001 - the exception is the outcome under test
        return e
    while isinstance(out, (tuple, list)):
        out = out[0]
    return out


def _dtype_name(t):
    return str(t.dtype).split(".")[-1]


def assert_same_outcome(build, message=True, tol_dtype=None):
    """``build(lib)`` raises alike or computes alike under torch and gradstep.

    ``message``: compare torch's message exactly (True), a fragment of it (str) or not at all.
    ``tol_dtype``: the dtype whose tolerance values get (default: the result's), e.g. float32
    for a float64 result computed partly from float32 operands.
    """
    theirs, ours = outcome(torch, build), outcome(gradstep, build)
    if isinstance(theirs, Exception):
        assert isinstance(ours, Exception), (
            f"torch raised {type(theirs).__name__}: {theirs}; gradstep returned {ours!r}")
        assert type(ours).__name__ == type(theirs).__name__, (
            f"torch raised {type(theirs).__name__}: {theirs}; "
            f"gradstep {type(ours).__name__}: {ours}")
        if message is True:  # our Size and dtype reprs name the package they come from
            assert str(ours).replace("gradstep.", "torch.") == str(theirs), (str(ours), str(theirs))
        elif message:
            assert message in str(theirs) and message in str(ours), (str(theirs), str(ours))
        return
    assert not isinstance(ours, Exception), (
        f"torch returned {tuple(theirs.shape)} {theirs.dtype}; gradstep raised "
        f"{type(ours).__name__}: {ours}")
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert _dtype_name(ours) == _dtype_name(theirs)
    ours_np = ours.detach().float() if _dtype_name(ours) == "bfloat16" else ours.detach()
    theirs_np = theirs.detach().float() if _dtype_name(theirs) == "bfloat16" else theirs.detach()
    assert_close(ours_np, theirs_np, tol_dtype or _dtype_name(ours_np))


def rand(lib, shape, dtype="float32", seed=0):
    """A deterministic tensor of ``dtype`` (small integers for integer/bool dtypes)."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return lib.tensor(rng.integers(0, 2, shape).astype(bool))
    if dtype.startswith("int"):
        return lib.tensor(rng.integers(0, 3, shape), dtype=getattr(lib, dtype))
    return lib.tensor(rng.standard_normal(shape), dtype=getattr(lib, dtype))
