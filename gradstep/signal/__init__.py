"""``torch.signal``: signal-processing helpers (window functions, as torch's layout)."""

from . import windows

__all__ = ["windows"]
