"""Pooling: max/avg pooling (1-D, 2-D) and adaptive avg/max pooling (2-D).

Fixed-window pooling reads the (padded) input through strided views: max pooling
copies the windows once and takes an ``argmax`` over the kernel axis; average
pooling adds one strided slice per kernel offset. Gradients are scattered back by
the same loop over kernel offsets (``kh*kw`` iterations, never over pixels).

The gradient ops are themselves graph nodes (max: gather <-> scatter at the argmax;
avg: pooling <-> its adjoint), so double backward works. 1-D pooling runs as
2-D pooling with a height of 1.
"""

from __future__ import annotations

from ... import _parallel
from ..._argparse import int_list_arg
from ...autograd.function import Node, as_torch_node
from ...backend import is_float_array, xp
from ...ops._lowp import BF16_ONLY, float32_compute
from ...ops._util import dim_index_error, dtype_title

# ---------------------------------------------------------------- geometry


class _Geom:
    """Window geometry of one 2-D pooling call (all pairs are (height, width))."""

    def __init__(self, in_hw, kernel, stride, padding, dilation, out_hw):
        self.in_hw, self.kernel, self.stride = in_hw, kernel, stride
        self.padding, self.dilation, self.out_hw = padding, dilation, out_hw
        # rows/cols the windows reach past the input (>= padding in ceil mode)
        self.extra = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - n - p)
                           for o, s, d, k, n, p in zip(out_hw, stride, dilation, kernel, in_hw,
                                                       padding))

    @property
    def disjoint(self):
        """Whether no two windows share an input pixel (stride at least the window span)."""
        return all(s >= d * (k - 1) + 1 for s, d, k in zip(self.stride, self.dilation,
                                                            self.kernel))

    @property
    def tiles(self):
        """Whether the windows cover the padded input exactly once (e.g. 2x2, stride 2)."""
        return all(d == 1 and s == k and o * s == n
                   for d, s, k, o, n in zip(self.dilation, self.stride, self.kernel,
                                            self.out_hw, self.padded_hw))

    @property
    def padded_hw(self):
        return tuple(n + p + e for n, p, e in zip(self.in_hw, self.padding, self.extra))

    def pad(self, x, value):
        (ph, pw), (eh, ew) = self.padding, self.extra
        if not (ph or pw or eh or ew):
            return x
        return xp.pad(x, ((0, 0), (0, 0), (ph, eh), (pw, ew)), constant_values=value)

    def crop(self, img):
        (ph, pw), (h, w) = self.padding, self.in_hw
        return img[:, :, ph:ph + h, pw:pw + w]

    def offset_slices(self):
        """For each kernel offset (i, j): the strided slice of the padded image it reads."""
        (kh, kw), (sh, sw), (dh, dw), (ho, wo) = self.kernel, self.stride, self.dilation, \
            self.out_hw
        for i in range(kh):
            for j in range(kw):
                yield i * kw + j, (slice(None), slice(None),
                                   slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                                   slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))

    def windows(self, xpad):
        """Strided view ``(N, C, Ho, Wo, kh, kw)`` of the windows of a padded input."""
        n, c = xpad.shape[:2]
        s_n, s_c, s_h, s_w = xpad.strides
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        return xp.lib.stride_tricks.as_strided(
            xpad, (n, c) + tuple(self.out_hw) + (kh, kw),
            (s_n, s_c, s_h * sh, s_w * sw, s_h * dh, s_w * dw), writeable=False)

    def scatter(self, pieces_for_offset, shape, dtype):
        """Sum per-offset contributions into a zero padded image, then crop it."""
        img = xp.zeros(tuple(shape[:2]) + self.padded_hw, dtype)
        for k, sl in self.offset_slices():
            img[sl] += pieces_for_offset(k)
        return xp.ascontiguousarray(self.crop(img))


