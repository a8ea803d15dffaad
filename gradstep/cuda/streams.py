"""``torch.cuda.streams``: the stream and event classes (they need a GPU to be made)."""

from __future__ import annotations

from . import Event, Stream
from ._surface import ExternalStream

__all__ = ["ExternalStream", "Stream", "Event"]
