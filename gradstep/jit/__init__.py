"""``torch.jit``: gradstep is eager, so ``script`` and ``trace`` return what they are given.

Model code decorates methods with ``@torch.jit.ignore``, ``@torch.jit.unused`` and
``@torch.jit.export``, annotates ``Final`` constants and asks ``is_scripting()``; all
of these work and change nothing. ``save``/``load`` of TorchScript archives are not
supported (use ``gradstep.save``/``gradstep.load`` or ``state_dict``).
"""

from __future__ import annotations

from typing import Final  # noqa: F401 - torch.jit.Final is typing.Final


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    return obj


def trace(func, example_inputs=None, *args, **kwargs):
    return func


def script_if_tracing(fn):
    return fn


def ignore(drop=False, **kwargs):
    """``@ignore`` or ``@ignore(drop=True)``: leave the function alone."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def interface(obj):
    return obj


def annotate(the_type, the_value):
    return the_value


def is_scripting() -> bool:
    return False


def is_tracing() -> bool:
    return False


class Attribute:
    """``torch.jit.Attribute(value, type)`` outside scripting is just the value."""

    def __new__(cls, value, type=None):  # noqa: A002
        return value


def save(m, f, _extra_files=None):
    raise NotImplementedError("gradstep runs models eagerly and cannot write TorchScript; "
                              "save the state_dict with gradstep.save instead")


def load(f, map_location=None, _extra_files=None):
    raise NotImplementedError("gradstep cannot run TorchScript archives; load a state_dict "
                              "saved with torch.save instead")


from ..futures import Future  # noqa: E402, F401 - torch.jit.Future
from ._surface import (  # noqa: E402, F401 - torch.jit's other public names
    CompilationUnit,
    Error,
    RecursiveScriptModule,
    ScriptFunction,
    ScriptModule,
    enable_onednn_fusion,
    export_opnames,
    fork,
    freeze,
    isinstance,
    onednn_fusion_enabled,
    optimize_for_inference,
    script_method,
    set_fusion_strategy,
    strict_fusion,
    trace_module,
    wait,
)

_fork, _wait, _set_fusion_strategy = fork, wait, set_fusion_strategy
