"""An ``Optimizer`` subclass whose ``__init__`` never calls ``Optimizer.__init__``: using what
that would have set up raises torch's AttributeError, naming the same missing attribute.

(A wrapper that sets ``defaults``, ``param_groups`` and ``state`` itself, as Lookahead does,
works: tests/compat/test_optimizer_subclass.py.)
"""

from __future__ import annotations

import pytest
import torch

import gradstep


def _classes(lib):
    class KeepsParams(lib.optim.Optimizer):
        def __init__(self, params):
            self.params = list(params)

        def step(self, closure=None):
            for _group in self.param_groups:
                pass

    class Empty(lib.optim.Optimizer):
        def __init__(self, params):
            pass

    class SkipsSGDInit(lib.optim.SGD):
        def __init__(self, params):
            pass

    return {"KeepsParams": KeepsParams, "Empty": Empty, "SkipsSGDInit": SkipsSGDInit}


CALLS = {
    "step": lambda opt, lib, p: opt.step(),
    "zero_grad": lambda opt, lib, p: opt.zero_grad(),
    "zero_grad_keep": lambda opt, lib, p: opt.zero_grad(set_to_none=False),
    "state_dict": lambda opt, lib, p: opt.state_dict(),
    "load_state_dict": lambda opt, lib, p: opt.load_state_dict({"state": {}, "param_groups": []}),
    "add_param_group": lambda opt, lib, p: opt.add_param_group({"params": [p]}),
    "repr": lambda opt, lib, p: repr(opt),
    "register_step_pre_hook": lambda opt, lib, p: opt.register_step_pre_hook(lambda *a: None),
}


def _outcome(lib, cls_name, call):
    p = lib.zeros(3, requires_grad=True)
    p.grad = lib.ones(3)
    opt = _classes(lib)[cls_name]([p])
    try:
        CALLS[call](opt, lib, p)
    except Exception as e:  # noqa: BLE001 - the exception itself is compared
        return type(e), str(e)
    return None


CASES = [(cls_name, call) for cls_name in ("KeepsParams", "Empty", "SkipsSGDInit")
         for call in sorted(CALLS) if (cls_name, call) != ("SkipsSGDInit", "step")]


@pytest.mark.parametrize("cls_name,call", CASES)
def test_same_error_as_torch(cls_name, call):
    theirs = _outcome(torch, cls_name, call)
    assert _outcome(gradstep, cls_name, call) == theirs
    if cls_name != "Empty" or call != "step":  # Optimizer.step itself: NotImplementedError
        assert theirs is not None and theirs[0] is AttributeError


@pytest.mark.parametrize("sgd_made_before", [False, True])
def test_inherited_builtin_step_raises_attribute_error(sgd_made_before):
    """``SGD.step`` on a subclass that skipped ``__init__``: torch's message depends on the
    process's history (once any ``SGD`` was constructed, torch has wrapped ``SGD.step`` with its
    hooks, and the wrapper misses ``_optimizer_step_pre_hooks`` before the step misses
    ``defaults``); gradstep always names ``defaults``. The kind is torch's either way."""
    for lib in (gradstep, torch):
        if sgd_made_before:
            lib.optim.SGD([lib.zeros(1, requires_grad=True)])
        kind, message = _outcome(lib, "SkipsSGDInit", "step")
        assert kind is AttributeError and "'SkipsSGDInit' object has no attribute" in message
