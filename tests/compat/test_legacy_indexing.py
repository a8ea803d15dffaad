"""Every index form torch 2.13 accepts (and the ones it refuses), read and written, against torch.

Indexing copies values, so results must be identical: no tolerance.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradstep

BASE = np.arange(60, dtype=np.float32).reshape(3, 4, 5)

KEYS = {
    "range": lambda L: range(3),
    "range_step": lambda L: range(0, 3, 2),
    "slice_then_range": lambda L: (slice(None), range(2)),
    "bool_list": lambda L: [True, False, True],
    "tuple_in_list": lambda L: [(0, 1), (1, 2)],
    "list_of_lists": lambda L: [[0, 1], [1, 2]],
    "list_with_list": lambda L: [0, [1]],
    "list_with_tensor": lambda L: [L.tensor(1), 2],
    "float_list": lambda L: [0.7, 1.2],
    "numpy_int": lambda L: np.int64(1),
    "numpy_int_pair": lambda L: (np.int32(1), np.int64(2)),
    "numpy_int_array": lambda L: np.array([0, 2]),
    "numpy_2d_array": lambda L: np.array([[0, 1], [1, 2]]),
    "numpy_0d_array": lambda L: np.array(1),
    "numpy_bool_array": lambda L: np.array([True, False, True]),
    "numpy_bool_scalar": lambda L: np.bool_(True),
    "tensor_0d": lambda L: L.tensor(1),
    "tensor_0d_pair": lambda L: (L.tensor(1), L.tensor(2)),
    "none_ellipsis_int": lambda L: (None, Ellipsis, 1),
    "ellipsis_none": lambda L: (Ellipsis, None),
    "int_none_slice": lambda L: (0, None, slice(1, 3)),
    "negative_step": lambda L: slice(None, None, -1),
    "mask_2d": lambda L: L.tensor(BASE[:, :, 0] > 20),
    "mask_1d": lambda L: L.tensor([True, False, True]),
    "tensors_around_slice": lambda L: (L.tensor([0, 2]), slice(None), L.tensor([1, 3])),
    "lists_around_slice": lambda L: ([0, 1], slice(None), [2, 3]),
    "negative_list": lambda L: [-1, 0],
    "bool_true": lambda L: True,
    "bool_false": lambda L: False,
    "long_2d": lambda L: L.tensor([[0, 1], [2, 0]]),
    "int32_tensor": lambda L: L.tensor([0, 2], dtype=L.int32),
    "empty_list": lambda L: [],
    "step_two": lambda L: (slice(None), slice(None, None, 2)),
    "out_of_range": lambda L: 5,
    "float_tensor": lambda L: L.tensor([0.0]),
}


def _apply(lib, fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = ("ok", fn(lib))
        except Exception as e:  # noqa: BLE001 - the exception type is what is compared
            value = ("error", _kind(e))
    return value, sorted({w.category.__name__ for w in caught})


def _kind(e):
    """torch raises IndexError/TypeError/ValueError/RuntimeError; compare the family."""
    return "index" if isinstance(e, (IndexError, TypeError, ValueError)) else type(e).__name__


def _get(key_fn):
    def read(lib):
        out = lib.tensor(BASE)[key_fn(lib)]
        return tuple(out.shape), np.array(out.tolist(), dtype=np.float32)

    return read


def _set(key_fn):
    def write(lib):
        x = lib.tensor(BASE)
        x[key_fn(lib)] = -1.0
        return np.array(x.tolist(), dtype=np.float32)

    return write


def _assert_same(ours, theirs):
    (kind_o, value_o), warns_o = ours
    (kind_t, value_t), warns_t = theirs
    assert kind_o == kind_t, f"gradstep {kind_o} {value_o if kind_o == 'error' else ''}, " \
                             f"torch {kind_t} {value_t if kind_t == 'error' else ''}"
    if kind_o == "ok":
        if isinstance(value_t, tuple):
            assert value_o[0] == value_t[0]
            value_o, value_t = value_o[1], value_t[1]
        np.testing.assert_array_equal(value_o, value_t)
    assert warns_o == warns_t


@pytest.mark.parametrize("name", sorted(KEYS))
def test_getitem_like_torch(name):
    _assert_same(_apply(gradstep, _get(KEYS[name])), _apply(torch, _get(KEYS[name])))


@pytest.mark.parametrize("name", sorted(KEYS))
def test_setitem_like_torch(name):
    _assert_same(_apply(gradstep, _set(KEYS[name])), _apply(torch, _set(KEYS[name])))


@pytest.mark.parametrize("key", [range(2), [(0, 1), (1, 2)], np.array([0, 2])],
                         ids=["range", "tuple_in_list", "numpy"])
def test_gradient_through_legacy_index(key):
    grads = []
    for lib in (gradstep, torch):
        x = lib.tensor(BASE.astype(np.float64), requires_grad=True)
        (x[key] * 2).sum().backward()
        grads.append(np.array(x.grad.tolist()))
    np.testing.assert_array_equal(*grads)
