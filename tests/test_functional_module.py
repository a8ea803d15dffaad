"""``gradstep.functional`` (``torch.functional``): the same public names as torch's module, each
gradstep's own top-level function, reachable without an import as in torch."""

from __future__ import annotations

import torch

import gradstep


def test_all_matches_torch_and_names_are_gradsteps():
    import gradstep.functional as ours

    assert sorted(ours.__all__) == sorted(torch.functional.__all__)
    for name in ours.__all__:
        assert getattr(ours, name) is getattr(gradstep, name), name
    assert ours.F is gradstep.nn.functional


def test_reached_as_an_attribute_and_computes():
    x = [[1.0, 2.0], [3.0, 4.0]]
    ours = gradstep.functional.einsum("ij->j", gradstep.tensor(x))
    theirs = torch.functional.einsum("ij->j", torch.tensor(x))
    assert ours.tolist() == theirs.tolist()
    a, b = gradstep.functional.split(gradstep.arange(5), 3)
    assert a.tolist() == [0, 1, 2] and b.tolist() == [3, 4]
