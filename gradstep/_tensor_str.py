"""``repr`` of a tensor in torch's format, and ``set_printoptions``.

The rules follow torch's printer: one formatter per tensor decides, from the
non-zero finite values (only the printed edges when the tensor is summarized),
whether floats print as integers (``1.``), fixed (``1.5000``) or scientific
(``1.5000e+03``) and how wide each element is; rows wrap at ``linewidth``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from dataclasses import dataclass

from .backend import get_default_dtype, is_float_array, xp


@dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set how tensors print (torch.set_printoptions)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        for k, v in _PROFILES[profile].items():
            setattr(PRINT_OPTS, k, v)
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    """The current print options as ``set_printoptions`` keywords (torch._tensor_str.get_printoptions)."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Set print options for a ``with`` block, restoring the previous ones after it."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """Chooses the style and width of every element of one tensor."""

    def __init__(self, arr):
        self.floating = is_float_array(arr)
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        flat = arr.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.width = max(self.width, len(str(v)))
            return
        vals = flat.astype(xp.float64)
        vals = vals[xp.isfinite(vals) & (vals != 0)]
        if vals.size == 0:
            return
        absv = xp.abs(vals)
        lo, hi = float(absv.min()), float(absv.max())
        self.int_mode = bool(xp.all(vals == xp.ceil(vals)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        p = PRINT_OPTS.precision
        for v in vals.tolist():
            if self.sci_mode:
                n = len(f"{v:.{p}e}")
            elif self.int_mode:
                n = len(f"{v:.0f}") + 1  # the trailing "."
            else:
                n = len(f"{v:.{p}f}")
            self.width = max(self.width, n)

    def format(self, v):
        p = PRINT_OPTS.precision
        if not self.floating:
            s = str(v)
        elif self.sci_mode:
            s = f"{v:{self.width}.{p}e}"
        elif self.int_mode:
            s = f"{v:.0f}"
            if math.isfinite(v):
                s += "."
        else:
            s = f"{v:.{p}f}"
        return s.rjust(self.width)


class _ComplexFormatter:
    """torch's complex elements: the real parts formatted together, then the imaginary parts
    together, joined as ``re+imj`` (``1.+2.j``, ``-0.-1.j``)."""

    def __init__(self, arr):
        self.re, self.im = _Formatter(arr.real), _Formatter(arr.imag)
        self.width = self.re.width + self.im.width + 1  # the "j"

    def format(self, v):
        im = (self.im.format(v.imag) + "j").lstrip()
        return self.re.format(v.real) + (im if im[0] in "+-" else "+" + im)


def _formatter(arr):
    return _ComplexFormatter(arr) if arr.dtype.kind == "c" else _Formatter(arr)


def _summarized(a):
    """The part of ``a`` that is printed when summarizing (edges of every dim)."""
    e = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return xp.concatenate((a[:e], a[-e:])) if a.shape[0] > 2 * e else a
    if not e:
        return a[tuple(slice(0, 0) for _ in range(a.ndim))]
    rows = list(range(a.shape[0]))
    if a.shape[0] > 2 * e:
        rows = rows[:e] + rows[-e:]
    return xp.stack([_summarized(a[i]) for i in rows])


def _vector_str(a, indent, summarize, fmt):
    e = PRINT_OPTS.edgeitems
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / (fmt.width + 2)))
    if summarize and not e:
        items = ["..."]
    elif summarize and a.shape[0] > 2 * e:
        items = [fmt.format(v) for v in a[:e].tolist()] + [" ..."]
        items += [fmt.format(v) for v in a[-e:].tolist()]
    else:
        items = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _body(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, fmt)
    e = PRINT_OPTS.edgeitems
    n = a.shape[0]
    if summarize and n > 2 * e:
        parts = [_body(a[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."]
        parts += [_body(a[i], indent + 1, summarize, fmt) for i in range(n - e, n)]
    else:
        parts = [_body(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _with_suffixes(text, suffixes, indent, first_on_new_line=False):
    """``text`` followed by ``, suffix`` items, wrapped at the line width as torch wraps them
    (a sparse tensor's repr starts its suffixes on a line of their own)."""
    out = [text]
    last = None if first_on_new_line else len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last is None or last + len(s) + 2 > PRINT_OPTS.linewidth:
            out.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            out.append(", " + s)
            last += len(s) + 2
    return "".join(out) + ")"


def tensor_repr(t, prefix="tensor(", indent=None):
    a = t._data
    ind = len(prefix) if indent is None else indent
    dt = t.dtype
    default_float = get_default_dtype()
    suffixes = []
    if a.size == 0:
        body = "[]"
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if dt is not default_float:
            suffixes.append(f"dtype={dt!r}")  # torch.float64 under the torch hook
    else:
        summarize = a.size > PRINT_OPTS.threshold
        fmt = _formatter(_summarized(a) if summarize else a)
        body = _body(a, ind, summarize, fmt)
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(a.shape)}")  # torch: with no edge items, always the size
        default_complex = "complex128" if default_float.name == "float64" else "complex64"
        if dt.name not in (default_float.name, default_complex, "int64", "bool"):
            suffixes.append(f"dtype={dt!r}")  # torch.float64 under the torch hook
    if t.grad_fn is not None:
        # torch prints the class name: "CopySlices", not name()'s "torch::autograd::CopySlices"
        suffixes.append(f"grad_fn=<{t.grad_fn.name().rsplit('::', 1)[-1]}>")
    elif t._rg:
        suffixes.append("requires_grad=True")
    if "_fw" in t.__dict__:  # a forward AD dual tensor: torch shows its tangent
        from .autograd import forward_ad

        tangent = forward_ad.unpack_dual(t).tangent
        if tangent is not None:
            suffixes.append(f"tangent={tangent}")
    return _with_suffixes(prefix + body, suffixes, ind)
