"""``torch.utils.data._utils``: the private package whose ``collate`` and ``worker`` modules published code imports."""

from . import collate, worker  # noqa: F401
