"""``install_as_torch()``: make ``import torch`` give gradstep, so torch programs run unchanged.

After it, ``sys.modules['torch'] is gradstep`` and ``torch.A.B`` is the module
``gradstep.A.B`` itself (the same object: ``torch.nn is gradstep.nn``, and
``isinstance`` agrees whichever name a class was reached by). The mapping is one
rule, so every gradstep module is found, including ones added later. A ``torch.X``
with no ``gradstep.X`` raises ``ModuleNotFoundError`` naming both.

It refuses (:class:`TorchAlreadyImportedError`) when the real torch is already
imported: two different ``torch`` modules in one process would mix their tensors.
It sets ``torch.__version__`` to a torch-like version (see :mod:`gradstep.version`).
``uninstall_torch_hook()`` undoes all of it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

from . import _class_names

_PREFIX = "torch"


class TorchAlreadyImportedError(ImportError):
    """The real torch is already imported in this process, so gradstep cannot stand in for it."""


def _gradstep():
    return sys.modules[__name__.rpartition(".")[0]]


def _target(fullname):
    """``torch.A.B`` -> ``gradstep.A.B``."""
    return _gradstep().__name__ + fullname[len(_PREFIX):]


class _TorchFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``torch`` and ``torch.*``; the loader puts the gradstep module in their place."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _PREFIX and not fullname.startswith(_PREFIX + "."):
            return None
        name = _target(fullname)
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name is None or not (name == e.name or name.startswith(e.name + ".")):
                raise  # a gradstep module exists but needs something that is missing
            raise ModuleNotFoundError(
                f"No module named '{fullname}': gradstep, which stands in for torch here, "
                f"has no module '{name}'", name=fullname) from None
        return importlib.util.spec_from_loader(fullname, self, origin=getattr(module, "__file__", None))

    def create_module(self, spec):
        return None  # a placeholder; exec_module swaps in the gradstep module

    def exec_module(self, module):
        # the import system returns whatever sys.modules holds after exec_module
        target = importlib.import_module(_target(module.__name__))
        sys.modules[module.__name__] = target
        _class_names.rename_module_classes(target)


_finder = _TorchFinder()


def _foreign_torch():
    """Names of ``torch``/``torch.*`` modules in sys.modules that are not gradstep's."""
    gs = _gradstep().__name__
    out = []
    for name, mod in list(sys.modules.items()):
        if name == _PREFIX or name.startswith(_PREFIX + "."):
            modname = getattr(mod, "__name__", "")
            if modname != gs and not modname.startswith(gs + "."):
                out.append(name)
    return out


def is_torch_hook_installed() -> bool:
    return _finder in sys.meta_path


def install_as_torch() -> None:
    """Make ``import torch`` (and every ``torch.X``) import gradstep; calling it again is harmless."""
    if is_torch_hook_installed():
        return
    foreign = _foreign_torch()
    if foreign:
        raise TorchAlreadyImportedError(
            f"the real torch is already imported in this process (sys.modules has "
            f"{foreign[0]!r}), so gradstep cannot stand in for it: call "
            "gradstep.install_as_torch() before anything imports torch, or run the program "
            "with `gradstep run SCRIPT`")
    from . import version

    gs = _gradstep()
    sys.meta_path.insert(0, _finder)
    sys.modules[_PREFIX] = gs
    gs.__version__ = version.torch_version
    gs.backend.display_name = "torch"
    _class_names.rename_all()


def uninstall_torch_hook() -> None:
    """Undo :func:`install_as_torch`: drop the finder and every ``torch`` alias of gradstep."""
    from . import version

    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    gs = _gradstep()
    for name, mod in list(sys.modules.items()):
        if (name == _PREFIX or name.startswith(_PREFIX + ".")) and \
                getattr(mod, "__name__", "").partition(".")[0] == gs.__name__:
            del sys.modules[name]
    gs.__version__ = version.gradstep_version
    gs.backend.display_name = "gradstep"
    _class_names.restore_all()
