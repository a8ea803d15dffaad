"""``pad`` of ``nn.functional``: constant, reflect, replicate and circular padding."""

from __future__ import annotations

from ..._argparse import int_list_arg
from ..._tensor import Tensor
from ...backend import xp
from ...ops.shape import pad as _constant_pad

__all__ = ["pad"]


def _source_index(n, lo, hi, mode):
    """For each output position along a dim of size ``n`` padded by (lo, hi), the input index."""
    j = xp.arange(-lo, n + hi)
    if mode == "replicate":
        return xp.clip(j, 0, n - 1)
    if mode == "circular":  # a negative pad crops first; the rest wraps around what is left
        start, kept = max(-lo, 0), n - max(-lo, 0) - max(-hi, 0)
        return start + (xp.arange(-max(lo, 0), kept + max(hi, 0)) % max(kept, 1))
    if n == 1:  # reflect of a single element is that element
        return xp.zeros_like(j)
    period = 2 * (n - 1)
    j = xp.abs(j) % period
    return xp.where(j >= n, period - j, j)


_COMBINATIONS = (
    "Supported combinations for non-constant padding:\n"
    "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
    "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
    "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _check(input, pad, mode):  # noqa: A002
    n_dims = len(pad) // 2
    if n_dims > 3 or input.ndim not in (n_dims + 1, n_dims + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {input.ndim}D "
                                  f"input tensor.\n{_COMBINATIONS}")
    for i in range(n_dims):
        d = input.ndim - 1 - i
        lo, hi, n = pad[2 * i], pad[2 * i + 1], input.shape[d]
        limit_ok = (lo < n and hi < n) if mode == "reflect" else (
            lo <= n and hi <= n) if mode == "circular" else n > 0
        if not limit_ok:
            raise RuntimeError(
                f"Padding size should be less than{' or equal to' if mode == 'circular' else ''} "
                f"the corresponding input dimension, but got: padding ({lo}, {hi}) at dimension "
                f"{d} of input {list(input.shape)}"
            )
    _check_output_sizes(input, pad, mode)
    if mode == "circular":
        _check_circular_wrap(input, pad)


def _check_circular_wrap(input, pad):  # noqa: A002
    """A positive circular pad may wrap around at most what a negative pad on the other side
    leaves. torch checks the pad against the whole size only and then copies from the output
    it is writing: it raises that the copy overlaps, or reads uninitialized memory."""
    for i in range(len(pad) // 2):
        lo, hi, n = pad[2 * i], pad[2 * i + 1], input.shape[input.ndim - 1 - i]
        kept = n - max(-lo, 0) - max(-hi, 0)
        if max(lo, hi) > kept and min(lo, hi) < 0:
            raise RuntimeError(
                f"Padding value causes wrapping around more than once: circular padding "
                f"({lo}, {hi}) wraps around {max(lo, hi)} elements, more than the {kept} the "
                f"negative pad leaves of dimension {input.ndim - 1 - i} of input "
                f"{list(input.shape)}")


def _check_output_sizes(input, pad, mode):  # noqa: A002
    """Negative pads that crop: no padded dim may end up negative, and reflect/replicate
    (torch's kernels) need at least one of them non-empty."""
    dims = range(input.ndim - len(pad) // 2, input.ndim)
    sizes = [input.shape[d] + pad[2 * (input.ndim - 1 - d)] + pad[2 * (input.ndim - 1 - d) + 1]
             for d in dims]
    if min(sizes) < 0:
        raise RuntimeError(f"Negative padding value is resulting in an empty dimension: pad "
                           f"{list(pad)} of input {list(input.shape)} gives sizes {sizes}")
    if mode != "circular" and max(sizes) < 1:
        names = "DHW"[3 - len(sizes):]
        given = ", ".join(f"{k}: {input.shape[d]}" for k, d in zip(names, dims))
        out = " ".join(f"{k}: {n}" for k, n in zip(names, sizes))
        raise RuntimeError(f"input ({given}) is too small. Calculated output {out}")


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    """Pad the last ``len(pad) // 2`` dims; ``pad`` is (left, right) pairs from the last dim back.

    ``constant`` fills with ``value`` (negative pads crop); ``reflect``, ``replicate`` and
    ``circular`` gather input elements, so gradients of repeated elements add up.
    """
    # torch's F.pad passes it on to pad(input, pad) as position 2 (a type check per element)
    pad = int_list_arg(pad, "pad", "pad", 2)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if len(pad) > 2 * input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    if mode == "constant":
        return _constant_pad(input, pad, value=value)
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    _check(input, pad, mode)
    if input.dtype.name == "bool" and mode != "circular":  # torch has no bool kernel for these
        name = "reflection" if mode == "reflect" else "replication"
        raise NotImplementedError(f'"{name}_pad{len(pad) // 2}d" not implemented for \'Bool\'')
    out = input
    for i in range(len(pad) // 2):
        d = input.ndim - 1 - i
        idx = _source_index(input.shape[d], pad[2 * i], pad[2 * i + 1], mode)
        out = out.index_select(d, Tensor._make(idx.astype(xp.int64)))
    return out
