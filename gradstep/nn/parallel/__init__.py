"""``gradstep.nn.parallel``: data parallelism across processes (torch.nn.parallel's layout)."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
