"""Transposed convolutions: ``conv_transpose1d`` and ``conv_transpose2d``.

A transposed convolution is the input-gradient of a convolution, so it runs on
``conv.py``'s kernels: one ``(C_out/G*kh*kw, C_in/G)`` product per group over the
input's pixels, then the col2im scatter (``_col2im``), or, at stride 1, the shifted
row sums of ``conv_shifts`` on the full output's grid. Its backward is the
convolution's forward (im2col of the output gradient, then products). ``conv.py``
re-exports the public names.
"""

from __future__ import annotations

from ...amp._policy import autocast_op
from ...autograd.grad_mode import _GradState
from ...backend import xp
from ...ops import _flops
from ...ops._lowp import BF16_ONLY, float32_compute
from . import conv_empty, conv_shifts
from .conv import (
    Unfold,
    _add_bias,
    _channels_major,
    _check_input,
    _col2im,
    _conv_edges,
    _ConvBase,
    _crop,
    _finite,
    _geometry,
    _im2col,
    _ntuple,
    _size_str,
    _store_channels_first,
)


@float32_compute(dtypes=BF16_ONLY)  # float16: as the float16 gradient of a convolution
class ConvTranspose(_ConvBase):
    """``conv_transpose{1,2}d`` forward: the input-gradient of a convolution."""

    def forward(self, x, w, b=None):
        x, w, b = self._lift(x, w, b)
        n, c_in = x.shape[:2]
        g = self.groups
        if _flops.COUNTER is not None:
            _flops.conv(x.shape, w.shape, None, True)
        kh, kw = self.kernel = w.shape[2:]
        c_out = w.shape[1] * g
        self.xt = _channels_major(x, g)  # (G, C_in/G, N*H*W)
        self.w2 = w.reshape(g, c_in // g, w.shape[1] * kh * kw)  # (G, C_in/G, C_out/G*kh*kw)
        w2t = xp.ascontiguousarray(self.w2.transpose(0, 2, 1))
        if self.stride == (1, 1) and _finite(w2t):  # else only the taps that land (_finite)
            img = conv_shifts.channels_first_input_grad(w2t, self.xt, (n, c_out), (kh, kw),
                                                        self.dilation, self.full_hw, x.shape[2:])
        else:
            cols = conv_shifts.group_matmul(w2t, self.xt).reshape((c_out, kh, kw, n)
                                                                  + x.shape[2:])
            img = _col2im(cols, self.full_hw, self.stride, self.dilation)
        out = _add_bias(xp.ascontiguousarray(_crop(img, self.pads, self.out_hw)), b)
        return out[:, :, 0] if self.nd == 1 else out

    def backward(self, grad):
        if _flops.COUNTER is not None:
            self._count_backward(grad, True)
        if _GradState.enabled:
            return self._graph_backward(grad)
        self.saved_tensors  # noqa: B018 - raises if x or w changed in place since forward
        g = grad._data
        if self.nd == 1:
            g = g[:, :, None, :]
        groups = self.groups
        kh, kw = self.kernel
        gpad = xp.pad(g, ((0, 0), (0, 0), (self.pads[0][0], self.full_hw[0] - self.out_hw[0]
                                            - self.pads[0][0]),
                          (self.pads[1][0], self.full_hw[1] - self.out_hw[1] - self.pads[1][0])))
        cols = _im2col(gpad, (kh, kw), self.stride, self.dilation, self.in_hw)
        n_cols = g.shape[0] * self.in_hw[0] * self.in_hw[1]
        cols = cols.reshape(groups, self.w2.shape[2], n_cols)  # (G, C_out/G*kh*kw, N*H*W)
        gx = gw = gb = None
        if self._needs(0):
            c_in, n = self.w2.shape[1] * groups, g.shape[0]
            y = conv_shifts.group_matmul(self.w2, cols).reshape((c_in, n) + tuple(self.in_hw))
            gx = xp.empty((n, c_in) + tuple(self.in_hw), y.dtype)
            _store_channels_first(gx, y, None)
        if self._needs(1):
            gw = conv_shifts.group_matmul(cols, self.xt, tb=True).transpose(0, 2, 1)
        if len(self._metas) > 2 and self._needs(2):
            gb = g.sum(axis=(0, 2, 3))
        return self._fold((gx, gw, gb)[:len(self._metas)])

    def _graph_backward(self, g):
        """The same products in Tensor ops over ``Unfold`` (create_graph=True)."""
        x, w = self.saved_tensors[:2]
        x, w, g = self._lift_tensors(x, w, g)
        groups, (n, c_in) = self.groups, x.shape[:2]
        cols = Unfold.apply(g, kernel=self.kernel, stride=self.stride, dilation=self.dilation,
                            pads=self.pads, groups=groups, image_hw=self.out_hw,
                            cols_hw=self.in_hw)  # (G, C_out/G*kh*kw, N*H*W)
        w2 = w.reshape(groups, c_in // groups, w[0].numel())
        gx = gw = gb = None
        if self._needs(0):
            gx = (w2 @ cols).reshape((c_in, n) + tuple(self.in_hw)).transpose(0, 1)
        if self._needs(1):
            xt = x.transpose(0, 1).reshape(groups, c_in // groups, cols.shape[2])
            gw = xt @ cols.transpose(1, 2)
        if len(self._metas) > 2 and self._needs(2):
            gb = g.sum(dim=(0, 2, 3))
        return self._fold_tensors((gx, gw, gb))

    def release(self):
        super().release()
        self.xt = None


# ---------------------------------------------------------------- public API


def _conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation, nd):
    name = f"conv_transpose{nd}d"
    if isinstance(padding, str):
        raise TypeError(f"{name}(): argument 'padding' must be tuple of ints, not str")
    batched = _check_input(x, w, b, nd, name, groups, transposed=True)
    if not batched:
        x = x.unsqueeze(0)
    kernel = (1,) * (2 - nd) + tuple(w.shape[2:])
    stride, pads, dilation = _geometry(stride, padding, dilation, tuple(w.shape[2:]), nd)
    out_pad = (0,) * (2 - nd) + _ntuple(output_padding, nd, "output_padding")
    check_output_padding(out_pad[2 - nd:], stride[2 - nd:], dilation[2 - nd:])
    in_hw = (1,) * (2 - nd) + tuple(x.shape[2:])
    full_hw = tuple((i - 1) * s + d * (k - 1) + 1 + op
                    for i, s, d, k, op in zip(in_hw, stride, dilation, kernel, out_pad))
    out_hw = tuple(f - 2 * lo for f, (lo, _) in zip(full_hw, pads))
    if min(out_hw) < 0 or (0 in out_hw and not conv_empty.allows_empty(
            x, kernel, groups, stride, out_pad)):
        raise RuntimeError(
            f"Given input size per channel: ({_size_str(in_hw, nd)}). Calculated output size "
            f"per channel: ({_size_str(out_hw, nd)}). Output size is too small")
    inputs = (x, w) if b is None else (x, w, b)
    out = ConvTranspose.apply(*inputs, stride=stride, pads=pads, dilation=dilation,
                              groups=groups, nd=nd, in_hw=in_hw, out_hw=out_hw, full_hw=full_hw,
                              _shown_edges=_conv_edges(b))
    return out if batched else out.squeeze(0)


def check_output_padding(out_pad, stride, dilation):
    """torch's rule for every spatial dim: 0 <= output_padding < max(stride, dilation)."""
    for op, s, d in zip(out_pad, stride, dilation):
        if op < 0 or (op >= s and op >= d):
            raise RuntimeError(
                f"output padding must be smaller than either stride or dilation, but got "
                f"output_padding={list(out_pad)}, stride={list(stride)}, "
                f"dilation={list(dilation)}")


@autocast_op("conv_transpose1d")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,  # noqa: A002
                     groups=1, dilation=1):
    """Transposed 1-D convolution (the gradient of ``conv1d`` with respect to its input)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 1)


@autocast_op("conv_transpose2d")
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,  # noqa: A002
                     groups=1, dilation=1):
    """Transposed 2-D convolution; ``output_padding`` adds rows/columns at the bottom/right."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 2)


__all__ = ["ConvTranspose", "conv_transpose1d", "conv_transpose2d"]
