"""``TransformerEncoderLayer`` and ``TransformerEncoder`` with torch's submodule names.

The state_dict keys are torch's (``self_attn.in_proj_weight``, ``linear1.weight``,
``norm1.weight``, ``layers.0. ...``), so weights load by name either way. torch's
inference fast paths (nested tensors, fused kernels) are not reproduced: they
compute the same function, except that torch's nested-tensor path returns zeros
at padded positions, where this always computes the plain math.
"""

from __future__ import annotations

import copy

from ..._tensor import Tensor
from ...backend import xp
from ...ops.elementwise import gelu, relu
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerEncoder"]


def _get_activation_fn(activation):
    if activation == "relu":
        return relu
    if activation == "gelu":
        return gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _canonical_mask(mask, name, dtype):
    """A bool mask (True = masked out) as an additive float mask of ``dtype``."""
    if mask is None:
        return None
    if mask.dtype.name == "bool":
        return Tensor._make(xp.where(mask._data, -xp.inf, 0.0).astype(dtype.np))
    if not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def _is_causal_mask(mask, size):
    """Whether ``mask`` is exactly the (size x size) float causal mask (torch's detection)."""
    if mask is None or tuple(mask.shape) != (size, size):
        return False
    want = xp.triu(xp.full((size, size), -xp.inf), 1)
    return bool(xp.array_equal(mask._data, want.astype(mask._data.dtype)))


class TransformerEncoderLayer(Module):
    """Self-attention block then feed-forward block, each with dropout, residual and LayerNorm.

    ``norm_first=True`` applies the norms before each block (pre-LN) instead of after.
    ``activation`` is "relu", "gelu" or any callable (a Module becomes a submodule).
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        kw = {"dtype": dtype} if dtype is not None else {}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            activation = _get_activation_fn(activation)
        self.activation = activation

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask", src.dtype)
        src_mask = _canonical_mask(src_mask, "src_mask", src.dtype)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer`` (in ``layers``), then an optional ``norm``."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(f"encoder_layer must be a Module, got {type(encoder_layer).__name__}")
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask", src.dtype)
        mask = _canonical_mask(mask, "mask", src.dtype)
        if is_causal is None:
            batch_first = getattr(self.layers[0].self_attn, "batch_first", False) if len(self.layers) else False
            seq_len = src.shape[0] if src.ndim == 2 else src.shape[1 if batch_first else 0]
            is_causal = _is_causal_mask(mask, seq_len)
        out = src
        for layer in self.layers:
            out = layer(out, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            out = self.norm(out)
        return out
