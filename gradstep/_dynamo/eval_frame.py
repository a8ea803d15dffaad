"""``OptimizedModule``: what ``torch.compile(module)`` returns.

gradstep runs eagerly, so calling it runs the wrapped module as it is. It keeps torch's
shape: the module is ``_orig_mod`` (its state_dict keys start with ``_orig_mod.``, as in
torch, and checkpoint code strips that prefix), other attributes read and write through to
the wrapped module, and ``train()``/``eval()``/``parameters()`` reach it as a child.
"""

from __future__ import annotations

from ..nn.modules.module import Module

__all__ = ["OptimizedModule"]


class OptimizedModule(Module):
    _opt_mod_attributes = frozenset(("_orig_mod", "dynamo_ctx", "forward", "__dict__"))

    def __init__(self, mod, dynamo_ctx=None):
        super().__init__()
        self._orig_mod = mod  # registered as the one child
        self.dynamo_ctx = dynamo_ctx

    @property
    def training(self):
        """The wrapped module's mode (``train()``/``eval()`` on either is seen by both)."""
        mods = self.__dict__.get("_modules") or {}
        return mods["_orig_mod"].training if "_orig_mod" in mods else self.__dict__["_training"]

    @training.setter
    def training(self, value):
        mods = self.__dict__.get("_modules") or {}
        if "_orig_mod" in mods:
            mods["_orig_mod"].training = value
        else:  # Module.__init__, before the wrapped module is in place
            self.__dict__["_training"] = value

    def forward(self, *args, **kwargs):
        return self._orig_mod(*args, **kwargs)

    def __getattr__(self, name):
        if name == "_orig_mod":
            return self.__dict__["_modules"]["_orig_mod"]
        return getattr(self._orig_mod, name)

    def __setattr__(self, name, value):
        if hasattr(type(self), name) or name in OptimizedModule._opt_mod_attributes or \
                "_modules" not in self.__dict__ or "_orig_mod" not in self.__dict__["_modules"]:
            return super().__setattr__(name, value)
        return setattr(self._orig_mod, name, value)

    def __delattr__(self, name):
        if hasattr(type(self), name) or name in OptimizedModule._opt_mod_attributes:
            return super().__delattr__(name)
        return delattr(self._orig_mod, name)
