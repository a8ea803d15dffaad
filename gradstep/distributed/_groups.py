"""Process groups: the default group of every rank, and the groups ``new_group`` makes.

A ``ProcessGroup`` holds its own communicator (an MPI communicator over its ranks,
made by ``MPI_Comm_create_group``), so its collectives never mix with another
group's. Ranks passed to the collectives (``dst``, ``src``) are global ranks, as in
torch; ``group_dst``/``group_src`` are ranks within the group. A rank that is not in
a group gets ``GroupMember.NON_GROUP_MEMBER`` from ``new_group``: collectives on it
warn and do nothing, ``get_rank``/``get_world_size`` of it are -1.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

__all__ = ["GroupMember", "ProcessGroup", "get_global_rank", "get_group_rank",
           "get_process_group_ranks", "group", "new_group"]

DEFAULT_TIMEOUT = timedelta(minutes=30)  # torch's default_pg_timeout (gloo's and MPI's)
BACKENDS = ("mpi", "gloo")


class ProcessGroup:
    """A set of ranks with a communicator of their own (torch.distributed.ProcessGroup)."""

    bound_device_id = None

    def __init__(self, comm, ranks, name, backend, timeout):
        self._comm = comm
        self._ranks = list(ranks)
        self._group_rank = {g: i for i, g in enumerate(self._ranks)}
        self._name = name
        self._backend = backend
        self._timeout = timeout
        self._destroyed = False

    def rank(self):
        """This process's rank within the group."""
        return self._comm.rank

    def size(self):
        return self._comm.size

    def name(self):
        """The backend's name ("mpi" or "gloo"), as torch's ``ProcessGroup.name()``."""
        return self._backend

    @property
    def group_name(self):
        return self._name

    def __repr__(self):
        return f"<gradstep.distributed.ProcessGroup {self._name} (ranks {self._ranks})>"


class _WorldMeta(type):
    """Gives ``group`` and ``GroupMember`` their ``WORLD``: the default group once initialized."""

    @property
    def WORLD(cls):  # noqa: N802 - torch's name
        return _state.default


class group(metaclass=_WorldMeta):  # noqa: N801 - torch's name
    """``group.WORLD``: the default process group (None before ``init_process_group``)."""


class GroupMember(metaclass=_WorldMeta):
    """``GroupMember.WORLD`` and ``NON_GROUP_MEMBER``, what ``new_group`` gives non-members."""

    NON_GROUP_MEMBER = -100


class _State:
    default = None  # the default ProcessGroup
    live = []  # every group not destroyed, the default first
    count = 0  # names groups "0", "1", ... in creation order, the same on every rank


_state = _State()


# ---------------------------------------------------------------- lifecycle (init/destroy)


def check_backend(backend):
    """The backend's lower-case name; only MPI, or gloo (whose collectives run over MPI here)."""
    if backend is not None and str(backend).lower() not in BACKENDS:
        raise ValueError(f"gradstep.distributed runs over MPI (backend 'mpi' or 'gloo'), got "
                         f"backend={backend!r}; start the processes with mpiexec (or srun)")
    return None if backend is None else str(backend).lower()


