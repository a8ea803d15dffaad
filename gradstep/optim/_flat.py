"""The vectorised path: one contiguous buffer per parameter group.

A model with hundreds of parameter tensors should not pay hundreds of Python
loops of NumPy calls per step. For an elementwise optimizer (SGD, Adam, ...) the
update does not care where one parameter ends and the next begins, so we keep

* one flat buffer holding every parameter of the group, each ``p._data`` being a
  view into it (the parameter keeps its identity, shape and version counter);
* one flat buffer per state tensor (``exp_avg``, ``momentum_buffer``, ...), each
  ``state[p][key]`` a view into it, and the ``step`` counters as one vector;
* no flat gradient buffer: ``.grad`` arrays are fresh after every backward, so
  each chunk reads its gradient straight from them (a view when the chunk lies
  inside one parameter, else a small cache-resident gather).

The update then runs the *same* pure function as the per-parameter path on the
flat arrays, a cache-sized chunk at a time (so temporaries stay in cache), which
gives bit-for-bit the same numbers. Large groups share their chunks among a few
threads, each taking the next chunk when done with its last (NumPy releases the
GIL inside its loops), as torch's CPU kernels run on several threads.

Every step first checks that the views are still in place (a ``p.data = ...``
assignment or ``load_state_dict`` replaces them) and that the same parameters
have gradients; if not, the buffers are rebuilt from the current values, or the
group takes the per-parameter path for this step (mixed dtypes, parameters
sharing storage, state of different ages).

Consequence: after the first step, a parameter's storage belongs to the
optimizer's buffer. A ``p.data`` tensor still alive when the buffer is built keeps
the group on the per-parameter path (torch's ``p.data`` aliases the storage for
good, and legacy optimizer code keeps such aliases); a NumPy array aliased to the
old storage (``p.numpy()`` kept somewhere) would no longer see updates. Pass
``foreach=False`` to keep the per-parameter path, which never moves storage.
"""

from __future__ import annotations

import sys
from bisect import bisect_right
from operator import is_

from .. import _blas, _parallel
from .._tensor import Tensor
from ..backend import xp

# elements per chunk: a chunk's arrays and temporaries stay in cache (L3), and each NumPy
# call is long enough that threads seldom wait for the GIL (each call drops and retakes it).
# On 2 cores 1 << 16 made 2 threads 15-25% slower and 1 << 20 15-40% slower; one thread
# runs as fast with 1 << 18 as with 1 << 16.
CHUNK = 1 << 18
THREADS = min(4, _parallel.usable_cores())  # threads for groups of at least MIN_THREADED
MIN_THREADED = 1 << 20
SCRATCH = 3  # chunk-sized temporaries handed to an update function as ``scratch``
MAX_REBUILDS = 20  # a group whose parameter set keeps changing stays on the per-parameter path


