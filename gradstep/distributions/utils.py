"""Helpers shared by the distributions (torch.distributions.utils)."""

from __future__ import annotations

from functools import update_wrapper
from numbers import Number

import gradstep
from gradstep._tensor import Size, Tensor

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs",
           "probs_to_logits", "tril_matrix_to_vec", "vec_to_tril_matrix"]

euler_constant = 0.57721566490153286060  # Euler Gamma constant


def broadcast_all(*values):
    """Broadcast tensors and numbers to one shape; numbers take the tensors' float dtype."""
    if not all(isinstance(v, (Tensor, Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, "
                         "torch.Tensor or objects implementing __torch_function__.")
    if not all(isinstance(v, Tensor) for v in values):
        dtype = gradstep.get_default_dtype()
        for v in values:
            if isinstance(v, Tensor):
                dtype = v.dtype
                break
        values = [v if isinstance(v, Tensor) else gradstep.tensor(v, dtype=dtype) for v in values]
    return gradstep.broadcast_tensors(*values)


def _standard_normal(shape, dtype, generator=None):
    return gradstep.randn(tuple(shape), dtype=dtype, generator=generator)


def _sum_rightmost(value, dim):
    """Sum out the ``dim`` rightmost dimensions of ``value``."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:value.dim() - dim]) + (-1,)).sum(-1)


def logits_to_probs(logits, is_binary=False):
    """Logits to probabilities: sigmoid for binary, softmax over the last dim otherwise."""
    if is_binary:
        return gradstep.sigmoid(logits)
    return gradstep.softmax(logits, dim=-1)


def clamp_probs(probs):
    """Clamp probabilities into [eps, 1 - eps] of their dtype."""
    eps = gradstep.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    """Probabilities to logits (log-odds for binary, log-probabilities otherwise)."""
    p = clamp_probs(probs)
    if is_binary:
        return gradstep.log(p) - gradstep.log1p(-p)
    return gradstep.log(p)


class lazy_property:
    """A property computed once per instance on first access (with grad enabled)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        with gradstep.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):
    def __init__(self, wrapped):
        property.__init__(self, wrapped)


def tril_matrix_to_vec(mat, diag=0):
    """The lower triangle (offset ``diag``) of the last two dims, row by row."""
    n = mat.shape[-1]
    if not (-n <= diag < n):
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    idx = gradstep.tril_indices(n, n, offset=diag)
    return mat[..., idx[0], idx[1]]


def vec_to_tril_matrix(vec, diag=0):
    """The inverse of ``tril_matrix_to_vec``: a square matrix whose lower triangle is ``vec``."""
    m = vec.shape[-1]
    b = 1 + 2 * diag
    n = (-b + (b * b + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if abs(n - round(n)) > 1e-7:
        raise ValueError(f"The size of last dimension is {m} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = int(round(n))
    mat = vec.new_zeros(tuple(vec.shape[:-1]) + (n, n))
    idx = gradstep.tril_indices(n, n, offset=diag)
    mat[..., idx[0], idx[1]] = vec
    return mat


_EMPTY = Size()  # the default sample/batch/event shape
