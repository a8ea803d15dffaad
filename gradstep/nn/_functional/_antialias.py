"""``interpolate(..., antialias=True)`` for 4-D input: torch's separable anti-aliased resize.

Each output pixel along a dim is a normalized weighted sum of the input pixels within
``support`` of its centre, where ``support = interp_size / 2`` scaled by the step when
downsampling (so the filter widens and averages, instead of skipping pixels). The taps and
weights follow torch's CPU kernel (``UpSampleKernel.cpp``: ``_compute_weights_aa``), step by
step in the input's dtype, C++'s mixed float/double promotions included:

* ``center = scale * (i + 0.5)``; the first tap ``trunc(center - support + 0.5)`` (clamped at
  0), the tap count up to ``trunc(center + support + 0.5)`` (clamped at the input size);
* the weight of tap ``k`` is ``filter((k - center + 0.5) / scale)`` (``/ scale`` only when
  downsampling), then all divided by their sum; the filter is the triangle (bilinear) or Keys'
  cubic with ``a = -0.5`` (bicubic: not the ``-0.75`` of the plain bicubic mode);
* torch's kernel is built with fused multiply-add, so the float32 cubic filter is evaluated
  with FMAs (emulated through float64, where a float32 product is exact).

The resize runs along W first, then H, and skips a dim whose size does not change (as torch's
forward does). The sum over taps runs in tap order, in the input's dtype; upsampling float32
input it emulates torch's FMA chain and agrees bit for bit in our tests. Downsampling, torch's
compiled summation order is not reproducible from NumPy: float32 results differ from torch's
by a few ulps of the largest tap (see the tests for the bound). The backward is the transposed
weighted sum (each input gathers ``weight * grad`` from the outputs it fed), itself a node of
the same kind, so gradients of gradients work.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

from ...autograd.function import Node
from ...backend import xp
from ...ops._util import dtype_title
from .upsampling import _scale

_INTERP_SIZE = {"bilinear": 2, "bicubic": 4}
_CUBIC_A = -0.5  # Keys' kernel, as torch's antialiased bicubic (its plain bicubic uses -0.75)


class _Taps(NamedTuple):
    """Output ``o`` along a dim is ``sum_t x[idx[o, t]] * w[o, t]`` over the ``valid`` taps."""

    idx: object  # (n_out, T) int64; padded slots repeat a valid index
    w: object  # (n_out, T) in the compute dtype; 0 in padded slots
    valid: object  # (n_out, T) bool, or None when every slot is a tap
    fused: bool  # emulate a float32 fused multiply-add chain (torch's upsampling path)


def _fma32(a, b, c):
    """float32 ``a * b + c`` rounded once (the float32 product is exact in float64)."""
    f64 = xp.float64
    return (a.astype(f64) * b.astype(f64) + c.astype(f64)).astype(xp.float32)


def _cubic_filter(x, dt):
    """Keys' cubic (a = -0.5) at |x|, in ``dt``; float32 with torch's FMA contractions."""
    t = dt.type
    a = t(_CUBIC_A)
    if dt == xp.float32:
        ones = xp.ones_like(x)
        near = _fma32(_fma32(ones * (a + t(2)), x, ones * -(a + t(3))) * x, x, ones)
        far = _fma32(_fma32(_fma32(ones * a, x, ones * (t(-5) * a)), x, ones * (t(8) * a)), x,
                     ones * (t(-4) * a))
    else:
        near = ((a + 2) * x - (a + 3)) * x * x + 1
        far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return xp.where(x < 1, near, xp.where(x < 2, far, t(0))).astype(dt)


def _filter(mode, x, dt):
    x = xp.abs(x)
    if mode == "bilinear":
        return xp.where(x < 1, dt.type(1) - x, dt.type(0)).astype(dt)
    return _cubic_filter(x, dt)


def _forward_taps(n_in, n_out, mode, align_corners, scale_factor, dt):
    """torch's ``_compute_weights_aa`` for every output index at once (see the module doc)."""
    t, f64 = dt.type, xp.float64
    scale = _scale(n_in, n_out, align_corners, scale_factor, dt)
    half = _INTERP_SIZE[mode] * 0.5
    downsampling = scale >= 1.0
    support = t(half * float(scale)) if downsampling else t(half)
    max_taps = int(math.ceil(support)) * 2 + 1
    invscale = t(1.0 / float(scale)) if downsampling else t(1.0)
    i = xp.arange(n_out, dtype=f64)
    center = (float(scale) * (i + 0.5)).astype(dt)
    first = xp.maximum(xp.trunc((center - support).astype(f64) + 0.5).astype(xp.int64), 0)
    last = xp.minimum(xp.trunc((center + support).astype(f64) + 0.5).astype(xp.int64), n_in)
    count = xp.clip(last - first, 0, max_taps)
    j = xp.arange(max_taps)
    pos = (first[:, None] + j).astype(dt)
    arg = (((pos - center[:, None]).astype(f64) + 0.5) * float(invscale)).astype(dt)
    valid = j < count[:, None]
    w = xp.where(valid, _filter(mode, arg, dt), t(0))
    total = xp.zeros(n_out, dt)
    for k in range(max_taps):  # torch's running sum, in tap order
        total = (total + w[:, k]).astype(dt)
    w = xp.where((total != 0)[:, None], w / xp.where(total != 0, total, t(1))[:, None], w)
    idx = xp.where(valid, first[:, None] + j, first[:, None])
    fused = dt == xp.float32 and not downsampling
    return _Taps(idx, w.astype(dt), None if valid.all() else valid, fused)