def check_timeout(timeout):
    """``timeout`` (a timedelta), or the default when None."""
    if timeout is None:
        return DEFAULT_TIMEOUT
    if not isinstance(timeout, timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {timeout}")
    return timeout


def start(comm, backend, timeout):
    """Make the default group over ``comm`` (init_process_group)."""
    _state.count = 0
    pg = ProcessGroup(comm, range(comm.size), _next_name(), backend, timeout)
    _state.default = pg
    _state.live = [pg]
    return pg


def _next_name():
    name = str(_state.count)
    _state.count += 1
    return name


def is_started():
    return _state.default is not None


def default_group():
    if _state.default is None:
        raise ValueError("Default process group has not been initialized, "
                         "please make sure to call init_process_group.")
    return _state.default


def destroy(group):
    """``destroy_process_group``: one group, or (None / WORLD) every group and the default."""
    if _is_non_member(group):
        return
    pg = default_group() if group is None else group
    if pg not in _state.live:
        raise ValueError("Invalid process group specified")
    if pg is _state.default:
        for g in _state.live:
            g._destroyed = True
        _state.default, _state.live, _state.count = None, [], 0
        return
    pg._destroyed = True
    _state.live.remove(pg)


# ---------------------------------------------------------------- resolving group arguments


def _is_non_member(group):
    return not isinstance(group, ProcessGroup) and group == GroupMember.NON_GROUP_MEMBER


def resolve(group, op_name):
    """The ProcessGroup ``op_name`` runs on; None, after torch's warning, on a non-member."""
    if group is None:
        return default_group()
    if isinstance(group, ProcessGroup):
        default_group()
        if group._destroyed:
            raise ValueError(f"{op_name}: process group {group.group_name} was destroyed "
                             "(destroy_process_group); make a new one with new_group()")
        return group
    if _is_non_member(group):
        warn_not_in_group(op_name)
        return None
    raise ValueError(f"Process group {group} is not initialized in the world group map. Please "
                     "initialize the group first. Pass a group made by new_group(), or None for "
                     "the default process group.")


def warn_not_in_group(op_name):
    rank = -1 if _state.default is None else _state.default.rank()
    warnings.warn(f"Running {op_name} on global rank {rank} which does not belong to the given "
                  "group.", stacklevel=4)


def group_peer(pg, global_rank, group_rank, what):
    """The group rank meant by ``global_rank`` (src/dst) or ``group_rank`` (group_src/...)."""
    if group_rank is not None:
        if global_rank is not None:
            raise ValueError(f"Can't specify both group_rank and global_rank (pass {what} or "
                             f"group_{what})")
        return group_rank
    if global_rank is None:
        raise ValueError(f"Must specify global_rank or group_rank (pass {what} or group_{what})")
    return get_group_rank(pg, global_rank)


def check_root(pg, root, op_name):
    if not 0 <= root < pg.size():
        raise RuntimeError(f"{op_name}: invalid root rank: {root} (group size {pg.size()})")


def root_rank(pg, global_rank, group_rank, what, op_name, default=None):
    """The checked group rank of ``op_name``'s root, given as ``what`` (src/dst: a global
    rank) or ``group_what``; the global rank ``default`` when neither is given."""
    if global_rank is None and group_rank is None:
        global_rank = default
    root = group_peer(pg, global_rank, group_rank, what)
    check_root(pg, root, op_name)
    return root


# ---------------------------------------------------------------- the public API


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization=False, group_desc=None, device_id=None, sort_ranks=True):
    """A process group of ``ranks`` (global ranks; every rank when None).

    Every rank should call it, in the same order as the other ranks do (torch's rule; only
    the members communicate). Non-members get ``GroupMember.NON_GROUP_MEMBER`` (None with
    ``use_local_synchronization=True``, where they need not call at all). ``sort_ranks=False``
    keeps the order of ``ranks`` as the group's rank order.
    """
    world = default_group()
    backend = check_backend(backend) or world.name()
    timeout = check_timeout(timeout)
    n = world.size()
    if ranks is None:
        ranks = list(range(n))
    else:
        ranks = sorted(ranks) if sort_ranks else list(ranks)
        if len(set(ranks)) != len(ranks):
            raise ValueError(f"ranks list must not contain duplicate entries, got {ranks}")
        if len(ranks) > n:
            raise ValueError("the new group's world size should be less or equal to the world "
                             "size set by init_process_group")
        for r in ranks:
            if not 0 <= r < n:
                raise ValueError(f"Rank {r} is out of range. Valid ranks are 0 to {n - 1} "
                                 f"(world_size={n})")
    name = _next_name()
    comm = world._comm.subgroup(ranks)
    if comm is None:
        return None if use_local_synchronization else GroupMember.NON_GROUP_MEMBER
    pg = ProcessGroup(comm, ranks, name, backend, timeout)
    _state.live.append(pg)
    return pg


def _registered(group):
    if not isinstance(group, ProcessGroup) or group not in _state.live:
        raise ValueError(f"Group {group} is not registered, please create group with "
                         "torch.distributed.new_group API")
    return group


def get_group_rank(group, global_rank):
    """The rank within ``group`` of global rank ``global_rank``."""
    if group is not None and group is _state.default:
        return global_rank
    pg = _registered(group)
    if global_rank not in pg._group_rank:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return pg._group_rank[global_rank]


def get_global_rank(group, group_rank):
    """The global rank of rank ``group_rank`` of ``group``."""
    if group is not None and group is _state.default:
        return group_rank
    pg = _registered(group)
    if not 0 <= group_rank < len(pg._ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {group}")
    return pg._ranks[group_rank]


def get_process_group_ranks(group):
    """The global ranks of ``group`` (the default group when None), in group-rank order."""
    if _is_non_member(group):
        raise ValueError("this rank is not a member of the group (new_group gave it "
                         "GroupMember.NON_GROUP_MEMBER): ask a member for the group's ranks")
    pg = default_group() if group is None else _registered(group)
    return list(pg._ranks)
