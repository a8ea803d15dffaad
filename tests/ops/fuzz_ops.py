"""The differential op fuzzer's engine: random inputs, a case run in gradstep and torch, comparison.

A ``Case`` is an op applied to arguments where each tensor argument is an ``Inp``: a NumPy
array of logical values plus a layout (contiguous, transposed, sliced with a step, or
expanded from a size-1 dim), a dtype and whether it requires grad. ``run_case`` builds the
same tensors in both libraries, calls the op, and returns a description of the first
disagreement (or None):

* errors: both raise or neither; gradstep's exception must be an instance of the builtin
  class torch's exception derives from (``torch`` raises ``RuntimeError``, ``TypeError``,
  ``IndexError``, ``ValueError`` or ``NotImplementedError``);
* outputs: count, shape, dtype, requires_grad, values (NaN-aware, tolerance below);
* gradients: backward with the same random upstream gradient for every float output that
  requires grad; each leaf's ``.grad`` compared (None vs a tensor is a disagreement).

Tolerances (``tolerance``) come from the computation's error bound in units of the output
dtype's machine epsilon ``eps``:

* ``exact``: correctly rounded IEEE operations (+ - * /, sqrt, comparisons, rounding,
  copies, indexing, min/max) and every integer/bool result: equality.
* ``ulp``: libm-style functions (exp, log, sin, tanh, pow, erf, ...) are accurate to a few
  ulp in both libraries; 8 ulp of the larger of the result and the inputs' magnitude
  (sin(x) for large x has an absolute error ~eps*|x|).
* ``sum``: a sum of n terms in any order is within n*eps*sum|x_i| <= n^2*eps*max|x| of the
  exact one; both libraries sum pairwise/blocked, so 4*n*eps*max|x| (relative and absolute)
  covers the difference of two such orders. Means, norms, logsumexp, softmax and cumsum
  inherit this bound (plus an ulp-level function, well inside it).
* ``var``: like ``sum`` over squared deviations: 4*n*eps*max|x|^2.
* ``prod``: each of n multiplications rounds once: relative 4*n*eps.
* ``mm``: a dot product of length k: 4*k*eps*max|a|*max|b| per element.

Gradients are sums over at most ``numel(output)`` terms of products of the upstream
gradient with the op's local derivative, so they get the ``sum`` bound with
n = max(case n, numel of the outputs), 4x wider for the extra rounding of the derivative,
scaled by the largest of the inputs, the upstream gradient and torch's gradient.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import gradstep

LIBS = (gradstep, torch)


# ---------------------------------------------------------------- inputs
@dataclasses.dataclass
class Inp:
    """A tensor argument: ``base`` is what the leaf holds; ``layout`` turns it into the input."""

    base: np.ndarray
    layout: str = "contig"  # contig | T | step | expand
    shape: tuple = ()  # the logical shape (for expand)
    rg: bool = False

    def build(self, lib):
        leaf = lib.tensor(self.base.copy(), requires_grad=self.rg)
        x = leaf
        if self.layout == "T":
            x = leaf.transpose(-1, -2)
        elif self.layout == "step":
            x = leaf[..., ::2]
        elif self.layout == "expand":
            x = leaf.expand(*self.shape)
        return x, leaf

    def logical(self):
        """The input's values as the op sees them."""
        if self.layout == "T":
            return np.swapaxes(self.base, -1, -2)
        if self.layout == "step":
            return self.base[..., ::2]
        if self.layout == "expand":
            return np.broadcast_to(self.base, self.shape)
        return self.base

    @property
    def is_float(self):
        return self.base.dtype.kind == "f"


@dataclasses.dataclass
class DT:
    """A dtype argument, given by name, resolved in each library."""

    name: str


@dataclasses.dataclass
class Case:
    op: str
    call: Callable
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)
    tol: str = "exact"
    n: int = 1  # the reduction length / inner size for the tolerance
    grad: bool = True  # compare gradients (False: ops whose backward torch doesn't define well)
    loose_index: bool = False  # index outputs may differ where the input has ties

    def describe(self):
        def d(a):
            if isinstance(a, Inp):
                lay = "" if a.layout == "contig" else "/" + a.layout
                return f"T{tuple(a.shape)}:{a.base.dtype}{lay}{'*' if a.rg else ''}"
            if isinstance(a, (list, tuple)):
                return "[" + ", ".join(d(x) for x in a) + "]"
            if isinstance(a, DT):
                return a.name
            return repr(a)
        kw = ", ".join(f"{k}={d(v)}" for k, v in self.kwargs.items())
        return f"{self.op}({', '.join(d(a) for a in self.args)}{', ' if kw else ''}{kw})"