class FlatGroup:
    """Contiguous storage for ``params``, their elementwise state ``keys`` and 0-d ``scalar_keys``.

    Each elementwise state entry (shaped like its parameter) lives in one flat
    buffer per key; each scalar entry (``step``, ``mu_product``) in one vector per
    key with one element per parameter.
    """

    def __init__(self, params, state, keys, scalar_keys):
        self.params = list(params)
        self.keys = tuple(keys)
        self.scalar_keys = tuple(scalar_keys)
        dtype = self.params[0]._data.dtype
        self.offsets = [0]
        for p in self.params:
            self.offsets.append(self.offsets[-1] + p._data.size)
        n = self.offsets[-1]
        self.param = _pack([p._data for p in self.params], n, dtype)
        self.chunks = self._plan_chunks(n)
        self.state = {}
        for key in self.keys:
            self.state[key] = _pack([state[p][key]._data for p in self.params], n, dtype)
        for key in self.scalar_keys:
            values = [state[p][key]._data for p in self.params]
            self.state[key] = xp.array([v.reshape(()) for v in values], dtype=values[0].dtype)
        self._rebind(state)

    def _views(self, key):
        flat = self.param if key is None else self.state[key]
        if key in self.scalar_keys:
            return [flat[i:i + 1].reshape(()) for i in range(len(self.params))]
        o = self.offsets
        return [flat[o[i]:o[i + 1]].reshape(p._data.shape) for i, p in enumerate(self.params)]

    def _rebind(self, state):
        """Point every parameter and state entry at its slice of the flat buffers."""
        self._param_views = self._views(None)
        for p, v in zip(self.params, self._param_views):
            p._data = v
        self._state_views = {}
        for key in self.keys + self.scalar_keys:
            views = self._state_views[key] = self._views(key)
            for p, v in zip(self.params, views):
                state[p][key] = Tensor._make(v)

    def is_current(self, params, state):
        """True when ``params`` are exactly ours and every view is still in place."""
        if len(params) != len(self.params) or not all(map(is_, params, self.params)):
            return False
        if not all(map(is_, [p._data for p in params], self._param_views)):
            return False
        for key, views in self._state_views.items():
            current = [state[p].get(key) for p in params]
            if not all(t is not None and t._data is v for t, v in zip(current, views)):
                return False
        for key in self.scalar_keys:  # counters edited one by one must stay in step
            vec = self.state[key]
            if vec.min() != vec.max():
                return False
        return True

    def _plan_chunks(self, n):
        """For each chunk ``[start, stop)``, the gradient pieces ``(param index, lo, hi)`` in it.

        A chunk ends at a parameter boundary when one falls in its second half, so
        that most chunks read their gradient from a single parameter (no gather).
        """
        o = self.offsets
        chunks = []
        self.chunk_size = CHUNK
        start = 0
        while start < n:
            stop = min(start + CHUNK, n)
            last_boundary = o[bisect_right(o, stop) - 1]
            if stop < n and last_boundary > start + CHUNK // 2:
                stop = last_boundary
            pieces = []
            i = bisect_right(o, start) - 1
            while i < len(self.params) and o[i] < stop:
                lo, hi = max(start, o[i]) - o[i], min(stop, o[i + 1]) - o[i]
                if hi > lo:
                    pieces.append((i, lo, hi))
                i += 1
            chunks.append((start, stop, pieces))
            start = stop
        return chunks

    def flat_grads(self):
        """Each parameter's gradient as a 1-D array (a view when the gradient is contiguous)."""
        return [p._grad._data.reshape(-1) for p in self.params]

    def gather_grads(self):
        """The whole gradient as one flat array (a copy)."""
        return xp.concatenate(self.flat_grads())

    def run(self, fn, arrays, kwargs):
        """``fn(param, grad, *arrays, **kwargs)`` chunk by chunk, on threads for big groups.

        The threads share one iterator over the chunks and each takes the next
        chunk when it is done with its last (``next`` on a list iterator is atomic
        under the GIL), so a thread that the OS does not schedule (another process
        busy on that core) costs nothing: the others take its share. A fixed
        split would make the step wait for the slowest thread. Which thread
        updates a chunk does not change the numbers.
        """
        grads = self.flat_grads()
        chunks = self.chunks
        workers = min(THREADS, len(chunks)) if self.offsets[-1] >= MIN_THREADED else 1
        todo = iter(chunks)  # each thread runs _run_chunks over the shared iterator
        if workers == 1:
            self._run_chunks(fn, arrays, kwargs, grads, todo)
            return
        with _blas.serial():  # our threads split the work; the BLAS's would wait on each other
            _parallel.run(lambda: self._run_chunks(fn, arrays, kwargs, grads, todo),
                          [()] * workers, workers)

    def _run_chunks(self, fn, arrays, kwargs, grads, chunks):
        """Run ``fn`` on each chunk taken from ``chunks`` with this thread's own temporaries."""
        param = self.param
        size, dtype = self.chunk_size, param.dtype
        scratch = tuple(xp.empty(size, dtype) for _ in range(SCRATCH))
        gathered = None
        for start, stop, pieces in chunks:
            if len(pieces) == 1:
                i, lo, hi = pieces[0]
                g = grads[i][lo:hi]
            else:
                if gathered is None:
                    gathered = xp.empty(size, dtype)
                g = gathered[:stop - start]
                xp.concatenate([grads[i][lo:hi] for i, lo, hi in pieces], out=g)
            fn(param[start:stop], g, *[None if a is None else a[start:stop] for a in arrays],
               scratch=scratch, **kwargs)


def _pack(arrays, n, dtype):
    flat = xp.empty(n, dtype)
    xp.concatenate([a.reshape(-1) for a in arrays], out=flat)
    return flat


def can_flatten(params, state, keys, scalar_keys, previous=None):
    """Whether ``params`` can share one flat buffer: one float dtype, no aliasing, same phase.

    Parameters sharing storage (tied through ``.data``, or views of one array the
    caller owns) keep the per-parameter path, so the aliasing survives; views
    into the ``previous`` flat group's buffer are ours and disjoint. "Same phase"
    means every parameter already has every state entry, with equal scalar
    entries (``step`` counts), or none has any state yet.
    """
    dtype = params[0]._data.dtype
    if dtype.kind != "f":
        return False
    ours = id(previous.param) if previous is not None else None
    our_views = {id(v) for v in previous._param_views} if previous is not None else set()
    roots = set()
    for p in params:
        a = p._data
        if a.dtype != dtype or p._grad._data.shape != a.shape:
            return False
        if p._has_data_alias() or p.is_shared():
            # a live ``p.data`` shares this storage, or other processes do (share_memory_,
            # Hogwild training): the update must land where it is
            return False
        root = id(a if a.base is None else a.base)
        if root == ours:
            if id(a) not in our_views:  # re-tied to part of our buffer after flattening
                return False
            root = id(a)
        elif a.base is not None and sys.getrefcount(a.base) > 2:
            # a view of an array something else holds (``p.data = big[1:4]``, a Parameter made
            # from a view of a live tensor): the update must land in that array, as in torch
            return False
        if root in roots:
            return False
        roots.add(root)
    have = [bool(state.get(p)) for p in params]  # .get: never create entries in the defaultdict
    if not any(have):
        return True
    if not all(have):
        return False
    for p in params:
        s = state[p]
        for k in keys:
            t = s.get(k)
            if t is None or t._data.shape != p._data.shape or t._data.dtype != dtype:
                return False
        if any(s.get(k) is None or s[k]._data.size != 1 for k in scalar_keys):
            return False
    for k in scalar_keys:
        if len({float(state[p][k]._data.reshape(())) for p in params}) != 1:
            return False
    return True


