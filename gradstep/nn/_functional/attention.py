"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

Both are written in Tensor ops (so double backward works) except for one small
node, ``_SafeSoftmax``: a softmax whose rows that are entirely ``-inf`` (every
key masked out) come out as zeros with zero gradient instead of NaN. That is
what torch's ``scaled_dot_product_attention`` does; ``multi_head_attention_forward``
with ``need_weights=True`` uses a plain softmax and gives NaN there, like torch.
"""

from __future__ import annotations

import math
import warnings

from ..._warn_once import user_stacklevel
from ...amp._policy import autocast_op
from ...backend import xp
from ...ops import _rowwise
from ...ops.reduce import Softmax, softmax
from ...ops.shape import cat
from . import attention_fused
from .dropout import _check_p, dropout
from .linear import linear


def _tensor_cls():
    from ..._tensor import Tensor

    return Tensor


class _SafeSoftmax(Softmax):
    """Softmax over ``dim`` that maps an all ``-inf`` row to zeros (backward is Softmax's)."""

    _name = "SafeSoftmaxBackward0"

    def forward(self, a):
        if a.size and _rowwise.splittable(a.shape, (self.dim,)):  # blocks of rows, on threads
            return _rowwise.softmax(a, self.dim, safe=True)
        if not a.size:
            return a.copy()
        m = xp.max(a, axis=self.dim, keepdims=True)
        m = xp.where(xp.isneginf(m), 0, m)
        e = xp.exp(a - m)
        s = xp.sum(e, axis=self.dim, keepdims=True)
        e /= xp.where(s == 0, 1, s)
        return e


def _shape(t):
    return list(t.shape)


def _check_sdpa_inputs(query, key, value, attn_mask, enable_gqa):
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
            f"{query.ndim} key.dim: {key.ndim} and value.dim: {value.ndim} instead."
        )
    if not (query.dtype is key.dtype is value.dtype):
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{query.dtype.name} key.dtype: {key.dtype.name} and value.dtype: {value.dtype.name} instead."
        )
    if not query.dtype.is_floating_point:
        raise RuntimeError(
            f"scaled_dot_product_attention: expected floating-point query, key and value, got {query.dtype.name}"
        )
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(
            "scaled_dot_product_attention: query and key must have the same embedding size "
            f"(last dimension), but got query {_shape(query)} and key {_shape(key)}"
        )
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(
            "scaled_dot_product_attention: key and value must have the same sequence length "
            f"(dimension -2), but got key {_shape(key)} and value {_shape(value)}"
        )
    if enable_gqa:
        if query.ndim < 3 or key.ndim < 3 or value.ndim < 3:
            raise RuntimeError("scaled_dot_product_attention: enable_gqa needs a heads dimension (-3)")
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hq % hk or hq % hv:
            raise RuntimeError(
                "Number of heads in key and value must divide the number of heads in query, "
                f"but got query heads {hq}, key heads {hk} and value heads {hv}"
            )
    if attn_mask is not None:
        if attn_mask.dtype.name != "bool" and attn_mask.dtype is not query.dtype:
            raise RuntimeError(
                "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                f"attn_mask.dtype: {attn_mask.dtype.name} and  query.dtype: {query.dtype.name} instead."
            )
        want = (query.shape[-2], key.shape[-2])
        try:
            xp.broadcast_shapes(tuple(attn_mask.shape[-2:]), want)
        except ValueError:
            raise RuntimeError(
                f"scaled_dot_product_attention: attn_mask of shape {_shape(attn_mask)} does not "
                f"broadcast to the attention scores' (L, S) = {list(want)}"
            ) from None


@autocast_op("scaled_dot_product_attention")
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value, with torch's mask conventions.

    A bool ``attn_mask`` marks the positions that take part (True) and a float one
    is added to the scores. ``is_causal`` restricts query ``i`` to keys ``<= i``
    (top-left aligned); it cannot be combined with ``attn_mask``. Rows with no
    key left give zeros.
    """
    _check_sdpa_inputs(query, key, value, attn_mask, enable_gqa)
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True"
        )
    Tensor = _tensor_cls()
    L, S = query.shape[-2], key.shape[-2]
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    if enable_gqa:
        hq = query.shape[-3]
        if key.shape[-3] != hq:
            key = key.repeat_interleave(hq // key.shape[-3], dim=-3)
        if value.shape[-3] != hq:
            value = value.repeat_interleave(hq // value.shape[-3], dim=-3)
    allowed = xp.tril(xp.ones((L, S), dtype=bool)) if is_causal else None
    if attn_mask is not None and attn_mask.dtype.name == "bool":
        allowed = attn_mask._data
    bias = None if allowed is None else xp.where(allowed, 0.0, -xp.inf).astype(query.dtype.np)
    float_mask = attn_mask is not None and attn_mask.dtype.name != "bool"
    fused_bias = attn_mask._data if float_mask else bias  # the one additive mask there is
    if attention_fused.usable(query, key, value, attn_mask, fused_bias):
        _check_p(dropout_p)
        return attention_fused.Attention.apply(query, key, value, scale=scale, bias=fused_bias,
                                               dropout_p=dropout_p,
                                               _name=attention_fused.torch_name(query, dropout_p))
    scores = (query @ key.transpose(-2, -1)) * scale
    if bias is not None:
        scores = scores + Tensor._make(bias)
    if float_mask:
        scores = scores + attn_mask
    weights = _SafeSoftmax.apply(scores, dim=-1)
    weights = dropout(weights, dropout_p)
    return weights @ value


# ---------------------------------------------------------------- multi-head attention
def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """True for batched (L, N, E) input, False for unbatched (L, E); torch's checks."""
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key` and `value` to be 3-D"
                f" but found {key.ndim}-D and {value.ndim}-D tensors respectively"
            )
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D"
                f" but found {key_padding_mask.ndim}-D tensor instead"
            )
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError(
                "For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D"
                f" but found {attn_mask.ndim}-D tensor instead"
            )
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key` and `value` to be 2-D"
                f" but found {key.ndim}-D and {value.ndim}-D tensors respectively"
            )
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D"
                f" but found {key_padding_mask.ndim}-D tensor instead"
            )
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise AssertionError(
                    "For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D"
                    f" but found {attn_mask.ndim}-D tensor instead"
                )
            want = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.ndim == 3 and tuple(attn_mask.shape) != want:
                raise AssertionError(
                    f"Expected `attn_mask` shape to be {want} but got {tuple(attn_mask.shape)}"
                )
        return False
    raise AssertionError(
        f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query tensor"
    )


