"""torch.overrides: the ``__torch_function__`` protocol, as far as gradstep has it.

gradstep's own functions and Tensor methods do **not** dispatch to ``__torch_function__``
(checking every argument of every op would cost every op). So the predicates here are
truthful for gradstep: a plain Tensor has no override; an object whose type defines
``__torch_function__`` has one, and :func:`handle_torch_function` calls it, which is
what library code that does the check itself (``if has_torch_function(...)``) relies on.
:class:`TorchFunctionMode` cannot intercept gradstep's ops, so entering one raises
NotImplementedError rather than silently doing nothing.
"""

from __future__ import annotations

import collections
import functools
import inspect

from ._tensor import Tensor

__all__ = ["BaseTorchFunctionMode", "TorchFunctionMode", "get_ignored_functions",
           "get_overridable_functions", "get_testing_overrides", "handle_torch_function",
           "has_torch_function", "has_torch_function_unary", "has_torch_function_variadic",
           "is_tensor_like", "is_tensor_method_or_property", "resolve_name",
           "wrap_torch_function"]


def _overrides(arg_type) -> bool:
    """Whether ``arg_type`` brings its own ``__torch_function__`` (gradstep's Tensor has none)."""
    from ._C import _disabled_torch_function_impl

    method = getattr(arg_type, "__torch_function__", None)
    return method is not None and getattr(method, "__func__", method) is not \
        _disabled_torch_function_impl


def has_torch_function(relevant_args) -> bool:
    """True when some argument's type defines ``__torch_function__``; never for plain Tensors."""
    return any(_overrides(type(a)) for a in relevant_args)


def has_torch_function_unary(arg) -> bool:
    return _overrides(type(arg))


def has_torch_function_variadic(*args) -> bool:
    return has_torch_function(args)


def is_tensor_like(inp) -> bool:
    """A Tensor (or subclass) or an object whose type defines ``__torch_function__``."""
    return type(inp) is Tensor or isinstance(inp, Tensor) or _overrides(type(inp))


def _get_overloaded_args(relevant_args) -> list:
    """Arguments to ask, one per type, subclasses before their bases (NEP-18 order)."""
    types, ordered = set(), []
    for arg in relevant_args:
        arg_type = type(arg)
        if arg_type in types or not _overrides(arg_type):
            continue
        types.add(arg_type)
        index = next((i for i, old in enumerate(ordered) if issubclass(arg_type, type(old))),
                     len(ordered))
        ordered.insert(index, arg)
    return ordered


def handle_torch_function(public_api, relevant_args, *args, **kwargs):
    """Call the ``__torch_function__`` of the overriding arguments until one does not return
    NotImplemented; TypeError (as torch) if all do."""
    overloaded = _get_overloaded_args(relevant_args)
    types = tuple(map(type, overloaded))
    for arg in overloaded:
        method = arg.__torch_function__
        if not inspect.ismethod(method):  # an instance method (torch warns, then calls it)
            method = functools.partial(type(arg).__torch_function__, arg)
        result = method(public_api, types, args, kwargs)
        if result is not NotImplemented:
            return result
    func_name = f"{public_api.__module__}.{public_api.__name__}"
    raise TypeError(f"no implementation found for '{func_name}' on types that implement "
                    f"__torch_function__: {[type(a) for a in overloaded]}")


def wrap_torch_function(dispatcher):
    """Decorator: make a function honour ``__torch_function__`` on what ``dispatcher`` returns."""
    def inner(func):
        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            relevant = dispatcher(*args, **kwargs)
            if has_torch_function(relevant):
                return handle_torch_function(wrapped, relevant, *args, **kwargs)
            return func(*args, **kwargs)
        return wrapped
    return inner


# ------------------------------------------------------------------ function lists
def _public_callables(module):
    for name in getattr(module, "__all__", None) or dir(module):
        if name.startswith("_"):
            continue
        value = getattr(module, name, None)
        if callable(value) and not inspect.isclass(value) and not inspect.ismodule(value):
            yield value


_IGNORED_NAMES = ("tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "rand",
                  "randn", "randint", "randperm", "arange", "linspace", "logspace", "eye",
                  "manual_seed", "seed", "initial_seed", "get_default_dtype", "set_default_dtype",
                  "is_tensor", "is_storage", "set_grad_enabled", "no_grad", "enable_grad",
                  "is_grad_enabled", "compile", "load", "save")


@functools.cache
def get_ignored_functions() -> set:
    """Public functions that cannot be overridden: factories and global state, as in torch."""
    import gradstep

    return {getattr(gradstep, n) for n in _IGNORED_NAMES if callable(getattr(gradstep, n, None))}


@functools.cache
def _overridable():
    import gradstep
    import gradstep.nn.functional as F

    ignored = get_ignored_functions()
    table = collections.defaultdict(list)
    for namespace in (gradstep, F):
        table[namespace] = [f for f in _public_callables(namespace) if f not in ignored]
    table[Tensor] = [getattr(Tensor, n) for n in dir(Tensor)
                     if not n.startswith("_") and callable(getattr(Tensor, n, None))]
    return table


def get_overridable_functions() -> dict:
    """``{namespace: [functions]}`` of what a ``__torch_function__`` could override in torch."""
    return _overridable()


def get_testing_overrides() -> dict:
    """``{function: a dummy with its signature}`` for the overridable functions."""
    out = {}
    for funcs in _overridable().values():
        for f in funcs:
            out[f] = lambda *args, **kwargs: -1
    return out


def resolve_name(f):
    """``'torch.add'``-style name of an overridable function, or None."""
    for namespace, funcs in _overridable().items():
        if f in funcs:
            prefix = "torch.Tensor" if namespace is Tensor else \
                namespace.__name__.replace("gradstep", "torch", 1)
            return f"{prefix}.{getattr(f, '__name__', '?')}"
    return None


def is_tensor_method_or_property(func) -> bool:
    return func in _overridable()[Tensor] or getattr(func, "__name__", None) == "__get__"


# ------------------------------------------------------------------ modes
class TorchFunctionMode:
    """torch's base class for modes that see every torch function call.

    gradstep's functions do not call ``__torch_function__`` hooks, so a mode would never
    be consulted: entering one raises NotImplementedError instead of silently doing nothing.
    """

    inner: TorchFunctionMode

    def __init__(self):
        pass

    def __torch_function__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError

    def __enter__(self):
        raise NotImplementedError(
            f"{type(self).__name__}: gradstep does not dispatch its functions through "
            "__torch_function__, so a TorchFunctionMode would never see a call. Call the "
            "functions you want to intercept through your own wrapper instead")

    def __exit__(self, exc_type, exc_value, traceback):
        return None

    @classmethod
    def push(cls, *args, **kwargs):
        return cls(*args, **kwargs).__enter__()


class BaseTorchFunctionMode(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))
