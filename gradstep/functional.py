"""``torch.functional``: the module torch keeps its Python-level tensor functions in (``einsum``,
``norm``, ``split``, ``stft``, ``unique``, ...). Programs reach them as
``torch.functional.einsum`` or ``from torch.functional import F``; the functions are gradstep's
own top-level ones, and ``F`` is ``nn.functional``, as in torch's module."""

from __future__ import annotations

from . import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    block_diag,
    broadcast_shapes,
    broadcast_tensors,
    cartesian_prod,
    cdist,
    chain_matmul,
    einsum,
    istft,
    lu,
    meshgrid,
    norm,
    pca_lowrank,
    split,
    stft,
    svd_lowrank,
    tensordot,
    unique,
    unique_consecutive,
    unravel_index,
)
from .nn import functional as F  # noqa: F401, N812  (torch's module has it under this name)

__all__ = [
    "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes", "broadcast_tensors",
    "cartesian_prod", "block_diag", "cdist", "chain_matmul", "einsum", "istft", "lu", "norm",
    "meshgrid", "pca_lowrank", "split", "stft", "svd_lowrank", "tensordot", "unique",
    "unique_consecutive", "unravel_index",
]
