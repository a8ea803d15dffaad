"""``torch.utils.data._utils``: the private package whose ``collate`` module published code imports."""

from . import collate  # noqa: F401
