"""``DistributedSampler``: each rank's share of a dataset, a different share per rank."""

from __future__ import annotations

import math
from typing import TypeVar

from ... import _creation
from .sampler import Sampler

_T_co = TypeVar("_T_co", covariant=True)


class DistributedSampler(Sampler[_T_co]):
    """Indices of rank ``rank``'s share: every ``num_replicas``-th index of one (shuffled) order.

    All ranks build the same order (a permutation seeded by ``seed + epoch`` when
    ``shuffle``; call ``set_epoch`` at the start of each epoch for a new one) and
    take every ``num_replicas``-th index from position ``rank``, so together they
    visit each sample once per epoch. Every rank gets ``num_samples`` indices:
    without ``drop_last`` the order is padded with its own first indices to a
    multiple of ``num_replicas``; with ``drop_last`` its tail is cut instead.
    ``num_replicas`` and ``rank`` default to the process group's world size and rank.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        from ... import distributed as dist

        if num_replicas is None:
            num_replicas = dist.get_world_size()
        if rank is None:
            rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)  # = n // num_replicas
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            from ...random import Generator

            g = Generator().manual_seed(self.seed + self.epoch)
            indices = _creation.randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:  # fewer samples than ranks: repeat the whole order
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Use the order of ``epoch`` next (every rank must call it with the same value)."""
        self.epoch = epoch