def _convert(a, lib, leaves):
    if isinstance(a, Inp):
        x, leaf = a.build(lib)
        if a.rg:
            leaves.append(leaf)
        return x
    if isinstance(a, DT):
        return getattr(lib, a.name)
    if isinstance(a, list):
        return [_convert(x, lib, leaves) for x in a]
    if isinstance(a, tuple):
        return tuple(_convert(x, lib, leaves) for x in a)
    return a


# ---------------------------------------------------------------- running
@dataclasses.dataclass
class Result:
    error: BaseException | None = None
    outs: list = dataclasses.field(default_factory=list)  # tensors or Python values
    leaves: list = dataclasses.field(default_factory=list)
    inputs: list = dataclasses.field(default_factory=list)  # every tensor argument
    bwd_error: BaseException | None = None


def _flatten(out):
    if isinstance(out, (list, tuple)):
        res = []
        for o in out:
            res.extend(_flatten(o))
        return res
    return [out]


def _run(case, lib, upstream):
    leaves: list = []
    args = _convert(case.args, lib, leaves)
    kwargs = {k: _convert(v, lib, leaves) for k, v in case.kwargs.items()}
    res = Result(leaves=leaves, inputs=[x for x in _flatten([args, list(kwargs.values())])
                                        if isinstance(x, lib.Tensor)])
    try:
        res.outs = _flatten(case.call(lib, *args, **kwargs))
    except Exception as e:  # noqa: BLE001 - the exception itself is compared
        res.error = e
        return res
    if not case.grad:
        return res
    diff = [o for o in res.outs if isinstance(o, lib.Tensor) and o.requires_grad]
    if not diff:
        return res
    grads = upstream([tuple(o.shape) for o in diff], [str(o.dtype).split(".")[-1] for o in diff])
    try:
        lib.autograd.backward(diff, [lib.tensor(g) for g in grads])
    except Exception as e:  # noqa: BLE001
        res.bwd_error = e
    return res


_FAMILIES = (NotImplementedError, IndexError, ValueError, TypeError, ZeroDivisionError,
             RuntimeError)


def _family(exc):
    for cls in type(exc).__mro__:
        if cls in _FAMILIES:
            return cls
    return Exception


def run_case(case: Case, seed: int = 0) -> str | None:
    """Run ``case`` in both libraries; a one-line description of how they disagree, or None."""
    g = np.random.default_rng(seed)
    cache: dict = {}

    def upstream(shapes, dtypes):  # the same random upstream gradients for both libraries
        key = (tuple(shapes), tuple(dtypes))
        if key not in cache:
            cache[key] = [_random_like(g, s, d) for s, d in zip(shapes, dtypes)]
        return cache[key]

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        ours = _run(case, gradstep, upstream)
        theirs = _run(case, torch, upstream)
    return compare(case, ours, theirs)


def _random_like(g, shape, dtype):
    """Standard normal values of ``dtype`` (complex ones get a random imaginary part too)."""
    x = g.standard_normal(shape)
    if dtype.startswith("complex"):
        x = x + 1j * g.standard_normal(shape)
    return x.astype(dtype)


def _err_mismatch(what, ours, theirs):
    if theirs is None and ours is None:
        return None
    if theirs is None:
        return f"{what}: gradstep raised {type(ours).__name__}: {str(ours)[:120]}; torch did not"
    if ours is None:
        return (f"{what}: torch raised {type(theirs).__name__}: {str(theirs)[:120]}; "
                "gradstep did not")
    fam = _family(theirs)
    if not isinstance(ours, fam):
        return (f"{what}: gradstep raised {type(ours).__name__} ({str(ours)[:80]}), torch "
                f"{type(theirs).__name__} ({str(theirs)[:80]})")
    return None


