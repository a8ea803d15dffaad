"""bench/paired.py: every switch names a live fast-path chooser, and a short run restores it."""

import importlib
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))

import paired  # noqa: E402


@pytest.mark.parametrize("name", sorted(paired.SWITCHES))
def test_each_switch_names_a_callable_chooser(name):
    module_name, attr, off = paired.SWITCHES[name]
    assert callable(getattr(importlib.import_module(module_name), attr))
    assert callable(off)


def test_a_short_run_prints_the_paired_difference_and_restores_the_switch(capsys):
    from gradstep.nn._functional import linear

    chooser = linear._weight_first_pays
    paired.main(["mlp-64", "linear_weight_first", "2"])
    out = capsys.readouterr().out
    assert "median paired difference" in out and "linear_weight_first on" in out
    assert linear._weight_first_pays is chooser


def test_unknown_names_are_refused():
    with pytest.raises(SystemExit, match="usage"):
        paired.main(["mlp-64", "no_such_switch"])
