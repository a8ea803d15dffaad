"""``torch.distributed.algorithms``: ``Join`` for uneven inputs, and the DDP communication
hooks (``ddp_comm_hooks``, imported on demand as in torch)."""

from .join import Join, Joinable, JoinHook

__all__ = ["Join", "JoinHook", "Joinable"]
