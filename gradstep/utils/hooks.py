"""``torch.utils.hooks``: ``RemovableHandle`` (what every ``register_*_hook`` returns), the
``unserializable_hook`` mark, ``warn_if_has_hooks`` and ``BackwardHook`` (module hooks)."""

from __future__ import annotations

import warnings

from .._hook_handle import RemovableHandle
from ..nn.modules._backward_hook import BackwardHook as _ModuleBackwardHook

__all__ = ["RemovableHandle", "unserializable_hook", "warn_if_has_hooks", "BackwardHook"]


def unserializable_hook(f):
    """Mark ``f`` as a hook that is not saved with its tensor (silences the warning below)."""
    f.__torch_unserializable__ = True
    return f


def _tensor_hooks(tensor):
    """The gradient hooks registered on ``tensor`` (a leaf keeps them; a non-leaf's node does)."""
    hooks = getattr(tensor, "_backward_hooks", None)
    if hooks:
        return list(hooks.values())
    if getattr(tensor, "grad_fn", None) is not None:
        return list(tensor.grad_fn._pre_hooks or ())
    return list((getattr(tensor, "_hooks", None) or {}).values())


def warn_if_has_hooks(tensor) -> None:
    """Warn for each backward hook on ``tensor`` that serialization will drop."""
    for hook in _tensor_hooks(tensor):
        if not hasattr(hook, "__torch_unserializable__"):
            warnings.warn(f"backward hook {hook!r} on tensor will not be serialized.  If this is "
                          "expected, you can decorate the function with "
                          "@torch.utils.hooks.unserializable_hook to suppress this warning",
                          stacklevel=2)


class BackwardHook(_ModuleBackwardHook):
    """torch's signature for the module backward-hook helper: ``user_hooks`` run with
    ``(module, grad_input, grad_output)``, ``user_pre_hooks`` with ``(module, grad_output)``;
    ``setup_input_hook(args)`` / ``setup_output_hook(result)`` wrap the tensors."""

    def __init__(self, module, user_hooks, user_pre_hooks) -> None:
        super().__init__(module, user_pre_hooks, user_hooks)
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