def _out_size(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1  # the last window would start inside the right padding
    return out


# ---------------------------------------------------------------- max pooling nodes


class MaxPoolGather(Node):
    """Pick the input value at each window's argmax (``arg``: index into the flattened kernel).

    ``values``, when given, are these picks already made: max pooling's forward finds
    them together with ``arg`` (``_max_windows``), so only double backward gathers.
    """

    _name = "MaxPool2DWithIndicesBackward0"
    values = None
    holds_saved = True  # the argmax, as torch saves its input and indices

    def forward(self, x):
        if self.values is not None:
            out, self.values = self.values, None
            return out
        n, c, h, w = x.shape
        idx = _flat_index(self.arg, self.geom)
        ho, wo = idx.shape[2:]
        flat = x.reshape(n, c, h * w)
        return xp.take_along_axis(flat, idx.reshape(n, c, ho * wo), axis=2).reshape(idx.shape)

    def backward(self, g):
        return MaxPoolScatter.apply(g, arg=self.arg, geom=self.geom, in_shape=self.in_shape)


class MaxPoolScatter(Node):
    """Adjoint of ``MaxPoolGather``: route each output gradient to its argmax."""

    _name = "MaxPool2DWithIndicesBackwardBackward0"

    def forward(self, g):
        geom, arg = self.geom, self.arg
        # g * mask is one fast pass; where() is exact for inf/nan gradients (inf * 0 is nan)
        exact = bool(is_float_array(g) and g.size and not xp.isfinite(g.sum()))
        shape = tuple(self.in_shape[:2]) + geom.padded_hw
        # every pixel written exactly once below: no need to zero the image first
        img = xp.empty(shape, g.dtype) if geom.tiles and not exact else xp.zeros(shape, g.dtype)
        # each image is routed alone: batch chunks on threads give the same numbers
        _parallel.over_rows(lambda lo, hi: _scatter(g[lo:hi], arg[lo:hi], img[lo:hi], geom, exact),
                            shape[0], img.size)
        return xp.ascontiguousarray(geom.crop(img))

    def backward(self, gg):
        return MaxPoolGather.apply(gg, arg=self.arg, geom=self.geom, in_shape=self.in_shape)


def _scatter(g, arg, img, geom, exact):
    """Route each gradient in ``g`` into ``img`` at its window's argmax ``arg``."""
    mask = xp.empty(arg.shape, bool)
    picked = xp.empty(g.shape, g.dtype) if geom.disjoint and not exact else None
    for k, sl in geom.offset_slices():
        xp.equal(arg, k, out=mask)
        if exact:
            img[sl] += xp.where(mask, g, 0)
        elif geom.disjoint:  # each pixel lies in one window at most: write, not add
            # multiply into a contiguous buffer, then copy: a float-by-bool product
            # written straight into the strided slice takes 1.5x as long
            xp.multiply(g, mask, out=picked)
            img[sl] = picked
        else:
            img[sl] += g * mask


def _max_windows_split(x, geom):
    """``_max_windows`` over chunks of the batch, on threads for a large input.

    Each image's windows are found alone, so the chunks give the numbers one call would.
    """
    parts = _parallel.over_rows(lambda lo, hi: _max_windows(x[lo:hi], geom), x.shape[0], x.size)
    if len(parts) == 1:
        return parts[0]
    # a chunk holding NaN keeps wider argmax integers: concatenate widens the others
    return xp.concatenate([p[0] for p in parts]), xp.concatenate([p[1] for p in parts])


def _max_windows(x, geom):
    """(max, argmax over the flattened kernel) of every window, by torch's rule.

    torch updates a window's running max when ``val > best or isnan(val)``: the first
    maximum wins, and a window holding NaN reports its last NaN. The argmax is the
    last offset whose value beat the running max, i.e. the largest such offset, so a
    running ``maximum`` of ``offset * beaten`` finds it with no masked writes.
    """
    xpad = geom.pad(x, _pad_value(x))
    if is_float_array(x) and x.size and xp.isnan(x.min()):
        return _max_windows_nan(xpad, geom)
    small = xp.uint8 if geom.kernel[0] * geom.kernel[1] <= 256 else xp.int64
    best = arg = None
    for k, sl in geom.offset_slices():
        if best is None:
            best = xpad[sl].copy()
            arg = xp.zeros(best.shape, small)
            beat = xp.empty(best.shape, bool)
            at_k = xp.empty(best.shape, small)
            v = xp.empty_like(best)
            continue
        xp.copyto(v, xpad[sl])  # one strided read; the two comparisons then run contiguous
        xp.greater(v, best, out=beat)
        xp.maximum(v, best, out=best)  # on ties numpy returns the second operand: the first max
        xp.multiply(beat, small(k), out=at_k)
        xp.maximum(arg, at_k, out=arg)
    return best, arg


def _max_windows_nan(xpad, geom):
    """``_max_windows`` for an input holding NaN (masked updates: slower, exact)."""
    small = xp.int16 if geom.kernel[0] * geom.kernel[1] < 2**15 else xp.int64
    best = arg = None
    for k, sl in geom.offset_slices():
        v = xpad[sl]
        if best is None:
            best = v.copy()
            arg = xp.zeros(best.shape, small)
            continue
        upd = xp.greater(v, best) | xp.isnan(v)
        xp.copyto(best, v, where=upd)
        xp.copyto(arg, small(k), where=upd)
    return best, arg


def _flat_index(arg, geom):
    """Flat input positions ``h * W + w`` (int64) of the argmax ``arg`` of each window."""
    arg = arg.astype(xp.int64)
    (_, kw), (sh, sw), (dh, dw), (ph, pw) = geom.kernel, geom.stride, geom.dilation, \
        geom.padding
    ho, wo = geom.out_hw
    rows = (xp.arange(ho) * sh - ph)[:, None] + (arg // kw) * dh
    cols = (xp.arange(wo) * sw - pw) + (arg % kw) * dw
    return (rows * geom.in_hw[1] + cols).astype(xp.int64)


# ---------------------------------------------------------------- windows no value beat


def _pad_value(a):
    """The value max pooling pads array ``a`` with (torch starts each running max at it)."""
    if is_float_array(a):  # bfloat16 included
        return -xp.inf
    return False if a.dtype.kind == "b" else xp.iinfo(a.dtype).min


def _start_taps(out, stride, padding, dilation):
    """torch's first tap of each window along a dim: the window's start, moved on by the
    dilation until it is not negative (it may lie past the input)."""
    start = xp.arange(out) * stride - padding
    return xp.where(start < 0, start + (-start + dilation - 1) // dilation * dilation, start)


def unreached_windows(values):
    """Where no input value beat the padding value (``None``: nowhere, the common case).

    torch reports such a window (all padding, or real values equal to the padding value)
    at the index it starts from, the flat position of its first non-negative taps, not at
    any tap of the window: ``start_index``. One ``min`` over the output tells."""
    if not values.size:
        return None
    low = _pad_value(values)
    if values.min() > low:  # false for NaN too: then look at each window
        return None
    mask = values == low
    return mask if mask.any() else None


def start_index(in_sizes, out, stride, padding, dilation):
    """torch's flat index for each window that no value beat (see ``unreached_windows``)."""
    flat = None
    for axis, (n, o, s, p, d) in enumerate(zip(in_sizes, out, stride, padding, dilation)):
        taps = _start_taps(o, s, p, d).reshape((-1,) + (1,) * (len(out) - axis - 1))
        flat = taps if flat is None else flat * n + taps
    return flat.astype(xp.int64)


def _flat_targets(idx, in_shape):
    """``idx`` as ``(N, C, out)`` flat positions, and where they lie inside the plane."""
    n, c = in_shape[:2]
    flat = idx.reshape(n, c, -1)
    plane = int(xp.prod(in_shape[2:]))
    return flat, (flat >= 0) & (flat < plane), plane


class MaxPoolFlatGather(Node):
    """Max pooling's values with torch's flat input ``idx`` (``(N, C, *out)``) per window,
    for calls where a window's index is no tap of it (``unreached_windows``).

    The gradient goes to ``idx`` as torch's backward sends it; an index past the input
    plane (a window wholly in the padding past the end) gets none: torch writes it out of
    bounds (other channels' or unowned memory), which is no answer to copy."""

    _name = "MaxPool2DWithIndicesBackward0"
    values = None
    holds_saved = True

    def forward(self, x):
        if self.values is not None:
            out, self.values = self.values, None
            return out
        flat, ok, plane = _flat_targets(self.idx, self.in_shape)
        picked = xp.take_along_axis(x.reshape(flat.shape[:2] + (plane,)), xp.where(ok, flat, 0),
                                    axis=2)
        return xp.where(ok, picked, 0).reshape(self.idx.shape)

    def backward(self, g):
        return MaxPoolFlatScatter.apply(g, idx=self.idx, in_shape=self.in_shape)


class MaxPoolFlatScatter(Node):
    """Adjoint of ``MaxPoolFlatGather``: add each window's gradient at its index."""

    _name = "MaxPool2DWithIndicesBackwardBackward0"

    def forward(self, g):
        flat, ok, plane = _flat_targets(self.idx, self.in_shape)
        n, c = flat.shape[:2]
        img = xp.zeros((n * c, plane), g.dtype)
        rows = xp.broadcast_to(xp.arange(n * c).reshape(n, c, 1), flat.shape)
        xp.add.at(img, (rows[ok], flat[ok]), g.reshape(flat.shape)[ok])
        return img.reshape(self.in_shape)

    def backward(self, gg):
        return MaxPoolFlatGather.apply(gg, idx=self.idx, in_shape=self.in_shape)


# ---------------------------------------------------------------- avg pooling nodes


@float32_compute(backward=False)  # float16/bfloat16: float32 sums, one rounding
class AvgPool(Node):
    """Average pooling (linear); ``divisor`` is an ``(Ho, Wo)`` array."""

    _name = "AvgPool2DBackward0"
    holds_saved = True  # torch saves the input

    def forward(self, x):
        xpad = self.geom.pad(x, 0)
        total = xp.zeros(x.shape[:2] + tuple(self.geom.out_hw), x.dtype)
        for _, sl in self.geom.offset_slices():
            total += xpad[sl]
        return total / self.divisor.astype(x.dtype)

    def backward(self, g):
        return AvgPoolAdjoint.apply(g, geom=self.geom, divisor=self.divisor,
                                    in_shape=self.in_shape)


# bfloat16: float32 sums, one rounding; torch's float16 kernel rounds each share and each
# sum, as NumPy's float16 ops do
@float32_compute(backward=False, dtypes=BF16_ONLY)
class AvgPoolAdjoint(Node):
    _name = "AvgPool2DBackwardBackward0"

    def forward(self, g):
        share = g / self.divisor.astype(g.dtype)
        return self.geom.scatter(lambda k: share, self.in_shape, g.dtype)

    def backward(self, gg):
        return AvgPool.apply(gg, geom=self.geom, divisor=self.divisor, in_shape=self.in_shape)


def _avg_divisor(geom, count_include_pad, divisor_override):
    """torch's divisor per output position: window size, clipped as torch clips it."""
    if divisor_override:
        return xp.full(geom.out_hw, float(divisor_override))
    sizes = []
    for o, k, s, p, n in zip(geom.out_hw, geom.kernel, geom.stride, geom.padding, geom.in_hw):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, n + p)
        if count_include_pad:
            sizes.append(end - start)
        else:
            sizes.append(xp.minimum(end, n) - xp.maximum(start, 0))
    return (sizes[0][:, None] * sizes[1][None, :]).astype(xp.float64)


# ---------------------------------------------------------------- argument checks


def _pair(value, name, op, n):
    if isinstance(value, int):
        return (value,) * n
    vals = tuple(value)
    if len(vals) == 1:
        return vals * n
    if len(vals) != n:
        ints = "a single int" + (f", or a tuple of {'two' if n == 2 else n} ints" if n > 1 else "")
        raise RuntimeError(f"{op}: {name} must either be {ints}")
    return vals


def _lift(x, nd, op, batched_dims_msg):
    """``x`` as a 4-D tensor (N, C, H, W); returns (x4, restore function)."""
    if x.ndim not in (nd + 1, nd + 2) or any(s == 0 for s in x.shape[x.ndim - nd - 1:]):
        raise RuntimeError(batched_dims_msg + f"{list(x.shape)}")
    unbatched = x.ndim == nd + 1
    if unbatched:
        x = x.unsqueeze(0)
    if nd == 1:
        x = x.unsqueeze(2)

    def restore(t):
        if nd == 1:
            t = t.squeeze(2)
        return t.squeeze(0) if unbatched else t

    return x, restore


def _geometry(x4, nd, op, kernel_size, stride, padding, dilation, ceil_mode, is_max):
    kernel = _pair(kernel_size, "kernel_size", op, nd)
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _pair(stride, "stride", op, nd)
    padding = _pair(padding, "padding", op, nd)
    dilation = _pair(dilation, "dilation", op, nd)
    if any(s == 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"{op}: kernel_size must be greater than zero, but got "
                           f"{list(kernel)}")
    if any(s < 0 for s in stride) or any(p < 0 for p in padding):
        raise RuntimeError(f"{op}: stride and padding must be non-negative, got "
                           f"stride={list(stride)}, padding={list(padding)}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    for k, p, d in zip(kernel, padding, dilation):
        eff = (k - 1) * d + 1 if is_max else k
        if p > eff // 2:
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={p}, "
                f"kernel_size={k} and dilation={d}")
        if p > k // 2:  # torch's autograd (with-indices) kernel does not count the dilation
            raise RuntimeError(
                f"pad should be smaller than or equal to half of kernel size, but got pad={p}, "
                f"kernel_size={k}")
    if nd == 1:
        kernel, stride, padding, dilation = ((1,) + kernel, (1,) + stride, (0,) + padding,
                                             (1,) + dilation)
    in_hw = tuple(x4.shape[2:])
    out_hw = tuple(_out_size(n, k, s, p, d, ceil_mode)
                   for n, k, s, p, d in zip(in_hw, kernel, stride, padding, dilation))
    if any(o <= 0 for o in out_hw):
        c = x4.shape[1]
        raise RuntimeError(
            f"Given input size: ({c}x{in_hw[0]}x{in_hw[1]}). Calculated output size: "
            f"({c}x{out_hw[0]}x{out_hw[1]}). Output size is too small")
    return _Geom(in_hw, kernel, stride, padding, dilation, out_hw)


_DIMS_MSG = {
    1: "Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:",
    2: "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:",
}


# ---------------------------------------------------------------- public API


def _pool_ints(op, kernel_size, stride, padding, dilation):
    """torch's F.max_poolNd passes these on positionally to ``max_poolNd(input, kernel_size,
    stride, padding, dilation, ceil_mode)``: its "tuple of ints" checks and positions."""
    args = (("kernel_size", kernel_size), ("stride", stride), ("padding", padding),
            ("dilation", dilation))
    return [v if type(v) is int or (v is None and k == "stride") else
            int_list_arg(v, op, k, pos, single_int=True) for pos, (k, v) in enumerate(args, 2)]


def _max_pool(x, nd, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    op = f"max_pool{nd}d"
    if type(kernel_size) is not int or type(padding) is not int or type(dilation) is not int or \
            (stride is not None and type(stride) is not int):
        kernel_size, stride, padding, dilation = _pool_ints(op, kernel_size, stride, padding,
                                                            dilation)
    if nd == 1 and return_indices:  # torch runs it as 2-D pooling, with that kernel's checks
        _check_max_pool1d_with_indices_rank(x)
    if nd == 2 and x.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    x4, restore = _lift(x, nd, op, f"{op}: " + _DIMS_MSG[nd] if nd == 1 else _DIMS_MSG[nd])
    geom = _geometry(x4, nd, op, kernel_size, stride, padding, dilation, ceil_mode, True)
    _check_max_pool_dtype(x, nd, return_indices)
    values, arg = _max_windows_split(x4._data, geom)
    unreached = unreached_windows(values)
    if unreached is None:
        out = MaxPoolGather.apply(x4, values=values, arg=arg, geom=geom,
                                  in_shape=x4._data.shape)
        idx = _flat_index(arg, geom) if return_indices else None
    else:
        idx = xp.where(unreached, start_index(geom.in_hw, geom.out_hw, geom.stride,
                                              geom.padding, geom.dilation),
                       _flat_index(arg, geom))
        out = MaxPoolFlatGather.apply(x4, values=values, idx=idx, in_shape=x4._data.shape)
    if return_indices:
        from ..._tensor import Tensor

        return restore(out), restore(Tensor._make(idx))
    return restore(out)


def _check_max_pool1d_with_indices_rank(x):
    if x.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {x.ndim}-dimensional tensor "
                           "for argument #1 'self' (while checking arguments for max_pool1d)")
    if any(s == 0 for s in x.shape[x.ndim - 2:]):
        lifted = list(x.shape[:-1]) + [1, x.shape[-1]]
        raise RuntimeError(_DIMS_MSG[2] + f"{lifted}")


def _check_max_pool_dtype(x, nd, return_indices):
    """torch has no bool max-pool kernel, and its 1-D kernel without indices (taken when no
    gradient is needed) is for floating types only."""
    if x.dtype.is_floating_point:
        return
    if nd == 1 and not return_indices:
        raise NotImplementedError(
            f'"max_pool1d_impl" not implemented for \'{dtype_title(x.dtype)}\'')
    if x.dtype.name == "bool":
        raise NotImplementedError('"max_pool2d" not implemented for \'Bool\'')


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """1-D max pooling over ``(N, C, L)`` or ``(C, L)``; indices are positions along L."""
    return _max_pool(input, 1, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """2-D max pooling; indices are flat positions ``h * W + w`` in each input plane."""
    return _max_pool(input, 2, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _avg_pool(x, nd, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    op = f"avg_pool{nd}d"
    if nd == 1 and x.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {x.ndim}-dimensional tensor "
                           "for argument #1 'self' (while checking arguments for avg_pool1d)")
    if nd == 2 and x.ndim < 3:  # torch reads the size of dim -3 first
        raise dim_index_error(-3, x.ndim)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    x4, restore = _lift(x, nd, op, _DIMS_MSG[nd])
    geom = _geometry(x4, nd, op, kernel_size, stride, padding, 1, ceil_mode, False)
    if not x.dtype.is_floating_point and x.dtype.name != "int64":  # torch's CPU kernel: + Long
        raise NotImplementedError(f'"avg_pool2d" not implemented for \'{dtype_title(x.dtype)}\'')
    divisor = _avg_divisor(geom, count_include_pad, divisor_override)
    if not x.dtype.is_floating_point:
        return restore(_int_avg_pool(x4, geom, divisor))
    return restore(AvgPool.apply(x4, geom=geom, divisor=divisor, in_shape=x4._data.shape))


def _int_avg_pool(x4, geom, divisor):
    """torch's int64 average: the exact window sum divided rounding toward zero, as C++
    integer division does (no graph: integer tensors have none)."""
    from ..._tensor import Tensor

    xpad = geom.pad(x4._data, 0)
    total = xp.zeros(x4._data.shape[:2] + tuple(geom.out_hw), xp.int64)
    for _, sl in geom.offset_slices():
        total += xpad[sl]
    return Tensor._make(xp.abs(total) // divisor.astype(xp.int64) * xp.sign(total))


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True):
    """1-D average pooling over ``(N, C, L)`` or ``(C, L)``."""
    return _avg_pool(input, 1, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """2-D average pooling; ``count_include_pad`` counts zero padding in the divisor."""
    return _avg_pool(input, 2, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


# ---------------------------------------------------------------- adaptive pooling


def _adaptive_args(x, output_size, op):
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{op}(): Expected 3D or 4D tensor, but got {list(x.shape)}")
    for d in range(x.ndim - 3, x.ndim):
        if x.shape[d] == 0:
            raise RuntimeError(
                f"{op}(): Expected input to have non-zero size for non-batch dimensions, but "
                f"input has sizes {list(x.shape)} with dimension {d} being empty")
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f'"{op}" not implemented for \'{x.dtype.name}\'; '
                                  "convert the input with .float()")
    sizes = (output_size, output_size) if isinstance(output_size, int) or output_size is None \
        else tuple(output_size)
    if len(sizes) != 2:
        raise RuntimeError(f"{op}: output_size must be 2, got {list(sizes)}")
    sizes = tuple(x.shape[-2 + i] if s is None else int(s) for i, s in enumerate(sizes))
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"{op}: output_size must be non-negative, got {list(sizes)}")
    return sizes


def _bounds(n, out):
    """torch's adaptive windows: start = floor(i*n/out), end = ceil((i+1)*n/out)."""
    i = xp.arange(out)
    return (i * n) // out, -((-(i + 1) * n) // out)


def _avg_matrix(n, out, dtype):
    """``(out, n)`` matrix whose row i averages window i."""
    start, end = _bounds(n, out)
    pos = xp.arange(n)
    inside = (pos[None, :] >= start[:, None]) & (pos[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_avg_windows(x, sizes):
    """Adaptive averages of the last ``len(sizes)`` dims of ``x``, one dim at a time, each
    window summing only its own positions. For inputs holding an inf or NaN, where the
    averaging matrix's zeros would spread it into every window (0 * inf is NaN)."""
    from ..._tensor import Tensor
    from ...ops.unary import where

    for i, out in enumerate(sizes):
        axis = x.ndim - len(sizes) + i
        n = x.shape[axis]
        start, end = _bounds(n, out)
        pos = _window_positions(n, out)  # (out, k): each window's positions, the last repeated
        k = pos.shape[1]
        rest = (1,) * (x.ndim - axis - 1)
        win = x.index_select(axis, Tensor._make(pos.reshape(-1)))
        win = win.reshape(tuple(x.shape[:axis]) + (out, k) + tuple(x.shape[axis + 1:]))
        own = (xp.arange(k)[None, :] < (end - start)[:, None]).reshape((out, k) + rest)
        count = (end - start).astype(x.dtype.np).reshape((out,) + rest)
        x = where(Tensor._make(own), win, 0.0).sum(axis + 1) / Tensor._make(count)
    return x


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """Average over torch's adaptive windows, as two small matrix products (rows, columns)."""
    ho, wo = _adaptive_args(input, output_size, "adaptive_avg_pool2d")
    h, w = input.shape[-2:]
    if (ho, wo) == (1, 1):
        return input.mean(dim=(-2, -1), keepdim=True)
    if not xp.isfinite(input._data).all():
        return _adaptive_avg_windows(input, (ho, wo))
    from ..._tensor import Tensor

    rows = Tensor._make(_avg_matrix(h, ho, input.dtype.np))
    cols = Tensor._make(_avg_matrix(w, wo, input.dtype.np).T.copy())
    return (rows @ input) @ cols


def adaptive_max_pool2d(input, output_size, return_indices=False):  # noqa: A002
    """Max over torch's adaptive windows; indices are flat ``h * W + w`` positions."""
    from ..._tensor import Tensor

    ho, wo = _adaptive_args(input, output_size, "adaptive_max_pool2d")
    x4 = input if input.ndim == 4 else input.unsqueeze(0)
    h, w = x4.shape[-2:]
    rows, cols = _window_positions(h, ho), _window_positions(w, wo)  # (Ho, kh), (Wo, kw)
    win = x4._data[:, :, rows[:, :, None, None], cols[None, None, :, :]]  # N,C,Ho,kh,Wo,kw
    win = win.transpose(0, 1, 2, 4, 3, 5).reshape(x4.shape[:2] + (ho, wo, -1))
    arg = xp.argmax(win, axis=-1)
    nan = xp.isnan(win)
    if nan.any():  # torch keeps the last NaN, which the clamped repeats would not change
        last = win.shape[-1] - 1 - xp.argmax(nan[..., ::-1], axis=-1)
        arg = xp.where(nan.any(axis=-1), last, arg)
    kw = cols.shape[1]
    r = rows[xp.arange(ho)[:, None], arg // kw]
    c = cols[xp.arange(wo), arg % kw]
    idx = (r * w + c).astype(xp.int64)
    n, ch = x4.shape[:2]
    out = x4.flatten(2).gather(2, Tensor._make(idx.reshape(n, ch, -1))).reshape(n, ch, ho, wo)
    ind = Tensor._make(idx)
    if input.ndim == 3:
        out, ind = out.squeeze(0), ind.squeeze(0)
    else:
        as_torch_node(out, "AdaptiveMaxPool2DBackward0")
    return (out, ind) if return_indices else out


def _adaptive_1d(x, output_size, op):
    """Checks for the 1-D adaptive pools; returns the output length."""
    if x.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {x.ndim}-dimensional tensor "
                           f"for argument #1 'self' (while checking arguments for {op})")
    if not isinstance(output_size, int):
        sizes = tuple(output_size)
        if len(sizes) != 1:
            raise RuntimeError(f"{op}() argument 'output_size' should contain one int "
                               f"(got {len(sizes)})")
        output_size = sizes[0]
    return output_size


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    """1-D adaptive average pooling over ``(N, C, L)`` or ``(C, L)`` (as 2-D with height 1)."""
    size = _adaptive_1d(input, output_size, "adaptive_avg_pool1d")
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, size)).squeeze(-2)


def adaptive_max_pool1d(input, output_size, return_indices=False):  # noqa: A002
    """1-D adaptive max pooling; indices are positions along L."""
    size = _adaptive_1d(input, output_size, "adaptive_max_pool1d")
    out, idx = adaptive_max_pool2d(input.unsqueeze(-2), (1, size), return_indices=True)
    out, idx = out.squeeze(-2), idx.squeeze(-2)
    return (out, idx) if return_indices else out


def _window_positions(n, out):
    """``(out, kmax)`` input positions of each adaptive window, the last one repeated."""
    start, end = _bounds(n, out)
    kmax = int((end - start).max()) if out else 1
    pos = start[:, None] + xp.arange(kmax)[None, :]
    return xp.minimum(pos, (end - 1)[:, None])


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
                            ceil_mode=False, return_indices=False):
    """``max_pool1d`` returning ``(values, indices)`` (torch ignores ``return_indices`` here)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
                            ceil_mode=False, return_indices=False):
    """``max_pool2d`` returning ``(values, indices)``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):  # noqa: A002
    """``adaptive_max_pool1d`` returning ``(values, indices)``."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):  # noqa: A002
    """``adaptive_max_pool2d`` returning ``(values, indices)``."""
    return adaptive_max_pool2d(input, output_size, True)


__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d",
           "adaptive_max_pool2d_with_indices", "avg_pool1d", "avg_pool2d", "max_pool1d",
           "max_pool1d_with_indices", "max_pool2d", "max_pool2d_with_indices"]
