"""Which arrays are *batched* while a ``vmap`` runs, so that gradstep refuses what torch's vmap
refuses (``.item()``, data-dependent control flow, dynamic-shape ops, in-place writes of a
batched value into an unbatched tensor) although it runs ``func`` once per batch entry.

The mark lives on the data: ``vmap`` gives each per-entry input a view of its array as
:class:`BatchedArray`, an ``ndarray`` subclass that carries the set of vmap levels it is
batched over. NumPy's own dispatch (``__array_ufunc__``, ``__array_function__`` and
``__array_finalize__`` for views) passes the mark on to every array computed from it, so a
value derived from a per-entry input is batched, and one made from unbatched values alone
(``torch.zeros(3)``, a captured tensor's ``sum()``) is not, as in torch. Nothing is looked at
outside vmap: a plain ``ndarray`` never takes these paths, and the few Tensor methods that
refuse test the data's type (or the module flag ``depth``) before anything else.

A value that leaves NumPy (a BLAS call through another library, ``np.asarray``) loses the
mark: gradstep then runs what torch would refuse rather than refusing what torch runs.
"""

from __future__ import annotations

import contextlib
import itertools
import threading

import numpy as _np

depth = 0  # vmaps running in any thread: the one flag the in-place write paths look at
_ids = itertools.count(1)
_local = threading.local()  # .active: this thread's running vmap levels, innermost last

ITEM = ("vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over "
        "calling .item() on a Tensor, please try to rewrite what you're doing with other "
        "operations. If error is occurring somewhere inside PyTorch internals, please file a "
        "bug report.")
CONTROL_FLOW = ("vmap: It looks like you're attempting to use a Tensor in some data-dependent "
                "control flow. We don't support that yet, please file an issue at "
                "https://github.com/pytorch/pytorch/issues .")
UNDER_GRAD = ("vmap: It looks like you're either (1) calling .item() on a Tensor or (2) "
              "attempting to use a Tensor in some data-dependent control flow or (3) encountering "
              "this error in PyTorch internals. For (1): we don't support vmap over calling "
              ".item() on a Tensor, please try to rewrite what you're doing with other operations. "
              "For (2): we don't support data-dependent control flow in vmap yet, please file an "
              "issue at https://github.com/pytorch/pytorch/issues . For (3): please file an issue.")
INPLACE = ("vmap: inplace arithmetic(self, *extra_args) is not possible because there exists a "
           "Tensor `other` in extra_args that has more elements than `self`. This happened due "
           "to `other` being vmapped over but `self` not being vmapped over in a vmap. Please "
           "try to use out-of-place operators instead of inplace arithmetic. If said operator "
           "is being called inside the PyTorch framework, please file a bug report instead.")
MASK = ("vmap: We do not support batching operators that can support dynamic shape. Attempting "
        "to batch over indexing with a boolean mask.")
BATCH_NORM = ("Batch norm got a batched tensor as input while the running_mean or running_var, "
              "which will be updated in place, were not batched.\nIf you are using a module and "
              "do not need eval mode, please set `track_running_stats` to be False.If you are "
              "using a prebuilt module and do not need eval mode, please see the functorch "
              "website for resources on how to patch your module to work with vmap")
MASKED_SELECT = ("vmap: Attempted to vmap over `mask` in torch.masked_select(self, mask) We "
                 "cannot support this because for each batch this would return a differently "
                 "shaped Tensor. Please file an issue at https://github.com/pytorch/pytorch/issues "
                 "if you need this feature.")


def _active():
    active = getattr(_local, "active", None)
    if active is None:
        active = _local.active = []
    return active


def _unwrap(x):
    """``x`` with every BatchedArray inside (lists/tuples too) viewed as a plain ndarray, for
    NumPy's own implementation to run on."""
    if isinstance(x, BatchedArray):
        return x.view(_np.ndarray)
    if type(x) in (list, tuple) and any(isinstance(v, (BatchedArray, list, tuple)) for v in x):
        return type(x)(_unwrap(v) for v in x)
    return x


def _levels_in(values, acc):
    for v in values:
        if isinstance(v, BatchedArray):
            acc |= v._levels
        elif isinstance(v, (list, tuple)):
            _levels_in(v, acc)
    return acc


def _running(levels):
    """The levels of ``levels`` still running: a value computed from arrays a finished vmap
    left behind (in a graph node, say) is a plain array again."""
    return frozenset(levels.intersection(_active())) if levels else frozenset()


def _wrap(result, levels):
    if isinstance(result, _np.ndarray):
        return mark(result, levels)
    if isinstance(result, _np.generic):  # a full reduction: a 0-d batched value, as torch's
        return mark(_np.asarray(result), levels)
    if isinstance(result, (tuple, list)) and type(result) in (tuple, list):
        return type(result)(_wrap(r, levels) for r in result)
    if isinstance(result, tuple) and hasattr(result, "_fields"):  # namedtuple (np.linalg)
        return type(result)(*(_wrap(r, levels) for r in result))
    return result


