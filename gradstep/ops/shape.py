"""Shape operations: views (reshape, transpose, expand, ...) and copies (cat, flip, pad, ...)."""

from __future__ import annotations

from .. import _vmap_batched as _vmap
from .._argparse import (
    arg_error,
    int_arg,
    int_list,
    int_list_arg,
    invalid_combination,
    is_int,
    type_name,
)
from .._memory_format import check_memory_format, needs_format_copy
from ..autograd._view_meta import mark_multi_output
from ..autograd.function import Node, as_torch_node
from ..backend import as_dtype, xp
from ..backend import dtype as _dtype
from ._util import into_shape_error, normalize_dim, sum_to, to_tensor
from .index import slice_view


class Reshape(Node):
    is_view = True
    _name = "ViewBackward0"

    def forward(self, a):
        self.in_shape = a.shape
        return a.reshape(self.shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


class Permute(Node):
    is_view = True

    def forward(self, a):
        return a.transpose(self.perm)  # what np.transpose calls

    def backward(self, g):
        inv = [0] * len(self.perm)
        for i, p in enumerate(self.perm):
            inv[p] = i
        return g.permute(inv)


class Expand(Node):
    is_view = True

    def forward(self, a):
        self.in_shape = a.shape
        return xp.broadcast_to(a, self.shape)

    def backward(self, g):
        return sum_to(g, self.in_shape)


class Cat(Node):
    """Concatenation; legacy 1-D empty inputs (``self.skip``) take no part but get an empty grad."""

    def forward(self, *arrays):
        self.sizes = [None if s else a.shape[self.dim] for a, s in zip(arrays, self.skip)]
        return xp.concatenate([a for a, s in zip(arrays, self.skip) if not s], axis=self.dim)

    def backward(self, g):
        out, start = [], 0
        for s in self.sizes:
            if s is None:
                out.append(g.new_zeros((0,)))
                continue
            out.append(g.narrow(self.dim, start, s))
            start += s
        return tuple(out)


class Stack(Node):
    def forward(self, *arrays):
        self.n = len(arrays)
        return xp.stack(arrays, axis=self.dim)

    def backward(self, g):
        return tuple(g.select(self.dim, i) for i in range(self.n))


class Flip(Node):
    def forward(self, a):
        if a.ndim == 0:  # dim 0 of a 0-d tensor is itself
            return a.copy()
        return xp.flip(a, axis=self.dims).copy()

    def backward(self, g):
        return g.flip(self.dims)


class Roll(Node):
    def forward(self, a):
        return xp.roll(a, self.shifts, axis=self.dims)

    def backward(self, g):
        neg = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return g.roll(neg, self.dims)


class Tri(Node):
    def forward(self, a):
        return (xp.tril if self.lower else xp.triu)(a, self.k)

    def backward(self, g):
        return g.tril(self.k) if self.lower else g.triu(self.k)


class Pad(Node):
    def forward(self, a):
        self.in_shape = a.shape
        if a.ndim == 0:
            return a.copy()
        return xp.pad(a, self.widths, mode="constant", constant_values=self.value)

    def backward(self, g):
        idx = tuple(slice(lo, lo + n) for (lo, _), n in zip(self.widths, self.in_shape))
        return g[idx]


class Repeat(Node):
    def forward(self, a):
        self.in_shape = a.shape
        return xp.tile(a, self.reps)

    def backward(self, g):
        # fold each repeated axis into (rep, size) and sum over rep
        nd = len(self.reps)
        in_shape = (1,) * (nd - len(self.in_shape)) + tuple(self.in_shape)
        folded = []
        for r, s in zip(self.reps, in_shape):
            folded += [r, s]
        gs = g.reshape(tuple(folded)).sum(dim=tuple(range(0, 2 * nd, 2)))
        return gs.reshape(self.in_shape)


class Contiguous(Node):
    _name = "CloneBackward0"

    def forward(self, a):
        return xp.ascontiguousarray(a) if not self.force else a.copy()

    def backward(self, g):
        return g


class CopyFrom(Node):
    """``dst.copy_(src)`` recorded out of place (inputs: the old ``dst``, ``src``): ``src``
    broadcast and converted to ``dst``'s dtype. As torch's ``CopyBackwards``, the overwritten
    ``dst`` gets a zero gradient and ``src`` the incoming one (the engine sums a broadcast
    back and converts the dtype)."""

    _name = "torch::autograd::CopyBackwards"

    def forward(self, dst, src):
        return xp.broadcast_to(src, dst.shape).astype(dst.dtype)

    def backward(self, g):
        from .._tensor import Tensor

        gd = g._data
        zeros = Tensor._make(xp.zeros(gd.shape, gd.dtype)) if self._next[0] is not None else None
        return zeros, g


def copy_into(dst, src, non_blocking=False):
    """``dst.copy_(src)``: recorded as ``CopyFrom`` where a gradient flows (into a floating
    point ``dst``), else written in place."""
    src = to_tensor(src)
    source = _copy_source(dst, src)  # torch's error for a source that does not broadcast
    if dst._needs_graph(src) and dst.dtype.is_floating_point:
        return dst._inplace_graph(lambda s: CopyFrom.apply(s, src))
    dst._check_writable()
    if _vmap.depth:  # inside vmap: torch refuses a batched source into an unbatched dst
        _vmap.check_write(dst._data, source)
    dst._data[...] = source
    dst._vc[0] += 1
    return dst


def _copy_source(dst, src):
    try:
        return xp.broadcast_to(src._data, dst._data.shape)
    except ValueError:
        raise into_shape_error(dst.shape, src.shape) from None


# ---------------------------------------------------------------- functional API
def _sizes_arg(shape, fname, argname, signatures=None):
    """The sizes of a sizes-only method (``view(2, 3)``, ``view((2, 3))``) as a tuple of ints,
    checked as torch's argument parser does (gradstep._argparse)."""
    if not shape:
        if signatures:
            raise invalid_combination(fname, (), signatures)
        raise TypeError(f'{fname}() missing 1 required positional arguments: "{argname}"')
    return int_list(shape, fname, argname, signatures)


_VIEW_SIGNATURES = ("torch.dtype dtype", "tuple of ints size")


def _infer_shape(shape, numel, in_shape):
    shape = list(shape)
    neg = []  # the -1 positions; the sizes' product otherwise, in one pass
    known = 1
    for i, s in enumerate(shape):
        if s < 0:
            if s < -1:
                raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {shape}")
            neg.append(i)
        else:
            known *= s
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if neg:
        if known == 0 and numel == 0:
            raise RuntimeError(
                f"cannot reshape tensor of 0 elements into shape {shape} because the unspecified "
                "dimension size -1 can be any value and is ambiguous"
            )
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def reshape(a, *shape):
    shape = _infer_shape(_sizes_arg(shape, "reshape", "shape"), a._data.size, a._data.shape)
    return Reshape.apply(a, shape=shape)


def view(a, *shape, dtype=None):
    if dtype is not None:  # torch's ``view(dtype=torch.int32)`` overload
        if shape:
            raise TypeError("view() received an invalid combination of arguments: sizes and dtype")
        return view_dtype(a, as_dtype(dtype))
    if len(shape) == 1 and isinstance(shape[0], _dtype):
        return view_dtype(a, shape[0])
    shape = _infer_shape(_sizes_arg(shape, "view", "size", _VIEW_SIGNATURES), a._data.size,
                         a._data.shape)
    if not _viewable(a._data, shape):
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        )
    return Reshape.apply(a, shape=shape)


