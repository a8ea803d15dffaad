"""torch.gradient against torch: values and gradients (a three-term stencil per output, so
tests/helpers.py's default tolerances hold)."""

from __future__ import annotations

import pytest
import torch

import gradstep
from tests.helpers import check


@pytest.mark.parametrize("edge_order", [1, 2])
def test_uniform_spacing(edge_order):
    check(lambda lib, a: lib.gradient(a, edge_order=edge_order), [(4, 5)])
    check(lambda lib, a: lib.gradient(a, spacing=0.5, dim=1, edge_order=edge_order), [(4, 5)])
    check(lambda lib, a: lib.gradient(a, spacing=[2.0, 0.25], dim=(1, 0),
                                      edge_order=edge_order), [(3, 4)])


@pytest.mark.parametrize("edge_order", [1, 2])
def test_coordinates(edge_order):
    def fn(lib, a, c):
        coords = c.detach().abs().cumsum(0) + 0.1  # increasing coordinates
        return lib.gradient(a, spacing=[coords], dim=1, edge_order=edge_order)
    check(fn, [(3, 6), (6,)])


def test_errors():
    for case in (lambda lib: lib.gradient(lib.ones(2), edge_order=2),
                 lambda lib: lib.gradient(lib.ones(3), edge_order=3)):
        with pytest.raises(RuntimeError) as theirs:
            case(torch)
        with pytest.raises(RuntimeError) as ours:
            case(gradstep)
        assert str(ours.value) == str(theirs.value)