def _transpose(taps, n_in):
    """The adjoint's taps: input ``k`` gathers ``w * grad[o]`` from each output ``o`` that read
    it, in increasing ``o`` (the order torch's backward accumulates in)."""
    n_out, width = taps.idx.shape
    valid = xp.ones_like(taps.idx, bool) if taps.valid is None else taps.valid
    outs = xp.broadcast_to(xp.arange(n_out)[:, None], (n_out, width))[valid]
    ins, ws = taps.idx[valid], taps.w[valid]
    order = xp.argsort(ins, kind="stable")  # stable: each input's outputs stay increasing
    ins, outs, ws = ins[order], outs[order], ws[order]
    counts = xp.bincount(ins, minlength=n_in)
    starts = xp.concatenate(([0], xp.cumsum(counts)[:-1]))
    slot = xp.arange(ins.size) - starts[ins]
    width_t = max(int(counts.max()) if counts.size else 0, 1)
    idx = xp.zeros((n_in, width_t), xp.int64)
    w = xp.zeros((n_in, width_t), taps.w.dtype)
    mask = xp.zeros((n_in, width_t), bool)
    idx[ins, slot], w[ins, slot], mask[ins, slot] = outs, ws, True
    return _Taps(idx, w, None if mask.all() else mask, False)


@functools.lru_cache(maxsize=256)
def _tables(n_in, n_out, mode, align_corners, scale_factor, dtype_name):
    """(forward taps, backward taps) of one dim, cached: a training loop resizes the same
    shapes every step. The arrays are read-only."""
    fwd = _forward_taps(n_in, n_out, mode, align_corners, scale_factor, xp.dtype(dtype_name))
    bwd = _transpose(fwd, n_in)
    for taps in (fwd, bwd):
        for arr in (taps.idx, taps.w, taps.valid):
            if arr is not None:
                arr.flags.writeable = False
    return fwd, bwd


def _apply_taps(x, axis, taps):
    """Sum over taps of ``x`` gathered along ``axis`` times the tap weights, in tap order.

    A padded slot leaves the sum as it was (not ``+ x * 0``: an inf there would make a NaN).
    """
    shape = [1] * x.ndim
    shape[axis] = taps.idx.shape[0]
    acc = None
    for k in range(taps.idx.shape[1]):
        gathered = xp.take(x, taps.idx[:, k], axis=axis)
        w = taps.w[:, k].reshape(shape)
        if acc is None:
            new = gathered * w
        elif taps.fused:
            new = _fma32(gathered, w, acc)
        else:
            new = acc + gathered * w
        if taps.valid is not None and not taps.valid[:, k].all():
            new = xp.where(taps.valid[:, k].reshape(shape), new, 0 if acc is None else acc)
        acc = new
    return acc.astype(x.dtype, copy=False)


class _TapResize(Node):
    """Resizes dims in turn (``plan``: ``(axis, forward taps, backward taps)`` pairs); its
    backward is the same node with the transposed taps, in reverse order."""

    def forward(self, x):
        for axis, taps, _ in self.plan:
            x = _apply_taps(x, axis, taps)
        return x.copy() if not self.plan else x

    def backward(self, g):
        plan = [(axis, bwd, fwd) for axis, fwd, bwd in reversed(self.plan)]
        return _TapResize.apply(g, plan=plan, _name=self._back_name, _back_name=self._name)


def antialias_interpolate(input, out_size, scales, mode, align_corners):  # noqa: A002
    """``interpolate(input, size=out_size, mode=mode, antialias=True)``; ``input`` is 4-D."""
    if mode not in _INTERP_SIZE:
        raise NotImplementedError(f"interpolate: mode={mode!r} with antialias=True is not "
                                  "implemented in gradstep (bilinear and bicubic are)")
    if input.dtype.name not in ("float32", "float64"):
        raise NotImplementedError('"compute_index_ranges_weights" not implemented for '
                                  f"'{dtype_title(input.dtype)}'")
    (n_h, n_w), (o_h, o_w) = input.shape[2:], out_size
    if min(n_h, n_w, o_h, o_w) <= 0:
        raise RuntimeError("Input and output sizes should be greater than 0, but got input "
                           f"(H: {n_h}, W: {n_w}) output (H: {o_h}, W: {o_w})")
    plan = []
    for axis, n_in, n_out, s in ((3, n_w, o_w, scales[1]), (2, n_h, o_h, scales[0])):
        if n_in != n_out:  # torch's forward leaves a dim of unchanged size alone
            fwd, bwd = _tables(n_in, n_out, mode, bool(align_corners), s, input.dtype.name)
            plan.append((axis, fwd, bwd))
    stem = "Bilinear" if mode == "bilinear" else "Bicubic"
    name = f"Upsample{stem}2DAaBackward0"
    return _TapResize.apply(input, plan=plan, _name=name,
                            _back_name=f"Upsample{stem}2DAaBackwardBackward0")


__all__ = ["antialias_interpolate"]
