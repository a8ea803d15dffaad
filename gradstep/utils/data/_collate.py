"""``default_collate`` (a list of samples -> one batch) and ``default_convert``.

The rules are torch's: tensors are stacked along a new first dimension; NumPy
arrays and NumPy scalars become tensors and are stacked; Python ints become an
int64 tensor (bools a bool tensor) and floats a float64 tensor; strings are
left as a list; mappings, namedtuples and sequences are collated field by field
(a tuple of fields becomes a list, as in torch).
"""

from __future__ import annotations

import collections.abc
import copy

from ... import _creation
from ..._tensor import Tensor
from ...backend import float64, xp
from ...ops.shape import stack

_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        "found {}")


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _stack_tensors(batch):
    shape = batch[0]._data.shape
    if all(not t._rg and t._data.shape == shape for t in batch):
        return Tensor._make(xp.stack([t._data for t in batch]))  # skip the graph: the common case
    return stack(batch, 0)  # records autograd, and raises torch's error for unequal shapes


def _collate_mapping(elem, batch, fn):
    merged = {key: fn([d[key] for d in batch]) for key in elem}
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            out = copy.copy(elem)  # keep the mapping type and any extra attributes
            out.update(merged)
            return out
        return type(elem)(merged)
    except TypeError:
        return merged  # a mapping type we cannot rebuild


def _collate_sequence(elem, batch):
    size = len(elem)
    if any(len(e) != size for e in batch):
        raise RuntimeError("each element in list of batch should be of equal size")
    # each field's samples as the tuple zip makes: strings come back as that tuple, as in torch
    fields = [default_collate(samples) for samples in zip(*batch)]
    if isinstance(elem, tuple):
        return fields  # torch returns a list for tuples (backwards compatibility)
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            out = copy.copy(elem)
            for i, f in enumerate(fields):
                out[i] = f
            return out
        return type(elem)(fields)
    except TypeError:
        return fields


def default_collate(batch):
    """Merge a list of samples into a batch (see the module docstring for the rules)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, xp.ndarray) and not isinstance(elem, xp.str_):
        if elem.dtype.kind in "SUaO":
            raise TypeError(_ERR.format(elem.dtype))
        return _stack_tensors([_creation.as_tensor(b) for b in batch])
    if isinstance(elem, xp.generic):
        if elem.dtype.kind in "SUaO":
            raise TypeError(_ERR.format(elem.dtype))
        return _creation.as_tensor(xp.asarray(batch))
    if isinstance(elem, float):
        return _creation.tensor(batch, dtype=float64)
    if isinstance(elem, int):
        return _creation.tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _collate_mapping(elem, batch, default_collate)
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        return _collate_sequence(elem, batch)
    raise TypeError(_ERR.format(type(elem)))


def default_convert(data):
    """Turn NumPy arrays (also inside mappings and sequences) into tensors; used when batch_size=None."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, xp.ndarray):
        return data if data.dtype.kind in "SUaO" else _creation.as_tensor(data)
    if isinstance(data, xp.generic):
        return data if data.dtype.kind in "SUaO" else _creation.as_tensor(xp.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _collate_mapping(data, [data], lambda vals: default_convert(vals[0]))
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