class Batch:
    """What one call of a pure update function works on: one parameter, or a flat group.

    ``param`` and each ``state[key]`` are raw arrays changed in place (a scalar
    entry such as ``step`` is 0-d, or on a flat group a vector with one equal
    entry per parameter); ``fresh`` is True when the state was just created.
    """

    __slots__ = ("param", "state", "fresh", "_grad", "_flat")

    def __init__(self, param, grad, state, fresh, flat_group=None):
        self.param, self._grad, self.state, self.fresh = param, grad, state, fresh
        self._flat = flat_group

    @property
    def flat(self):
        return self._flat is not None

    @property
    def grad(self):
        """The gradient array (on a flat group, gathered into one copy: ``run`` avoids that)."""
        return self._grad if self._flat is None else self._flat.gather_grads()

    def scalar(self, key):
        """A scalar state entry (``step``) as a Python float."""
        return float(self.state[key].reshape(-1)[0])

    def run(self, fn, *arrays, **kwargs):
        """``fn(param, grad, *arrays, **kwargs)``: the update, on the parameter and its gradient.

        On a flat group it runs one cache-sized chunk at a time (``None`` arrays
        are passed through), with the same numbers as the whole-array call, and
        also passes ``scratch``: chunk-sized temporaries the function may use.
        """
        if self._flat is None:
            fn(self.param, self._grad, *arrays, **kwargs)
        else:
            self._flat.run(fn, arrays, kwargs)


def use_flat(group):
    """The flat path is the default; ``foreach=False`` asks for torch's per-parameter loop."""
    return group.get("foreach") is not False and not group.get("differentiable", False)


def param_batches(optimizer, group, keys, init_state, scalar_keys=()):
    """Yield the ``Batch`` es of one step of ``group``: one flat batch, or one per parameter.

    Only parameters with a gradient take part. ``keys`` names the elementwise
    state tensors (shaped like the parameter), ``scalar_keys`` the 0-d ones
    (``step``); ``init_state(p, group)`` fills the state of a parameter on its
    first step. Version counters of the updated parameters are bumped after
    each batch.
    """
    params = [p for p in group["params"] if p._grad is not None]
    if not params:
        return
    state = optimizer.state
    keys, scalar_keys = tuple(keys), tuple(scalar_keys)
    if use_flat(group) and len(set(map(id, params))) == len(params):
        flat = _current_flat_group(optimizer, group, params, keys, scalar_keys, init_state)
        if flat is not None:
            fg, fresh = flat
            yield Batch(fg.param, None, fg.state, fresh, fg)
            for p in params:
                p._vc[0] += 1
            return
    grads = [p._grad._data for p in params]  # first: a sparse one raises before any update
    for p, grad in zip(params, grads):
        s = state.get(p)
        fresh = not s
        if fresh:
            init_state(p, group)
            s = state.get(p, {})
        arrays = {k: s[k]._data for k in scalar_keys}
        arrays.update({k: _as_real(s[k]._data) for k in keys})
        yield Batch(_as_real(p._data), _as_real(grad), arrays, fresh)
        p._vc[0] += 1


def _as_real(a):
    """A complex array as a real view with a trailing (real, imag) axis: torch's optimizers
    update complex parameters, gradients and state through ``view_as_real``."""
    return a[..., None].view(a.real.dtype) if a.dtype.kind == "c" else a


def _current_flat_group(optimizer, group, params, keys, scalar_keys, init_state):
    """The group's ``FlatGroup`` (built or rebuilt if needed) and whether its state is fresh."""
    cache = optimizer.__dict__.setdefault("_flat_groups", {})
    fg = cache.get(id(group))
    if (fg is not None and fg.group is group and fg.keys == keys and fg.scalar_keys == scalar_keys
            and fg.is_current(params, optimizer.state)):
        return fg, False
    state = optimizer.state
    previous = fg if fg is not None and fg.group is group else None
    rebuilds = optimizer.__dict__.setdefault("_flat_rebuilds", {})
    if previous is not None:
        rebuilds[id(group)] = rebuilds.get(id(group), 0) + 1
    if (rebuilds.get(id(group), 0) > MAX_REBUILDS
            or not can_flatten(params, state, keys, scalar_keys, previous)):
        cache.pop(id(group), None)
        return None
    fresh = not state.get(params[0])
    if fresh:
        for p in params:
            init_state(p, group)
    fg = FlatGroup(params, state, keys, scalar_keys)
    fg.group = group
    cache[id(group)] = fg
    return fg, fresh
