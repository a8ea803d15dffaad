"""``GradBucket``: what a DDP communication hook receives (torch.distributed.GradBucket)."""

from __future__ import annotations

__all__ = ["GradBucket"]


class GradBucket:
    """One bucket of DistributedDataParallel's gradients, handed to ``hook(state, bucket)``.

    ``buffer()`` is the bucket's flat tensor: the gradients of ``parameters()`` laid end to
    end, *not* divided by the world size (the hook does that, if it averages). It shares
    memory with DDP's bucket, so changing it in place changes what a hook that returns it
    delivers. ``gradients()`` are views of it, one per parameter, shaped like them.
    """

    def __init__(self, index, buffer, offsets, parameters, num_buckets):
        self._index = index
        self._buffer = buffer
        self._offsets = offsets
        self._parameters = parameters
        self._is_last = index == num_buckets - 1

    def index(self):
        """The bucket's position in the order DDP reduces them (0 first: the last layers)."""
        return self._index

    def buffer(self):
        return self._buffer

    def set_buffer(self, buffer):
        """Make ``buffer`` the bucket's tensor (e.g. a compressed copy a wrapper hook made)."""
        self._buffer = buffer

    def gradients(self):
        return [self._buffer[off:off + p.numel()].view(p.shape)
                for off, p in zip(self._offsets, self._parameters)]

    def parameters(self):
        return list(self._parameters)

    def is_last(self):
        """True for the bucket reduced last in an iteration (holding the first layers)."""
        return self._is_last
