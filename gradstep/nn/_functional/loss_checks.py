"""torch's dtype and shape rules for the elementwise losses whose CPU kernels are narrower than
the Tensor-op compositions gradstep computes them with.

torch allocates some loss outputs like the input (``huber_loss``, ``soft_margin_loss``): the
result takes the input's dtype, a float result cannot go back into an integer input, and the
target must broadcast *to* the input's shape. Others have no integer kernel at all
(``mse_loss``, ``smooth_l1_loss``, ``huber_loss`` on two integer tensors). These checks are
one dtype comparison on the common (float) path.
"""

from __future__ import annotations

from ...ops._util import dtype_title


def check_float_kernel(input, target, kernel):  # noqa: A002
    """Neither operand floating: torch's CPU kernel ``kernel`` has no integer version."""
    if not input.dtype.is_floating_point and not target.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype_title(input.dtype)}\'')


def check_result_fits_input(input, target, result_title=None):  # noqa: A002
    """A float result written into an integer or bool input's dtype (torch's in-place kernels)."""
    if input.dtype.is_floating_point:
        return
    if result_title is None:
        if not target.dtype.is_floating_point:
            return
        result_title = dtype_title(target.dtype)
    raise RuntimeError(f"result type {result_title} can't be cast to the desired output type "
                       f"{dtype_title(input.dtype)}")


def check_broadcasts_to_input(input, target):  # noqa: A002
    """The target must broadcast to the input's own shape (torch writes into an input-shaped
    buffer), not merely with it."""
    if target.shape == input.shape:
        return
    from ...backend import xp

    try:
        shape = tuple(xp.broadcast_shapes(tuple(input.shape), tuple(target.shape)))
    except ValueError:
        return  # not broadcastable at all: the elementwise op raises torch's size message
    if shape != tuple(input.shape):
        raise RuntimeError(f"output with shape {list(input.shape)} doesn't match the broadcast "
                           f"shape {list(shape)}")


def in_input_dtype(loss, input):  # noqa: A002
    """``loss`` in the input's dtype, where torch's output is allocated like the input."""
    return loss if loss.dtype is input.dtype else loss.to(input.dtype)


def check_class_weight_dtype(input, weight):  # noqa: A002
    """nll_loss / cross_entropy: a class weight of another dtype than a float input."""
    if weight is not None and weight.dtype is not input.dtype and input.dtype.is_floating_point:
        raise RuntimeError(f"expected scalar type {dtype_title(input.dtype)} but found "
                           f"{dtype_title(weight.dtype)}")


def check_nll_input_dtype(input):  # noqa: A002
    """nll_loss has no integer kernel (its 2-D one for inputs of 3 or more dims)."""
    if not input.dtype.is_floating_point:
        kernel = "nll_loss_out_frame" if input.ndim <= 2 else "nll_loss2d_forward_out_frame"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype_title(input.dtype)}\'')


def check_log_softmax_input(input):  # noqa: A002
    """cross_entropy's log_softmax over the class dim (1, or 0 for one sample) on an integer
    input: torch's kernel error, named for a last-dim softmax where the class dim is last."""
    kernel = "log_softmax_lastdim_kernel_impl" if input.ndim <= 2 else "log_softmax_kernel_impl"
    raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype_title(input.dtype)}\'')
