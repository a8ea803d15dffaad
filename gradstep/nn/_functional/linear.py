"""``linear`` and ``bilinear`` of ``nn.functional``."""

from __future__ import annotations

from ... import _parallel
from ..._argparse import tensor_error
from ..._tensor import Tensor
from ...amp._policy import autocast_op
from ...autograd.function import Node
from ...autograd.grad_mode import _GradState
from ...backend import xp
from ...ops import _flops
from ...ops._lowp import float32_compute, is_lowp
from ...ops._util import matmul_arrays

__all__ = ["linear", "bilinear"]


@float32_compute  # float16/bfloat16: float32 accumulation (bias included), one rounding
class Linear(Node):
    """y = x W^T (+ b) as one node: one BLAS call forward, two backward.

    The input is flattened to 2-D so the batch dims share a single matrix product.
    Backward runs on raw arrays (one GEMM per needed gradient, the batch dims folded
    into the rows); under ``create_graph=True`` it is written in Tensor ops instead,
    so double backward works.
    """

    saves = (0, 1)

    def _default_name(self):
        """torch's grad_fn names for the same call (which differ with input rank and bias)."""
        has_bias, nd = len(self._metas) == 3, len(self._metas[0][0])
        if nd == 2:
            return "AddmmBackward0" if has_bias else "MmBackward0"
        if nd == 1 and not has_bias:
            return "SqueezeBackward4"
        return "ViewBackward0" if has_bias else "UnsafeViewBackward0"

    @property
    def _shown_edges(self):
        """torch's ``addmm`` lists the bias first (its weight comes through a TBackward0)."""
        return (2, 0, 1) if len(self._metas) == 3 and len(self._metas[0][0]) == 2 else None

    def forward(self, x, w, b=None):
        if x.ndim == 1:
            out = xp.matmul(x, w.T)
        else:
            x2 = x.reshape(_rows(x.shape), x.shape[-1])
            if _weight_first_pays(x2, w):
                return _weight_first(x2, w, b).reshape(*x.shape[:-1], w.shape[0])
            out = xp.matmul(x2, w.T)
        if b is not None:
            _parallel.ufunc(xp.add, out, b, out=out)
        return out.reshape(*x.shape[:-1], w.shape[0])

    def backward(self, g):
        if _GradState.enabled:
            return self._graph_backward(g)
        x, w = self.saved_tensors
        need = self._next
        wd = w._data
        rows = _rows(x._data.shape)  # not -1: a size-0 dim leaves -1 ambiguous
        g2 = g._data.reshape(rows, wd.shape[0])
        gx = gw = gb = None
        if _flops.COUNTER is not None:
            _flops.linear_backward(rows, wd.shape[1], wd.shape[0], need[0] is not None,
                                   need[1] is not None)
        if need[0] is not None:
            gx = Tensor._make(xp.matmul(g2, wd).reshape(x._data.shape))
        if need[1] is not None:
            gw = Tensor._make(matmul_arrays(g2.T, x._data.reshape(rows, wd.shape[1])))
        if len(need) == 2:
            return gx, gw
        if need[2] is not None:
            gb = Tensor._make(g2.sum(0))
        return gx, gw, gb

    def _graph_backward(self, g):
        """The same products in Tensor ops (create_graph=True)."""
        x, w = self.saved_tensors
        need = [e is not None for e in self._next]
        rows = _rows(x.shape)
        g2 = g.reshape(rows, w.shape[0])
        gx = (g @ w) if need[0] else None
        gw = (g2.mT @ x.reshape(rows, w.shape[1])) if need[1] else None
        if len(need) == 2:
            return gx, gw
        return gx, gw, (g2.sum(0) if need[2] else None)


# OpenBLAS's float32 GEMM is slow on a short x in ``x @ W^T``: ``(W @ x^T)^T`` is the same
# dot products (bit for bit here) and, with the bias added during the transposing copy out,
# 0.5-0.75x the time for 8-32 rows and a weight of 32K+ elements, 0.8-0.9x for 64 rows and
# 256K+ (2-core Zen 5, OpenBLAS 0.3.31 SkylakeX kernels, bench/RESULTS.md). Above these
# sizes, or with fewer than 128 outputs, the copy costs more than the product saves.
WEIGHT_FIRST_MAX_ROWS = 32
WEIGHT_FIRST_MIN_WEIGHT = 1 << 15
WEIGHT_FIRST_MIN_OUT = 128
WEIGHT_FIRST_64_ROWS_MIN_WEIGHT = 1 << 18


def _weight_first_pays(x2, w):
    rows, (o, i) = x2.shape[0], w.shape
    if x2.dtype != xp.float32 or w.dtype != xp.float32 or rows < 2 or o < WEIGHT_FIRST_MIN_OUT:
        return False
    if rows <= WEIGHT_FIRST_MAX_ROWS:
        return o * i >= WEIGHT_FIRST_MIN_WEIGHT
    return rows <= 64 and o * i >= WEIGHT_FIRST_64_ROWS_MIN_WEIGHT


