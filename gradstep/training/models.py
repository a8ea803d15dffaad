"""The models ``gradstep train --model`` knows, built for the data's input shape."""

from __future__ import annotations

from .. import nn
from .config import UsageError, suggest

MODELS = ("mlp", "cnn")


def build_model(name, in_shape, num_classes):
    """``mlp``: two hidden ReLU layers; ``cnn``: two conv blocks and a linear head (images only)."""
    if name == "mlp":
        n_in = 1
        for s in in_shape:
            n_in *= s
        return nn.Sequential(
            nn.Flatten(), nn.Linear(n_in, 256), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, num_classes),
        )
    if name == "cnn":
        if len(in_shape) != 3:
            raise UsageError(f"--model cnn needs image data (C x H x W), got samples of shape {list(in_shape)}")
        c, h, w = in_shape
        size = (h // 4) * (w // 4)
        return nn.Sequential(
            nn.Conv2d(c, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * size, 64), nn.ReLU(), nn.Linear(64, num_classes),
        )
    raise _unknown_model(name)


def check_model_name(name):
    """Raise the usage error for a model name gradstep train does not know (None: the default)."""
    if name is not None and name not in MODELS:
        raise _unknown_model(name)


def _unknown_model(name):
    return UsageError(f"unknown model '{name}'{suggest(name, MODELS)}; valid models: {', '.join(MODELS)}")
