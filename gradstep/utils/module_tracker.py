"""``torch.utils.module_tracker.ModuleTracker``: which modules are running, forward and backward.

``parents`` is the set of module names entered now, always with ``"Global"``. A module is
named by its class (a root) or ``parent.attribute`` (found through ``named_children`` when
its parent is first seen). Forward is tracked with the global module hooks; backward with
multi-grad hooks on the module's outputs (entering) and inputs (leaving), the set reset to
``{"Global"}`` when the backward pass ends.
"""

from __future__ import annotations

import weakref

from ..autograd import engine as _engine
from ..autograd.graph import register_multi_grad_hook
from ..nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from ._pytree import tree_flatten

__all__ = ["ModuleTracker"]


class ModuleTracker:
    """Context manager keeping ``parents``, the set of modules being run (see module doc)."""

    def __init__(self) -> None:
        self.parents = {"Global"}
        self._known_modules = weakref.WeakKeyDictionary()
        self._seen_modules = weakref.WeakSet()
        self._has_callback = False
        self._hooks = []

    def _maybe_set_engine_callback(self):
        if self._has_callback:
            return

        def callback():
            self.parents = {"Global"}
            self._has_callback = False

        _engine.queue_callback(callback)
        self._has_callback = True

    @property
    def is_bw(self):
        """Whether a backward pass is running now."""
        return bool(_engine._callback_stack())  # one entry per backward pass now running

    def _get_mod_name(self, mod):
        if mod not in self._known_modules:
            self._known_modules[mod] = type(mod).__name__
        name = self._known_modules[mod]
        if mod not in self._seen_modules:
            for child_name, child in mod.named_children():
                self._known_modules[child] = f"{name}.{child_name}"
                self._get_mod_name(child)
            self._seen_modules.add(mod)
        return name

    def _get_append_fn(self, name, is_bw):
        def fn(*args):
            if is_bw:
                self._maybe_set_engine_callback()
            self.parents.add(name)

        return fn

    def _get_pop_fn(self, name, is_bw):
        def fn(*args):
            self.parents.discard(name)

        return fn

    def _grad_tensors(self, value):
        from .._tensor import Tensor

        args, _ = tree_flatten(value)
        return [a for a in args if isinstance(a, Tensor) and a.requires_grad]

    def _fw_pre_hook(self, mod, input):  # noqa: A002
        name = self._get_mod_name(mod)
        self._get_append_fn(name, False)()
        tensors = self._grad_tensors(input)
        if tensors:
            self._hooks.append(register_multi_grad_hook(tensors, self._get_pop_fn(name, True)))

    def _fw_post_hook(self, mod, input, output):  # noqa: A002
        name = self._get_mod_name(mod)
        self._get_pop_fn(name, False)()
        tensors = self._grad_tensors(output)
        if tensors:
            self._hooks.append(register_multi_grad_hook(tensors,
                                                        self._get_append_fn(name, True)))

    def __enter__(self):
        self._fw_pre_handle = register_module_forward_pre_hook(self._fw_pre_hook)
        self._fw_post_handle = register_module_forward_hook(self._fw_post_hook)
        return self

    def __exit__(self, *args):
        self._fw_pre_handle.remove()
        self._fw_post_handle.remove()
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()
