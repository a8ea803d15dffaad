"""What model libraries (timm, torchvision models) call on torch at import time.

``timm`` decorates helpers with ``@torch.fx.wrap`` at module level and imports typing names
from ``torch.jit.annotations``; both must exist and behave as in torch for ``import timm``
to work under gradstep. Each test runs the same code against torch and gradstep.
"""

from __future__ import annotations

import importlib

import pytest
import torch

import gradstep

MODULE_SOURCE = """
def helper(x):
    return x + 1

decorated = fx.wrap(helper)
by_name = fx.wrap("helper")
"""


def _run_as_module(fx):
    """Execute MODULE_SOURCE as module-level code (its frame's co_name is '<module>')."""
    namespace = {"fx": fx}
    exec(compile(MODULE_SOURCE, "<fake_model_lib>", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.mark.parametrize("lib", [torch, gradstep], ids=["torch", "gradstep"])
def test_fx_wrap_at_module_level_returns_its_argument(lib):
    ns = _run_as_module(lib.fx)
    assert ns["decorated"] is ns["helper"]
    assert ns["by_name"] == "helper"
    assert ns["decorated"](1) == 2


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type and message are what is compared
        return type(e), str(e)
    return None


def test_fx_wrap_errors_match_torch():
    def inside_function(fx):
        return fx.wrap(len)

    for call in (lambda fx: fx.wrap(3), inside_function):
        ours, theirs = _error(lambda c=call: c(gradstep.fx)), _error(lambda c=call: c(torch.fx))
        assert theirs is not None
        assert ours == theirs


def test_fx_symbolic_trace_says_it_is_unsupported():
    with pytest.raises(NotImplementedError, match="symbolic_trace"):
        gradstep.fx.symbolic_trace(gradstep.nn.Linear(2, 2))


def test_jit_annotations_names_are_typing_names():
    # import_module, not ``from torch.jit import annotations``: that name is shadowed in
    # both packages by their ``from __future__ import annotations`` until the submodule loads
    ours = importlib.import_module("gradstep.jit.annotations")
    theirs = importlib.import_module("torch.jit.annotations")
    for name in ("List", "Dict", "Tuple", "Optional", "Any", "Union"):
        assert getattr(ours, name) is getattr(theirs, name), name
    assert ours.BroadcastingList2[int] == ours.List[int]
