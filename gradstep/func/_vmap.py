"""``vmap`` (``torch.vmap`` and ``torch.func.vmap``): ``func`` runs once per batch entry and
the results are stacked along ``out_dims``. The numbers are those of torch's vectorized
version, at a loop's cost; ``chunk_size`` changes nothing but is checked as torch does.

``in_dims``/``out_dims`` are pytree prefixes of the inputs/outputs, checked with torch's
messages. ``randomness``: ``'error'`` refuses random draws inside ``func`` (the default
generator is swapped for one that raises while the loop runs, so ordinary draws pay
nothing), ``'same'`` gives every entry the draws of the first (the generator state is reset
before each entry), ``'different'`` draws entry after entry.

torch's refusals (``.item()``, ``float()``/``int()``/``bool()`` of a batched value,
dynamic-shape ops, in-place writes of a batched value into an unbatched tensor, a batched
``out_dims=None`` output) raise torch's errors: the per-entry inputs' data are marked as
batched over this vmap's level and NumPy carries the mark on (see ``gradstep._vmap_batched``).
"""

from __future__ import annotations

import contextlib
import functools

from .. import _vmap_batched as _batched
from .. import random as _random
from .._tensor import Tensor
from ..ops.shape import stack
from ._pytree import broadcast_to_and_flatten, describe, tree_flatten, tree_unflatten

_RANDOM_ERROR = ("vmap: called random operation while in randomness error mode. Please either "
                 "use the 'same' or 'different' randomness flags on vmap or perform the "
                 "randomness operation out of vmap")


def _name(func):
    if hasattr(func, "__name__"):
        return func.__name__
    if isinstance(func, functools.partial):
        return f"functools.partial({_name(func.func)}, ...)"
    return repr(func)


def _check_randomness(randomness):
    if randomness not in ("error", "different", "same"):
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")


# ---------------------------------------------------------------- inputs
def _process_inputs(func, in_dims, args):
    """(batch size, flat in_dims, flat args, args spec), checked as torch checks them."""
    head = f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): "
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"{head}expected `in_dims` to be int or a (potentially nested) tuple "
                         f"matching the structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot to "
                         "add inputs, or you are trying to vmap over a function with no "
                         "inputs. The latter is unsupported.")
    flat_args, spec = tree_flatten(args)
    flat_dims = broadcast_to_and_flatten(in_dims, spec)
    if flat_dims is None:
        raise ValueError(f"{head}in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has structure {describe(tree_flatten(in_dims)[1])} but "
                         f"inputs has structure {describe(spec)}.")
    for i, (arg, d) in enumerate(zip(flat_args, flat_dims)):
        if d is None:
            continue
        if not isinstance(d, int) or isinstance(d, bool):
            raise ValueError(f"{head}Got in_dim={d} for an input but in_dim must be either an "
                             "integer dimension or None.")
        if not isinstance(arg, Tensor):
            raise ValueError(f"{head}Got in_dim={d} for an input but the input is of type "
                             f"{type(arg)}. We cannot vmap over non-Tensor arguments, please "
                             "use None as the respective in_dim")
        nd = arg.dim()
        if not -nd <= d < nd:
            raise ValueError(f"{head}Got in_dim={d} for some input, but that input is a Tensor "
                             f"of dimensionality {nd} so expected in_dim to satisfy "
                             f"-{nd} <= in_dim < {nd}.")
        flat_dims[i] = d % nd
    sizes = [a.shape[d] for a, d in zip(flat_args, flat_dims) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return sizes[0], flat_dims, flat_args, spec


def _entry(flat_args, flat_dims, spec, b, lv):
    """The arguments of batch entry ``b`` (``b=None``: zeros shaped as an entry, to learn the
    output structure of an empty batch), the mapped ones marked as batched over level ``lv``."""
    leaves = []
    for a, d in zip(flat_args, flat_dims):
        if d is None:
            leaves.append(a)
            continue
        t = a.new_zeros(a.shape[:d] + a.shape[d + 1:]) if b is None else a.select(d, b)
        t._data = _batched.mark(t._data, _batched.live_levels(a._data) | {lv})
        leaves.append(t)
    return tree_unflatten(leaves, spec)


# ---------------------------------------------------------------- randomness
class _RefusingGenerator:
    """Stands in for the default generator while a ``randomness='error'`` vmap runs."""

    def __getattr__(self, name):
        raise RuntimeError(_RANDOM_ERROR)


@contextlib.contextmanager
def _randomness(mode):
    """Yields a callable to run before each batch entry."""
    if mode == "error":
        saved = _random.default_generator
        _random.default_generator = _RefusingGenerator()
        try:
            yield lambda b: None
        finally:
            _random.default_generator = saved
    elif mode == "same":
        gen = _random.default_generator
        state = gen.get_state()
        yield lambda b: b and gen.set_state(state)
    else:
        yield lambda b: None


# ---------------------------------------------------------------- outputs
def _check_out_dims(func, out_dims):
    if isinstance(out_dims, int):
        return
    leaves, _ = tree_flatten(out_dims)
    for x in leaves:
        if x is not None and (not isinstance(x, int) or isinstance(x, bool)):
            raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims}): `out_dims` must "
                             "be an int, None or a python collection of ints representing "
                             "where in the outputs the vmapped dimension should appear.")


