"""A stride-1 convolution's input gradient (and a transposed convolution's output) by shifts.

The gradient reaching input pixel ``(y, x)`` through kernel offset ``(i, j)`` is the output
gradient at ``(y - i*dh, x - j*dw)`` times ``w[:, :, i, j]``. Laid on the padded input's grid
(zero where no output pixel is), an offset is a shift of the flattened grid, so the scatter of
im2col's adjoint becomes ``kh*kw`` shifted sums of long rows. Three layouts, chosen by
``conv.py`` by shape:

* ``channels_first_input_grad``: one ``(C*kh*kw, O) @ (O, n*Hp*Wp)`` product, then the shifted
  sums of its rows (``shift_sum``);
* ``batch_inner_input_grad``: the same with the batch innermost, for small images, where the
  grid of the output's rows only is much smaller than the padded one;
* ``grid_input_grad``: channels last, one ``(rows, O) @ (O, C)`` product per offset that BLAS
  adds straight into a shifted window of one buffer (``gemm`` with ``beta = 1``,
  ``_blas.gemm_accumulate``), in blocks of ``BLOCK_ROWS`` grid rows so a block's window stays
  in cache across the offsets. OpenBLAS runs wide products (a row-major result with few rows
  and many columns) slower than such tall ones, and the sums happen inside the products:
  0.70-0.93x the channels-first time for 32-256 input channels, but slower for 3 input
  channels, hence ``GRID_MIN_CHANNELS`` (bench/RESULTS.md).
"""

from __future__ import annotations

from ... import _blas, _parallel
from ...backend import xp

BLOCK_ROWS = 8192  # (8192, 64) @ (64, 32) blocks ran at 153 GFLOP/s, as fast as one big product
GRID_MIN_CHANNELS = 16  # input channels; 3 ran 1.6x slower than channels-first, 32 0.8x


def group_matmul(a, b, tb=False):
    """``a[g] @ b[g]`` for every group g (``tb`` transposes the second operand)."""
    out = None
    for g in range(a.shape[0]):
        bg = b[g].T if tb else b[g]
        if out is None:
            out = xp.empty((a.shape[0], a.shape[1], bg.shape[1]), xp.result_type(a, b))
        xp.matmul(a[g], bg, out=out[g])
    return out


def channels_first_input_grad(w2t, gt, nc, kernel, dilation, padded_hw, out_hw):
    """Input gradient of a stride-1 convolution, as a padded ``(n, C, Hp, Wp)`` view.

    The output gradient is laid on the padded input's grid (zero where no output pixel
    is), so kernel offset ``(i, j)`` becomes a shift of the flattened grid by
    ``i*dh*Wp + j*dw``: the scatter is ``kh*kw`` additions of long contiguous rows
    instead of ``conv._col2im``'s short strided ones (LeNet's second layer: 2x faster, though
    the product grows from the output's pixels to the grid's).
    """
    n, c = nc
    (kh, kw), (dh, dw), (hp, wp), (ho, wo) = kernel, dilation, padded_hw, out_hw
    groups, og = gt.shape[:2]
    grid = xp.zeros((groups, og, n, hp, wp), gt.dtype)
    grid[..., :ho, :wo] = gt.reshape(groups, og, n, ho, wo)
    p = n * hp * wp
    cols = group_matmul(w2t, grid.reshape(groups, og, p)).reshape(c, kh * kw, p)
    offsets = [i * dh * wp + j * dw for i in range(kh) for j in range(kw)]
    return shift_sum(cols, offsets, p).reshape(c, n, hp, wp).transpose(1, 0, 2, 3)


