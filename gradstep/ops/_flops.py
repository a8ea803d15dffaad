"""The op layer's seam for ``torch.utils.flop_counter.FlopCounterMode``.

torch counts FLOPs per aten op it dispatches (``mm``, ``addmm``, ``bmm``, ``baddbmm``,
``convolution``, ``convolution_backward``, the GPU attention kernels); gradstep has no
dispatcher, so the few ops that count call in here, behind one test of ``COUNTER`` (None
unless a counter is active: nothing else runs on the common path). The functions below
name the aten op torch's CPU build would reach for the same call (``matmul`` folds a
batched left operand into one ``mm``, a matrix-vector product is an uncounted ``mv``...)
and its FLOPs by torch's formulas (2 per multiply-add; bias and groups ignored).
"""

from __future__ import annotations

#: set by FlopCounterMode while active: ``COUNTER(op_name, flops)``
COUNTER = None


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def matmul(a, b, key=None):
    """Count ``a @ b`` (tensors) as torch's ``matmul`` decomposes it; ``key`` names a fused
    op (``addmm``, ``baddbmm``) counted with the product's FLOPs."""
    sa, sb = a.shape, b.shape
    na, nb = len(sa), len(sb)
    if nb == 1 or (na == 1 and nb >= 3):  # dot / mv: torch registers no formula for them
        return
    flops = 2 * _prod(sa[:-1]) * sa[-1] * sb[-1]
    if nb == 2:  # mm, the batch dims of ``a`` folded into its rows
        COUNTER(key or "mm", flops)
        return
    batch = _prod(_broadcast(sa[:-2], sb[:-2]))
    flops = 2 * batch * (sa[-2] if na >= 2 else 1) * sa[-1] * sb[-1]
    if na == 2 and b.requires_grad:  # torch folds (b^T a^T) into one mm here
        COUNTER("mm", flops)
        return
    COUNTER(key or "bmm", flops)


def _broadcast(s1, s2):
    n = max(len(s1), len(s2))
    s1, s2 = (1,) * (n - len(s1)) + tuple(s1), (1,) * (n - len(s2)) + tuple(s2)
    return tuple(max(x, y) for x, y in zip(s1, s2))


def linear(rows, n_in, n_out, fused):
    """``F.linear``'s product: ``addmm`` when torch fuses the bias, else ``mm``."""
    COUNTER("addmm" if fused else "mm", 2 * rows * n_in * n_out)


def linear_backward(rows, n_in, n_out, need_x, need_w):
    """The two ``mm`` of linear's backward, each only if its gradient is needed."""
    per = 2 * rows * n_in * n_out
    COUNTER("mm", per * (int(need_x) + int(need_w)))


def conv_flops(x_shape, w_shape, out_shape, transposed):
    """torch's ``conv_flop_count``: multiplies only, per output (or, transposed, input) point."""
    conv_shape = (x_shape if transposed else out_shape)[2:]
    c_out, c_in = w_shape[0], w_shape[1]
    return 2 * _prod(conv_shape) * _prod(w_shape[2:]) * x_shape[0] * c_out * c_in


def conv(x_shape, w_shape, out_shape, transposed):
    COUNTER("convolution", conv_flops(x_shape, w_shape, out_shape, transposed))


def conv_backward(g_shape, x_shape, w_shape, transposed, need_x, need_w):
    """torch's ``conv_backward_flop``: the input gradient as the opposite convolution of the
    output gradient, the weight gradient as a convolution of input and output gradient."""
    def t(shape):
        return [shape[1], shape[0], *shape[2:]]

    flops = 0
    if need_x:
        flops += conv_flops(g_shape, w_shape, x_shape, not transposed)
    if need_w:
        if transposed:
            flops += conv_flops(t(g_shape), t(x_shape), t(w_shape), False)
        else:
            flops += conv_flops(t(x_shape), t(g_shape), t(w_shape), False)
    COUNTER("convolution_backward", flops)
