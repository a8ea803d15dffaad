"""Convolutions: ``conv1d``, ``conv2d``, ``conv_transpose1d``, ``conv_transpose2d``.

Every convolution is an im2col followed by matrix products:

* ``_im2col`` reads the padded input through a strided view shaped
  ``(C, kh, kw, N, Ho, Wo)`` and copies it once into a contiguous array, so the
  columns of all images and output pixels form a single ``(C*kh*kw, N*Ho*Wo)``
  matrix, multiplied by the ``(O, C*kh*kw)`` weight (one product per group);
* ``_col2im`` is its adjoint: it scatters columns back into an image by adding
  one strided slice per kernel offset (a loop over ``kh*kw``, never over pixels).

``conv2d``'s forward and backward (``Convolution``) pick the layout by shape, each
choice measured on the training benchmarks (``bench/RESULTS.md``):

* the batch runs in chunks of images whose columns stay under ``CHUNK_BYTES``;
* with ``C >= PIXEL_ROWS_MIN_CHANNELS`` (and one group) the columns are pixel rows,
  ``(N*Ho*Wo, kh*kw*C)``, copied from a channels-last copy of the input;
* thin layers (small ``K*O``, many pixels per image, e.g. a first layer) run one
  product per image, the bias riding along as a ones row of the columns;
* a stride-1 input gradient shifts whole rows of the padded grid instead of
  scattering short strided slices (``conv_shifts``: channels first, batch-innermost
  for small images, or channels last with the shifts inside the products).

1-D convolutions run as 2-D ones with a height of 1. The transposed
convolution is the input-gradient of a convolution, so the three products
(output, input gradient, weight gradient) are shared between the two ops:
``conv_transpose.py`` holds it, on these kernels, and this module re-exports it.

The backward passes compute on raw arrays for speed (the columns saved by the
forward are reused for the weight gradient). Under ``create_graph=True`` they are
built instead from Tensor ops over the ``Unfold``/``Fold`` graph nodes (im2col and
col2im, each the other's adjoint), so gradients of any order are available.
"""

from __future__ import annotations

from ... import _parallel
from ...amp._policy import autocast_op
from ...autograd.function import Node, as_torch_node
from ...autograd.grad_mode import _GradState
from ...backend import is_float_array, xp
from ...ops import _flops
from ...ops._lowp import BF16_ONLY, float32_compute
from ...ops._util import dim_index_error, dtype_title
from . import _conv_args as _CA
from . import conv_shifts

# ---------------------------------------------------------------- raw kernels


def _im2col(xpad, kernel, stride, dilation, out_hw, ones_row=False):
    """Columns ``(C, kh, kw, N, Ho, Wo)`` of a padded ``(N, C, Hp, Wp)`` input.

    With ``ones_row`` they come as ``(C*kh*kw + 1, N*Ho*Wo)`` whose last row is ones,
    so that a weight matrix with the bias as its last column adds the bias in the
    product, and the product's gradient holds the bias gradient in that column.
    """
    n, c = xpad.shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    s_n, s_c, s_h, s_w = xpad.strides
    view = xp.lib.stride_tricks.as_strided(
        xpad, (c, kh, kw, n, ho, wo), (s_c, s_h * dh, s_w * dw, s_n, s_h * sh, s_w * sw),
        writeable=False)
    if not ones_row:
        return _parallel.contiguous(view)
    cols = xp.empty((c * kh * kw + 1, n * ho * wo), xpad.dtype)
    _parallel.copyto(cols[:-1].reshape(view.shape), view)
    cols[-1] = 1
    return cols


def _im2col_pixel_rows(x, pads, kernel, stride, dilation, out_hw):
    """Columns ``(N*Ho*Wo, kh*kw*C)`` of an ``(N, C, H, W)`` input: one row per output pixel.

    The input is first copied channels-last into its zero padding, so that in the
    window copy each kernel row (``kw*C`` values) is one contiguous run; ``_im2col``'s
    runs are only ``Wo`` long, which costs twice as much for LeNet's second layer.
    """
    n, c, h, w = x.shape
    (top, bottom), (left, right) = pads
    shape = (n, h + top + bottom, w + left + right, c)
    buf = xp.zeros(shape, x.dtype) if top or bottom or left or right else xp.empty(shape, x.dtype)
    _parallel.copyto(buf[:, top:top + h, left:left + w, :], x.transpose(0, 2, 3, 1))
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    s_n, s_h, s_w, s_c = buf.strides
    view = xp.lib.stride_tricks.as_strided(
        buf, (n, ho, wo, kh, kw, c), (s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c),
        writeable=False)
    return _parallel.contiguous(view).reshape(n * ho * wo, kh * kw * c)


