"""Whole modules in torch checkpoints: ``torch.save(model, f)``, ``torch.load(f, weights_only=False)``.

The PyTorch tutorial's "save/load the entire model", pytorch/examples' word_language_model and
many training scripts save the module object itself. torch pickles it as its class (by name) and
its ``__dict__``; torch's loader imports the class and sets the dict. gradstep writes the same
opcodes (so real torch loads gradstep's files, and gradstep torch's), and reads them back under a
narrower rule, so that loading still runs no code the file chooses:

* only under ``weights_only=False`` (torch refuses modules by default too, with the same message);
* a GLOBAL may name an ``nn.Module`` subclass found in gradstep (torch's names map to gradstep's)
  or in a module the program has already imported, outside the standard library (``os``,
  ``shutil``, ... define no models): loading never imports;
* or a plain function: one of gradstep's tensor ops (``F.relu``, ``torch.tanh``; not
  ``torch.load``), or one defined in a module of the program's model code (a module defining an
  ``nn.Module`` subclass, such as ``swish`` beside the model);
* a module class is only instantiated with ``cls.__new__(cls)`` (NEWOBJ without arguments, what
  pickle writes): no ``__init__`` runs with arguments from the file;
* its state is a dict of names to loaded data, given to the class's ``__setstate__`` as torch does
  (``Module.__setstate__`` updates ``__dict__``);
* a function is only ever a value (an ``activation`` attribute): REDUCE cannot call it.
"""

from __future__ import annotations

import pickle
import sys
import types

from . import _class_names
from ._brief import printable
from ._pickle_globals import Token, describe
from .serialization import CheckpointError, UnsafeCheckpointError

_PACKAGE = __name__.rpartition(".")[0]  # "gradstep"
# where torch's public functions and classes live, relative to the package; a gradstep object
# defined in a private module is written under the first of these that holds it
_MATH_HOMES = ("ops", "nn", "special", "linalg", "fft")  # gradstep packages of tensor math
_PUBLIC = ("nn.functional", "", "nn", "nn.init", "special", "linalg", "fft", "nn.utils.rnn")


def _module_class():
    from .nn.modules.module import Module

    return Module


# ---------------------------------------------------------------- writing
def writable(o) -> bool:
    """Whether ``o`` is written by :func:`write`: a module, or a function or class by reference."""
    return isinstance(o, (_module_class(), types.FunctionType)) or \
        (isinstance(o, type) and issubclass(o, _module_class()))


def write(writer, o):
    """Emit ``o`` into ``writer`` (a ``_torch_writer._PickleWriter``) as torch's pickle does."""
    if not isinstance(o, _module_class()):
        writer.global_(*written_name(o))
        return
    if id(o) in writer.memo:  # a module used twice (shared layers) loads as one object
        writer.w(b"j" + writer.memo[id(o)].to_bytes(4, "little"))
        return
    writer.keep.append(o)
    getstate = getattr(type(o), "__getstate__", None)
    state = o.__getstate__() if getstate is not None and getstate is not object.__getstate__ \
        else o.__dict__
    writer.global_(*written_name(type(o)))
    writer.w(b")\x81")  # EMPTY_TUPLE NEWOBJ: cls.__new__(cls), as copyreg writes objects
    writer._put(id(o))
    writer.obj(state)
    writer.w(b"b")  # BUILD


