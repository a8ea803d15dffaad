"""``torch.multiprocessing``: the standard library's ``multiprocessing``, plus torch's extras.

torch's module wraps the standard one to share tensor storage between processes. Here the
standard module is enough: tensors are pickled like NumPy arrays, except tensors in shared
memory (``share_memory_``), which ``multiprocessing`` sends as a handle to the same memory
(the reductions live in ``gradstep._shared_memory``, registered at import).
"""

from __future__ import annotations

import multiprocessing as _mp
from multiprocessing import *  # noqa: F403 - the same names as torch.multiprocessing

_strategy = "file_descriptor"


def get_all_sharing_strategies() -> set:
    return {"file_descriptor", "file_system"}


def set_sharing_strategy(new_strategy: str) -> None:
    global _strategy
    if new_strategy not in get_all_sharing_strategies():
        raise AssertionError(f"unknown sharing strategy {new_strategy!r}")
    _strategy = new_strategy


def get_sharing_strategy() -> str:
    return _strategy


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run ``fn(i, *args)`` in ``nprocs`` new processes; wait for them when ``join``."""
    ctx = _mp.get_context(start_method)
    procs = [ctx.Process(target=fn, args=(i, *args), daemon=daemon) for i in range(nprocs)]
    for p in procs:
        p.start()
    if not join:
        return procs
    for p in procs:
        p.join()
    failed = [(i, p.exitcode) for i, p in enumerate(procs) if p.exitcode != 0]
    if failed:
        i, code = failed[0]
        raise RuntimeError(f"process {i} terminated with exit code {code}")
    return None
