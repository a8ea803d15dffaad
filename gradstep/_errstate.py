"""NumPy's floating-point error handling switched off inside gradstep's ops, as torch is silent.

``log(0)``, ``x / 0``, ``sqrt(-1)``, ``exp(1000)`` and ``0 * inf`` give inf/nan in torch without a
word; NumPy would warn (or raise, under ``np.seterr(all="raise")``). gradstep runs each op's
forward (``Node.apply``), each node's backward (the engine) and each optimizer step under
NumPy's "ignore" state, whatever the caller's state is, and leaves the caller's state
(``np.geterr()``) as it found it.

``quiet()`` returns a token for ``restore(token)``; nested calls cost one attribute read. On
NumPy 2 the state is a context variable, set directly (an ``np.errstate`` block costs ~5x
more: this runs once per op); on NumPy 1 ``np.seterr`` (per thread there) does the same.

The hottest callers (``Node.apply``, the engine) inline ``quiet``/``restore`` with the
primitives below: ``token = set_state(IGNORE) if get_state() is not IGNORE else None``, then
``reset_state(token)`` when the token is not None.
"""

from __future__ import annotations

import numpy as np

try:  # NumPy >= 2: the error state is the context variable np.errstate sets
    from numpy._core.umath import _extobj_contextvar, _make_extobj
except ImportError:  # pragma: no cover - NumPy 1.x
    _extobj_contextvar = None

__all__ = ["quiet", "restore", "silent", "IGNORE", "get_state", "set_state", "reset_state"]

if _extobj_contextvar is not None:
    _IGNORE = IGNORE = _make_extobj(all="ignore")
    _get, _set, _reset = _extobj_contextvar.get, _extobj_contextvar.set, _extobj_contextvar.reset
    get_state, set_state, reset_state = _get, _set, _reset

    def quiet():
        """Switch NumPy's error handling off; return what ``restore`` needs (None: already off)."""
        if _get() is _IGNORE:
            return None
        return _set(_IGNORE)

    def restore(token):
        if token is not None:
            _reset(token)

else:  # pragma: no cover - NumPy 1.x
    _ALL_IGNORE = {"divide": "ignore", "over": "ignore", "under": "ignore", "invalid": "ignore"}

    def quiet():
        old = np.seterr(all="ignore")
        return None if old == _ALL_IGNORE else old

    def restore(token):
        if token is not None:
            np.seterr(**token)

    IGNORE = _ALL_IGNORE  # get_state() returns a new dict: never IGNORE, so always switched

    def get_state():
        return np.geterr()

    def set_state(state):
        return np.seterr(**state)

    def reset_state(token):
        np.seterr(**token)


class silent:
    """``with silent():`` runs its block with NumPy's floating-point errors ignored."""

    __slots__ = ("_token",)

    def __enter__(self):
        self._token = quiet()
        return self

    def __exit__(self, *exc):
        restore(self._token)
        return False
