"""Bounded, terminal-safe text for values that come from a file (error messages, ``gradstep info``).

A checkpoint is hostile input, so its values are never formatted with ``repr``
or ``str`` directly:

* shared structure makes ``repr`` exponential: a list holding the same list
  twice, 40 levels deep, is 130 bytes of pickle and 2**40 characters of repr
  (``reprlib`` bounds the output but still walks every path);
* ``str`` of an int past 4300 digits raises ``ValueError``;
* strings may hold newlines and terminal escape sequences (ANSI, OSC), which a
  raw ``print`` would send to the user's terminal.

:func:`brief` visits at most ``limit`` nodes, whatever the object's shape, and
:func:`printable` escapes every non-printable character.
"""

from __future__ import annotations

_MAX_LEVELS = 8  # container levels shown before "..."


def printable(text, limit=None):
    """``text`` cut to ``limit`` characters, with non-printable ones escaped (``\\n``, ``\\x1b``, ``\\u202e``)."""
    if limit is not None and len(text) > limit:
        text = text[:max(limit - 3, 0)] + "..."
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def brief(obj, limit=60):
    """A repr-like text of ``obj`` of at most ``limit`` characters, built in O(``limit``) time and memory."""
    parts, room = [], [limit + 1]
    _brief(obj, parts, room, 0)
    text = "".join(parts)
    return printable(text if len(text) <= limit else text[:max(limit - 3, 0)] + "...")


def _emit(parts, room, text):
    parts.append(text[:max(room[0], 0)])
    room[0] -= max(len(text), 1)  # every node costs at least 1, so the walk is bounded by ``limit``


_BRACKETS = {list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"), frozenset: ("frozenset({", "})")}


def _brief(x, parts, room, level):
    if room[0] <= 0:
        return
    if isinstance(x, dict):
        name = type(x).__name__
        _items(x.items(), parts, room, level, ("{", "}") if type(x) is dict else (name + "({", "})"), True)
    elif isinstance(x, (list, tuple, set, frozenset)):
        base = next(t for t in _BRACKETS if isinstance(x, t))
        opening, closing = _BRACKETS[base]
        if type(x) is not base:
            opening, closing = type(x).__name__ + "(" + opening, closing + ")"
        if base is set and not x:
            opening, closing = "set(", ")"
        _items(x, parts, room, level, (opening, closing), False, one_tuple=base is tuple and len(x) == 1)
    else:
        _emit(parts, room, scalar_text(x, room[0]))


def _items(items, parts, room, level, brackets, pairs, one_tuple=False):
    _emit(parts, room, brackets[0])
    if level >= _MAX_LEVELS and len(items):
        _emit(parts, room, "...")
    else:
        for i, item in enumerate(items):
            if room[0] <= 0:
                return
            if i:
                _emit(parts, room, ", ")
            if pairs:
                _brief(item[0], parts, room, level + 1)
                _emit(parts, room, ": ")
                _brief(item[1], parts, room, level + 1)
            else:
                _brief(item, parts, room, level + 1)
        if one_tuple:
            _emit(parts, room, ",")
    _emit(parts, room, brackets[1])


def scalar_text(x, limit=60):
    """The repr of a non-container, bounded; objects without a known-safe repr are named by type."""
    import numpy as np

    from . import backend as B
    from ._tensor import Tensor, device

    if x is None or type(x) in (bool, float, complex):
        return repr(x)
    if isinstance(x, int) and not isinstance(x, bool):
        bits = x.bit_length()
        return repr(x) if bits <= 4 * max(limit, 20) else f"<int of about {int(bits * 0.30103) + 1} digits>"
    if isinstance(x, (str, bytes, bytearray)):
        return repr(x[:max(limit, 1)])
    if isinstance(x, Tensor):
        return f"tensor {list(x.shape)} {x.dtype.name}"
    if isinstance(x, np.ndarray):
        return f"array {list(x.shape)} {x.dtype}"
    if isinstance(x, (np.generic, np.dtype, B.dtype, device)):
        return repr(x)
    return f"<{type(x).__module__}.{type(x).__qualname__} object>"