def _col2im(cols, padded_hw, stride, dilation):
    """Adjoint of ``_im2col``: sum ``(C, kh, kw, N, Ho, Wo)`` columns into ``(N, C, Hp, Wp)``."""
    c, kh, kw, n, ho, wo = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    img = xp.zeros((c, n) + tuple(padded_hw), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            img[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                j * dw:j * dw + sw * (wo - 1) + 1:sw] += cols[:, i, j]
    return img.transpose(1, 0, 2, 3)


def _pad(x, pads):
    """Zero-pad the two spatial dims of ``x`` by ``((top, bottom), (left, right))``."""
    if not any(lo or hi for lo, hi in pads):
        return x
    return xp.pad(x, ((0, 0), (0, 0)) + tuple(pads))


def _padded(hw, pads):
    """The spatial size ``hw`` after ``((top, bottom), (left, right))`` padding."""
    return tuple(s + lo + hi for s, (lo, hi) in zip(hw, pads))


def _crop(img, pads, hw):
    (top, _), (left, _) = pads
    return img[:, :, top:top + hw[0], left:left + hw[1]]


def _channels_major(g, groups):
    """``(N, C, H, W)`` -> contiguous ``(G, C/G, N*H*W)``."""
    n, c = g.shape[:2]
    return _parallel.contiguous(g.transpose(1, 0, 2, 3)).reshape(groups, c // groups,
                                                                  g.size // c if c else 0)


# How conv2d lays out its products; each threshold was measured on the training benchmarks
# (2-core Zen 5, OpenBLAS 0.3.31, bench/RESULTS.md); they decide speed, and the results
# agree to rounding (the sums run in another order).
CHUNK_BYTES = 8 * 1024 * 1024
PER_IMAGE_MAX_PRODUCT = 1024
PER_IMAGE_MIN_PIXELS = 256
PIXEL_ROWS_MIN_CHANNELS = 4
TRANSPOSE_BLOCK = 64
BATCH_INNER_MIN_GRID = 2


def _batch_chunks(n, image_bytes):
    """Ranges of whole images whose im2col columns take at most ``CHUNK_BYTES``.

    A larger column matrix is served by a fresh ``mmap`` on every call (glibc's mmap
    threshold is at most 32 MiB), so each step would page-fault it in again; the wide
    CNN benchmark spent about 3 ms a step doing that for one 38 MB matrix.
    """
    step = max(1, CHUNK_BYTES // max(image_bytes, 1))
    return [(i, min(i + step, n)) for i in range(0, n, step)] or [(0, 0)]


def _store_channels_first(out, y, b):
    """``out[...] = y`` for ``y`` laid out ``(O, N, H, W)``, adding bias ``b`` in the same pass."""
    src = y.transpose(1, 0, 2, 3)
    if b is None:
        _parallel.copyto(out, src)
    else:
        _parallel.ufunc(xp.add, src, b.reshape(1, -1, 1, 1), out=out)


def _store_pixel_rows(out, y, b):
    """``out[...] = y`` for ``y`` laid out ``(N*H*W, O)``, adding bias ``b``.

    The transposing copy runs in blocks of ``TRANSPOSE_BLOCK`` pixels: twice as fast
    as one pass over whole images when a block's rows stay in the L1 cache (the wide
    CNN's second layer, 28 images of 16x16x64: 0.24 -> 0.13 ms).
    """
    n, o = out.shape[:2]
    dst = out.reshape(n, o, -1)
    src = y.reshape(n, -1, o).transpose(0, 2, 1)  # (n, O, H*W) view of the rows
    bias = None if b is None else b.reshape(1, -1, 1)

    def images(lo, hi):
        for j in range(0, dst.shape[2], TRANSPOSE_BLOCK):
            block = slice(j, j + TRANSPOSE_BLOCK)
            if bias is None:
                dst[lo:hi, :, block] = src[lo:hi, :, block]
            else:
                xp.add(src[lo:hi, :, block], bias, out=dst[lo:hi, :, block])

    _parallel.over_rows(images, n, dst.size)


def _matmul_per_image(w, cols, out, b=None):
    """``out[i] = w @ cols_i (+ b)`` for each image i of ``(K, n*Ho*Wo)`` columns.

    Writing each image's product into the ``(n, O, Ho, Wo)`` output directly skips the
    channels-first copy of one big product (LeNet's first layer: 0.15 ms against 0.20).
    """
    n, o = out.shape[:2]
    y = out.reshape(n, o, -1)
    xp.matmul(w, cols.reshape(cols.shape[0], n, -1).transpose(1, 0, 2), out=y)
    if b is not None:
        y += b.reshape(1, -1, 1)


def _per_image(k, o, n, pixels):
    """Whether a chunk's products run one image at a time (see ``_weight_grad_per_image``)."""
    return n >= 2 and k * o <= PER_IMAGE_MAX_PRODUCT and pixels >= PER_IMAGE_MIN_PIXELS


def _weight_grad_per_image(cols, g, groups):
    """``sum_i cols_i @ g_i^T`` per group -> ``(G, K, O/G)``, reading ``g`` as ``(n, O, Ho, Wo)``.

    For a thin product (small ``K * O/G``, many pixels per image) OpenBLAS is slower on
    the single long-K product than on one product per image (2 threads, LeNet's first
    layer, 25 x 36864 by 36864 x 6: 0.38 ms against 0.10), and the per-image operands
    are views of the gradient as it comes, with no channels-first copy (the wide CNN's
    first layer: 2.0 ms with that copy, 1.1-1.4 ms without).
    """
    _, k, m = cols.shape
    n, o = g.shape[:2]
    per = m // n
    a = cols.reshape(groups, k, n, per).transpose(0, 2, 1, 3)  # (G, n, K, per)
    b = g.reshape(n, groups, o // groups, per).transpose(1, 0, 3, 2)  # (G, n, per, O/G)
    return xp.matmul(a, b).sum(axis=1)


def _finite(w):
    """Whether a weight is all finite, so the stride-1 shift paths may run (``conv_shifts``).

    They multiply the weight by the zeros of the grid where no output pixel is, and
    0 * inf is NaN; torch's col2im adds only the taps that reach an input pixel, as
    ``_col2im`` does, so an inf or NaN weight takes that path. One pass over the weight."""
    return bool(xp.isfinite(w).all()) if is_float_array(w) else True


def _add_bias(out, b):
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


# ---------------------------------------------------------------- graph nodes


class Unfold(Node):
    """im2col as a graph op: ``(N, C, H, W)`` -> ``(G, C/G*kh*kw, N*Ho*Wo)``.

    Attributes: ``kernel``, ``stride``, ``dilation``, ``pads``, ``groups``, ``image_hw``
    (H, W) and ``cols_hw`` (Ho, Wo). Its adjoint is ``Fold``; each is the other's
    backward, so convolution gradients built from them differentiate again. Used by
    ``unfold``/``fold`` and by the ``create_graph=True`` backward of the convolutions.
    """

    def forward(self, x):
        n, c = x.shape[:2]
        cols = _im2col(_pad(x, self.pads), self.kernel, self.stride, self.dilation,
                       self.cols_hw)
        kh, kw = self.kernel
        return cols.reshape(self.groups, c // self.groups * kh * kw,
                            n * self.cols_hw[0] * self.cols_hw[1])

    def backward(self, g):
        return Fold.apply(g, **_fold_attrs(self))


class Fold(Node):
    """col2im as a graph op: ``(G, C/G*kh*kw, N*Ho*Wo)`` -> ``(N, C, H, W)``."""

    def forward(self, cols):
        (kh, kw), (ho, wo) = self.kernel, self.cols_hw
        c = cols.shape[0] * cols.shape[1] // (kh * kw)
        n = cols.shape[2] // (ho * wo) if ho * wo else 0
        cols = cols.reshape(c, kh, kw, n, ho, wo)
        padded = _padded(self.image_hw, self.pads)
        img = _col2im(cols, padded, self.stride, self.dilation)
        return xp.ascontiguousarray(_crop(img, self.pads, self.image_hw))

    def backward(self, g):
        return Unfold.apply(g, **_fold_attrs(self))


def _fold_attrs(node):
    return {k: getattr(node, k) for k in ("kernel", "stride", "dilation", "pads", "groups",
                                          "image_hw", "cols_hw")}


class _ConvBase(Node):
    """Shared plumbing: 1-D inputs are lifted to 2-D and gradients folded back."""

    saves = (0, 1)
    _name = "ConvolutionBackward0"

    def _lift(self, x, w, b):
        if self.nd == 1:
            x, w = x[:, :, None, :], w[:, :, None, :]
        return x, w, b

    def _needs(self, i):
        return self._next[i] is not None

    def _count_backward(self, grad, transposed):
        """FlopCounterMode's ``convolution_backward`` (only with a counter active)."""
        _flops.conv_backward(tuple(grad.shape), self._metas[0][0], self._metas[1][0],
                             transposed, self._needs(0), self._needs(1))

    def _fold(self, grads):
        return tuple(None if g is None else _wrap(g.reshape(meta[0]))
                     for g, meta in zip(grads, self._metas))

    def _lift_tensors(self, x, w, g):
        if self.nd == 1:
            return x.unsqueeze(2), w.unsqueeze(2), g.unsqueeze(2)
        return x, w, g

    def _fold_tensors(self, grads):
        return tuple(None if g is None else g.reshape(meta[0])
                     for g, meta in zip(grads[:len(self._metas)], self._metas))

    def release(self):
        super().release()
        self.cols = None


def _wrap(arr):
    from ..._tensor import Tensor

    return Tensor._make(arr)


# float16/bfloat16: float32 accumulation, one rounding; torch's float16 input gradient
# rounds as this backward does on float16 arrays (each product, then each overlap sum)
@float32_compute(backward=BF16_ONLY)
class Convolution(_ConvBase):
    """``conv{1,2}d`` forward; attributes ``stride``, ``pads``, ``dilation``, ``groups``, ``nd``.

    The batch is processed in chunks of whole images (``_batch_chunks``) so that no
    column matrix passes glibc's mmap threshold; each chunk's columns are kept for the
    weight gradient.
    """

    def forward(self, x, w, b=None):
        x, w, b = self._lift(x, w, b)
        n, o = x.shape[0], w.shape[0]
        kh, kw = self.kernel = w.shape[2:]
        (ho, wo), g = self.out_hw, self.groups
        if _flops.COUNTER is not None:
            _flops.conv(x.shape, w.shape, (n, o, ho, wo), False)
        k = w.shape[1] * kh * kw
        self.w2 = w.reshape(g, o // g, k)
        # one row per output pixel when channels are many enough to make the copy cheap
        self.pixel_rows = g == 1 and w.shape[1] >= PIXEL_ROWS_MIN_CHANNELS
        # thin layers with many pixels per image: per-image products, the bias inside them
        self.bias_row = not self.pixel_rows and g == 1 and b is not None and \
            _per_image(k, o, n, ho * wo)
        if self.pixel_rows:
            w_rows = w.transpose(0, 2, 3, 1).reshape(o, k)  # (O, kh*kw*C), like the rows
        else:
            xpad = _pad(x, self.pads)
        if self.bias_row:
            w_bias = xp.concatenate([self.w2[0], b[:, None]], axis=1)  # (O, C*kh*kw + 1)
        out = xp.empty((n, o, ho, wo), x.dtype)
        self.chunks = _batch_chunks(n, g * k * ho * wo * x.itemsize)
        self.cols = []
        for n0, n1 in self.chunks:
            dst = out[n0:n1]
            if self.pixel_rows:  # (n*Ho*Wo, kh*kw*C) @ (kh*kw*C, O)
                cols = _im2col_pixel_rows(x[n0:n1], self.pads, (kh, kw), self.stride,
                                          self.dilation, (ho, wo))
                _store_pixel_rows(dst, xp.matmul(cols, w_rows.T), b)
            elif self.bias_row:  # (C*kh*kw + 1, n*Ho*Wo) columns, the last row ones
                cols = _im2col(xpad[n0:n1], (kh, kw), self.stride, self.dilation, (ho, wo),
                               ones_row=True)[None]
                # one product per image, written straight into the (n, O, Ho, Wo) output
                _matmul_per_image(w_bias, cols[0], dst)
            else:  # (G, C/G*kh*kw, n*Ho*Wo) columns
                cols = _im2col(xpad[n0:n1], (kh, kw), self.stride, self.dilation, (ho, wo))
                cols = cols.reshape(g, k, (n1 - n0) * ho * wo)
                if g == 1 and _per_image(k, o, n1 - n0, ho * wo):
                    _matmul_per_image(self.w2[0], cols[0], dst, b)
                else:
                    y = conv_shifts.group_matmul(self.w2, cols).reshape(o, n1 - n0, ho, wo)
                    _store_channels_first(dst, y, b)
            self.cols.append(cols)
        return out[:, :, 0] if self.nd == 1 else out

    def backward(self, grad):
        if _flops.COUNTER is not None:
            self._count_backward(grad, False)
        if _GradState.enabled:
            return self._graph_backward(grad)
        self.saved_tensors  # noqa: B018 - raises if x or w changed in place since forward
        g = grad._data
        if g.dtype == xp.float16 and self.w2.dtype != g.dtype:  # the float32 forward's arrays,
            self.w2 = self.w2.astype(g.dtype)                     # exactly float16 again
            self.cols = [c.astype(g.dtype) for c in self.cols]
        if self.nd == 1:
            g = g[:, :, None, :]
        need_x, need_w = self._needs(0), self._needs(1)
        need_b = len(self._metas) > 2 and self._needs(2)
        gx = xp.empty((g.shape[0], self._metas[0][0][1]) + tuple(self.in_hw), g.dtype) \
            if need_x else None
        w2t = xp.ascontiguousarray(self.w2.transpose(0, 2, 1)) if need_x else None
        gw = gb = None
        o_g, hw = g.shape[1] // self.groups, g.shape[2] * g.shape[3]
        # the stride-1 input gradient by shifts (conv_shifts), unless a weight is inf/NaN
        self.shifts = need_x and self.stride == (1, 1) and _finite(self.w2)
        reads_gc = need_x and (self._batch_inner_input_grad() or self._grid_input_grad(g.dtype))
        for (n0, n1), cols in zip(self.chunks, self.cols):
            gc = g[n0:n1]
            per_image = need_w and not self.pixel_rows and \
                _per_image(cols.shape[1], o_g, n1 - n0, hw)
            # (G, O/G, n*Ho*Wo): the gradient channels-first, unless no product here needs it
            needs_gt = (need_x and not reads_gc) or (need_w and not per_image)
            gt = _channels_major(gc, self.groups) if needs_gt else None
            if need_x:
                self._input_grad(w2t, gc, gt, gx[n0:n1])
            part_b = None
            if need_w:
                if self.pixel_rows:
                    part = xp.matmul(gt[0], cols)
                elif per_image:
                    part = _weight_grad_per_image(cols, gc, self.groups)
                else:
                    part = conv_shifts.group_matmul(cols, gt, tb=True)
                if self.bias_row:  # the ones row's gradient is the bias gradient
                    part, part_b = part[:, :-1], part[0, -1]
                gw = part if gw is None else xp.add(gw, part, out=gw)
            if need_b:
                if part_b is None:  # over contiguous rows when the channels-first copy exists
                    part_b = gt.sum(axis=2).reshape(-1) if gt is not None else \
                        gc.sum(axis=(0, 2, 3))
                gb = part_b.copy() if gb is None else xp.add(gb, part_b, out=gb)
        if gw is not None and self.pixel_rows:  # (O, kh*kw*C) -> (O, C, kh, kw)
            gw = gw.reshape((gw.shape[0],) + tuple(self.kernel) + (-1,)).transpose(0, 3, 1, 2)
        elif gw is not None:
            gw = gw.transpose(0, 2, 1)
        return self._fold((gx, gw, gb)[:len(self._metas)])

    def _padded_hw(self):
        return _padded(self.in_hw, self.pads)

    def _batch_inner_input_grad(self):
        """Whether the stride-1 input gradient runs batch-innermost: the padded grid is at
        least ``BATCH_INNER_MIN_GRID`` times the output (small images for the kernel)."""
        (hp, wp), (ho, wo) = self._padded_hw(), self.out_hw
        return self.shifts and hp * wp >= BATCH_INNER_MIN_GRID * ho * wo

    def _grid_input_grad(self, dtype):
        """Whether the stride-1 input gradient runs as shifted products on a channels-last
        grid (``conv_shifts``): one group, enough input channels, not batch-innermost."""
        return self.shifts and not self._batch_inner_input_grad() and \
            conv_shifts.grid_usable(self._metas[0][0][1], self.groups, dtype)

    def _input_grad(self, w2t, gc, gt, out):
        """Write the input gradient of one chunk of images into ``out`` (n, C, H, W).

        ``gc`` is the chunk's output gradient; ``gt`` its channels-first copy (None when
        no product of the chunk needs it: the batch-innermost and grid paths read ``gc``).
        """
        n, c = out.shape[:2]
        kh, kw = self.kernel
        (ho, wo), pads, padded = self.out_hw, self.pads, self._padded_hw()
        if self._grid_input_grad(gc.dtype):
            w = self.w2.reshape((self.w2.shape[1], c) + tuple(self.kernel))
            conv_shifts.grid_input_grad(gc, w, pads, self.dilation, self.in_hw, out)
            return
        if self._batch_inner_input_grad():
            img = conv_shifts.batch_inner_input_grad(w2t, gc, self.kernel, self.dilation, padded)
        elif self.shifts:
            img = conv_shifts.channels_first_input_grad(w2t, gt, (n, c), self.kernel,
                                                        self.dilation, padded, (ho, wo))
        else:
            gcols = conv_shifts.group_matmul(w2t, gt).reshape((c, kh, kw, n, ho, wo))
            img = _col2im(gcols, padded, self.stride, self.dilation)
        _parallel.copyto(out, _crop(img, pads, self.in_hw))

    def _graph_backward(self, g):
        """The same products in Tensor ops over ``Unfold``/``Fold`` (create_graph=True)."""
        x, w = self.saved_tensors[:2]
        x, w, g = self._lift_tensors(x, w, g)
        groups, (n, o) = self.groups, (g.shape[0], w.shape[0])
        attrs = dict(kernel=self.kernel, stride=self.stride, dilation=self.dilation,
                     pads=self.pads, groups=groups, image_hw=self.in_hw, cols_hw=self.out_hw)
        gt = g.transpose(0, 1).reshape(groups, o // groups, n * self.out_hw[0] * self.out_hw[1])
        w2 = w.reshape(groups, o // groups, w[0].numel())
        gx = gw = gb = None
        if self._needs(0):
            gx = Fold.apply(w2.transpose(1, 2) @ gt, **attrs)
        if self._needs(1):
            gw = gt @ Unfold.apply(x, **attrs).transpose(1, 2)
        if len(self._metas) > 2 and self._needs(2):
            gb = g.sum(dim=(0, 2, 3))
        return self._fold_tensors((gx, gw, gb))


# ---------------------------------------------------------------- argument checks


def _ntuple(value, n, name, op="convolution"):
    """An int or a sequence of ``n`` ints as an ``n``-tuple (torch's message otherwise)."""
    if isinstance(value, int):
        return (value,) * n
    if isinstance(value, xp.integer):  # torch takes NumPy ints as ints
        return (int(value),) * n
    vals = tuple(value)
    if len(vals) == 1:
        return vals * n
    if len(vals) != n or not all(isinstance(v, int) for v in vals):
        raise RuntimeError(
            f"expected {name} to be a single integer value or a list of {n} values to match "
            f"the {op} dimensions, but got {name}={list(vals)}")
    return vals


def _dtype_name(t):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
            "int32": "Int", "bfloat16": "BFloat16"}.get(t.dtype.name, t.dtype.name)


def _check_dtypes(x, w, b):
    if w.dtype is not x.dtype:
        raise RuntimeError(
            f"expected scalar type {_dtype_name(x)} but found {_dtype_name(w)} (input is "
            f"{x.dtype.name}, weight is {w.dtype.name}; convert them to the same dtype)")
    if b is not None and b.dtype is not x.dtype:
        raise RuntimeError(f"Input type ({x.dtype.name}) and bias type ({b.dtype.name}) "
                           "should be the same")


def _check_input(x, w, b, nd, name, groups, transposed):
    """Validate ranks and channel counts; return whether the input is batched."""
    if w.ndim != nd + 2:
        raise RuntimeError(f"Expected {nd + 2}D weight for {name}, but got weight of size "
                           f"{list(w.shape)}")
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got "
            f"input of size: {list(x.shape)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    shape = list(x.shape) if x.ndim == nd + 2 else [1] + list(x.shape)
    expected = w.shape[0] if transposed else w.shape[1] * groups
    if shape[1] != expected:
        head = "transposed=1" if transposed else f"groups={groups}"
        raise RuntimeError(
            f"Given {head}, weight of size {list(w.shape)}, expected input{shape} to have "
            f"{expected} channels, but got {shape[1]} channels instead")
    if not transposed and w.shape[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size [{list(w.shape)}] instead")
    if transposed and w.shape[0] % groups:
        raise RuntimeError(
            f"Given transposed=1, groups={groups}, expected weight to be divisible by {groups} "
            f"at dimension 0, but got weight of size {list(w.shape)} instead")
    n_out = w.shape[1] * groups if transposed else w.shape[0]
    if b is not None and (b.ndim != 1 or b.shape[0] != n_out):
        raise RuntimeError(
            f"Given weight of size {list(w.shape)}, expected bias to be 1-dimensional with "
            f"{n_out} elements, but got bias of size {list(b.shape)} instead")
    _check_dtypes(x, w, b)
    return x.ndim == nd + 2


def _geometry(stride, padding, dilation, kernel, nd):
    """Normalise stride/padding/dilation to 2-D tuples; padding as (lo, hi) pairs."""
    stride = _ntuple(stride, nd, "stride")
    dilation = _ntuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                         for d, k in zip(dilation, kernel))
        else:
            raise RuntimeError(f"Invalid padding string: {padding!r}")
    else:
        pad = _ntuple(padding, nd, "padding")
        if any(p < 0 for p in pad):
            raise RuntimeError("negative padding is not supported")
        pads = tuple((p, p) for p in pad)
    if nd == 1:
        stride, dilation, pads = (1,) + stride, (1,) + dilation, ((0, 0),) + pads
    return stride, pads, dilation


def _size_str(hw, nd):
    return " x ".join(str(s) for s in hw[2 - nd:])


# ---------------------------------------------------------------- public API


def _conv(x, w, b, stride, padding, dilation, groups, nd):
    name = f"conv{nd}d"
    if type(groups) is not int or type(stride) not in _CA.PLAIN or \
            type(dilation) not in _CA.PLAIN or type(padding) not in _CA.PLAIN_PADDING:
        _CA.refuse(name, x, w, b, stride, padding, dilation, groups)
    try:  # free unless raised: a bad argument that passed the check above fails in here
        batched = _check_input(x, w, b, nd, name, groups, transposed=False)
        kernel = tuple(w.shape[2:])
        stride, pads, dilation = _geometry(stride, padding, dilation, kernel, nd)
    except (TypeError, AttributeError, RuntimeError):
        _CA.refuse(name, x, w, b, stride, padding, dilation, groups)
        raise
    if not batched:
        x = x.unsqueeze(0)
    kernel = (1,) * (2 - nd) + kernel
    in_hw = (1,) * (2 - nd) + tuple(x.shape[2:])
    padded = _padded(in_hw, pads)
    eff = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({_size_str(padded, nd)}). Kernel size: "
            f"({_size_str(eff, nd)}). Kernel size can't be greater than actual input size")
    out_hw = tuple((p - e) // s + 1 for p, e, s in zip(padded, eff, stride))
    inputs = (x, w) if b is None else (x, w, b)
    out = Convolution.apply(*inputs, stride=stride, pads=pads, dilation=dilation, groups=groups,
                            nd=nd, in_hw=in_hw, out_hw=out_hw, _shown_edges=_conv_edges(b))
    return out if batched else out.squeeze(0)


def _conv_edges(bias):
    """torch's ConvolutionBackward0 lists an absent bias as an input without a graph."""
    return (0, 1, None) if bias is None else None


@autocast_op("conv1d")
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """1-D convolution over ``(N, C, L)`` or ``(C, L)`` input (cross-correlation, like torch)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1)


@autocast_op("conv2d")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """2-D convolution over ``(N, C, H, W)`` or ``(C, H, W)`` input.

    ``padding`` is an int, a pair, ``'valid'`` or ``'same'`` (stride 1 only; an odd
    total padding puts the extra row/column at the bottom/right, as torch does).
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2)


# ---------------------------------------------------------------- unfold / fold


def _block_args(kernel_size, dilation, padding, stride):
    kernel = _ntuple(kernel_size, 2, "kernel_size", "unfold")
    dilation = _ntuple(dilation, 2, "dilation", "unfold")
    padding = _ntuple(padding, 2, "padding", "unfold")
    stride = _ntuple(stride, 2, "stride", "unfold")
    if any(v <= 0 for v in kernel + dilation + stride) or any(p < 0 for p in padding):
        raise RuntimeError(
            f"kernel_size, dilation and stride must be positive and padding non-negative, but "
            f"got kernel_size={kernel}, dilation={dilation}, padding={padding}, stride={stride}")
    return kernel, dilation, padding, stride


def _blocks(hw, kernel, dilation, padding, stride):
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, d, p, s in zip(hw, kernel, dilation, padding, stride))


def _check_block_dtype(x, kernel):
    """torch's im2col/col2im CPU kernels take floating types and bool, not integers."""
    if not x.dtype.is_floating_point and x.dtype.name != "bool":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype_title(x.dtype)}\'')


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """Sliding blocks of ``(N, C, H, W)`` as columns ``(N, C*kh*kw, L)`` (im2col)."""
    if input.ndim < 3:  # torch reads the sizes of dims 1 and 2 first
        raise dim_index_error(1 if input.ndim < 2 else 2, input.ndim)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Input Error: Only 3D or 4D input Tensors are supported (got "
                           f"{input.ndim}D)")
    kernel, dilation, padding, stride = _block_args(kernel_size, dilation, padding, stride)
    if any(s == 0 for s in input.shape[-3:]):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and "
                           f"other non-zero dimensions for input, but got: {list(input.shape)}")
    x = input if input.ndim == 4 else input.unsqueeze(0)
    n, c, h, w = x.shape
    blocks = _blocks((h, w), kernel, dilation, padding, stride)
    if any(b < 1 for b in blocks):
        raise RuntimeError(
            f"Given input with spatial size ({h}, {w}), kernel_size={kernel}, "
            f"dilation={dilation}, padding={padding}, calculated shape of the array of sliding "
            f"blocks as {blocks}, but its components must be at least one.")
    _check_block_dtype(input, "im2col_out_cpu")
    cols = Unfold.apply(x, kernel=kernel, stride=stride, dilation=dilation,
                        pads=tuple((p, p) for p in padding), groups=1, image_hw=(h, w),
                        cols_hw=blocks)
    out = cols.reshape(c * kernel[0] * kernel[1], n, blocks[0] * blocks[1]).transpose(0, 1)
    return as_torch_node(out, "Im2ColBackward0") if input.ndim == 4 else out.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """Sum columns ``(N, C*kh*kw, L)`` back into ``(N, C, *output_size)`` (col2im)."""
    if input.ndim not in (2, 3) or any(s == 0 for s in input.shape[input.ndim - 2:]):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           "batch size and non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    out_hw = _ntuple(output_size, 2, "output_size", "fold")
    kernel, dilation, padding, stride = _block_args(kernel_size, dilation, padding, stride)
    cols = input if input.ndim == 3 else input.unsqueeze(0)
    n, ckk, length = cols.shape
    kk = kernel[0] * kernel[1]
    if ckk % kk:
        raise RuntimeError(
            "Expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size, but got input.size(1)={ckk} and kernel_size={kernel}.")
    blocks = _blocks(out_hw, kernel, dilation, padding, stride)
    if blocks[0] * blocks[1] != length or any(b < 1 for b in blocks):
        raise RuntimeError(
            f"Given output_size={out_hw}, kernel_size={kernel}, dilation={dilation}, "
            f"padding={padding}, stride={stride}, expected size of input's dimension 2 to "
            f"match the calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
            f"{blocks[0] * blocks[1]}, but got input.size(2)={length}.")
    _check_block_dtype(input, "col2im_out_cpu")
    flat = cols.transpose(0, 1).reshape(1, ckk, n * length)
    out = Fold.apply(flat, kernel=kernel, stride=stride, dilation=dilation,
                     pads=tuple((p, p) for p in padding), groups=1, image_hw=out_hw,
                     cols_hw=blocks, _name="Col2ImBackward0")
    return out if input.ndim == 3 else out.squeeze(0)


__all__ = ["conv1d", "conv2d", "fold", "unfold"]  # transposed convolutions: conv_transpose.py