class BatchedArray(_np.ndarray):
    """An array batched over the vmap levels in ``_levels`` (a frozenset of level ids)."""

    _levels = frozenset()

    def __array_finalize__(self, obj):
        self._levels = getattr(obj, "_levels", frozenset())

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        levels = _levels_in(inputs, set())
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _unwrap(out)
        result = getattr(ufunc, method)(*_unwrap(inputs), **kwargs)
        if out is not None:  # written in place: the caller's own arrays, marked as they were
            return out[0] if len(out) == 1 else out
        return _wrap(result, _running(levels))

    def __array_function__(self, func, types, args, kwargs):
        levels = _levels_in(args, set())
        _levels_in(kwargs.values(), levels)
        result = func(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
        if kwargs.get("out") is not None:
            return kwargs["out"]
        return _wrap(result, _running(levels))


def mark(arr, levels):
    """``arr`` viewed as batched over ``levels`` (a plain ndarray view when there are none)."""
    if not levels:
        return arr.view(_np.ndarray) if isinstance(arr, BatchedArray) else arr
    out = arr.view(BatchedArray)
    out._levels = frozenset(levels)
    return out


def live_levels(arr):
    """The running vmap levels (of this thread) that ``arr`` is batched over."""
    if not isinstance(arr, BatchedArray):
        return frozenset()
    return arr._levels.intersection(_active())


def is_batched(arr):
    return isinstance(arr, BatchedArray) and bool(live_levels(arr))


# ---------------------------------------------------------------- levels
_sizes = {}  # level -> its batch size (for torch's shape message of add_)


def enter(size):
    """Start a vmap level of batch size ``size`` in this thread; its id."""
    global depth
    lv = next(_ids)
    _active().append(lv)
    _sizes[lv] = size
    depth += 1
    return lv


def leave(lv):
    global depth
    _active().remove(lv)
    _sizes.pop(lv, None)
    depth -= 1


@contextlib.contextmanager
def grad_transform():
    """A ``torch.func`` grad-type transform (grad, vjp, jvp) runs: inside a vmap, torch words
    ``.item()`` and control flow under it differently."""
    if not depth:
        yield
        return
    active = _active()
    active.append(None)  # a marker among the level ids
    try:
        yield
    finally:
        del active[len(active) - 1 - active[::-1].index(None)]


def _under_grad(arr):
    """Whether a grad transform was entered inside a vmap level ``arr`` is batched over."""
    active = _active()
    first = min(active.index(lv) for lv in live_levels(arr))
    return None in active[first:]


def unbatch(arr, lv):
    """A stacked vmap output: no longer batched over ``lv`` (still over the outer levels)."""
    if not isinstance(arr, BatchedArray):
        return arr
    return mark(arr, arr._levels - {lv})


# ---------------------------------------------------------------- checks
def check_item(arr):
    """``.item()``/``float()``/``int()``/``__index__`` of a tensor whose data is ``arr``."""
    if is_batched(arr):
        raise RuntimeError(UNDER_GRAD if _under_grad(arr) else ITEM)


def check_storage(arr):
    """``.numpy()``/``.tolist()``: torch's batched tensor has no storage to read."""
    if is_batched(arr):
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")


def check_bool(arr):
    if is_batched(arr):
        raise RuntimeError(UNDER_GRAD if _under_grad(arr) else CONTROL_FLOW)


def check_write(dest, value):
    """An in-place write of ``value`` (an array, or a tuple of operand arrays) into ``dest``:
    torch refuses a value batched over a level ``dest`` is not."""
    levels = _levels_in(value if isinstance(value, (tuple, list)) else (value,), set())
    if levels and not levels.intersection(_active()) <= live_levels(dest):
        raise RuntimeError(INPLACE)


def check_add(dest, other):
    """``dest.add_(other)``: torch's vmap reports the batched ``other`` as a shape mismatch."""
    extra = live_levels(other) - live_levels(dest)
    if extra:
        batch = [_sizes[lv] for lv in sorted(extra)]
        shape = batch + list(_np.broadcast_shapes(dest.shape, other.shape))
        raise RuntimeError(f"output with shape {list(dest.shape)} doesn't match the broadcast "
                           f"shape {shape}")


def check_mask(mask):
    """Indexing with a boolean ``mask``."""
    if is_batched(mask):
        raise RuntimeError(MASK)


def check_masked_select(mask):
    if is_batched(mask):
        raise RuntimeError(MASKED_SELECT)


def check_batch_norm(input, running_mean, running_var):  # noqa: A002 - torch's name
    """Training-mode batch norm would update unbatched running stats from a batched input."""
    if live_levels(input) - (live_levels(running_mean) & live_levels(running_var)):
        raise RuntimeError(BATCH_NORM)


def refuse_dynamic(op, *arrays):
    """torch's refusal of a dynamic-shape op (``aten::<op>``) on a batched input."""
    if not any(is_batched(a) for a in arrays):
        return
    if op == "nonzero_numpy":  # nonzero(as_tuple=True): torch has no fallback for it
        raise RuntimeError("Batching rule not implemented for aten::nonzero_numpy. We could not "
                           "generate a fallback.")
    raise RuntimeError("vmap: We do not support batching operators that can output dynamic "
                       f"shape. Attempted to vmap over aten::{op}. Please file an issue at "
                       "https://github.com/pytorch/pytorch/issues if you need this feature.")
