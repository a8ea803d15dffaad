"""The globals a user approved for ``gradstep.load`` (torch's ``add_safe_globals`` API).

The registry is process-wide, as in torch; only user calls change it, never a load.
"""

from __future__ import annotations

_user_globals: set = set()


def _check_safe_global(g):
    if isinstance(g, tuple):
        if len(g) != 2:
            raise ValueError(f"Expected tuple of length 2 (global, str of callable full path), but got tuple of "
                             f"length: {len(g)}")
        if type(g[1]) is not str:
            raise TypeError(f"Expected second item in tuple to be str of callable full path, but got: {type(g[1])}")
    return g


def add_safe_globals(safe_globals):
    """Allow ``gradstep.load`` to construct these classes / call these functions (torch's API).

    Each entry is a class or function (found under ``module.qualname``) or a
    ``(obj, "module.name")`` pair. Only do this for code you trust.
    """
    global _user_globals
    _user_globals = _user_globals | {_check_safe_global(g) for g in safe_globals}


def get_safe_globals():
    """The user-approved globals, as a list."""
    return list(_user_globals)


def clear_safe_globals():
    """Forget all user-approved globals."""
    global _user_globals
    _user_globals = set()


def _remove_safe_globals(safe_globals):
    global _user_globals
    _user_globals = _user_globals - set(safe_globals)


class safe_globals:  # noqa: N801 - torch's name
    """``with safe_globals([cls, ...]):`` approves globals for the loads inside the block."""

    def __init__(self, safe_globals):
        self.safe_globals = safe_globals

    def __enter__(self):
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc):
        _remove_safe_globals(self.safe_globals)


def _user_allowed():
    out = {}
    for g in _user_globals:
        if isinstance(g, tuple):
            out[g[1]] = g[0]
        else:
            out[f"{g.__module__}.{g.__qualname__}"] = g
    return out
