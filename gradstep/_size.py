"""``torch.Size``: the tuple ``tensor.shape`` returns, printed as torch prints it.

Built from any iterable of ints; as torch's, it takes integer tensors of one element (through
``__index__``) and bools as ints, keeps other integers (NumPy's) as they are, refuses anything
else with torch's message, and stays a Size when sliced, concatenated or repeated.
``tensor.shape`` builds it with ``_new_size`` (NumPy's shapes hold ints: no checks)."""

from __future__ import annotations

from . import backend as B

_new_size = tuple.__new__


class Size(tuple):
    def __new__(cls, sizes=()):
        t = tuple.__new__(cls, sizes)
        return t if all(type(v) is int for v in t) else tuple.__new__(cls, _items(t))

    def __repr__(self):
        return f"{B.display_name}.Size({[int(v) for v in self]})"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r

    def __add__(self, other):
        if not isinstance(other, tuple):
            raise TypeError(f"can only concatenate tuple (not {type(other).__name__}) to "
                            f"{B.display_name}.Size")
        return Size(tuple(self) + other)

    def __radd__(self, other):
        return Size(other + tuple(self))

    def __mul__(self, n):
        return Size(tuple(self) * n)

    __rmul__ = __mul__


def _items(values):
    return [_item(i, v) for i, v in enumerate(values)]


def _item(i, v):
    if hasattr(v, "_data") and hasattr(v, "dtype"):  # a Tensor
        if v.numel() == 1 and not (v.dtype.is_floating_point or v.dtype.is_complex):
            return int(v.item())
    elif type(v) is bool:
        return int(v)
    elif hasattr(type(v), "__index__"):
        return v
    raise TypeError(f"{B.display_name}.Size() takes an iterable of 'int' (item {i} is "
                    f"'{type(v).__name__}')")
