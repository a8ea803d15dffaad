"""What ``gradstep info FILE`` prints: a checkpoint's entries, from data that may be hostile.

Everything shown comes from the file, so it is bounded and escaped
(:mod:`gradstep._brief`): keys and names with newlines or terminal escape
sequences are printed escaped, huge ints are summarised, and the walk visits
each container once (a dict that holds the same dict twice, 60 levels deep,
has 2**60 paths), without recursion.
"""

from __future__ import annotations

from ._brief import brief, printable

LIMIT = 40  # entries shown
_PATH_CHARS = 160  # a longer path is shown by its end
_FORMAT = "gradstep-train"


def _text(x, limit=100):
    """A value for a sentence: strings as they are (escaped), anything else as a bounded repr."""
    return printable(x, limit) if type(x) is str else brief(x, limit)


def _key(k):
    return printable(k, 60) if type(k) is str else brief(k, 60)


def _render(path):
    """``path`` is a linked list ``(parent, piece)``; the text is built from the end, bounded."""
    pieces, size = [], 0
    while path is not None and size <= _PATH_CHARS:
        path, piece = path
        pieces.append(piece)
        size += len(piece)
    text = "".join(reversed(pieces))
    if path is not None or len(text) > _PATH_CHARS:
        text = "..." + text[-_PATH_CHARS:].lstrip(".")
    return text


def _children(x, path):
    if isinstance(x, dict):
        dot = "." if path is not None else ""
        return [(v, (path, dot + _key(k))) for k, v in x.items()]
    return [(v, (path, f"[{i}]")) for i, v in enumerate(x)]


def describe(obj, limit=LIMIT):
    """Lines ``  path: what`` for the first ``limit`` entries of ``obj``; a shared container is shown once."""
    from ._tensor import Tensor

    out, seen = [], {}
    stack = [(obj, None)]
    while stack and len(out) < limit:
        x, path = stack.pop()
        if isinstance(x, dict) or (isinstance(x, (list, tuple)) and any(isinstance(v, (dict, Tensor)) for v in x)):
            if id(x) in seen:
                out.append(f"  {_render(path)}: the same object as {_render(seen[id(x)]) or 'the top level'}")
                continue
            seen[id(x)] = path
            stack.extend(reversed(_children(x, path)))
        elif isinstance(x, Tensor):
            out.append(f"  {_render(path)}: tensor {list(x.shape)} {x.dtype.name}")
        else:
            text = brief(x, 200)
            out.append(f"  {_render(path)}: {text if len(text) < 70 else text[:67] + '...'}")
    return out


def _is_train_checkpoint(obj):
    return isinstance(obj, dict) and type(obj.get("format")) is str and obj["format"].startswith(_FORMAT)


def _accuracy(best):
    try:
        value = 100 * float(best)
    except (OverflowError, ValueError, TypeError):
        return brief(best)
    return f"{value:.2f}%"


def _train_lines(obj, path):
    from ._tensor import Tensor
    from .training.config import UsageError
    from .training.resume import check_train_checkpoint

    check_train_checkpoint(obj, path)
    state = obj["optimizer"].get("state", ())
    if not isinstance(state, (dict, list, tuple)):
        raise UsageError(f"'{path}' is a damaged gradstep train checkpoint: optimizer state is "
                         f"{type(state).__name__}, not a dict")
    config = obj["config"]
    n = sum(t.numel() for t in obj["model"].values() if isinstance(t, Tensor))
    return [f"gradstep train checkpoint: model {_text(obj['model_name'])} on {_text(obj['data'])}, epoch "
            f"{_text(obj['epoch'])}, {n:,} model values, best test accuracy {_accuracy(obj['best_acc'])}",
            f"optimizer {_text(config.get('optimizer'))} with {len(state)} state entries; scheduler "
            f"{_text(config.get('scheduler'))}",
            "model state:", *describe(obj["model"])]


def info_lines(obj, path, size):
    """The lines ``gradstep info`` prints for ``obj``, loaded from ``path`` (``size`` bytes), one by one.

    The first comes before a damaged train checkpoint raises its UsageError.
    """
    yield f"{printable(str(path))}: {size:,} bytes"
    if _is_train_checkpoint(obj):
        yield from _train_lines(obj, path)
        return
    lines = describe(obj)
    yield f"{len(lines)} entries{' (first 40)' if len(lines) >= LIMIT else ''}:"
    yield from lines