def _viewable(arr, shape):
    if arr.flags.c_contiguous:
        return True
    try:
        v = arr.view()
        v.shape = shape
        return True
    except AttributeError:
        return False


def view_dtype(a, dt):
    from .._tensor import Tensor

    return Tensor._make(a._data.view(dt.np))


def flatten(a, start_dim=0, end_dim=-1):
    if type(start_dim) is not int or type(end_dim) is not int:
        start_dim = int_arg(start_dim, "flatten", "start_dim", 1)
        end_dim = int_arg(end_dim, "flatten", "end_dim", 2)
    if a.ndim == 0:
        normalize_dim(start_dim, 0), normalize_dim(end_dim, 0)
        return reshape(a, 1)
    s = normalize_dim(start_dim, a.ndim)
    e = normalize_dim(end_dim, a.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = a.shape[:s] + (-1,) + a.shape[e + 1:]
    if a.numel() == 0:
        n = 1
        for x in a.shape[s:e + 1]:
            n *= x
        shape = a.shape[:s] + (n,) + a.shape[e + 1:]
    return reshape(a, shape)


def unflatten(a, dim, sizes):
    if type(dim) is not int:
        dim = int_arg(dim, "unflatten", "dim", 1)
    d = normalize_dim(dim, a.ndim)
    given = list(int_list_arg(sizes, "unflatten", "sizes", 2))
    sizes = list(given)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if sizes.count(-1) > 1:  # torch wraps its infer_size error so
        raise RuntimeError("unflatten got an unexpected error:\nonly one dimension can be inferred")
    if -1 in sizes:
        known = 1
        for s in sizes:
            if s != -1:
                known *= s
        sizes[sizes.index(-1)] = a.shape[d] // known if known else 0
    prod = 1
    for s in sizes:
        prod *= s
    if prod != a.shape[d] or any(s < 0 for s in sizes):
        raise RuntimeError(
            f"unflatten: Provided sizes {given} don't multiply up to the size of dim {dim} "
            f"({a.shape[d]}) in the input tensor"
        )
    return reshape(a, a.shape[:d] + tuple(sizes) + a.shape[d + 1:])


_SQUEEZE_SIGNATURES = ("", "int dim", "tuple of ints dim")


def squeeze(a, dim=None):
    if dim is None:
        shape = tuple(s for s in a.shape if s != 1)
        name = "SqueezeBackward0"
    else:
        multi = isinstance(dim, (tuple, list))
        if multi:
            dim = int_list_arg(dim, "squeeze", "dim", 1, _SQUEEZE_SIGNATURES)
        elif type(dim) is not int and not is_int(dim):
            raise invalid_combination("squeeze", (dim,), _SQUEEZE_SIGNATURES)
        dims = {normalize_dim(d, a.ndim) for d in (dim if multi else (dim,))}
        shape = tuple(s for i, s in enumerate(a.shape) if not (i in dims and s == 1))
        name = "SqueezeBackward2" if multi else "SqueezeBackward1"
    return Reshape.apply(a, shape=shape, _name=name)


def unsqueeze(a, dim):
    if type(dim) is not int:
        dim = int_arg(dim, "unsqueeze", "dim", 1)
    s = a._data.shape
    d = normalize_dim(dim, len(s) + 1)
    return Reshape.apply(a, shape=s[:d] + (1,) + s[d:], _name="UnsqueezeBackward0")


def permute(a, *dims):
    dims = _sizes_arg(dims, "permute", "dims")
    nd = a._data.ndim
    if len(dims) != nd:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not "
            f"equal to len(dims) = {len(dims)}"
        )
    perm = tuple([normalize_dim(d, nd) for d in dims])
    if len(set(perm)) != len(perm):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(a, perm=perm)


