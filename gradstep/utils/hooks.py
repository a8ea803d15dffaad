"""``RemovableHandle``: what every ``register_*_hook`` returns (``torch.utils.hooks``)."""

from __future__ import annotations

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """Unregisters one hook: ``remove()`` deletes it by id from each dict it was put in."""

    _next_id = 0

    def __init__(self, hooks_dict, *extra_dicts):
        self._dicts = (hooks_dict, *extra_dicts)
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        for d in self._dicts:
            d.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
