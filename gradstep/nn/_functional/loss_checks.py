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


# ---------------------------------------------------------------- nll_loss / cross_entropy
# torch checks class-index targets in its kernels' order: nll_loss_nd (rank, batch size), then
# the 1-D/2-D kernel (target rank, dtype, sizes, weight) or the spatial one (target rank,
# dtype, weight, sizes; int64 only). Each check is a shape or dtype comparison.


def check_probability_target(input, target):  # noqa: A002
    """cross_entropy with a target of the input's shape reads it as class probabilities."""
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"Expected floating point type for target with class probabilities, "
                           f"got {dtype_title(target.dtype)}")
    if input.ndim == 0:  # the log_softmax over dim 1
        raise IndexError("Dimension specified as 1 but tensor has no dimensions")


def _check_target_dtype(target):
    if target.dtype.name not in ("int64", "uint8"):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{dtype_title(target.dtype)}")


def check_class_target(input, target, weight):  # noqa: A002
    """torch's checks of class-index targets (and class weights); returns the class count."""
    nd = input.ndim
    if nd == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    batch = target.shape[0] if target.ndim else 0
    if nd != 1 and input.shape[0] != batch:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({batch}).")
    c = input.shape[0] if nd == 1 else input.shape[1]
    if nd <= 2:
        _check_flat_target(input, target, weight, c)
    else:
        _check_spatial_target(input, target, weight, c)
    check_class_weight_dtype(input, weight)
    return c


def _check_flat_target(input, target, weight, c):  # noqa: A002
    if target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    _check_target_dtype(target)
    if target.ndim == 0 and input.ndim == 2:  # torch reads the 0-d target's size 0
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    if input.ndim == 1 and target.ndim == 1 and target.shape[0] != 1:
        raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: "
                         f"{target.shape[0]}")
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != c):
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")


def _check_spatial_target(input, target, weight, c):  # noqa: A002
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if input.ndim != 4 and tuple(target.shape) != expected:  # reshaped to 4-D first
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target.shape)}")
    if target.ndim != 3 and input.ndim == 4:
        raise RuntimeError(f"only batches of spatial targets supported (3D tensors) but got "
                           f"targets of dimension: {target.ndim}")
    _check_target_dtype(target)
    if weight is not None and weight.numel() != c:
        raise RuntimeError("weight tensor should be defined either for all or no classes")
    if tuple(target.shape) != expected:
        raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: "
                           f"{list(target.shape)}")
    if target.dtype.name != "int64":
        raise RuntimeError("expected scalar type Long but found Byte")


# ---------------------------------------------------------------- margin losses


def _check_vector_or_matrix(input):  # noqa: A002
    if not ((input.ndim <= 1 and input.numel() != 0) or (input.ndim == 2 and input.shape[1])):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {list(input.shape)}")


def _check_long_target(input, target, kernel):  # noqa: A002
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype_title(input.dtype)}\'')
    if target.dtype.name != "int64":
        raise RuntimeError(f"expected scalar type Long but found {dtype_title(target.dtype)}")


def check_multi_margin(input, target, weight):  # noqa: A002
    """multi_margin_loss's shape and dtype checks (the value range is the gather's)."""
    _check_vector_or_matrix(input)
    nframe = input.shape[0] if input.ndim == 2 else 1
    if target.ndim > 1 or target.numel() != nframe:
        raise RuntimeError(
            f"multi_margin_loss: target tensor should be 1-D with size equal to the number of "
            f"input samples (batch size). Expected target size [{nframe}], but got "
            f"{list(target.shape)}. Input has shape {list(input.shape)}.")
    dim = input.shape[-1] if input.ndim else 1
    if weight is not None and weight.numel() != dim:
        raise RuntimeError(f"inconsistent weight size, expected {dim} but got "
                           f"{list(weight.shape)}")
    if nframe == 0:  # torch's kernel has nothing to read: no dtype checks
        return
    _check_long_target(input, target, "multi_margin_loss_cpu_kernel")
    if weight is not None and weight.dtype is not input.dtype:
        raise RuntimeError(f"expected scalar type {dtype_title(input.dtype)} but found "
                           f"{dtype_title(weight.dtype)}")


def check_multilabel_margin(input, target):  # noqa: A002
    """multilabel_margin_loss's shape and dtype checks (the value range: _label_masks)."""
    _check_vector_or_matrix(input)
    if input.ndim == 2:
        ok = tuple(target.shape) == tuple(input.shape)
    else:
        ok = target.ndim <= 1 and target.numel() == (input.shape[0] if input.ndim else 1)
    if not ok:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    if input.numel():
        _check_long_target(input, target, "multilabel_margin_loss_forward_out_frame")


def check_cosine_embedding_target(input1, input2, target):
    """cosine_embedding_loss: a 0-d target goes with 1-D inputs, a 1-D one with 2-D inputs."""
    if target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    want = target.ndim + 1
    if input1.ndim != want or input2.ndim != want:
        raise RuntimeError(f"{target.ndim}D target tensor expects {want}D input tensors, but "
                           f"found inputs with sizes {list(input1.shape)} and "
                           f"{list(input2.shape)}.")