def compare(case, ours: Result, theirs: Result) -> str | None:
    err = _err_mismatch("forward", ours.error, theirs.error)
    if err or theirs.error is not None:
        return err
    if len(ours.outs) != len(theirs.outs):
        return f"{len(ours.outs)} outputs, torch {len(theirs.outs)}"
    scale = _input_scale(case)
    for i, (a, b) in enumerate(zip(ours.outs, theirs.outs)):
        msg = _compare_out(case, a, b, scale, i, theirs.outs)
        if msg:
            return msg
    if not case.grad or (case.loose_index and _has_ties(case)):
        return None  # which of tied elements gets the gradient is the library's choice
    err = _err_mismatch("backward", ours.bwd_error, theirs.bwd_error)
    if err or theirs.bwd_error is not None:
        return err
    t_outs = [o for o in theirs.outs if isinstance(o, torch.Tensor)]
    if t_outs and not any(o.numel() for o in t_outs):
        return None  # torch's gradient of an empty output can be uninitialized memory (pad, reflect)
    n = max([case.n] + [o.numel() for o in theirs.outs if isinstance(o, torch.Tensor)])
    for i, (a, b) in enumerate(zip(ours.leaves, theirs.leaves)):
        if (a.grad is None) != (b.grad is None):
            return f"grad of input {i}: gradstep {_desc(a.grad)}, torch {_desc(b.grad)}"
        if b.grad is None:
            continue
        gscale = max(scale, _maxabs(_np(b.grad)), 4.0)
        msg = _compare_arrays(a.grad, b.grad, "sum", n, gscale, f"grad of input {i}", widen=4.0,
                              coarsest_eps=_coarsest_eps(theirs.outs + theirs.inputs))
        if msg:
            return msg
    return None


def _coarsest_eps(outs):
    """A gradient may be computed in any dtype taking part (torch's pow computes exponent - 1 in
    the exponent's dtype): the coarsest one bounds its error."""
    eps = [float(torch.finfo(o.dtype).eps) for o in outs
           if isinstance(o, torch.Tensor) and (o.dtype.is_floating_point or o.dtype.is_complex)]
    return max(eps, default=0.0)


def _np(t):
    """A tensor's values as a NumPy array: torch's lazy conjugate/negative views resolved, and
    its ZeroTensor (the gradient of e.g. ``sgn`` of a real input) as zeros."""
    t = t.detach()
    if isinstance(t, torch.Tensor):
        if t._is_zerotensor():
            return np.zeros(tuple(t.shape), str(t.dtype).split(".")[-1])
        t = t.resolve_conj().resolve_neg()
    return t.numpy()


def _desc(t):
    return "None" if t is None else f"{t.detach().numpy().dtype.name}{list(t.shape)}"


def _compare_out(case, a, b, scale, i, all_theirs):
    if not isinstance(b, torch.Tensor):
        if isinstance(a, gradstep.Tensor) or a != b:
            return f"output {i}: gradstep {a!r}, torch {b!r}"
        return None
    if not isinstance(a, gradstep.Tensor):
        return f"output {i}: gradstep returned {type(a).__name__}, torch a Tensor"
    if a.requires_grad != b.requires_grad:
        return f"output {i}: requires_grad {a.requires_grad}, torch {b.requires_grad}"
    if case.loose_index and b.dtype == torch.int64 and _has_ties(case):
        return None
    return _compare_arrays(a, b, case.tol, case.n, scale, f"output {i}")


def _has_ties(case):
    for a in case.args:
        if isinstance(a, Inp):
            x = a.logical()
            v = x[~np.isnan(x)] if a.is_float else x.ravel()
            if np.unique(v).size < v.size or (a.is_float and np.isnan(x).any()):
                return True
    return False


def _maxabs(x):
    x = np.asarray(x)
    if x.dtype.kind not in "fiuc" or x.size == 0:
        return 0.0
    x = np.abs(x).astype(np.float64)
    x = x[np.isfinite(x)]
    return float(x.max()) if x.size else 0.0


def _input_scale(case):
    m = 1.0
    for a in list(case.args) + list(case.kwargs.values()):
        for x in (a if isinstance(a, (list, tuple)) else [a]):
            if isinstance(x, Inp):
                m = max(m, _maxabs(x.base))
            elif isinstance(x, (int, float)) and not isinstance(x, bool):
                m = max(m, abs(float(x)) if np.isfinite(x) else 1.0)
    return m


