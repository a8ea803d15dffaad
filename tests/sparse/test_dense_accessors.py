"""``indices()`` / ``values()``: torch's errors on a dense tensor and on an uncoalesced
sparse one, and the coalesced results."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep


def _message(fn):
    with pytest.raises(RuntimeError) as info:
        fn()
    return str(info.value)


@pytest.mark.parametrize("name", ["indices", "values"])
def test_dense_tensor_errors_match_torch(name):
    theirs = _message(lambda: getattr(torch.ones(2, 2), name)())
    ours = _message(lambda: getattr(gradstep.ones(2, 2), name)())
    assert ours == theirs


@pytest.mark.parametrize("name", ["indices", "values"])
def test_uncoalesced_and_coalesced_match_torch(name):
    args = ([[0, 1, 0], [1, 0, 1]], [1.0, 2.0, 3.0], (2, 2))
    t = torch.sparse_coo_tensor(*args)
    g = gradstep.sparse_coo_tensor(*args)
    assert _message(lambda: getattr(g, name)()) == _message(lambda: getattr(t, name)())
    np.testing.assert_array_equal(getattr(g.coalesce(), name)().numpy(),
                                  getattr(t.coalesce(), name)().numpy())

