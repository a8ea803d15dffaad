"""Class names under the torch hook: ``print(type(x))`` shows ``<class 'torch.Tensor'>``.

Python prints a class as ``<class '{__module__}.{__qualname__}'>``, so a torch program run on
gradstep would print ``gradstep._tensor.Tensor`` where torch prints ``torch.Tensor`` (tutorials
print ``type(x)``, ``type(model.fc)``, ``type(optimizer)``). While the hook is installed, the
classes of the loaded gradstep modules carry torch's module names:

* a class gradstep exposes at top level from a private or non-torch module (``Tensor``,
  ``Size``, ``dtype``, ``device``, ``finfo``) is ``torch.<name>`` (``Generator``:
  ``torch._C.Generator``, as torch's);
* any other ``gradstep.A.B`` class is ``torch.A.B`` (gradstep is laid out as torch is).

Exceptions and warnings keep gradstep's names, so a traceback says which library raised.
Code that tells gradstep's classes apart by module asks :func:`home`, which gives the
gradstep module whatever the hook did. Only the ``__module__`` attribute changes (pickles under the hook then name torch's classes,
which the hook resolves, as do spawned workers, which install it first); uninstalling
restores every original name. Modules imported later through a ``torch.X`` name are renamed
as they load.
"""

from __future__ import annotations

import sys

_PACKAGE = __name__.rpartition(".")[0]
_TOP_LEVEL_HOMES = {"backend", "random"}  # non-private modules whose exposed classes torch has at top level
_C_CLASSES = {"Generator"}  # exposed classes torch defines in its C extension (torch._C)
_renamed: dict[type, str] = {}  # class -> its gradstep module name, while the hook is installed
# nn modules torch defines elsewhere than gradstep's layout says (``MultiheadAttention`` is in
# torch.nn.modules.activation, the lazy modules beside their eager ones)
_NN = "torch.nn.modules."
TORCH_HOMES = {"MultiheadAttention": _NN + "activation", "ChannelShuffle": _NN + "channelshuffle",
               "LazyLinear": _NN + "linear",
               **{f"Lazy{kind}{d}d": _NN + home for d in (1, 2, 3)
                  for kind, home in (("BatchNorm", "batchnorm"), ("InstanceNorm", "instancenorm"),
                                     ("Conv", "conv"), ("ConvTranspose", "conv"))}}


def torch_module(cls):
    """The module torch defines ``cls`` in, for a class of gradstep's (before or under the hook)."""
    return _torch_module(cls, home(cls), sys.modules[_PACKAGE])


def _torch_module(cls, defined_in, package):
    """The module name torch gives ``cls`` (defined in gradstep module ``defined_in``)."""
    rest = defined_in[len(_PACKAGE):]  # "" or ".A.B"
    if rest.startswith(".nn.modules.") and cls.__name__ in TORCH_HOMES:
        return TORCH_HOMES[cls.__name__]
    parts = rest.split(".")[1:]
    exposed = vars(package).get(cls.__name__) is cls
    if exposed and (any(p.startswith("_") for p in parts) or rest[1:] in _TOP_LEVEL_HOMES):
        return "torch._C" if cls.__name__ in _C_CLASSES else "torch"
    return "torch" + rest


def home(cls):
    """The gradstep module ``cls`` was defined in, whether or not the hook renamed it (code
    that tells gradstep's classes apart by module asks this, not ``__module__``)."""
    return _renamed.get(cls, cls.__module__)


def rename_module_classes(module):
    """Give the classes defined in the gradstep ``module`` torch's module names."""
    name = getattr(module, "__name__", "")
    if name != _PACKAGE and not name.startswith(_PACKAGE + "."):
        return
    package = sys.modules[_PACKAGE]
    for value in list(vars(module).values()):
        if (isinstance(value, type) and value.__module__ == name and value not in _renamed
                and not issubclass(value, BaseException)):
            _renamed[value] = name
            value.__module__ = _torch_module(value, name, package)


def rename_all():
    """Rename the classes of every gradstep module loaded so far."""
    for name, module in list(sys.modules.items()):
        if name == _PACKAGE or name.startswith(_PACKAGE + "."):
            rename_module_classes(module)


def restore_all():
    """Give every renamed class its gradstep module name back."""
    for cls, name in _renamed.items():
        cls.__module__ = name
    _renamed.clear()
