"""A few image transforms as plain callables (torchvision's names and behaviour).

Random transforms draw from gradstep's default generator, so
``gradstep.manual_seed`` (or the per-worker seeding of a ``DataLoader``) makes
them reproducible. Tensor transforms work on ``[..., H, W]`` tensors.
"""

from __future__ import annotations

import numbers

from .._tensor import Tensor
from ..backend import get_default_dtype, xp
from ..random import _gen


class Compose:
    """Apply ``transforms`` one after another."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        inner = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


class ToTensor:
    """An ``H x W`` or ``H x W x C`` array -> a ``C x H x W`` tensor.

    uint8 images are scaled to float in [0, 1] (the default float dtype);
    arrays of other dtypes are only transposed, as in torchvision.
    """

    def __call__(self, pic):
        if not isinstance(pic, xp.ndarray):
            raise TypeError(f"pic should be an ndarray (H x W or H x W x C). Got {type(pic)}")
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        chw = pic[None] if pic.ndim == 2 else pic.transpose(2, 0, 1)
        if pic.dtype == xp.uint8:
            return Tensor._make(chw.astype(get_default_dtype().np) / get_default_dtype().np.type(255))
        return Tensor._make(xp.ascontiguousarray(chw))

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a ``[..., C, H, W]`` float tensor."""

    def __init__(self, mean, std, inplace=False):
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Input tensor should be a gradstep tensor. Got {type(tensor)}.")
        if not tensor.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if tensor.ndim < 3:
            raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                             f"tensor.size() = {tuple(tensor.shape)}")
        dt = tensor._data.dtype
        mean = xp.asarray(self.mean, dtype=dt).reshape(-1, 1, 1)
        std = xp.asarray(self.std, dtype=dt).reshape(-1, 1, 1)
        if (std == 0).any():
            raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to "
                             "division by zero.")
        out = (tensor._data - mean) / std
        if self.inplace:
            tensor._data[...] = out
            tensor._vc[0] += 1
            return tensor
        return Tensor._make(out)

    def __repr__(self):
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


def _pair(size, name):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) in (1, 2):
        return (int(size[0]), int(size[-1]))
    raise ValueError(f"{name} should be an int or a sequence of one or two ints, got {size!r}")


def _padding_widths(padding):
    """torchvision's padding forms -> (left, top, right, bottom)."""
    if isinstance(padding, numbers.Number):
        p = int(padding)
        return p, p, p, p
    if isinstance(padding, (tuple, list)) and len(padding) in (1, 2, 4):
        if len(padding) == 1:
            return (int(padding[0]),) * 4
        if len(padding) == 2:
            return int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])
        return tuple(int(p) for p in padding)
    raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not {padding!r}")


_NP_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}


def _pad(arr, left, top, right, bottom, fill, mode):
    widths = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
    if mode == "constant":
        return xp.pad(arr, widths, mode="constant", constant_values=fill)
    return xp.pad(arr, widths, mode=_NP_PAD_MODES[mode])


class RandomCrop:
    """Crop a random ``size`` window of a ``[..., H, W]`` tensor, after optional padding."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _pair(size, "size")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        if padding_mode not in _NP_PAD_MODES:
            raise ValueError(f"padding_mode should be one of {sorted(_NP_PAD_MODES)}, got {padding_mode!r}")
        self.padding_mode = padding_mode
        if padding is not None:
            _padding_widths(padding)  # validate early

    def __call__(self, img):
        if not isinstance(img, Tensor) or img.ndim < 2:
            raise TypeError(f"RandomCrop expects a tensor of shape [..., H, W], got {type(img).__name__}"
                            + (f" of shape {tuple(img.shape)}" if isinstance(img, Tensor) else ""))
        arr = img._data
        if self.padding is not None:
            arr = _pad(arr, *_padding_widths(self.padding), self.fill, self.padding_mode)
        th, tw = self.size
        if self.pad_if_needed and arr.shape[-1] < tw:
            extra = tw - arr.shape[-1]
            arr = _pad(arr, extra, 0, extra, 0, self.fill, self.padding_mode)
        if self.pad_if_needed and arr.shape[-2] < th:
            extra = th - arr.shape[-2]
            arr = _pad(arr, 0, extra, 0, extra, self.fill, self.padding_mode)
        h, w = arr.shape[-2:]
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size {(h, w)}")
        rng = _gen(None)
        top = int(rng.integers(0, h - th + 1))
        left = int(rng.integers(0, w - tw + 1))
        return Tensor._make(arr[..., top:top + th, left:left + tw].copy())

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror a ``[..., H, W]`` tensor left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        if not isinstance(img, Tensor):
            raise TypeError(f"RandomHorizontalFlip expects a tensor, got {type(img).__name__}")
        if _gen(None).random() < self.p:
            return Tensor._make(img._data[..., ::-1].copy())
        return img

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"
