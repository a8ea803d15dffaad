"""``repr`` of a tensor in torch's format."""

from __future__ import annotations

from .backend import get_default_dtype, xp

_THRESHOLD = 1000
_EDGE = 3


def _float_formatter(values):
    finite = values[xp.isfinite(values)] if values.size else values
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.4f}"
    absf = xp.abs(finite)
    nonzero = absf[absf > 0]
    ints = bool(xp.all(finite == xp.round(finite)))
    if ints:
        if absf.max() >= 1e8:
            return lambda v: _special(v) or f"{v:.4e}"
        return lambda v: _special(v) or f"{v:.0f}."
    mx = float(absf.max())
    mn = float(nonzero.min()) if nonzero.size else 0.0
    if mx >= 1e8 or (mn and (mx / mn > 1000.0 or mn < 1e-4)):
        return lambda v: _special(v) or f"{v:.4e}"
    return lambda v: _special(v) or f"{v:.4f}"


def _special(v):
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    return None


def _summarize(a):
    return a.size > _THRESHOLD


def _format(a, fmt, indent, summarize):
    if a.ndim == 0:
        return fmt(a.item())
    if a.ndim == 1:
        n = a.shape[0]
        if summarize and n > 2 * _EDGE:
            items = [fmt(v) for v in a[:_EDGE].tolist()] + ["..."] + [fmt(v) for v in a[-_EDGE:].tolist()]
        else:
            items = [fmt(v) for v in a.tolist()]
        width = max((len(s) for s in items), default=0)
        items = [s.rjust(width) for s in items]
        return "[" + ", ".join(items) + "]"
    n = a.shape[0]
    rows = range(n)
    if summarize and n > 2 * _EDGE:
        rows = list(range(_EDGE)) + [None] + list(range(n - _EDGE, n))
    parts = [("..." if i is None else _format(a[i], fmt, indent + 1, summarize)) for i in rows]
    sep = "," + "\n" * (a.ndim - 1) + " " * (indent + 1)
    return "[" + sep.join(parts) + "]"


def _pad_widths(a, fmt, summarize):
    """Format every element once to find the common width, as torch aligns columns."""
    flat = a.reshape(-1)
    if summarize:
        return None
    strs = [fmt(v) for v in flat.tolist()]
    width = max((len(s) for s in strs), default=0)
    return lambda v: fmt(v).rjust(width)


def tensor_repr(t, prefix="tensor(", indent=None):
    a = t._data
    summarize = _summarize(a)
    if a.dtype.kind == "f":
        base = _float_formatter(a.astype(xp.float64).reshape(-1))
    elif a.dtype.kind == "b":
        base = lambda v: str(bool(v))  # noqa: E731
    else:
        base = lambda v: str(int(v))  # noqa: E731
    fmt = _pad_widths(a, base, summarize) or base
    ind = len(prefix) if indent is None else indent
    body = _format(a, fmt, ind, summarize) if a.size or a.ndim == 0 else "[]"
    suffix = []
    if a.size == 0 and a.ndim != 1:
        suffix.append(f"size={tuple(a.shape)}")
    dt = t.dtype
    default_kinds = (get_default_dtype().name, "int64", "bool")
    if dt.name not in default_kinds:
        suffix.append(f"dtype=gradstep.{dt.name}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._rg:
        suffix.append("requires_grad=True")
    return prefix + body + "".join(", " + s for s in suffix) + ")"