def transpose(a, dim0, dim1, _name="TransposeBackward0"):
    if type(dim0) is not int or type(dim1) is not int:
        dim0 = int_arg(dim0, "transpose", "dim0", 1)
        dim1 = int_arg(dim1, "transpose", "dim1", 2)
    nd = a._data.ndim
    if nd == 0:
        normalize_dim(dim0, 0), normalize_dim(dim1, 0)
        return Reshape.apply(a, shape=(), _name=_name)
    d0, d1 = normalize_dim(dim0, nd), normalize_dim(dim1, nd)
    perm = list(range(nd))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return Permute.apply(a, perm=tuple(perm), _name=_name)


def t(a):
    if a.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {a.ndim}D")
    if a.ndim == 2:
        return transpose(a, 0, 1, _name="TBackward0")
    return Reshape.apply(a, shape=a.shape, _name="TBackward0")


_MOVEDIM_SIGNATURES = ("int source, int destination",
                       "tuple of ints source, tuple of ints destination")


def movedim(a, source, destination):
    if is_int(source) and is_int(destination):
        src, dst = [int_arg(source, "", "", 1)], [int_arg(destination, "", "", 2)]
    else:
        got = (source, destination)
        src = list(int_list_arg(source, "movedim", "source", 1, _MOVEDIM_SIGNATURES, got=got))
        dst = list(int_list_arg(destination, "movedim", "destination", 2, _MOVEDIM_SIGNATURES,
                                got=got))
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({src} dims) should contain "
            f"the same number of dims as destination ({dst} dims)"
        )
    src = [normalize_dim(s, a.ndim) for s in src]
    dst = [normalize_dim(d, a.ndim) for d in dst]
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({dims})")
    order = [i for i in range(a.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    if a.ndim == 0:  # dims 0/-1 of a 0-d tensor name the tensor itself
        order = []
    return Permute.apply(a, perm=tuple(order))


def expand(a, *sizes):
    sizes = _sizes_arg(sizes, "expand", "size")
    ashape = a._data.shape  # a plain tuple: read per size below
    if len(sizes) < len(ashape):
        raise RuntimeError(
            f"expand(torch.FloatTensor{{{list(a.shape)}}}, size={list(sizes)}): the number of "
            f"sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions "
            f"in the tensor ({len(ashape)})"
        )
    nd = len(sizes) - len(ashape)
    shape = []
    for i, s in enumerate(sizes):
        cur = ashape[i - nd] if i >= nd else 1
        if s < -1 and (i < nd or cur == 1):  # torch takes it as a size, then counts elements
            raise RuntimeError("numel: integer multiplication overflow")
        if s == -1:
            if i < nd:
                raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            s = cur
        elif cur != 1 and cur != s:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(a.shape)}"
            )
        shape.append(s)
    shape = tuple(shape)
    if shape == ashape:
        return Reshape.apply(a, shape=shape, _name="ExpandBackward0")
    return Expand.apply(a, shape=shape)


