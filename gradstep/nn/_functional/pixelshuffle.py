"""Channel rearrangements: ``pixel_shuffle``, ``pixel_unshuffle``, ``channel_shuffle``.

Each is a reshape and a permutation, so autograd derives the gradient (the
inverse permutation).
"""

from __future__ import annotations

from ...autograd.function import as_torch_node


def _check_rank(x, op):
    if x.ndim < 3:
        raise RuntimeError(f"{op} expects input to have at least 3 dimensions, but got input "
                           f"with {x.ndim} dimension(s)")


def pixel_shuffle(input, upscale_factor):  # noqa: A002
    """``(*, C*r*r, H, W)`` -> ``(*, C, H*r, W*r)``."""
    _check_rank(input, "pixel_shuffle")
    r = int(upscale_factor)
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
            f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    nb = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w)
    x = x.permute(*range(nb), nb, nb + 3, nb + 1, nb + 4, nb + 2)
    return as_torch_node(x.reshape(*batch, c // (r * r), h * r, w * r), "PixelShuffleBackward0")


def pixel_unshuffle(input, downscale_factor):  # noqa: A002
    """``(*, C, H*r, W*r)`` -> ``(*, C*r*r, H, W)``: the inverse of ``pixel_shuffle``."""
    _check_rank(input, "pixel_unshuffle")
    r = int(downscale_factor)
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *batch, c, h, w = input.shape
    for name, n, d in (("height", h, -2), ("width", w, -1)):
        if n % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by "
                               f"downscale_factor, but input.size({d})={n} is not divisible by "
                               f"{r}")
    if input.numel() == 0:  # torch returns an empty input's shape unchanged
        return input.clone()
    nb = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)
    x = x.permute(*range(nb), nb, nb + 2, nb + 4, nb + 1, nb + 3)
    return as_torch_node(x.reshape(*batch, c * r * r, h // r, w // r),
                         "PixelUnshuffleBackward0")


def channel_shuffle(input, groups):  # noqa: A002
    """Split the channels (dim 1) into ``groups`` and interleave them."""
    if input.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    g = int(groups)
    if g <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{g}")
    n, c, *rest = input.shape
    if c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {g} groups.")
    x = input.reshape(n, g, c // g, *rest).transpose(1, 2)
    return as_torch_node(x.reshape(n, c, *rest), "ChannelShuffleBackward0")


native_channel_shuffle = channel_shuffle

__all__ = ["channel_shuffle", "native_channel_shuffle", "pixel_shuffle", "pixel_unshuffle"]
