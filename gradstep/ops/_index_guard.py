"""The index tensors an indexing op's backward reads, kept with their versions.

torch saves an index (or mask) tensor itself for backward, and its backward raises the in-place
error if the index changed since. gradstep's nodes keep the index's array, so a change would
silently (or with a NumPy error) give other gradients: ``guard_index`` records the index tensors
and their versions on the node, and ``check_guard`` (in the node's backward) raises torch's error
where one changed.
"""

from __future__ import annotations

from ..backend import xp


def guard_index(out, *indices):
    """Keep the index tensors that ``out``'s backward reads, with their versions now.

    torch saves an index (or mask) tensor itself for backward, and its backward raises the
    in-place error if the index changed since; the node here keeps the index's array, so a
    change would silently (or with a NumPy error) give other gradients. 0-d tensors are
    taken as ints (torch saves nothing); a uint8 mask was converted to a copy.
    """
    from .._tensor import Tensor

    fn = out.grad_fn
    if fn is None:
        return out
    kept = tuple((t, t._vc[0]) for t in indices
                 if isinstance(t, Tensor) and t.ndim and t._data.dtype != xp.uint8)
    if kept:
        fn._guard = kept
    return out


def index_tensors(key):
    """The tensors in a ``__getitem__``/``__setitem__`` key."""
    from .._tensor import Tensor

    if isinstance(key, Tensor):
        return (key,)
    if isinstance(key, (tuple, list)):
        return tuple(k for k in key if isinstance(k, Tensor))
    return ()


def check_guard(node):
    """Raise torch's in-place error where an index ``node`` kept (``guard_index``) changed."""
    kept = node.__dict__.get("_guard")
    if kept:
        from ..autograd.function import _inplace_error

        for t, v in kept:
            if t._vc[0] != v:
                raise _inplace_error(t, v, node)