def _weight_first(x2, w, b):
    """``x2 @ w.T (+ b)`` computed as ``(w @ x2.T)^T``, written out C-contiguous."""
    out = xp.empty((x2.shape[0], w.shape[0]), xp.result_type(x2, w))
    product_t = xp.matmul(w, x2.T)
    if b is None:
        xp.copyto(out, product_t.T)
    else:
        xp.add(product_t.T, b, out=out)
    return out


def _rows(shape):
    """The number of rows when all but the last dim are folded (1 for a vector)."""
    n = 1
    for s in shape[:-1]:
        n *= s
    return n


def _check_linear(input, weight, bias):  # noqa: A002
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor) or \
            (bias is not None and not isinstance(bias, Tensor)):
        for pos, (name, t) in enumerate((("input", input), ("weight", weight), ("bias", bias)), 1):
            if not isinstance(t, Tensor) and (t is not None or pos < 3):
                raise tensor_error(t, "linear", name, pos)
    if weight.ndim != 2:
        if weight.ndim == 1 and input.ndim:
            return True  # a vector weight: torch's input @ weight (see _vector_linear)
        if weight.ndim == 0 or input.ndim == 0:
            raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                               f"{input.ndim}D and {weight.ndim}D")
        raise RuntimeError(f"linear(): weight must be 2-D (out_features x in_features), got "
                           f"shape {list(weight.shape)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        rows = 1
        for s in input.shape[:-1]:
            rows *= s
        cols = input.shape[-1] if input.ndim else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{cols} and "
            f"{weight.shape[1]}x{weight.shape[0]})"
        )
    if input.dtype is not weight.dtype:
        raise RuntimeError(
            f"mat1 and mat2 must have the same dtype, but got {_torch_name(input.dtype)} "
            f"and {_torch_name(weight.dtype)}"
        )
    if bias is not None:
        if bias.shape != (weight.shape[0],) and bias.numel() != 1:
            raise RuntimeError(
                f"linear(): bias must have shape [{weight.shape[0]}], got {list(bias.shape)}"
            )
        if bias.dtype is not weight.dtype:
            raise RuntimeError(
                f"linear(): bias dtype {bias.dtype.name} does not match weight dtype "
                f"{weight.dtype.name}"
            )


def _torch_name(dtype):
    names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
             "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
             "bfloat16": "BFloat16"}
    return names[dtype.name]


@autocast_op("linear")
def linear(input, weight, bias=None):  # noqa: A002
    """y = input @ weight.T + bias, for input of shape (*, in_features)."""
    if _check_linear(input, weight, bias):
        return _vector_linear(input, weight, bias)
    if _flops.COUNTER is not None:  # torch fuses the bias into addmm for contiguous input
        _flops.linear(_rows(input.shape), weight.shape[1], weight.shape[0],
                      bias is not None and input.ndim >= 2 and input.is_contiguous())
    if bias is None:
        return Linear.apply(input, weight)
    if input.ndim != 2 and is_lowp(input._data.dtype) and not input.is_contiguous():
        # torch folds only a contiguous input into one addmm (the bias inside its one
        # rounding); otherwise it runs matmul, then adds the bias: float16/bfloat16 round twice
        return Linear.apply(input, weight) + bias
    if bias.shape != (weight.shape[0],):
        bias = bias.reshape(1).expand(weight.shape[0])
    return Linear.apply(input, weight, bias)


def _vector_linear(input, weight, bias):  # noqa: A002
    """``linear`` with a 1-D weight: torch's ``input @ weight`` (one output per row). Its fused
    ``addmm`` path (2-D input, or any bias but a 0-d one) needs a matrix weight and refuses."""
    if bias is not None and (input.ndim == 2 or bias.ndim != 0):
        raise RuntimeError("mat2 must be a matrix, got 1-D tensor")
    out = input @ weight
    return out if bias is None else out + bias


def bilinear(input1, input2, weight, bias=None):  # noqa: A002
    """y_k = x1^T A_k x2 + b_k, for x1 of shape (*, in1) and x2 of shape (*, in2)."""
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out x in1 x in2), got shape "
                           f"{list(weight.shape)}")
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(
            f"bilinear(): input batch dimensions do not match: got {list(input1.shape[:-1])} "
            f"and {list(input2.shape[:-1])}"
        )
    if input1.shape[-1] != weight.shape[1]:
        raise RuntimeError(
            f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but "
            f"expected {weight.shape[1]}"
        )
    if input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(
            f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
            f"expected {weight.shape[2]}"
        )
    out = ((input1 @ weight.permute(1, 0, 2).reshape(weight.shape[1], -1))
           .reshape(*input1.shape[:-1], weight.shape[0], weight.shape[2])
           * input2.unsqueeze(-2)).sum(-1)
    return out + bias if bias is not None else out