def broadcast_to(a, shape):
    return expand(a, tuple(shape))


def _tensors_arg(tensors, name, dim=0):
    """torch's checks of a ``tuple of Tensors`` (cat, stack, hstack, vstack) and its ``dim``,
    in torch's order: the sequence, the dim, then each element (a list of the tensors)."""
    from .._tensor import Tensor

    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise arg_error(name, "tensors", 1, f" must be tuple of Tensors, not {type_name(tensors)}")
    if type(dim) is not int:
        int_arg(dim, name, "dim", 2)
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type_name(x)}")
    if not tensors:
        if name == "cat":  # torch's Python-level check: a ValueError
            raise ValueError("torch.cat(): expected a non-empty list of Tensors")
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return list(tensors)


def cat(tensors, dim=0):
    from ..backend import result_type
    from ._util import cast

    tensors = _tensors_arg(tensors, "cat", dim)
    for i, x in enumerate(tensors):
        if x.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    # torch skips legacy 1-D empty tensors in the shape checks and the result; they still
    # take part in type promotion and get an (empty) gradient
    skip = tuple(x.ndim == 1 and x.shape[0] == 0 for x in tensors)
    if all(skip):  # nothing but legacy empties: torch checks no dim, the result is empty
        skip, dim = (False,) * len(tensors), 0
    ref = next(x for x, s in zip(tensors, skip) if not s)
    d = normalize_dim(dim, ref.ndim)
    for i, x in enumerate(tensors):
        if skip[i]:
            continue
        if x.ndim != ref.ndim:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {ref.ndim} and {x.ndim}"
            )
        for k in range(ref.ndim):
            if k != d and x.shape[k] != ref.shape[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{ref.shape[k]} but got size {x.shape[k]} for tensor number {i} in the list."
                )
    dt = result_type(*tensors)
    tensors = [cast(x, dt) for x in tensors]
    return Cat.apply(*tensors, dim=d, skip=skip)


concat = cat
concatenate = cat


def stack(tensors, dim=0):
    from ..backend import result_type
    from ._util import cast

    tensors = _tensors_arg(tensors, "stack", dim)
    ref = tensors[0]
    for i, x in enumerate(tensors):
        if x.shape != ref.shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(ref.shape)} at entry 0 "
                f"and {list(x.shape)} at entry {i}"
            )
    d = normalize_dim(dim, ref.ndim + 1)
    dt = result_type(*tensors)
    tensors = [cast(x, dt) for x in tensors]
    return Stack.apply(*tensors, dim=d)


def hstack(tensors):
    tensors = _tensors_arg(tensors, "hstack")
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([x if x.ndim > 1 else x.reshape(1, -1) for x in _tensors_arg(tensors, "vstack")], 0)


_SPLIT_SIGNATURES = ("Tensor input, int split_size, int dim = 0",
                     "Tensor input, tuple of ints split_size, int dim = 0")


def _split_args(a, size, dim):
    """torch's checks of ``Tensor.split``'s arguments (its Python code sends a non-int size
    to ``split_with_sizes``)."""
    if isinstance(size, bool) or not is_int(dim):
        raise invalid_combination("split", (a, size, dim), _SPLIT_SIGNATURES, final=True)
    try:  # torch's Python split passes these on positionally: the wording is fixed
        if not isinstance(size, int):
            size = list(int_list_arg(size, "split_with_sizes", "split_sizes", 2))
        return size, int_arg(dim, "split", "dim", 3)
    except TypeError as e:
        e._gs_refusal = None
        raise


