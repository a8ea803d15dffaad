"""``torch.storage``: the storage classes (they live in ``gradstep._storage``)."""

from ._storage import TypedStorage, UntypedStorage  # noqa: F401

__all__ = ["TypedStorage", "UntypedStorage"]