def _canonical_mask(mask, name, dtype, other=None, other_name=""):
    """A bool mask (True = masked out) as an additive float mask; float masks pass through.
    ``other``: the mask given with it (torch warns when their dtypes differ)."""
    if mask is None:
        return None
    if other is not None and other.dtype != mask.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same "
                      "type for both instead.", stacklevel=user_stacklevel())
    if mask.dtype.name == "bool":
        arr = xp.where(mask._data, -xp.inf, 0.0).astype(dtype.np)
        return _tensor_cls()._make(arr)
    if not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def _in_projection(query, key, value, in_proj_weight, in_proj_bias, q_w, k_w, v_w):
    """q, k, v projections from the packed weight, or the three separate ones."""
    if in_proj_weight is not None:
        # three products even for self-attention: as fast as one with three times the columns,
        # q, k and v come out contiguous (no copy when the heads are split), and their gradients
        # add into the input's, where slices of one packed output would each backpropagate a
        # zero-filled array of the packed size
        q_w, k_w, v_w = in_proj_weight.chunk(3)
    if query is key is value and not query.is_contiguous():
        # a batch_first module's transposed view: one copy for the three products, not one each
        query = key = value = query.contiguous()
    b = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
    return linear(query, q_w, b[0]), linear(key, k_w, b[1]), linear(value, v_w, b[2])


def _pad_last(mask):
    """Append one zero column to an additive mask (for bias_k/v and add_zero_attn)."""
    zeros = _tensor_cls()._make(xp.zeros(tuple(mask.shape[:-1]) + (1,), mask._data.dtype))
    return cat([mask, zeros], dim=-1)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """torch's multi-head attention on (L, N, E) inputs (or unbatched (L, E)).

    Bool masks here mean the opposite of ``scaled_dot_product_attention``'s:
    True marks a position that is *not* allowed to attend. ``is_causal`` is only
    a hint that ``attn_mask`` is causal; the mask is still required.
    """
    Tensor = _tensor_cls()
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype,
                                       attn_mask, "attn_mask")
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
            "method `generate_square_subsequent_mask` to create this mask."
        )
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the SDPA path applies the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", query.dtype)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(
                f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                f"{tuple(value.shape[:2])}"
            )
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but q/k/v_proj_weight is None")
        q, k, v = _in_projection(query, key, value, None, in_proj_bias,
                                 q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {_shape(key)} does not match value shape {_shape(value)}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, None, None, None)

    src_len = key.shape[0]
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {_shape(attn_mask)}, but should be "
                    f"{[tgt_len, src_len]}."
                )
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {_shape(attn_mask)}, but should be "
                    f"{[bsz * num_heads, tgt_len, src_len]}."
                )
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")

    if (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k and bias_v must both be set or both be None")
    if bias_k is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key/value.")
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = None if attn_mask is None else _pad_last(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)

    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads(k, static_k, bsz, num_heads, head_dim, "static_k")
    v = _heads(v, static_v, bsz, num_heads, head_dim, "static_v")
    if add_zero_attn:
        zeros = Tensor._make(xp.zeros((bsz * num_heads, 1, head_dim), k._data.dtype))
        k, v = cat([k, zeros], dim=1), cat([v, zeros], dim=1)
        attn_mask = None if attn_mask is None else _pad_last(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)
    src_len = k.shape[1]

    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(
                f"Expected key_padding_mask of shape {[bsz, src_len]} (batch, source length), "
                f"but got {_shape(key_padding_mask)}"
            )
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        kpm = kpm.reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0

    if need_weights:
        scores = (q * math.sqrt(1.0 / head_dim)) @ k.transpose(-2, -1)
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = softmax(scores, dim=-1)
        weights = dropout(weights, dropout_p)
        out = weights @ v
        out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights

    if attn_mask is not None:
        if attn_mask.shape[0] == 1:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    if not batched:
        out = out.squeeze(1)
    return out, None


def _heads(t, static, bsz, num_heads, head_dim, name):
    """(S, N, E) -> (N*heads, S, head_dim), or the given static tensor after checking it."""
    if static is None:
        return t.reshape(t.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    if static.shape[0] != bsz * num_heads or static.shape[2] != head_dim:
        raise AssertionError(
            f"expecting {name} of shape ({bsz * num_heads}, S, {head_dim}), but got {_shape(static)}"
        )
    return static


__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]