def _flat_out_dims(func, out_dims, first, spec):
    if isinstance(first, Tensor):  # torch's edge case: a lone tensor takes a 1-tuple too
        if out_dims is None or isinstance(out_dims, int):
            return [out_dims]
        if isinstance(out_dims, tuple) and len(out_dims) == 1:
            return list(out_dims)
        flat = None
    else:
        flat = broadcast_to_and_flatten(out_dims, spec)
    if flat is None:
        raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims "
                         "is not compatible with the structure of `outputs`. out_dims has "
                         f"structure {describe(tree_flatten(out_dims)[1])} but outputs has "
                         f"structure {describe(spec)}.")
    return flat


def _check_unbatched_outputs(func, out_dims, results, lv):
    """torch refuses an ``out_dims=None`` output that is batched over this vmap."""
    dims = _flat_out_dims(func, out_dims, results[0], tree_flatten(results[0])[1])
    if None not in dims:
        return
    for leaves in (tree_flatten(r)[0] for r in results):
        for x, od in zip(leaves, dims):
            if od is None and isinstance(x, Tensor) and lv in _batched.live_levels(x._data):
                raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` can not return a "
                                 "BatchedTensor when out_dim is None")


def _stack_outputs(func, out_dims, results, n, lv):
    """One output tree from the per-entry ``results`` (for an empty batch, ``results`` holds
    the one call made on a zero entry), no longer batched over level ``lv``."""
    flat0, spec = tree_flatten(results[0])
    dims = _flat_out_dims(func, out_dims, results[0], spec)
    columns = list(zip(*(tree_flatten(r)[0] for r in results)))
    out = []
    for col, od in zip(columns, dims):
        if od is None:
            out.append(col[0])
            continue
        if not isinstance(col[0], Tensor):
            raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return "
                             f"Tensors, got type {type(col[0])}. Did you mean to set out_dims= "
                             "to None for output?")
        t = col[0].unsqueeze(od).narrow(od, 0, 0) if n == 0 else stack(col, dim=od)
        t._data = _batched.unbatch(t._data, lv)
        out.append(t)
    return tree_unflatten(out, spec)


# ---------------------------------------------------------------- vmap
def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Map ``func`` over dimension ``in_dims`` of its inputs (None: not mapped), stacking the
    results along ``out_dims``."""
    _check_randomness(randomness)
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        _check_out_dims(func, out_dims)
        n, flat_dims, flat_args, spec = _process_inputs(func, in_dims, args)
        results = []
        lv = _batched.enter(n)
        try:
            with _randomness(randomness) as before_entry:
                for b in range(n) if n else (None,):
                    before_entry(b)
                    results.append(func(*_entry(flat_args, flat_dims, spec, b, lv), **kwargs))
            _check_unbatched_outputs(func, out_dims, results, lv)
            return _stack_outputs(func, out_dims, results, n, lv)
        finally:
            _batched.leave(lv)

    return wrapper