def split(a, split_size_or_sections, dim=0):
    if type(split_size_or_sections) is not int or type(dim) is not int:
        split_size_or_sections, dim = _split_args(a, split_size_or_sections, dim)
    d = normalize_dim(dim, a.ndim)
    n = a.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={step}")
        if step == 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = [min(step, n - i) for i in range(0, n, step)] if step and n else [0]
    else:
        sizes = [int(x) for x in split_size_or_sections]
        if any(x < 0 for x in sizes):
            raise RuntimeError(
                "split_with_sizes expects split_sizes have only non-negative entries, but got "
                f"split_sizes={sizes}"
            )
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                f"at dimension {d}), but got split_sizes={sizes}"
            )
    name = "SplitBackward0" if isinstance(split_size_or_sections, int) else "SplitWithSizesBackward0"
    out, start = [], 0
    for s in sizes:
        out.append(slice_view(a, (slice(None),) * d + (slice(start, start + s),), name))
        start += s
    return mark_multi_output(tuple(out))


def chunk(a, chunks, dim=0):
    if type(chunks) is not int or type(dim) is not int:
        chunks, dim = int_arg(chunks, "chunk", "chunks", 1), int_arg(dim, "chunk", "dim", 2)
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = normalize_dim(dim, a.ndim)
    n = a.shape[d]
    if n == 0:
        return split(a, [0] * chunks, d)
    return split(a, -(-n // chunks), d)


def unbind(a, dim=0):
    d = normalize_dim(dim, a.ndim)
    pre = (slice(None),) * d
    return mark_multi_output(tuple(slice_view(a, pre + (i,), "UnbindBackward0")
                                   for i in range(a.shape[d])))


_NARROW_SIGNATURES = ("int dim, Tensor start, int length", "int dim, int start, int length")


def _narrow_args(dim, start, length):
    """torch's checks of ``narrow``'s arguments; ``start`` may be a 0-d integer tensor."""
    if not (is_int(dim) and is_int(length) and (is_int(start) or hasattr(start, "_data"))):
        raise invalid_combination("narrow", (dim, start, length), _NARROW_SIGNATURES)
    if not is_int(start):
        raise RuntimeError("start must be an 0-dim integral Tensor.")
    return int_arg(dim, "", "", 1), int_arg(start, "", "", 2), int_arg(length, "", "", 3)


def narrow(a, dim, start, length):
    if type(dim) is not int or type(start) is not int or type(length) is not int:
        dim, start, length = _narrow_args(dim, start, length)
    d = normalize_dim(dim, a.ndim)
    n = a.shape[d]
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    if start < 0:
        start += n
    if start < 0 or start + length > a.shape[d]:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({a.shape[d]}).")
    return slice_view(a, (slice(None),) * d + (slice(start, start + length),), "SliceBackward0")


def select(a, dim, index):
    if type(dim) is not int or type(index) is not int:
        dim, index = int_arg(dim, "select", "dim", 1), int_arg(index, "select", "index", 2)
    d = normalize_dim(dim, a.ndim)
    n = a.shape[d]
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(a.shape)} at "
            f"dimension {d}"
        )
    return slice_view(a, (slice(None),) * d + (index,), "SelectBackward0")


def _dims_varargs(args, dims, fname):
    """The dims of ``flip``/``tile``: one sequence, ``dims=``, or spread out (``x.flip(0, 1)``,
    torch's varargs form of a method whose only positional parameter is a tuple of ints)."""
    if dims is not None:
        if args:
            raise TypeError(f"{fname}() got multiple values for argument 'dims'")
        return int_list_arg(dims, fname, "dims", None)
    if not args:
        raise TypeError(f'{fname}() missing 1 required positional arguments: "dims"')
    return int_list(args, fname, "dims")


def flip(a, *args, dims=None):
    dims = _dims_varargs(args, dims, "flip")
    dims = tuple(normalize_dim(d, a.ndim) for d in dims)
    for d in dims:
        if dims.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return Flip.apply(a, dims=dims)


def fliplr(a):
    return flip(a, (1,))


def flipud(a):
    return flip(a, (0,))


