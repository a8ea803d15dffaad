"""``Join``: training with uneven inputs (torch.distributed.algorithms.join).

Inside ``with Join([ddp_model, ...]):`` (or ``with ddp_model.join():``), each iteration
of a rank that still has inputs first all-reduces a 1 (``notify_join_context``). A rank
that runs out of inputs leaves the block and, in ``__exit__``, keeps answering those
all-reduces with a 0 and runs its joinables' main hooks, which shadow the collectives
of one iteration of the others, until every rank has joined; then the post hooks run
(DDP copies the model of the last rank to join to all). With
``throw_on_early_termination`` every rank raises as soon as one runs out instead.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple

import numpy as np

__all__ = ["Join", "JoinHook", "Joinable"]


class JoinHook:
    """What a joined rank runs for a joinable: ``main_hook`` once per iteration the others
    still run, ``post_hook`` once all have joined."""

    def main_hook(self) -> None:
        """Shadow the collectives of one training iteration of the ranks not yet joined."""

    def post_hook(self, is_last_joiner: bool) -> None:
        """Run once every rank has joined; ``is_last_joiner`` on the rank(s) that joined last."""


class _JoinConfig(NamedTuple):
    enable: bool
    throw_on_early_termination: bool
    is_first_joinable: bool

    @staticmethod
    def construct_disabled_join_config():
        return _JoinConfig(enable=False, throw_on_early_termination=False, is_first_joinable=False)


class Joinable(ABC):
    """A class whose instances can take part in ``Join``: it gives a ``join_hook`` and the
    device and process group of the join's all-reduces."""

    def __init__(self):
        super().__init__()
        self._join_config = _JoinConfig.construct_disabled_join_config()

    @abstractmethod
    def join_hook(self, **kwargs) -> JoinHook:
        ...

    @property
    @abstractmethod
    def join_device(self):
        ...

    @property
    @abstractmethod
    def join_process_group(self):
        ...


def _count(value, group, async_op=False):
    """The sum over ``group`` of ``value`` (this rank's 0 or 1); with ``async_op`` the Work.

    Always a non-blocking all-reduce: MPI never matches a blocking collective with a
    non-blocking one, and the joined ranks answer the running ranks' ``async_op`` ones."""
    from ..._tensor import Tensor
    from .. import all_reduce

    t = Tensor._make(np.array([value], np.int64))
    work = all_reduce(t, group=group, async_op=True)
    if async_op:
        return work
    work.wait()
    return int(t._data[0])


class Join:
    """The join context manager: see the module docstring."""

    def __init__(self, joinables, enable=True, throw_on_early_termination=False, **kwargs):
        if len(joinables) == 0:
            raise ValueError("The join context manager requires at least one joinable")
        self._joinables = list(joinables)
        self._join_hooks = [j.join_hook(**kwargs) for j in self._joinables]
        self._enable = enable
        self._throw_on_early_termination = throw_on_early_termination
        self._set_joinable_configs()
        self._extract_dist_info()

    def _set_joinable_configs(self):
        for i, joinable in enumerate(self._joinables):
            joinable._join_config = _JoinConfig(self._enable, self._throw_on_early_termination,
                                                is_first_joinable=(i == 0))

    def _extract_dist_info(self):
        from .. import get_rank

        groups = {id(j.join_process_group): j.join_process_group for j in self._joinables}
        if len(groups) > 1:
            raise ValueError("Using join context manager with multiple process groups")
        self._process_group = next(iter(groups.values()))
        self._rank = get_rank(self._process_group)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, value, traceback):
        """Answer the other ranks' iterations until all have joined; then the post hooks.

        The joinables leave join mode afterwards (every rank leaves together)."""
        try:
            if not self._enable or exc_type is not None:
                return  # an exception propagates as it is
            is_last_joiner = True
            while _count(0, self._process_group) > 0:
                if self._throw_on_early_termination:
                    _count(1, self._process_group)
                    raise RuntimeError(f"Rank {self._rank} exhausted all inputs.")
                for hook in self._join_hooks:
                    hook.main_hook()
                is_last_joiner = False
            for hook in self._join_hooks:
                hook.post_hook(is_last_joiner)
        finally:
            for joinable in self._joinables:
                joinable._join_config = _JoinConfig.construct_disabled_join_config()

    @staticmethod
    def notify_join_context(joinable):
        """Called by a joinable in each iteration: tell the joined ranks this one still runs.

        Returns the Work of that all-reduce (its result: the number of ranks not yet joined),
        or None outside an enabled join or for any but the join's first joinable."""
        config = joinable._join_config
        if not config.enable or not config.is_first_joinable:
            return None
        group = joinable.join_process_group
        work = _count(1, group, async_op=True)
        if config.throw_on_early_termination and _count(0, group) > 0:
            work.wait()
            raise RuntimeError("Detected at least one rank that exhausted inputs. Throwing across "
                               "all ranks.")
        return work
