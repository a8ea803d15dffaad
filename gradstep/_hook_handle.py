"""``torch.utils.hooks.RemovableHandle``, what every ``register_*_hook`` returns.

It lives in this dependency-free module so that autograd (tensor and node hooks) and
``nn.Module`` (module hooks) return the same class, as torch's do; ``gradstep.utils.hooks``
re-exports it under torch's name.
"""

from __future__ import annotations


class RemovableHandle:
    """Unregisters one hook: ``remove()`` deletes it by id from each dict it was put in, or,
    for a hook kept in a list (autograd's node hooks), the entry that is that hook."""

    __module__ = "gradstep.utils.hooks"  # where torch defines it (and where gradstep exports it)
    _next_id = 0

    def __init__(self, hooks_dict, *extra_dicts):
        self._dicts = (hooks_dict, *extra_dicts)
        self._container = self._hook = None
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    @classmethod
    def _of(cls, container, hook):
        """A handle for ``hook`` kept in ``container`` (a list, or a dict under a key of its own)."""
        handle = cls({})
        handle._dicts = ()
        handle._container, handle._hook = container, hook
        return handle

    def remove(self):
        for d in self._dicts:
            d.pop(self.id, None)
        c, hook = self._container, self._hook
        if isinstance(c, dict):
            for k, v in list(c.items()):
                if v is hook:
                    del c[k]
        elif c is not None:
            for i, h in enumerate(c):
                if h is hook:
                    del c[i]
                    break

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
