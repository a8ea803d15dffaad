"""The nn.functional fuzzer's layer generators: convolutions, pools, norms, embeddings, padding,
resampling and the small layer functions (losses and activations: ``fuzz_functional_loss``).

Each generator takes a ``Rand`` (``tests.ops.fuzz_gen``) and returns a ``Case`` run by
``tests.ops.fuzz_ops.run_case``. Shapes are small (batch 1, size-1 spatial dims, sometimes
unbatched or of the wrong rank); inputs are float32/float64, contiguous, transposed, sliced with
a step or expanded; requires_grad is drawn per tensor. Arguments are mostly valid, with a few
percent of invalid combinations, where both libraries must raise.

Tolerances follow the engine's bounds: ``mm`` with n = the dot length (C_in/groups * kernel
size for a convolution), ``sum`` with n = the window or normalized count for pools and norms.
Max pools draw distinct values (``distinct``), so no window has a tie and indices and
gradients are comparable.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from tests.ops.fuzz_gen import NNF, SPECIAL
from tests.ops.fuzz_ops import DT, Case, Inp

FLOATS = ("float32", "float64")


def numel(shape):
    return int(np.prod(shape)) if shape else 1


def fvals(r, shape, dt, scale=1.0, special=0.02, distinct=False):
    """Random float values; ``distinct``: no two equal (a permutation of a scaled grid)."""
    g = r.g
    if distinct:
        n = numel(shape)
        return ((g.permutation(n) - n / 2) * 0.37 * scale).reshape(shape).astype(dt)
    v = g.standard_normal(shape) * scale
    if r.p(0.1):
        v = np.round(v * 2) / 2
    if special and r.p(special) and v.size:
        v = np.where(g.random(shape) < 0.2, g.choice(SPECIAL, size=shape), v)
    return v.astype(dt)


def ften(r, shape, dt, rg=None, distinct=False, scale=1.0, special=0.02, layout=None, vals=None):
    """A float tensor argument with a random layout (never ``expand`` when ``distinct``)."""
    shape = tuple(shape)
    if vals is None:
        vals = fvals(r, shape, dt, scale, special, distinct)
    if distinct and layout is None:
        layout = r.choice(["contig"] * 3 + (["T"] if len(shape) >= 2 else [])
                          + (["step"] if shape else []))
    return r.tensor(shape, dt, rg=rg, layout=layout, vals=vals)


def itensor(r, vals):
    vals = np.asarray(vals, dtype="int64")
    return r.tensor(vals.shape, "int64", layout="contig", vals=vals)


def tup_or_int(r, vals, nd):
    """An int or an nd-tuple drawn from ``vals``."""
    if r.p(0.5):
        return r.choice(vals)
    return tuple(r.choice(vals) for _ in range(nd))


def expand(v, nd):
    return v if isinstance(v, tuple) else (v,) * nd


def batched_shape(r, channels, spatial, batch_hi=2):
    """(N, C, *spatial), or unbatched (C, *spatial) at times."""
    lead = (r.int(1, batch_hi),) if r.p(0.85) else ()
    return lead + (channels,) + tuple(spatial)


# ---------------------------------------------------------------- convolutions
def _padding(r, nd):
    c = r.int(0, 5)
    if c <= 1:
        return r.int(0, 2)
    if c == 2:
        return tuple(r.int(0, 2) for _ in range(nd))
    return "same" if c == 3 else ("valid" if c == 4 else 0)


def gen_conv(nd):
    def gen(r):
        dt = r.choice(FLOATS)
        groups = r.choice((1, 1, 2, 3))
        cin, cout = groups * r.int(1, 2), groups * r.int(1, 2)
        if r.p(0.03):
            cin += 1  # not divisible by groups
        k = tuple(r.int(1, 3) for _ in range(nd))
        sp = tuple(r.int(1, 6 if nd < 3 else 4) for _ in range(nd))
        x = ften(r, batched_shape(r, cin, sp), dt)
        w = ften(r, (cout, max(cin // groups, 1)) + k, dt)
        bias = ften(r, (cout,), dt) if r.p(0.6) else None
        kw = {"padding": _padding(r, nd), "groups": groups}
        if r.p(0.5):
            kw["stride"] = tup_or_int(r, (1, 1, 2, 3), nd)
        if r.p(0.4):
            kw["dilation"] = tup_or_int(r, (1, 2), nd)
        _finite_for_onednn(x, w, kw, False)
        return Case(f"conv{nd}d", NNF(f"conv{nd}d"), (x, w, bias), kw, tol="mm",
                    n=max(cin // groups, 1) * numel(k) + 1)
    return gen


def gen_conv_transpose(nd):
    def gen(r):
        dt = r.choice(FLOATS)
        groups = r.choice((1, 1, 2))
        cin, cout = groups * r.int(1, 2), groups * r.int(1, 2)
        k = tuple(r.int(1, 3) for _ in range(nd))
        sp = tuple(r.int(1, 4) for _ in range(nd))
        x = ften(r, batched_shape(r, cin, sp), dt)
        w = ften(r, (cin, cout // groups) + k, dt)
        bias = ften(r, (cout,), dt) if r.p(0.6) else None
        stride = tup_or_int(r, (1, 2, 3), nd)
        dilation = tup_or_int(r, (1, 1, 2), nd)
        limit = [max(s, d) for s, d in zip(expand(stride, nd), expand(dilation, nd))]
        outpad = 0 if r.p(0.4) else tuple(r.int(0, m - 1 + (r.p(0.05))) for m in limit)
        kw = {"stride": stride, "padding": tup_or_int(r, (0, 0, 1), nd),
              "output_padding": outpad, "groups": groups, "dilation": dilation}
        _finite_for_onednn(x, w, kw, True)
        return Case(f"conv_transpose{nd}d", NNF(f"conv_transpose{nd}d"), (x, w, bias), kw,
                    tol="mm", n=cin * numel(k) + 1)
    return gen


def _finite_for_onednn(x, w, kw, transposed):
    """Make an inf/NaN weight (and a transposed convolution's input) finite where torch runs
    the convolution on oneDNN.

    Where an inf meets a zero (the padding, or the grid an input gradient or a transposed
    convolution scatters over), 0 * inf is NaN or not by kernel. torch's native kernels are
    consistent, and gradstep follows them: im2col multiplies the padding (a convolution's
    output, a transposed one's input and weight gradients: NaN), col2im adds only the taps
    that reach a pixel (a convolution's input gradient, a transposed one's output). oneDNN
    (float32, picked by a heuristic that counts threads) does either, by its implementation
    for the shape and the CPU's ISA (NaN at input-gradient pixels past the last window, say).
    torch names the backend it picks."""
    arrays = (w, x) if transposed else (w,)
    if w.base.dtype != np.float32 or all(np.isfinite(a.base).all() for a in arrays):
        return
    nd = w.base.ndim - 2
    stride = list(expand(kw.get("stride", 1), nd))
    dilation = list(expand(kw.get("dilation", 1), nd))
    pad = kw.get("padding", 0)
    pad = [0] * nd if isinstance(pad, str) else list(expand(pad, nd))
    outpad = list(expand(kw.get("output_padding", 0), nd)) if transposed else [0] * nd
    xt = torch.from_numpy(np.ascontiguousarray(x.logical()))
    wt = torch.from_numpy(np.ascontiguousarray(w.logical()))
    try:
        backend = torch._C._select_conv_backend(xt, wt, None, stride, pad, dilation, transposed,
                                                outpad, kw["groups"], None)
    except (RuntimeError, TypeError):
        return  # an invalid call: both libraries raise
    if not str(backend).split(".")[-1].startswith("Slow"):
        for a in arrays:
            a.base = np.where(np.isfinite(a.base), a.base, np.float32(1.5))


# ---------------------------------------------------------------- pooling
def _pool_geometry(r, nd, max_pad_ok=True):
    k = tup_or_int(r, (1, 2, 3), nd)
    kw = {}
    if r.p(0.6):
        kw["stride"] = tup_or_int(r, (1, 2, 3), nd)
    if r.p(0.5):
        half = min(expand(k, nd)) // 2
        kw["padding"] = r.int(0, half + (1 if r.p(0.05) else 0)) if max_pad_ok else 0
    if r.p(0.3):
        kw["ceil_mode"] = True
    return k, kw


def gen_max_pool(nd):
    def gen(r):
        dt = r.choice(FLOATS)
        sp = tuple(r.int(1, 6 if nd < 3 else 4) for _ in range(nd))
        x = ften(r, batched_shape(r, r.int(1, 3), sp), dt, distinct=True)
        k, kw = _pool_geometry(r, nd)
        if r.p(0.3):
            kw["dilation"] = tup_or_int(r, (1, 2), nd)
        kw["return_indices"] = r.p(0.5)
        if _index_past_plane(sp, k, kw):
            x.rg = False  # torch's backward would write out of bounds (see the helper)
        return Case(f"max_pool{nd}d", NNF(f"max_pool{nd}d"), (x, k), kw, loose_index=True)
    return gen


def _index_past_plane(sp, k, kw):
    """Whether a window of this max pool lies wholly in the padding and torch's index for it
    (the flat position of its first non-negative taps) is past the input plane: torch's
    backward adds that window's gradient at the index unchecked, corrupting memory (seen as
    'double free or corruption'), so such calls are compared forward only."""
    nd = len(sp)
    k, s = expand(k, nd), expand(kw.get("stride", k), nd)
    p, d = expand(kw.get("padding", 0), nd), expand(kw.get("dilation", 1), nd)
    flat = np.zeros((), dtype=np.int64)
    for i in range(nd):
        span = sp[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1
        out = (-(-span // s[i]) if kw.get("ceil_mode") else span // s[i]) + 1
        if kw.get("ceil_mode") and (out - 1) * s[i] >= sp[i] + p[i]:
            out -= 1
        if out <= 0:
            return False  # both libraries raise
        start = np.arange(out) * s[i] - p[i]
        taps = np.where(start < 0, start + (-start + d[i] - 1) // d[i] * d[i], start)
        flat = flat[..., None] * sp[i] + taps
    return bool(flat.size and flat.max() >= numel(sp))


def gen_avg_pool(nd):
    def gen(r):
        dt = r.choice(FLOATS)
        sp = tuple(r.int(1, 6 if nd < 3 else 4) for _ in range(nd))
        x = ften(r, batched_shape(r, r.int(1, 3), sp), dt)
        k, kw = _pool_geometry(r, nd)
        if r.p(0.4):
            kw["count_include_pad"] = False
        if nd > 1 and r.p(0.25):
            kw["divisor_override"] = r.choice((1, 3, 0)) if r.p(0.1) else r.choice((1, 3))
        return Case(f"avg_pool{nd}d", NNF(f"avg_pool{nd}d"), (x, k), kw, tol="sum",
                    n=numel(expand(k, nd)))
    return gen


def _adaptive_size(r, nd):
    vals = (1, 2, 3, 4)
    if nd == 1 or r.p(0.4):
        return r.choice(vals)
    return tuple(None if r.p(0.2) else r.choice(vals) for _ in range(nd))


def gen_adaptive_avg(nd):
    def gen(r):
        dt = r.choice(FLOATS)
        sp = tuple(r.int(1, 6 if nd < 3 else 4) for _ in range(nd))
        x = ften(r, batched_shape(r, r.int(1, 3), sp), dt)
        return Case(f"adaptive_avg_pool{nd}d", NNF(f"adaptive_avg_pool{nd}d"),
                    (x, _adaptive_size(r, nd)), tol="sum", n=numel(sp))
    return gen


def gen_adaptive_max(nd):
    def gen(r):
        dt = r.choice(FLOATS)
        sp = tuple(r.int(1, 6) for _ in range(nd))
        x = ften(r, batched_shape(r, r.int(1, 3), sp), dt, distinct=True)
        kw = {"return_indices": r.p(0.5)}
        return Case(f"adaptive_max_pool{nd}d", NNF(f"adaptive_max_pool{nd}d"),
                    (x, _adaptive_size(r, nd)), kw, loose_index=True)
    return gen


def gen_lp_pool(nd):
    def gen(r):
        dt = r.choice(FLOATS)
        sp = tuple(r.int(1, 6) for _ in range(nd))
        x = ften(r, batched_shape(r, r.int(1, 3), sp), dt, special=0.0)
        k, kw = _pool_geometry(r, nd, max_pad_ok=False)
        kw.pop("padding", None)
        if nd == 1:  # torch's lp_pool1d takes an int kernel_size and stride (documented)
            k, kw["stride"] = expand(k, 1)[0], expand(kw.get("stride", 1), 1)[0]
        p = r.choice((1, 2, 2.0, 3, 1.5))
        return Case(f"lp_pool{nd}d", NNF(f"lp_pool{nd}d"), (x, p, k), kw, tol="sum",
                    n=4 * numel(expand(k, nd)))
    return gen


# ---------------------------------------------------------------- normalization
def _affine(r, shape, dt):
    w = ften(r, shape, dt, special=0.0) if r.p(0.6) else None
    b = ften(r, shape, dt, special=0.0) if r.p(0.6) else None
    return w, b


def _running(r, c, dt):
    mean = r.tensor((c,), dt, rg=False, layout="contig", vals=fvals(r, (c,), dt, special=0.0))
    var = r.tensor((c,), dt, rg=False, layout="contig",
                   vals=r.g.uniform(0.5, 2.0, (c,)).astype(dt))
    return mean, var


def _with_stats(name):
    """Call ``name`` and return its output with copies of the running stats it updated."""
    def call(lib, x, rm, rv, *a, **k):
        out = getattr(lib.nn.functional, name)(x, rm, rv, *a, **k)
        return (out,) + tuple(s.clone() for s in (rm, rv) if s is not None)
    return call


def gen_batch_norm(r):
    dt = r.choice(FLOATS)
    c = r.int(1, 3)
    x = ften(r, (r.int(1, 3), c) + tuple(r.int(1, 3) for _ in range(r.int(0, 2))), dt)
    rm, rv = _running(r, c, dt) if r.p(0.7) else (None, None)
    w, b = _affine(r, (c,), dt)
    if w is not None and w.layout != "contig":
        # torch bug: its CPU batch_norm backward reads a non-contiguous weight as if it were
        # contiguous (a stepped one at the wrong entries, an expanded one out of bounds), so
        # the input's gradient is wrong: compare with a contiguous copy (same values)
        w = Inp(np.ascontiguousarray(w.logical()), "contig", w.shape, w.rg)
    kw = {"training": r.p(0.6), "momentum": r.choice((0.1, 0.5, 1.0, 0.0)),
          "eps": r.choice((1e-5, 1e-3))}
    count = numel(x.shape) // c
    cond = norm_conditioning(np.moveaxis(x.logical(), 1, 0).reshape(c, -1), kw["eps"]) \
        if kw["training"] else 1.0  # batch statistics: a channel of equal values, say
    return Case("batch_norm", _with_stats("batch_norm"), (x, rm, rv, w, b), kw, tol="sum",
                n=4 * count * cond)


def gen_instance_norm(r):
    dt = r.choice(FLOATS)
    c = r.int(1, 3)
    x = ften(r, (r.int(1, 2), c) + tuple(r.int(1, 4) for _ in range(r.int(1, 2))), dt)
    rm, rv = _running(r, c, dt) if r.p(0.5) else (None, None)
    w, b = _affine(r, (c,), dt)
    kw = {"use_input_stats": r.p(0.8), "momentum": r.choice((0.1, 0.5)),
          "eps": r.choice((1e-5, 1e-3))}
    count = numel(x.shape[2:])
    cond = norm_conditioning(x.logical().reshape(numel(x.shape[:2]), -1), kw["eps"]) \
        if kw["use_input_stats"] else 1.0
    return Case("instance_norm", _with_stats("instance_norm"), (x, rm, rv, w, b), kw,
                tol="sum", n=4 * count * x.shape[0] * cond)


def gen_layer_norm(r):
    dt = r.choice(FLOATS)
    shape = tuple(r.int(1, 4) for _ in range(r.int(1, 3)))
    k = r.int(1, len(shape))
    norm = shape[len(shape) - k:]
    if r.p(0.03):
        norm = norm[:-1] + (norm[-1] + 1,)  # does not match the input
    w, b = _affine(r, norm, dt)
    x = ften(r, shape, dt)
    arg = list(norm) if r.p(0.3) else norm
    eps = r.choice((1e-5, 1e-3))
    fits = shape[len(shape) - k:] == norm
    cond = norm_conditioning(x.logical().reshape(-1, numel(norm)), eps) if fits else 1.0
    return Case("layer_norm", NNF("layer_norm"), (x, arg, w, b), {"eps": eps}, tol="sum",
                n=4 * numel(norm) * numel(shape) * cond)


def norm_conditioning(groups, eps):
    """How much a normalization magnifies rounding, for ``groups`` (..., k) of the values
    normalized together: the factor to widen a ``sum`` tolerance by (at least 1).

    xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps): an absolute rounding error of
    n*eps_f*max|x| in x - mean (torch's fused x*scale + shift form cancels there too) becomes
    n*eps_f*max|x|*rstd in the output. The input gradient rstd * (g - mean(g) - xhat *
    mean(g * xhat)) multiplies that error in xhat by rstd once more: max|x| * rstd**2. For a
    group of equal values (one value per group) var = 0 and rstd = 1/sqrt(eps): the output is
    exactly the bias and the gradient 0, and what either library returns beyond that is
    rounding magnified by these factors.
    """
    v = np.where(np.isfinite(groups), groups, np.nan).astype(np.float64)
    if v.size == 0 or np.isnan(v).all(axis=-1).all():
        return 1.0
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN group
        rstd = 1.0 / np.sqrt(np.nanmin(np.nanvar(v, axis=-1)) + eps)
    return max(1.0, float(np.nanmax(np.abs(v))) * max(rstd, rstd * rstd))


def gen_group_norm(r):
    dt = r.choice(FLOATS)
    groups = r.int(1, 3)
    c = groups * r.int(1, 2) + (1 if r.p(0.04) else 0)
    x = ften(r, (r.int(1, 2), c) + tuple(r.int(1, 3) for _ in range(r.int(0, 2))), dt)
    w, b = _affine(r, (c,), dt)
    n = numel(x.shape[1:]) // groups
    eps = r.choice((1e-5, 1e-3))
    cond = 1.0 if c % groups else norm_conditioning(
        x.logical().reshape(x.shape[0], groups, -1), eps)
    return Case("group_norm", NNF("group_norm"), (x, groups, w, b), {"eps": eps}, tol="sum",
                n=4 * n * x.shape[0] * cond)


def gen_local_response_norm(r):
    dt = r.choice(FLOATS)
    x = ften(r, (r.int(1, 2), r.int(1, 5)) + tuple(r.int(1, 3) for _ in range(r.int(0, 3))), dt,
             special=0.0)
    size = r.int(1, 4)
    kw = {"alpha": r.choice((1e-4, 0.5)), "beta": r.choice((0.75, 1.0, 0.5)),
          "k": r.choice((1.0, 2.0))}
    return Case("local_response_norm", NNF("local_response_norm"), (x, size), kw, tol="sum",
                n=4 * size)


def gen_normalize(r):
    dt = r.choice(FLOATS)
    shape = tuple(r.int(1, 4) for _ in range(r.int(1, 3)))
    x = ften(r, shape, dt)
    dim = r.int(-len(shape), len(shape) - 1)
    kw = {"p": r.choice((1, 2, 2.0, 3, float("inf"), 0.5)), "dim": dim}
    if r.p(0.3):
        kw["eps"] = 0.5
    return Case("normalize", NNF("normalize"), (x,), kw, tol="sum", n=4 * shape[dim])


# ---------------------------------------------------------------- embeddings
def _renormed(name):
    """``max_norm`` renormalizes the weight in place: run on a copy and return it too."""
    def call(lib, idx, w, *a, **k):
        if k.get("max_norm") is None:
            return getattr(lib.nn.functional, name)(idx, w, *a, **k)
        w2 = w.clone()
        out = getattr(lib.nn.functional, name)(idx, w2, *a, **k)
        return out, w2.detach()
    return call


def gen_embedding(r):
    dt = r.choice(FLOATS)
    v, d = r.int(1, 5), r.int(1, 3)
    ishape = tuple(r.int(0 if r.p(0.05) else 1, 3) for _ in range(r.int(0, 2)))
    hi = v if r.p(0.04) else v - 1
    idx = itensor(r, r.g.integers(0, hi + 1, size=ishape))
    w = ften(r, (v, d), dt, special=0.0, rg=r.p(0.8))
    kw = {}
    if r.p(0.4):
        kw["padding_idx"] = r.int(-v, v - 1) if r.p(0.95) else v
    if r.p(0.3):
        kw["max_norm"] = r.choice((0.5, 1.0))
        kw["norm_type"] = r.choice((2.0, 1.0, 3.0))
    if r.p(0.2):
        kw["scale_grad_by_freq"] = True
    return Case("embedding", _renormed("embedding"), (idx, w), kw, tol="sum", n=8 * d)


def gen_embedding_bag(r):
    dt = r.choice(FLOATS)
    v, d = r.int(1, 5), r.int(1, 3)
    w = ften(r, (v, d), dt, special=0.0, distinct=True)
    kw = {"mode": r.choice(("sum", "mean", "max"))}
    if r.p(0.5):
        idx = itensor(r, r.g.integers(0, v, size=(r.int(1, 3), r.int(1, 3))))
        n_pos = idx.shape
    else:
        n = r.int(0, 6)
        idx = itensor(r, r.g.integers(0, v, size=(n,)))
        cuts = sorted(r.g.integers(0, n + 1, size=r.int(1, 3)).tolist())
        cuts[0] = 0
        kw["include_last_offset"] = r.p(0.3)
        if kw["include_last_offset"]:
            cuts.append(n)  # torch segfaults on a single offset (no bag) here
        kw["offsets"] = itensor(r, cuts)
        n_pos = (n,)
    if kw["mode"] == "sum" and r.p(0.4):
        kw["per_sample_weights"] = ften(r, n_pos, dt, special=0.0)
    if r.p(0.3):
        kw["padding_idx"] = r.int(0, v - 1)
    if r.p(0.2):
        kw["max_norm"] = 1.0
    return Case("embedding_bag", _renormed("embedding_bag"), (idx, w), kw, tol="sum", n=8 * d)


# ---------------------------------------------------------------- padding, resampling
def gen_pad(r):
    dt = r.choice(FLOATS)
    mode = r.choice(("constant", "constant", "reflect", "replicate", "circular"))
    nd = r.int(2, 5) if mode != "constant" else r.int(1, 4)
    shape = tuple(r.int(1, 4) for _ in range(nd))
    x = ften(r, shape, dt)
    k = r.int(1, min(nd, 3) if mode != "constant" else nd)
    if mode != "constant" and r.p(0.85):
        k = r.int(1, min(max(nd - 2, 1), 3))  # the dims these modes pad
    pads = tuple(r.int(-1 if r.p(0.3) else 0, 3) for _ in range(2 * k))
    kw = {"mode": mode}
    if mode == "constant" and r.p(0.5):
        kw["value"] = r.choice((0.0, 1.5, -2.0))
    return Case("pad", NNF("pad"), (x, pads), kw)


INTERP_ND = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "area": (1, 2, 3),
             "linear": (1,), "bilinear": (2,), "bicubic": (2,), "trilinear": (3,)}
INTERP_N = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 4, "bicubic": 16,
            "trilinear": 8}


def _torch_aa_bug(sp, kw):
    """Whether torch's antialiased resize gets this 2-D case wrong: with an output width of 1
    and a changed height it repeats the first output row (its vertical pass over a 1-wide
    image), e.g. (4, 1) -> (2, 1) gives [y0, y0] where the same column as a row gives [y0, y1].
    gradstep computes the resize; such cases are not drawn."""
    if len(sp) != 2:
        return False
    if kw.get("size") is not None:
        out = expand(kw["size"], 2)
    else:
        out = [math.floor(n * s) for n, s in zip(sp, expand(kw["scale_factor"], 2))]
    return out[1] == 1 and out[0] != sp[0]


def gen_interpolate(r):
    dt = r.choice(FLOATS)
    mode = r.choice(tuple(INTERP_ND))
    nd = r.choice(INTERP_ND[mode])
    if r.p(0.03):
        nd = r.choice((1, 2, 3))  # a mode that does not fit the rank
    sp = tuple(r.int(1, 5) for _ in range(nd))
    x = ften(r, (r.int(1, 2), r.int(1, 2)) + sp, dt)
    kw = {"mode": mode}
    if r.p(0.5):
        kw["size"] = tup_or_int(r, (1, 2, 3, 5, 7), nd) if nd > 1 else r.choice((1, 2, 3, 5, 7))
    else:
        scales = (0.5, 1.5, 2, 2.0, 1.7, 3, 0.7)
        kw["scale_factor"] = (r.choice(scales) if nd == 1 or r.p(0.5)
                              else tuple(r.choice(scales) for _ in range(nd)))
        if r.p(0.4):
            kw["recompute_scale_factor"] = r.p(0.5)
    if mode in ("linear", "bilinear", "bicubic", "trilinear") and r.p(0.5):
        kw["align_corners"] = r.p(0.5)
    elif r.p(0.03):
        kw["align_corners"] = True  # not allowed for this mode
    if mode in ("bilinear", "bicubic") and r.p(0.15) and not _torch_aa_bug(sp, kw):
        kw["antialias"] = True
    n = INTERP_N.get(mode, numel(sp))
    if kw.get("antialias"):
        n = 4 * numel(sp)
    return Case("interpolate", NNF("interpolate"), (x,), kw, tol="sum", n=4 * n)


def gen_grid_sample(r):
    dt = r.choice(FLOATS)
    nd = 2 if r.p(0.75) else 3
    sp = tuple(r.int(1, 4) for _ in range(nd))
    n = r.int(1, 2)
    x = ften(r, (n, r.int(1, 2)) + sp, dt, special=0.0)
    gsp = tuple(r.int(1, 3) for _ in range(nd))
    grid = ften(r, (n,) + gsp + (nd,), dt, special=0.0,
                vals=r.g.uniform(-1.2, 1.2, (n,) + gsp + (nd,)).astype(dt))
    modes = ("bilinear", "nearest", "bicubic") if nd == 2 else ("bilinear", "nearest")
    kw = {"mode": r.choice(modes), "padding_mode": r.choice(("zeros", "border", "reflection")),
          "align_corners": r.p(0.5)}
    return Case("grid_sample", NNF("grid_sample"), (x, grid), kw, tol="mm",
                n=16 * max(sp) * 4)


def gen_affine_grid(r):
    dt = r.choice(FLOATS)
    nd = 2 if r.p(0.7) else 3
    n = r.int(1, 2)
    theta = ften(r, (n, nd, nd + 1), dt, special=0.0)
    size = (n, r.int(1, 2)) + tuple(r.int(1, 4) for _ in range(nd))
    if r.p(0.03):
        size = size[:-1]
    return Case("affine_grid", NNF("affine_grid"), (theta, size),
                {"align_corners": r.p(0.5)}, tol="mm", n=nd + 1)


def gen_pixel_shuffle(r):
    dt = r.choice(FLOATS)
    f = r.int(1, 3)
    if r.p(0.5):
        c = r.int(1, 2) * f * f + (1 if r.p(0.05) else 0)
        x = ften(r, (r.int(1, 2), c, r.int(1, 3), r.int(1, 3)), dt)
        return Case("pixel_shuffle", NNF("pixel_shuffle"), (x, f))
    extra = 1 if r.p(0.05) else 0
    x = ften(r, (r.int(1, 2), r.int(1, 2), f * r.int(1, 2) + extra, f * r.int(1, 2)), dt)
    return Case("pixel_unshuffle", NNF("pixel_unshuffle"), (x, f))


def _fold_geometry(r):
    kw = {"kernel_size": tup_or_int(r, (1, 2, 3), 2)}
    if r.p(0.4):
        kw["dilation"] = tup_or_int(r, (1, 2), 2)
    if r.p(0.4):
        kw["padding"] = tup_or_int(r, (0, 1), 2)
    if r.p(0.4):
        kw["stride"] = tup_or_int(r, (1, 2), 2)
    return kw


def _blocks(size, kw):
    out = []
    for i, s in enumerate(size):
        k, d = expand(kw["kernel_size"], 2)[i], expand(kw.get("dilation", 1), 2)[i]
        p, st = expand(kw.get("padding", 0), 2)[i], expand(kw.get("stride", 1), 2)[i]
        out.append((s + 2 * p - d * (k - 1) - 1) // st + 1)
    return out


def gen_unfold(r):
    dt = r.choice(FLOATS)
    x = ften(r, batched_shape(r, r.int(1, 2), (r.int(1, 5), r.int(1, 5))), dt)
    return Case("unfold", NNF("unfold"), (x,), _fold_geometry(r))


def gen_fold(r):
    dt = r.choice(FLOATS)
    kw = _fold_geometry(r)
    size = (r.int(1, 5), r.int(1, 5))
    nb = _blocks(size, kw)
    blocks = max(nb[0], 0) * max(nb[1], 0) + (1 if r.p(0.05) else 0)
    c = r.int(1, 2) * numel(expand(kw["kernel_size"], 2))
    x = ften(r, ((r.int(1, 2),) if r.p(0.85) else ()) + (c, blocks), dt)
    return Case("fold", NNF("fold"), (x, size), kw, tol="sum", n=c)


# ---------------------------------------------------------------- small layer functions
def gen_one_hot(r):
    shape = tuple(r.int(0 if r.p(0.05) else 1, 4) for _ in range(r.int(0, 2)))
    nc = r.choice((-1, -1, 3, 5))
    hi = 4 if nc == -1 else nc - 1 + (1 if r.p(0.05) else 0)
    lo = -1 if r.p(0.03) else 0
    idx = itensor(r, r.g.integers(lo, hi + 1, size=shape))
    return Case("one_hot", NNF("one_hot"), (idx, nc))


def _pair(r, dt, shape, special=0.02):
    a = ften(r, shape, dt, special=special)
    bshape = shape if r.p(0.8) else r.bshape(shape)
    return a, ften(r, bshape, dt, special=special)


def gen_cosine_similarity(r):
    dt = r.choice(FLOATS)
    shape = tuple(r.int(1, 4) for _ in range(r.int(1, 3)))
    a, b = _pair(r, dt, shape)
    dim = r.int(-len(shape), len(shape) - 1)
    kw = {"dim": dim}
    if r.p(0.2):
        kw["eps"] = 0.5
    return Case("cosine_similarity", NNF("cosine_similarity"), (a, b), kw, tol="sum",
                n=8 * shape[dim])


def gen_pairwise_distance(r):
    dt = r.choice(FLOATS)
    shape = (r.int(1, 3), r.int(1, 4)) if r.p(0.8) else (r.int(1, 4),)
    a, b = _pair(r, dt, shape)
    kw = {"p": r.choice((1, 2, 2.0, 3, 0.5, float("inf"))), "keepdim": r.p(0.3)}
    if r.p(0.2):
        kw["eps"] = 0.0
    return Case("pairwise_distance", NNF("pairwise_distance"), (a, b), kw, tol="sum",
                n=8 * shape[-1])


def gen_cdist(r):
    dt = r.choice(FLOATS)
    lead = (r.int(1, 2),) if r.p(0.5) else ()
    m = r.int(1, 4)
    a = ften(r, lead + (r.int(1, 4), m), dt, special=0.0)
    b = ften(r, lead + (r.int(1, 4), m + (1 if r.p(0.03) else 0)), dt, special=0.0)
    kw = {"p": r.choice((0.0, 1.0, 2.0, 3.0, 1.5, float("inf")))}
    if kw["p"] == 2.0 and r.p(0.5):
        kw["compute_mode"] = r.choice(("use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"))
    use_mm = kw.get("compute_mode") == "use_mm_for_euclid_dist"
    cond = _mm_distance_conditioning(a.logical(), b.logical()) if use_mm else 1.0
    return Case("cdist", lambda lib, *a, **k: lib.cdist(*a, **k), (a, b), kw,
                tol="mm" if use_mm else "sum", n=16 * m * cond)


def _mm_distance_conditioning(a, b):
    """The factor torch's matrix-product distance loses to cancellation: it takes
    d**2 = |x|**2 + |y|**2 - 2 x.y, whose absolute error m*eps*max|x|**2 is relative to d**2,
    so d and its gradient (x - y) / d are off by m*eps*max|x|**2 / d**2 (gradstep subtracts
    first, exactly where x and y are close). Rows that are equal give d = 0 in both."""
    if a.shape[-1] != b.shape[-1] or not a.size or not b.size:
        return 1.0
    d2 = ((a[..., :, None, :] - b[..., None, :, :]) ** 2).sum(-1)
    d2 = d2[d2 > 0]
    big = max(np.abs(a).max(), np.abs(b).max()) ** 2
    return max(1.0, float(big / d2.min())) if d2.size else 1.0


def gen_pdist(r):
    dt = r.choice(FLOATS)
    m = r.int(1, 4)
    x = ften(r, (r.int(1, 4), m), dt, special=0.0)
    p = r.choice((0.0, 1.0, 2.0, 3.0, 1.5, float("inf")))
    return Case("pdist", NNF("pdist"), (x, p), tol="sum", n=16 * m)


def gen_bilinear(r):
    dt = r.choice(FLOATS)
    lead = (r.int(1, 3),) if r.p(0.85) else ()
    i1, i2, o = r.int(1, 3), r.int(1, 3), r.int(1, 3)
    a = ften(r, lead + (i1,), dt)
    b = ften(r, lead + (i2 + (1 if r.p(0.03) else 0),), dt)
    w = ften(r, (o, i1, i2), dt)
    bias = ften(r, (o,), dt) if r.p(0.5) else None
    return Case("bilinear", NNF("bilinear"), (a, b, w, bias), tol="mm", n=4 * i1 * i2 + 1)


def gen_glu(r):
    dt = r.choice(FLOATS)
    shape = tuple(r.choice((1, 2, 4, 3)) for _ in range(r.int(1, 3)))
    dim = r.int(-len(shape), len(shape) - 1)
    return Case("glu", NNF("glu"), (ften(r, shape, dt),), {"dim": dim}, tol="ulp")


def gen_softmin(r):
    dt = r.choice(FLOATS)
    shape = tuple(r.int(1, 4) for _ in range(r.int(1, 3)))
    dim = r.int(-len(shape), len(shape) - 1)
    kw = {"dim": dim}
    if r.p(0.2):
        kw["dtype"] = DT(r.choice(FLOATS))
    return Case("softmin", NNF("softmin"), (ften(r, shape, dt),), kw, tol="sum", n=4 * shape[dim])


def _gumbel_summary(lib, x, **k):
    """Values are random: compare the shape, dtype and (hard) that each slice sums to one."""
    out = lib.nn.functional.gumbel_softmax(x, **k)
    ones = out.detach().sum(k.get("dim", -1))
    return list(out.shape), str(out.dtype).split(".")[-1], ones if k.get("hard") else 1


def gen_gumbel_softmax(r):
    dt = r.choice(FLOATS)
    shape = tuple(r.int(1, 4) for _ in range(r.int(1, 3)))
    kw = {"tau": r.choice((1.0, 0.5)), "hard": r.p(0.5), "dim": r.int(-len(shape), len(shape) - 1)}
    return Case("gumbel_softmax", _gumbel_summary, (ften(r, shape, dt, special=0.0),), kw,
                grad=False)


def gen_dropout(r):
    dt = r.choice(FLOATS)
    name = r.choice(("dropout", "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                     "feature_alpha_dropout"))
    nd = {"dropout1d": (2, 3), "dropout2d": (3, 4), "dropout3d": (4, 5)}.get(name, (0, 1, 2, 3))
    x = ften(r, tuple(r.int(1, 3) for _ in range(r.choice(nd))), dt)
    p, training = r.choice(((0.0, True), (1.0, True), (0.5, False), (1.0, False)))
    if r.p(0.04):
        p = r.choice((-0.1, 1.5))
    return Case(name, NNF(name), (x,), {"p": p, "training": training})