def tolerance(kind, n, eps, scale):
    """(rtol, atol) for an output of machine epsilon ``eps`` (module docstring: the bounds)."""
    n = max(int(n), 1)
    if kind == "exact":
        return 0.0, 0.0
    if kind == "ulp":
        return 8 * eps, 8 * eps * scale
    if kind == "sum":
        return 4 * n * eps, 4 * n * eps * scale
    if kind == "var":
        return 4 * n * eps, 4 * n * eps * scale * scale
    if kind == "prod":
        return 4 * n * eps, 0.0
    if kind == "mm":
        return 4 * n * eps, 4 * n * eps * scale * scale
    raise ValueError(kind)


def _compare_arrays(a, b, kind, n, scale, what, widen=1.0, coarsest_eps=0.0):
    an, bn = _np(a), _np(b)
    da, db = an.dtype.name, str(b.dtype).split(".")[-1]  # the array's: no unsupported dtype hides
    if da != db:
        return f"{what}: dtype {da}, torch {db}"
    if an.shape != bn.shape:
        return f"{what}: shape {an.shape}, torch {bn.shape}"
    if bn.dtype.kind == "c":  # complex: the real and imaginary parts, each to the bound
        an, bn = _real_pairs(an), _real_pairs(bn)
    if bn.dtype.kind != "f":
        if not np.array_equal(an, bn):
            return f"{what}: values differ ({_first_diff(an, bn)})"
        return None
    rtol, atol = tolerance(kind, n, max(float(np.finfo(bn.dtype).eps), coarsest_eps), scale)
    rtol, atol = rtol * widen, atol * widen
    a64, b64 = an.astype(np.float64), bn.astype(np.float64)
    same_nan = np.isnan(a64) == np.isnan(b64)
    fin = np.isfinite(b64)
    with np.errstate(all="ignore"):
        close = np.where(fin, np.abs(a64 - b64) <= atol + rtol * np.abs(b64),
                         (a64 == b64) | (np.isnan(a64) & np.isnan(b64)))
    if not (same_nan & close).all():
        return f"{what}: values differ ({_first_diff(an, bn, ~(same_nan & close))})"
    return None


def _real_pairs(x):
    return np.stack([x.real, x.imag], axis=-1)


def _first_diff(a, b, mask=None):
    if mask is None:
        mask = a != b
    idx = tuple(int(i) for i in np.argwhere(mask)[0]) if mask.ndim else ()
    return f"at {idx}: {a[idx]!r} vs torch {b[idx]!r}"


def describe_failure(case, msg):
    return f"{case.describe()}: {msg}"


__all__ = ["Case", "DT", "Inp", "disagreement", "run_case", "tolerance", "Any"]


def _wrap(a, rg):
    if isinstance(a, np.ndarray):
        return Inp(a, "contig", a.shape, rg and a.dtype.kind == "f")
    if isinstance(a, list):
        return [_wrap(x, rg) for x in a]
    if isinstance(a, tuple):
        return tuple(_wrap(x, rg) for x in a)
    return a


def disagreement(call, *args, rg=True, tol="exact", n=1, **kwargs):
    """How ``call(lib, *args, **kwargs)`` differs between gradstep and torch (None: it doesn't).

    NumPy arrays among the arguments become tensors (float ones requiring grad unless
    ``rg=False``); the comparison is ``run_case``'s: errors, outputs and gradients.
    """
    case = Case("regression", call, _wrap(args, rg), {k: _wrap(v, rg) for k, v in kwargs.items()},
                tol=tol, n=n)
    return run_case(case)


def print_report(names, run, per, start, key, width):
    """Run ``run(name, per, start)`` for each name and print the disagreements grouped by
    ``(name, key(message))``, one example of each (the drivers' command-line report)."""
    from collections import defaultdict

    groups = defaultdict(list)
    nfail = 0
    for name in names:
        for f in run(name, per, start):
            nfail += 1
            groups[(name, key(f))].append(f)
    print(f"{per * len(names)} cases, {nfail} disagreements, {len(groups)} groups")
    for _, fs in sorted(groups.items()):
        print(f"{len(fs):4d}  {fs[0][:width]}")

