"""default_collate / default_convert against torch's on the same samples."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import gradstep
from gradstep.utils.data import default_collate, default_convert

Point = collections.namedtuple("Point", ["x", "y"])


def _to(lib, obj):
    """The same nested sample with tensors of ``lib`` (numpy arrays, numbers, strings kept)."""
    if isinstance(obj, _T):
        return lib.from_numpy(obj.arr.copy())
    if isinstance(obj, dict):
        return {k: _to(lib, v) for k, v in obj.items()}
    if isinstance(obj, Point):
        return Point(*(_to(lib, v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to(lib, v) for v in obj)
    return obj


class _T:
    """Marks an array that becomes a tensor of the library under test."""

    def __init__(self, arr):
        self.arr = arr


def _assert_same(ours, theirs):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, gradstep.Tensor), type(ours)
        assert ours.dtype.name == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and ours.keys() == theirs.keys()
        for k in theirs:
            _assert_same(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs), (type(ours), type(theirs))
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _assert_same(a, b)
    else:
        assert ours == theirs


def _samples(rng):
    out = []
    for i in range(3):
        out.append({
            "img": _T(rng.standard_normal((2, 3)).astype(np.float32)),
            "label": i,
            "weight": 0.5 * i,
            "flag": bool(i % 2),
            "np_img": rng.standard_normal(4),
            "np_scalar": np.float32(i) / 3,
            "np_int": np.int32(i),
            "name": f"s{i}",
            "pair": (_T(np.arange(3) + i), [i, float(i)]),
            "point": Point(_T(np.full(2, i, dtype=np.int64)), 1.5 * i),
        })
    return out


def test_nested_structures_match_torch():
    samples = _samples(np.random.default_rng(0))
    ours = default_collate(_to(gradstep, samples))
    theirs = tud.default_collate(_to(torch, samples))
    _assert_same(ours, theirs)
    # the spelled-out expectations behind the comparison
    assert ours["label"].dtype is gradstep.int64 and ours["weight"].dtype is gradstep.float64
    assert ours["flag"].dtype is gradstep.bool
    assert isinstance(ours["pair"], list) and isinstance(ours["point"], Point)
    assert ours["name"] == ["s0", "s1", "s2"]
    assert tuple(ours["img"].shape) == (3, 2, 3)


def test_tuple_samples_become_a_list_of_stacked_tensors():
    samples = [(gradstep.tensor([1.0, 2.0]), 3), (gradstep.tensor([4.0, 5.0]), 6)]
    xs, ys = default_collate(samples)
    np.testing.assert_array_equal(xs.numpy(), [[1, 2], [4, 5]])
    np.testing.assert_array_equal(ys.numpy(), [3, 6])


def test_strings_in_tuple_and_namedtuple_samples_stay_tuples_like_torch():
    # (image, file name) samples: torch hands back the names as the tuple zip made
    samples = [(_T(np.ones(2)), "a.png", Point("p", 1.0)), (_T(np.zeros(2)), "b.png", Point("q", 2.0))]
    ours = default_collate(_to(gradstep, samples))
    _assert_same(ours, tud.default_collate(_to(torch, samples)))
    assert ours[1] == ("a.png", "b.png") and ours[2].x == ("p", "q")


def test_stacking_keeps_autograd():
    a = gradstep.ones(2, requires_grad=True)
    out = default_collate([a, a * 2])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0])


def test_errors_match_torch():
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1, 2, 3]])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([gradstep.zeros(2), gradstep.zeros(3)])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(TypeError):
        tud.default_collate([object(), object()])


def test_default_convert_matches_torch():
    data = {"a": np.arange(3), "b": (np.ones(2, dtype=np.float32), "x"), "c": 7}
    ours = default_convert(data)
    theirs = tud.default_convert(data)
    _assert_same(ours, theirs)


def test_collate_with_a_custom_fn_map_like_torch():
    """torch's extensible form: ``collate(batch, collate_fn_map={type: fn, ...})``."""
    import torch.utils.data._utils.collate as theirs_mod

    import gradstep.utils.data._utils.collate as ours_mod

    class Box:
        def __init__(self, v):
            self.v = v

    def collate_box(batch, *, collate_fn_map=None):
        return sum(b.v for b in batch)

    samples = [{"box": Box(1), "x": _T(np.ones(2)), "s": "a"}, {"box": Box(2), "x": _T(np.zeros(2)),
                                                              "s": "b"}]
    results = []
    for mod, lib in ((ours_mod, gradstep), (theirs_mod, torch)):
        fn_map = {**mod.default_collate_fn_map, Box: collate_box}
        results.append(mod.collate(_to(lib, samples), collate_fn_map=fn_map))
        with pytest.raises(TypeError, match="found <class") as e:
            mod.default_collate(_to(lib, samples))
        assert mod.default_collate_err_msg_format.format(Box) in str(e.value)
    _assert_same(*results)
    assert results[0]["box"] == 3