def written_name(obj):
    """``(module, qualname)`` under which torch (and gradstep's loader) finds ``obj``.

    gradstep's classes and functions are written under torch's names (``torch.nn.modules.linear
    Linear``, ``torch.nn.functional relu``); anything else under its own, which must be importable
    by name, as for pickle."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    rest = _package_relative(module) if isinstance(module, str) else None
    if rest is not None and isinstance(obj, type):
        return _class_names.torch_module(obj), qualname
    if rest is not None:  # a function: where torch has it public (F.relu is gradstep.nn._functional...)
        name = getattr(obj, "__name__", None)
        for ns in _PUBLIC:
            where = f"{_PACKAGE}.{ns}" if ns else _PACKAGE
            public = _lookup(where, name) if isinstance(name, str) else None
            if public is not None and _unwrap(public) is _unwrap(obj):
                return "torch" + where[len(_PACKAGE):], name  # the op itself, or its public wrapper
        raise pickle.PicklingError(f"Can't pickle {obj!r}: gradstep has no public torch name for it")
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        raise pickle.PicklingError(f"Can't pickle {obj!r}: it is not reachable by its name "
                                   f"({module}.{qualname}); torch.save writes functions and classes "
                                   "by reference, so lambdas and local definitions cannot be saved")
    return module, qualname


def _unwrap(fn):
    """The function under ``fn``'s wrappers (argument parsing, the limited dtypes' checks)."""
    for _ in range(10):
        inner = getattr(fn, "__wrapped__", None)
        if inner is None:
            break
        fn = inner
    return fn


def _package_relative(module):
    """``".nn.modules.linear"`` for gradstep's (or, under the torch hook, ``torch``'s) module names."""
    for prefix in (_PACKAGE, "torch"):
        if module == prefix or module.startswith(prefix + "."):
            return module[len(prefix):]
    return None


def _lookup(module, qualname):
    """The object ``qualname`` names in the imported ``module``, by dict lookups only (no
    ``__getattr__`` of a module or class runs), or None."""
    obj = sys.modules.get(module)
    for part in qualname.split("."):
        if not isinstance(obj, (types.ModuleType, type)):
            return None
        obj = vars(obj).get(part)
    return obj


# ---------------------------------------------------------------- reading
def trusted_global(module, name):
    """What a ``weights_only=False`` load may take for GLOBAL ``module.name``: a :class:`Token`
    creating a module of that class, a function (a value), or None (the caller refuses it)."""
    if not isinstance(module, str) or not isinstance(name, str):
        return None
    rest = _package_relative(module)
    if rest is not None:  # torch's name for a gradstep object: gradstep's module of the same path
        obj = _lookup(f"{_PACKAGE}{rest}", name)
        if obj is None and rest.startswith(".nn.modules."):  # torch's home differs (TORCH_HOMES)
            obj = _lookup(f"{_PACKAGE}.nn", name)
    elif module.split(".")[0] in sys.stdlib_module_names or module not in sys.modules:
        return None  # the standard library (os, shutil, ...) defines no models; loading never imports
    else:
        obj = _lookup(module, name)
        if isinstance(obj, types.FunctionType) and obj.__module__ != module:
            return None  # a function imported into that module from elsewhere: named by its home only
    if isinstance(obj, type) and issubclass(obj, _module_class()):
        return Token(f"{module}.{name}", call=_new_module(obj))
    if isinstance(obj, types.FunctionType) and (_math_function(obj) if rest is not None else
                                                _model_code(sys.modules[module])):
        return obj
    return None


def _math_function(fn):
    """Whether gradstep function ``fn`` is one of its tensor ops or layers' functions (what a model
    holds as an activation), not file, hub or process machinery (``torch.load``)."""
    home = getattr(_unwrap(fn), "__module__", "") or ""
    return any(home.startswith(f"{_PACKAGE}.{part}.") or home == f"{_PACKAGE}.{part}"
               for part in _MATH_HOMES)


def _model_code(mod):
    """Whether imported module ``mod`` defines an ``nn.Module`` subclass: the program's model code,
    whose functions a saved model may hold (``self.act = swish``)."""
    base = _module_class()
    return any(isinstance(v, type) and issubclass(v, base) and v.__module__ == mod.__name__
               for v in list(vars(mod).values()))


def _new_module(cls):
    def new(u, args):
        if u.op not in ("NEWOBJ", "NEWOBJ_EX") or args:
            raise UnsafeCheckpointError(
                f"{u.op} on module class '{printable(cls.__qualname__, 100)}' with arguments: a saved "
                "module is only created empty (NEWOBJ) and given its saved state (BUILD)")
        return u.fresh(cls.__new__(cls), build=_build_module)

    return new


def _build_module(u, inst, state):
    """BUILD of a module: its saved attribute dict, through the class's ``__setstate__`` (torch's way)."""
    if type(state) is not dict or not all(type(k) is str for k in state):
        raise CheckpointError(f"the state of module {type(inst).__qualname__} must be a dict of "
                              f"attribute names, got {describe(state)}")
    u.charge(64 * len(state))
    _check_module_state(inst, state)
    try:
        inst.__setstate__(state)
    except Exception as e:  # noqa: BLE001 - the program's own class rejected the saved state
        raise CheckpointError(f"setting the state of module {type(inst).__qualname__} raised "
                              f"{type(e).__name__}: {e}") from None


# what a module's own code calls from these tables, so each may only hold its kind (or None)
_TABLES = {"_modules": "modules", "_parameters": "Parameters", "_buffers": "tensors"}


def _class_attribute(cls, name):
    """``name`` in ``cls``'s MRO dicts (no descriptor or ``__getattr__`` runs), or None."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


def _check_module_state(inst, state):
    """Refuse a saved state that makes the module call a function the file chose: an attribute
    shadowing a method (``forward``), a non-empty hook table, or something other than a module /
    tensor in ``_modules`` / ``_parameters`` / ``_buffers`` (``nn.Sequential`` calls each of its
    ``_modules``). Found by red team 3: ``model(x)`` ran any function of the model's module."""
    from ._tensor import Tensor
    from .nn.parameter import Parameter

    what = f"the state of module {printable(type(inst).__qualname__, 100)}"
    for k, v in state.items():
        if callable(_class_attribute(type(inst), k)):
            raise UnsafeCheckpointError(f"{what} sets {printable(k, 60)!r}, which would replace the class's "
                                        "method (a saved module holds no methods)")
        if "hook" in k and v:
            raise UnsafeCheckpointError(f"{what} holds hooks ({printable(k, 60)}): gradstep does not load "
                                        "hooks, which would run functions the file chose; remove them before "
                                        "saving")
        if k in _TABLES and v is not None:
            kind = {"_modules": _module_class(), "_parameters": Parameter, "_buffers": Tensor}[k]
            if not isinstance(v, dict) or any(x is not None and not isinstance(x, kind) for x in v.values()):
                raise UnsafeCheckpointError(f"{what}: {k} may only hold {_TABLES[k]}")


def holds_module(obj, depth=0) -> bool:
    """Whether ``obj`` (a checkpoint about to be saved) is or holds an ``nn.Module`` in its containers."""
    if isinstance(obj, _module_class()):
        return True
    if depth > 50:
        return False
    if isinstance(obj, dict):
        return any(holds_module(v, depth + 1) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(holds_module(v, depth + 1) for v in obj)
    return False
