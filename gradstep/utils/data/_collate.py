"""``default_collate`` (a list of samples -> one batch) and ``default_convert``.

The rules are torch's: tensors are stacked along a new first dimension; NumPy
arrays and NumPy scalars become tensors and are stacked; Python ints become an
int64 tensor (bools a bool tensor) and floats a float64 tensor; strings are
left as they come; mappings, namedtuples and sequences are collated field by field
(a tuple of fields becomes a list, as in torch). ``collate`` with a ``collate_fn_map``
(type -> function) is torch's extensible form, which ``default_collate`` uses with
``default_collate_fn_map``; ``torch.utils.data._utils.collate`` is this module's torch path.
"""

from __future__ import annotations

import collections.abc
import copy
import re

from ... import _creation
from ..._tensor import Tensor
from ...backend import float64, xp
from ...ops.shape import stack

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
    "found {}")
np_str_obj_array_pattern = re.compile(r"[SaUO]")  # NumPy dtype codes of strings and objects
_ERR = default_collate_err_msg_format


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _stack_tensors(batch):
    shape = batch[0]._data.shape
    if all(not t._rg and t._data.shape == shape for t in batch):
        return Tensor._make(xp.stack([t._data for t in batch]))  # skip the graph: the common case
    return stack(batch, 0)  # records autograd, and raises torch's error for unequal shapes


# ---------------------------------------------------------------- one function per leaf type
def collate_tensor_fn(batch, *, collate_fn_map=None):
    return _stack_tensors(batch)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([_creation.as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    if batch[0].dtype.kind in "SUaO":
        raise TypeError(default_collate_err_msg_format.format(batch[0].dtype))
    kind = type(batch[0])
    if all(type(b) is kind for b in batch):
        return _creation.as_tensor(xp.asarray(batch))  # one NumPy type: its dtype, without inference
    return _creation.as_tensor(batch)  # mixed (np.float32 with Python floats...): torch's promotion


def collate_float_fn(batch, *, collate_fn_map=None):
    return _creation.tensor(batch, dtype=float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    return _creation.tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


# torch's table: an exact type match first, then the first isinstance in this order
default_collate_fn_map = {
    Tensor: collate_tensor_fn,
    xp.ndarray: collate_numpy_array_fn,
    (xp.bool_, xp.number, xp.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def collate(batch, *, collate_fn_map=None):
    """Merge a list of samples: leaves by ``collate_fn_map`` (type -> function), containers
    (mappings, namedtuples, sequences) field by field (``torch.utils.data._utils.collate``)."""
    elem = batch[0]
    if collate_fn_map is not None:
        fn = collate_fn_map.get(type(elem))
        if fn is None:
            fn = next((f for t, f in collate_fn_map.items() if isinstance(elem, t)), None)
        if fn is not None:
            return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _collate_mapping(elem, batch, lambda vals: collate(vals, collate_fn_map=collate_fn_map))
    if _is_namedtuple(elem):
        return type(elem)(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        return _collate_sequence(elem, batch, collate_fn_map)
    raise TypeError(default_collate_err_msg_format.format(type(elem)))


def default_collate(batch):
    """Merge a list of samples into a batch (see the module docstring for the rules)."""
    return collate(batch, collate_fn_map=default_collate_fn_map)


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


def _collate_sequence(elem, batch, collate_fn_map):
    size = len(elem)
    if any(len(e) != size for e in batch):
        raise RuntimeError("each element in list of batch should be of equal size")
    # each field's samples as the tuple zip makes: strings come back as that tuple, as in torch
    fields = [collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)]
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
