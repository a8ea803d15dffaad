"""``torch.utils.deterministic``: the ``fill_uninitialized_memory`` flag as a module attribute.

torch fills the memory of ``empty``-like results with NaN (or the integer maximum) when
deterministic algorithms are on and this flag is True (its default). gradstep keeps the flag,
with torch's type check; its ``empty`` results are NumPy allocations either way.
"""

from __future__ import annotations

import sys
import types

_state = {"fill": True}


class _Deterministic(types.ModuleType):
    @property
    def fill_uninitialized_memory(self):
        """Whether uninitialized memory is filled under ``use_deterministic_algorithms(True)``."""
        return _state["fill"]

    @fill_uninitialized_memory.setter
    def fill_uninitialized_memory(self, mode):
        if not isinstance(mode, bool):
            raise RuntimeError(f"expected a bool, but got {type(mode).__name__}")
        _state["fill"] = mode


sys.modules[__name__].__class__ = _Deterministic
