"""Dropout functions of ``nn.functional``: zero elements (or channels) and rescale the rest."""

from __future__ import annotations

import math

from ..._warn_once import user_stacklevel
from ...autograd.function import Node
from ...backend import xp

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]


class _MaskedScale(Node):
    """out = x * mask, where mask (already scaled by 1/(1-p)) broadcasts against x."""

    _name = "MulBackward0"  # torch's dropout is ``input * mask``
    _shown_edges = (0, None)
    holds_saved = True  # the mask, as torch saves it

    def forward(self, x):
        return x * self.mask

    def backward(self, g):
        from ..._tensor import Tensor

        return g * Tensor._make(self.mask)


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _check_feature_rank(shape, p, training, numel):
    """Channel dropout needs (N, C, ...) only when it draws a mask: as in torch, p = 0 or 1, an
    empty input or eval mode pass any rank."""
    if training and 0.0 < p < 1.0 and numel and len(shape) < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")


def _noise_target(input, mask_shape):  # noqa: A002
    """The array torch draws the noise into: ``empty_like(input)`` (its layout, so a transposed
    input drops torch's elements) for elementwise dropout (``mask_shape`` None), else the
    row-major ``mask_shape`` of channel dropout."""
    from ..._torch_random import empty_as_torch

    if mask_shape is None:
        return empty_as_torch(input._data)
    return xp.empty(mask_shape, input._data.dtype)


def _mask(shape, p, dtype, generator=None):
    """The scaled noise for a row-major ``shape`` (used by the fused attention too)."""
    return _mask_into(xp.empty(shape, dtype), p, generator)


def _mask_into(target, p, generator=None):
    """torch's noise: ``target.bernoulli_(1 - p)``, then divided by ``1 - p`` in the
    input's dtype (so the same seed drops the same units as under torch)."""
    from ..._torch_random import bernoulli_like

    dtype = target.dtype
    keep = bernoulli_like(target, 1.0 - p, generator)
    if p == 1.0:
        return keep
    return keep / dtype.type(1.0 - p)


def _apply(input, p, training, inplace, mask_shape):  # noqa: A002
    _check_p(p)
    if not training or p == 0.0 or not input._data.size:  # torch returns these unchanged
        return input
    if not input.is_floating_point():
        if p == 1.0:  # torch multiplies by a zero of the input's dtype: no float result to cast
            zero = input.new_zeros(())
            return input.mul_(zero) if inplace else input * zero
        raise RuntimeError("dropout is only implemented for floating point tensors; got "
                           f"{input.dtype.name}")
    mask = _mask_into(_noise_target(input, mask_shape), p)
    if inplace:
        if input._needs_graph():
            return input._inplace_graph(lambda x: _MaskedScale.apply(x, mask=mask))
        input._write(input._data * mask)
        return input
    return _MaskedScale.apply(input, mask=mask)


def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training only)."""
    if type(training) is not bool:  # torch's _VF.dropout(input, p, train) checks it
        from ..._argparse import bool_error

        raise bool_error(training, "dropout", "train", 3)
    return _apply(input, p, training, inplace, None)


def _channel_dropout(input, p, training, inplace, batched_ndim, name):  # noqa: A002
    _check_p(p)
    nd = input.ndim
    if nd not in (batched_ndim - 1, batched_ndim):
        raise RuntimeError(
            f"{name}: Expected {batched_ndim - 1}D or {batched_ndim}D input, but received a "
            f"{nd}D input. Use dropout() for inputs of other shapes."
        )
    lead = 2 if nd == batched_ndim else 1  # (N, C) or (C,) keep their own mask entries
    mask_shape = tuple(input.shape[:lead]) + (1,) * (nd - lead)
    return _apply(input, p, training, inplace, mask_shape)


def dropout1d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    return _channel_dropout(input, p, training, inplace, 3, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero whole channels: input (N, C, H, W) or (C, H, W)."""
    nd = input.ndim
    if nd not in (3, 4):
        import warnings

        warnings.warn(
            f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout2d exists to provide channel-"
            "wise dropout on inputs with 2 spatial dimensions, a channel dimension, and an "
            "optional batch dimension (i.e. 3D or 4D inputs).",
            UserWarning, stacklevel=user_stacklevel(),
        )
    if nd == 3:
        # torch treats a 3-D input to dropout2d as (N, C, L) and warns; it zeroes (N, C) slices
        import warnings

        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            UserWarning, stacklevel=user_stacklevel(),
        )
        return _apply(input, p, training, inplace, tuple(input.shape[:2]) + (1,))
    _check_p(p)
    _check_feature_rank(input.shape, p, training, input.numel())
    lead = min(2, nd)
    return _apply(input, p, training, inplace, tuple(input.shape[:lead]) + (1,) * (nd - lead))


def dropout3d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero whole channels: input (N, C, D, H, W) or (C, D, H, W); other ranks warn and are
    taken as unbatched, as in torch."""
    _check_p(p)
    nd = input.ndim
    if nd not in (4, 5):
        import warnings

        warnings.warn(
            f"dropout3d: Received a {nd}-D input to dropout3d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout3d exists to provide channel-"
            "wise dropout on inputs with 3 spatial dimensions, a channel dimension, and an "
            "optional batch dimension (i.e. 4D or 5D inputs).",
            UserWarning, stacklevel=user_stacklevel(),
        )
    shape = tuple(input.shape) if nd == 5 else (1,) + tuple(input.shape)
    _check_feature_rank(shape, p, training, input.numel())
    mask_shape = shape[:2] + (1,) * (len(shape) - 2)
    return _apply(input, p, training, inplace, mask_shape if nd == 5 else mask_shape[1:])


def alpha_dropout(input, p=0.5, training=False, inplace=False):  # noqa: A002
    """Dropout that keeps SELU's self-normalising mean and variance."""
    return _alpha(input, p, training, None)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):  # noqa: A002
    """Alpha dropout of whole channels (one draw per ``(N, C)`` pair)."""
    _check_p(p)
    _check_feature_rank(input.shape, p, training, input.numel())
    return _alpha(input, p, training, tuple(input.shape[:2]) + (1,) * (input.ndim - 2))


def _alpha(input, p, training, mask_shape):  # noqa: A002
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    from ..._tensor import Tensor
    from ..._torch_random import bernoulli_like

    keep = bernoulli_like(_noise_target(input, mask_shape), 1.0 - p)
    # torch's arithmetic, op by op in the input's dtype: b = (keep - 1) * alpha a + alpha a p,
    # out = input * (keep * a) + b
    alpha = 1.7580993408473766
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    as_dtype = keep.dtype.type
    b = (keep - as_dtype(1)) * as_dtype(alpha * a) + as_dtype(alpha * a * p)
    return input * Tensor._make(keep * as_dtype(a)) + Tensor._make(b)
