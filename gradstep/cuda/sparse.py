"""``torch.cuda.sparse``: the legacy sparse CUDA tensor types (they construct nothing here)."""

from __future__ import annotations

from .._tensor_types import CUDA_CLASSES as _CUDA

__all__ = ["BFloat16Tensor", "ByteTensor", "CharTensor", "DoubleTensor", "FloatTensor",  # noqa: F822
           "HalfTensor", "IntTensor", "LongTensor", "ShortTensor"]  # noqa: F822
globals().update({n: _CUDA[n] for n in __all__ if n in _CUDA})
