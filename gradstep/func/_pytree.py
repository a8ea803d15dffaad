"""The pytrees ``vmap`` walks: tuples (named ones too), lists and dicts are nodes, everything
else (tensors, numbers, ``None``) is a leaf, as in ``torch.utils._pytree``."""

from __future__ import annotations

_LEAF = None  # the spec of a leaf


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def tree_flatten(tree):
    """(leaves, spec); ``tree_unflatten(leaves, spec)`` rebuilds ``tree``."""
    leaves = []
    return leaves, _flatten_into(tree, leaves)


def _flatten_into(tree, leaves):
    if isinstance(tree, (tuple, list)):
        return (type(tree), None, [_flatten_into(t, leaves) for t in tree])
    if isinstance(tree, dict):
        keys = list(tree)
        return (type(tree), keys, [_flatten_into(tree[k], leaves) for k in keys])
    leaves.append(tree)
    return _LEAF


def tree_unflatten(leaves, spec):
    it = iter(leaves)
    return _build(it, spec)


def _build(it, spec):
    if spec is _LEAF:
        return next(it)
    kind, keys, children = spec
    parts = [_build(it, c) for c in children]
    if keys is not None:
        return kind(zip(keys, parts))
    if _is_namedtuple_type(kind):
        return kind(*parts)
    return kind(parts)


def _is_namedtuple_type(kind):
    return issubclass(kind, tuple) and hasattr(kind, "_fields")


def num_leaves(spec):
    if spec is _LEAF:
        return 1
    return sum(num_leaves(c) for c in spec[2])


def broadcast_to_and_flatten(prefix, spec):
    """``prefix`` (an int/None, or a tree whose leaves cover whole subtrees of ``spec``)
    spread over ``spec``'s leaves; None when the structures do not match."""
    out = []
    return out if _broadcast(prefix, spec, out) else None


def _broadcast(prefix, spec, out):
    if not isinstance(prefix, (tuple, list, dict)):
        out.extend([prefix] * num_leaves(spec))
        return True
    if spec is _LEAF:
        return False
    kind, keys, children = spec
    if isinstance(prefix, dict):
        if keys is None or set(prefix) != set(keys):
            return False
        return all(_broadcast(prefix[k], c, out) for k, c in zip(keys, children))
    if keys is not None or isinstance(prefix, tuple) != issubclass(kind, tuple):
        return False
    if len(prefix) != len(children):
        return False
    return all(_broadcast(p, c, out) for p, c in zip(prefix, children))


def describe(spec):
    """A short text of a spec for error messages (``*`` for a leaf)."""
    if spec is _LEAF:
        return "*"
    kind, keys, children = spec
    inner = ", ".join(describe(c) if keys is None else f"{k!r}: {describe(c)}"
                      for k, c in zip(keys or [None] * len(children), children))
    return f"TreeSpec({kind.__name__}, {keys}, [{inner}])"
