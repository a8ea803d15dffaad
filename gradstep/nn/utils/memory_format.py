"""``convert_conv2d_weight_memory_format`` / ``convert_conv3d_weight_memory_format``.

torch re-lays conv weights out as channels_last for cuDNN; gradstep's NumPy kernels have one
layout, so these return the module unchanged (its outputs are the same either way)."""

from __future__ import annotations

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def convert_conv2d_weight_memory_format(module, memory_format):
    return module


def convert_conv3d_weight_memory_format(module, memory_format):
    return module
