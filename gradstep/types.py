"""``torch.types``: the type aliases annotated code imports (``_device``, ``Number``, ...)."""
# ruff: noqa: UP007 - runtime aliases, as torch.types defines them

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO, Any, Union

from ._device import device as _device_cls
from ._tensor import Size as _Size
from ._tensor import Tensor
from .backend import dtype as _dtype_cls

_int = int
_float = float
_bool = bool
_complex = complex
_str = str
_bytes = bytes
_dtype = _dtype_cls
_device = _device_cls
_size = Union[_Size, list[int], tuple[int, ...]]
_symsize = _size
_layout = Any
_qscheme = Any
_dispatchkey = Union[str, Any]

Number = Union[int, float, bool]
_Number = (int, float, bool)
Device = Union[_device_cls, str, int, None]
IntLikeType = int
FloatLikeType = float
BoolLikeType = bool
Storage = Any
FileLike = Union[str, os.PathLike, IO[bytes]]
_TensorOrTensors = Union[Tensor, Sequence[Tensor]]
_TensorOrOptionalTensors = Union[Tensor, Sequence[Union[Tensor, None]]]
