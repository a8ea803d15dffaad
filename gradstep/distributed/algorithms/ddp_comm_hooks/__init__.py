"""``torch.distributed.algorithms.ddp_comm_hooks``: the built-in DDP communication hooks.

``default_hooks`` (also ``default``) holds ``allreduce_hook`` and the fp16/bf16
compression hooks; ``DDPCommHookType`` names them for ``register_ddp_comm_hook``.
"""

from __future__ import annotations

from enum import Enum
from functools import partial

from . import default_hooks
from . import default_hooks as default

__all__ = ["DDPCommHookType", "register_ddp_comm_hook"]


def _register(model, state, comm_hook):
    model.register_comm_hook(state, comm_hook)


class DDPCommHookType(Enum):
    """The built-in hooks; ``DDPCommHookType.ALLREDUCE.value(model=ddp, state=None)`` registers one."""

    ALLREDUCE = partial(_register, comm_hook=default_hooks.allreduce_hook)
    FP16_COMPRESS = partial(_register, comm_hook=default_hooks.fp16_compress_hook)
    BF16_COMPRESS = partial(_register, comm_hook=default_hooks.bf16_compress_hook)


def register_ddp_comm_hook(comm_hook_type, model, state=None):
    """Register the built-in hook ``comm_hook_type`` on the DDP ``model``, with ``state``
    (a process group, or None for the default one)."""
    comm_hook_type.value(model=model, state=state)


__all__ += ["default", "default_hooks"]