def batch_inner_input_grad(w2t, g, kernel, dilation, padded_hw):
    """``channels_first_input_grad`` with the batch innermost, from ``g`` as ``(n, O, Ho, Wo)``.

    The grid then needs only the output's rows, ``(Ho, Wp, n)``, and a kernel offset is
    a shift by ``(i*dh*Wp + j*dw) * n``: for small images the product shrinks by
    ``Hp/Ho`` (LeNet's second layer, 12/8: its input gradient 0.66 -> 0.47 ms), at the
    price of two transposing copies, which cost more than they save on larger images.
    """
    n, o, ho, wo = g.shape
    (kh, kw), (dh, dw), (hp, wp) = kernel, dilation, padded_hw
    groups = w2t.shape[0]
    grid = xp.zeros((o, ho, wp, n), g.dtype)
    grid[:, :, :wo] = _blas.transposed(g.reshape(n, o * ho * wo)).reshape(o, ho, wo, n)
    p = ho * wp * n
    cols = group_matmul(w2t, grid.reshape(groups, o // groups, p))
    c = cols.shape[0] * cols.shape[1] // (kh * kw)
    offsets = [(i * dh * wp + j * dw) * n for i in range(kh) for j in range(kw)]
    flat = shift_sum(cols.reshape(c, kh * kw, p), offsets, hp * wp * n)
    return flat.reshape(c, hp, wp, n).transpose(3, 0, 1, 2)


def shift_sum(cols, offsets, length):
    """``sum_k cols[:, k]`` shifted right by ``offsets[k]`` (the first 0), as ``(C, length)``."""
    c, _, p = cols.shape
    flat = xp.empty((c, max(length, p + max(offsets))), cols.dtype)

    def channels(lo, hi):  # each channel's sum alone: the same additions in the same order
        flat[lo:hi, :p] = cols[lo:hi, 0]
        flat[lo:hi, p:] = 0
        for k in range(1, len(offsets)):
            flat[lo:hi, offsets[k]:offsets[k] + p] += cols[lo:hi, k]

    _parallel.over_rows(channels, c, flat.size)
    return flat[:, :length]


def grid_usable(x_channels, groups, dtype):
    """Whether ``grid_input_grad`` takes a convolution (one group, enough input channels)."""
    return groups == 1 and x_channels >= GRID_MIN_CHANNELS and dtype in (xp.float32, xp.float64)


def grid_input_grad(g, w, pads, dilation, in_hw, out):
    """Write the input gradient of a stride-1, one-group convolution into ``out`` (n, C, H, W).

    ``g``: the output gradient (n, O, Ho, Wo); ``w``: the weight (O, C, kh, kw); ``pads``:
    ``((top, bottom), (left, right))``; ``dilation``: ``(dh, dw)``. The grid holds each
    image's output gradient channels last in its top-left corner.
    """
    n, o, ho, wo = g.shape
    c, kh, kw = w.shape[1:]
    (top, bottom), (left, right) = pads
    (h, wd), (dh, dw) = in_hw, dilation
    hp, wp = h + top + bottom, wd + left + right
    rows = n * hp * wp
    offsets = [i * dh * wp + j * dw for i in range(kh) for j in range(kw)]
    grid = xp.zeros((n, hp, wp, o), g.dtype)
    for b in range(n):  # each image's (O, Ho*Wo) -> (Ho*Wo, O), into its corner of the grid
        grid[b, :ho, :wo] = _blas.transposed(g[b].reshape(o, ho * wo)).reshape(ho, wo, o)
    a = grid.reshape(rows, o)
    acc = xp.zeros((rows + max(offsets), c), g.dtype)  # rows past the grid gather only zeros
    w_k = [xp.ascontiguousarray(w[:, :, i, j]) for i in range(kh) for j in range(kw)]
    for lo in range(0, rows, BLOCK_ROWS):
        hi = min(lo + BLOCK_ROWS, rows)
        for off, wk in zip(offsets, w_k):
            _blas.gemm_accumulate(a[lo:hi], wk, acc[lo + off:hi + off])
    img = acc[:rows].reshape(n, hp, wp, c)
    out[...] = img[:, top:top + h, left:left + wd].transpose(0, 3, 1, 2)