def roll(a, shifts, dims=None):
    shifts = int_list_arg(shifts, "roll", "shifts", 1, single_int=True)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(
                f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0"
            )
        flat = a.flatten()
        out = Roll.apply(flat, shifts=shifts[0], dims=None).reshape(a.shape)
        return as_torch_node(out, "RollBackward0")
    dims = int_list_arg(dims, "roll", "dims", 2, single_int=True)
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}"
        )
    return Roll.apply(a, shifts=shifts, dims=tuple(normalize_dim(d, a.ndim) for d in dims))


def _check_matrix(a, name):
    if a.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")


def tril(a, diagonal=0):
    _check_matrix(a, "tril")
    return Tri.apply(a, k=diagonal, lower=True, _name="TrilBackward0")


def triu(a, diagonal=0):
    _check_matrix(a, "triu")
    return Tri.apply(a, k=diagonal, lower=False, _name="TriuBackward0")


def pad(a, pad, mode="constant", value=None):
    """Constant padding; ``pad`` lists (left, right) pairs from the last dim backwards."""
    if mode != "constant":
        raise NotImplementedError(f"pad mode {mode!r} is not supported (only 'constant')")
    if len(pad) % 2 or len(pad) // 2 > a.ndim:
        raise RuntimeError(
            f"Padding length must be divisible by 2 and at most twice the input's dims, got {len(pad)}"
        )
    widths = [(0, 0)] * a.ndim
    for i in range(len(pad) // 2):
        widths[a.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    for d, ((lo, hi), n) in enumerate(zip(widths, a.shape)):
        if n + lo + hi < 0:
            raise RuntimeError(
                f"The input size {n}, plus negative padding {lo} and {hi} resulted in a negative "
                f"output size, which is invalid. Check dimension {d} of your input."
            )
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        # negative padding crops
        idx = tuple(slice(-lo if lo < 0 else 0, (n + hi) if hi < 0 else n)
                    for (lo, hi), n in zip(widths, a.shape))
        a = a[idx]
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    return Pad.apply(a, widths=tuple(widths), value=0 if value is None else value,
                     _name="ConstantPadNdBackward0")


def repeat(a, *sizes):
    sizes = _sizes_arg(sizes, "repeat", "repeats")
    if len(sizes) < a.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
        )
    if any(r < 0 for r in sizes):
        shape = (1,) * (len(sizes) - a.ndim) + tuple(a.shape)
        out = [r * n for r, n in zip(sizes, shape)]
        bad = next(x for x in out if x < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad}: {out}")
    return Repeat.apply(a, reps=sizes)


def tile(a, *args, dims=None):
    dims = _dims_varargs(args, dims, "tile")
    if len(dims) < a.ndim:
        dims = (1,) * (a.ndim - len(dims)) + dims
    return repeat(a, dims)


def repeat_interleave(a, repeats=None, dim=None, *, output_size=None):
    """Repeat elements along ``dim``; ``repeat_interleave(counts)`` repeats each index."""
    from .._tensor import Tensor
    from .index import index_select

    if repeats is None:  # torch.repeat_interleave(repeats): indices repeated by count
        return Tensor._make(xp.repeat(xp.arange(a.shape[0]), a._data))
    if dim is None:
        a, dim = a.flatten(), 0
    d = normalize_dim(dim, a.ndim)
    reps = repeats._data if isinstance(repeats, Tensor) else xp.asarray(repeats)
    if (reps < 0).any():
        raise RuntimeError("repeats can not be negative")
    if reps.ndim and reps.size != 1 and reps.shape[0] != a.shape[d]:
        raise RuntimeError(
            f"repeats must have the same size as input along dim, but got repeats.size(0) = "
            f"{reps.shape[0]} and input.size({d}) = {a.shape[d]}"
        )
    idx = xp.repeat(xp.arange(a.shape[d]), reps.reshape(-1) if reps.size != 1 else int(reps.reshape(())))
    if output_size is not None and output_size != idx.shape[0]:
        raise RuntimeError("allocated size does not match required size")
    return index_select(a, d, Tensor._make(idx))


def contiguous(a, memory_format=None):
    check_memory_format(memory_format, a._data.ndim)  # values are stored row-major whatever it is
    if memory_format is not None and needs_format_copy(a._data, memory_format):
        return Contiguous.apply(a, force=True)  # torch's result never aliases the input here
    if a._data.flags.c_contiguous:
        return a
    return Contiguous.apply(a, force=False)


def clone(a, *, memory_format=None):
    check_memory_format(memory_format, a._data.ndim)
    return Contiguous.apply(a, force=True)
