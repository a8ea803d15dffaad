"""gradstep.utils: helpers around training (``data`` holds datasets and the DataLoader)."""

from . import checkpoint, data
