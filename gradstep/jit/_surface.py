"""The rest of ``torch.jit``'s public names, for an eager library.

``script``/``trace`` return what they are given, so nothing is ever a ``ScriptModule`` or
``ScriptFunction``: ``isinstance(torch.jit.script(m), torch.jit.ScriptModule)`` is False, and a
program that asks takes its eager path (the one that runs here; a True answer would send it
to ``.save()``/``.code``/``.graph``, which an eager module lacks). ``ScriptModule`` is an
``nn.Module`` so that torch-1.x style ``class M(torch.jit.ScriptModule)`` with
``@torch.jit.script_method`` still defines a working module. ``fork`` runs the call at once
and returns a finished ``Future``; ``CompilationUnit`` runs TorchScript source as Python.
"""

from __future__ import annotations

import math
import types
import typing
import warnings

from ..futures import Future
from ..nn.modules.module import Module


class Error(Exception):
    """``torch.jit.Error`` (TorchScript's runtime exception)."""


Error.__module__ = "torch.jit"


class ScriptModule(Module):
    """Base class of scripted modules; subclasses run eagerly (see the module doc)."""


class RecursiveScriptModule(ScriptModule):
    """What ``torch.jit.script`` returns in torch; never made by gradstep."""


class ScriptFunction:
    """What ``torch.jit.script`` returns for a function in torch; never made by gradstep."""

    def __init__(self, *args, **kwargs):
        raise TypeError("cannot create 'torch.jit.ScriptFunction' instances")


def _deprecated(name):
    warnings.warn(f"`torch.jit.{name}` is deprecated. Please use `torch.compile` instead.",
                  DeprecationWarning, stacklevel=3)


def script_method(fn):
    return fn


def fork(func, *args, **kwargs):
    """Run ``func`` now; its result (or exception) in a completed ``Future``."""
    _deprecated("fork")
    fut = Future()
    try:
        fut.set_result(func(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - the future carries it to wait()
        fut.set_exception(exc)
    return fut


def wait(future):
    return future.wait()


def isinstance(obj, target_type):  # noqa: A001 - torch.jit.isinstance
    """Container type refinement as torch's eager ``torch.jit.isinstance``: ``List[int]``,
    ``Dict[str, List[Tensor]]``, ``Optional[Tuple[int, str]]``... checked element by element."""
    import builtins

    origin, args = typing.get_origin(target_type), typing.get_args(target_type)
    if origin is None:
        return builtins.isinstance(obj, target_type)
    if origin is typing.Union or origin is types.UnionType:
        return any(isinstance(obj, a) for a in args)
    if origin is list:
        return builtins.isinstance(obj, list) and all(isinstance(x, args[0]) for x in obj)
    if origin is dict:
        return builtins.isinstance(obj, dict) and all(
            isinstance(k, args[0]) and isinstance(v, args[1]) for k, v in obj.items())
    if origin is tuple:
        return (builtins.isinstance(obj, tuple) and len(obj) == len(args)
                and all(isinstance(x, a) for x, a in zip(obj, args)))
    return builtins.isinstance(obj, origin)


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    """The module itself (nothing to inline); torch's refusal of a module in training mode."""
    _deprecated("freeze")
    if getattr(mod, "training", False):
        raise RuntimeError("Freezing is currently only implemented for modules in eval mode. "
                           "Please call .eval() on your module before freezing.")
    return mod


def optimize_for_inference(mod, other_methods=None):
    """torch freezes the module in eval mode; here: the module, switched to eval mode."""
    if hasattr(mod, "training"):
        mod.eval()
    return mod


def trace_module(mod, inputs, *args, **kwargs):
    return mod


def export_opnames(m):
    raise NotImplementedError("gradstep runs models eagerly: there is no TorchScript graph "
                              "whose operator names export_opnames could list")


_fusion_strategy = [("STATIC", 2), ("DYNAMIC", 10)]
_onednn_fusion = False


def set_fusion_strategy(strategy):
    """Kept and returned as torch's (the previous strategy); nothing is fused here."""
    global _fusion_strategy
    _deprecated("set_fusion_strategy")
    previous, _fusion_strategy = _fusion_strategy, list(strategy)
    return previous


def enable_onednn_fusion(enabled):
    global _onednn_fusion
    _onednn_fusion = bool(enabled)


def onednn_fusion_enabled():
    return _onednn_fusion


class strict_fusion:  # noqa: N801 - torch's name
    """Only meaningful inside TorchScript: eager use warns, as torch's does."""

    def __init__(self):
        warnings.warn("Only works in script mode", stacklevel=2)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return None


class CompilationUnit:
    """TorchScript source compiled by torch; here run as the Python it is written in."""

    def __init__(self, lang=None, _frames_up=0):
        self._functions = {}
        if lang is not None:
            self.define(lang)

    def define(self, src, rcb=None, _frames_up=0):
        import gradstep

        env = {"torch": gradstep, "Tensor": gradstep.Tensor, "math": math,
               "List": typing.List, "Dict": typing.Dict, "Tuple": typing.Tuple,  # noqa: UP006
               "Optional": typing.Optional, "Union": typing.Union}
        before = set(env)
        exec(compile(src, "<torch.jit.CompilationUnit>", "exec"), env)  # noqa: S102
        for name in set(env) - before - {"__builtins__"}:
            if callable(env[name]):
                self._functions[name] = env[name]

    def __getattr__(self, name):
        functions = self.__dict__.get("_functions", {})
        if name in functions:
            return functions[name]
        raise AttributeError(f"'CompilationUnit' has no attribute '{name}'")

    def find_function(self, name):
        return self._functions.get(name)

    def get_functions(self):
        return list(self._functions.values())
