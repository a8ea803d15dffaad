"""``gradstep.Size`` (gradstep/_size.py) against ``torch.Size``."""

import numpy as np
import pytest

import gradstep

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("make", [
    lambda L: [np.int64(2), 3], lambda L: [L.tensor(2)], lambda L: [True, 2], lambda L: [L.tensor([4])],
    lambda L: [2.0], lambda L: [L.tensor(2.0)], lambda L: ["a"], lambda L: [L.tensor([1, 2])],
])
def test_entries_taken_or_refused_as_torch(make):
    def build(L):
        try:
            s = L.Size(make(L))
        except TypeError as e:
            return "TypeError", str(e).replace("gradstep.", "torch.")
        return repr(s).replace("gradstep.", "torch."), [type(v).__name__ for v in s]

    assert build(gradstep) == build(torch)


def test_stays_a_size_when_combined():
    for L in (gradstep, torch):
        s = L.Size([2, 3])
        for r in ((1,) + s, s + (4,), s * 2, 2 * s, s[::-1], s[1:]):
            assert type(r) is L.Size, (L, r)
        assert s[::-1] == L.Size([3, 2]) and (1,) + s == (1, 2, 3) and s * 2 == (2, 3, 2, 3)
    with pytest.raises(TypeError, match=r"can only concatenate tuple \(not list\) to gradstep.Size"):
        gradstep.Size([2]) + [3]


def test_shape_is_a_plain_int_size():
    s = gradstep.zeros(gradstep.Size([gradstep.tensor(2), 3])).shape
    assert s == (2, 3) and type(s) is gradstep.Size and all(type(v) is int for v in s)
    assert s.numel() == 6 and repr(s) == "gradstep.Size([2, 3])"
