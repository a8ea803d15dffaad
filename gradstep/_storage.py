"""Storages: ``Tensor.untyped_storage()`` / ``storage()``, ``UntypedStorage``, ``TypedStorage``
and the legacy ``FloatStorage``-style classes, and the Tensor methods that work on a
tensor's storage (``set_``, ``is_set_to``, ``resize_``, ``share_memory_``, ...).

What a storage is here: a tensor holds a NumPy array; its storage is the memory of the
array at the root of that array's NumPy ``base`` chain (the allocation every view of it
shares), seen as bytes. So a view's storage is its base's (``x[2:].untyped_storage()`` is
``x.untyped_storage()``'s memory, with ``storage_offset()`` 2), ``detach()`` and ``.data``
share their tensor's storage, and a storage object's ``data_ptr()``, indexing and writes
read and write the tensor's memory. A tensor made by ``from_numpy`` of a NumPy view has the
viewed array's whole memory as its storage (torch's storage starts at the view).

Where NumPy differs from torch's reference-counted ``StorageImpl``: memory cannot be
reallocated under the arrays that view it. ``resize_`` that needs more room than the storage
has gives the tensor a new, larger storage holding a copy of the old one (torch grows the
storage itself, so its other views follow; here they keep the old memory), and
``share_memory_`` moves the tensor (and the tensor it is a view of) to shared memory while
other views keep the old memory.

Shared memory (``share_memory_``) is a ``MAP_SHARED`` mapping (see ``_shared_memory``):
processes forked afterwards write to the same pages, and a process started with
``spawn``/``forkserver`` that receives the tensor through ``multiprocessing`` maps the same
memory. The optimizers keep shared parameters out of their flat buffer (``optim/_flat.py``),
so Hogwild-style training updates the shared weights.
"""

from __future__ import annotations

import math
import os
import warnings

from . import _shared_memory
from . import backend as B
from ._device import device as _device
from ._tensor import Tensor
from .autograd.function import Node
from .autograd.grad_mode import _GradState
from .backend import xp

_CPU = _device("cpu")
# c10's names for the scalar types, as torch's set_ messages spell them
_C10_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
              "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
              "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
              "bool": "bool"}
_TYPED_WARNING = ("TypedStorage is deprecated. It will be removed in the future and "
                  "UntypedStorage will be the only storage class. This should only matter to "
                  "you if you are using storages directly.  To access UntypedStorage directly, "
                  "use tensor.untyped_storage() instead of tensor.storage()")


# ---------------------------------------------------------------- the memory behind an array
def _addr(arr):
    return arr.__array_interface__["data"][0]


def _owner(arr):
    """The array at the root of ``arr``'s base chain (through as_strided's wrapper too)."""
    while True:
        base = arr.base
        if isinstance(base, xp.ndarray):
            arr = base
        elif base is not None and hasattr(base, "__array_interface__") \
                and isinstance(getattr(base, "base", None), xp.ndarray):
            arr = base.base  # NumPy's as_strided wraps its source in a DummyArray
        else:
            return arr


def _extent(arr):
    """(lowest, highest + 1) byte offsets ``arr`` reaches from its data pointer."""
    if arr.size == 0:
        return 0, 0
    lo = sum((n - 1) * s for n, s in zip(arr.shape, arr.strides) if s < 0)
    hi = sum((n - 1) * s for n, s in zip(arr.shape, arr.strides) if s > 0)
    return lo, hi + arr.itemsize


def _byte_span(arr):
    """The bytes from ``arr``'s lowest to its highest address, as a 1-D uint8 view."""
    lo, hi = _extent(arr)
    if hi == lo:
        return xp.empty(0, xp.uint8)
    first = arr[tuple(slice(n - 1, n) if s < 0 else slice(0, 1)
                      for n, s in zip(arr.shape, arr.strides)) + (Ellipsis,)]  # a view, 0-d too
    one = first.reshape(-1).view(xp.uint8)  # one element: contiguous, at the lowest address
    return xp.lib.stride_tricks.as_strided(one, (hi - lo,), (1,),
                                           writeable=bool(arr.flags.writeable))


def storage_bytes(t):
    """The storage of tensor ``t`` as a 1-D uint8 array (shares memory)."""
    return _byte_span(_owner(t._data))


def storage_elements(t):
    """``t``'s storage as a 1-D array of ``t``'s dtype, or None when its memory does not
    fall on whole elements of that dtype (a reinterpreting view of odd offset)."""
    raw = storage_bytes(t)
    item = t._data.itemsize
    start = _addr(t._data) + _extent(t._data)[0] - _addr(raw) if raw.size else 0
    if raw.size % item or start % item or (raw.size and _addr(raw) % t._data.dtype.alignment):
        return None
    return raw.view(t._data.dtype)


# ---------------------------------------------------------------- storage objects
class _StorageBase:
    """What both storage classes share; ``_elements`` is the array their values are (bytes
    for UntypedStorage, elements of its dtype for TypedStorage)."""

    is_sparse = False
    is_cuda = False
    device = _CPU

    def get_device(self):
        return -1

    def __iter__(self):
        return iter(self.tolist())

    def tolist(self):
        return self._elements.tolist()

    def fill_(self, value):
        self._elements[...] = value
        return self

    def cpu(self):
        return self

    def pin_memory(self, device="cuda"):
        return self

    def is_pinned(self, device="cuda"):
        return False

    def resizable(self):
        return False


class UntypedStorage(_StorageBase):
    """Bytes of memory, shared with the tensors that use it (torch.UntypedStorage)."""

    is_hpu = False

    def __init__(self, *args, device=None):
        from ._device import check_device

        check_device(device)
        if len(args) > 1:
            raise TypeError(f"UntypedStorage(): expected at most 1 argument, got {len(args)}")
        arg = args[0] if args else 0
        if isinstance(arg, int) and not isinstance(arg, bool):
            if arg < 0:
                raise RuntimeError(f"Storage size must be non-negative, got {arg}")
            self._bytes = xp.zeros(arg, xp.uint8)
        else:
            self._bytes = xp.array(list(arg), dtype=xp.uint8)

    @classmethod
    def _wrap(cls, raw):
        s = cls.__new__(cls)
        s._bytes = raw
        return s

    @classmethod
    def from_file(cls, filename, shared=False, nbytes=0):
        """``nbytes`` bytes of ``filename``, memory-mapped: with ``shared`` writes reach the
        file (created or grown as needed), without it they stay private (copy-on-write).
        safetensors' ``load_file`` maps checkpoints this way."""
        return cls._wrap(_map_file(filename, bool(shared), nbytes))

    @property
    def _elements(self):
        return self._bytes

    # sizes and addresses
    def nbytes(self):
        return int(self._bytes.size)

    def size(self):
        return int(self._bytes.size)

    def __len__(self):
        return int(self._bytes.size)

    def element_size(self):
        return 1

    def data_ptr(self):
        return _addr(self._bytes)

    # values
    def __getitem__(self, index):
        if isinstance(index, slice):
            return UntypedStorage._wrap(self._bytes[index])
        return int(self._bytes[_check_index(index, self._bytes.size)])

    def __setitem__(self, index, value):
        if not isinstance(index, slice):
            index = _check_index(index, self._bytes.size)
        self._bytes[index] = value

    def copy_(self, source, non_blocking=None):
        src = _raw_bytes(source)
        if src.size != self._bytes.size:
            raise RuntimeError(f"size mismatch: copy_ from a storage of {src.size} bytes into "
                               f"one of {self._bytes.size}")
        self._bytes[...] = src
        return self

    def clone(self):
        return UntypedStorage._wrap(self._bytes.copy())

    def untyped(self):
        return self

    def resize_(self, size):
        raise RuntimeError("Trying to resize storage that is not resizable")

    def type(self, dtype=None, non_blocking=False):
        return f"{B.display_name}.storage.UntypedStorage" if dtype is None else self

    # sharing
    def is_shared(self):
        return _is_shared_array(self._bytes)

    def share_memory_(self):
        """Copy the bytes into shared memory (this storage object only; see the module doc)."""
        if not self.is_shared():
            self._bytes = _shared_copy(self._bytes)
        return self

    def __repr__(self):
        body = "\n".join(f" {v}" for v in self._bytes.tolist())
        head = f"[{B.display_name}.storage.UntypedStorage(device=cpu) of size {self.size()}]"
        return f"{body}\n{head}" if body else head


class TypedStorage(_StorageBase):
    """A storage read as elements of one dtype (torch.TypedStorage, deprecated in torch)."""

    _fixed_dtype = None  # the legacy classes (FloatStorage, ...) fix it

    def __init__(self, *args, dtype=None, device=None, wrap_storage=None, _internal=False):
        from ._device import check_device

        if not _internal:
            warnings.warn(_TYPED_WARNING, UserWarning, stacklevel=2)
        check_device(device)
        dt = B.as_dtype(dtype) if dtype is not None else (self._fixed_dtype or
                                                          B.get_default_dtype())
        self.dtype = dt
        if wrap_storage is not None:
            if args:
                raise RuntimeError("TypedStorage(): no positional arguments with wrap_storage")
            self._untyped_storage = wrap_storage
            return
        arg = args[0] if args else 0
        if isinstance(arg, int) and not isinstance(arg, bool):
            raw = xp.zeros(arg * dt.itemsize, xp.uint8)
        else:
            raw = xp.ascontiguousarray(xp.array(list(arg), dtype=dt.np)).reshape(-1).view(xp.uint8)
        self._untyped_storage = UntypedStorage._wrap(raw)

    @property
    def _values(self):
        return self._untyped_storage._bytes.view(self.dtype.np)

    _elements = _values

    def untyped(self):
        return self._untyped_storage

    def size(self):
        return self._untyped_storage.nbytes() // self.dtype.itemsize

    def __len__(self):
        return self.size()

    def nbytes(self):
        return self._untyped_storage.nbytes()

    def element_size(self):
        return self.dtype.itemsize

    def data_ptr(self):
        return self._untyped_storage.data_ptr()

    def __getitem__(self, index):
        if isinstance(index, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        return self._values[_check_index(index, self.size())].item()

    def __setitem__(self, index, value):
        if not isinstance(index, slice):
            index = _check_index(index, self.size())
        self._values[index] = value._data if isinstance(value, Tensor) else value

    def copy_(self, source, non_blocking=None):
        self._untyped_storage.copy_(source)
        return self

    def clone(self):
        return TypedStorage(wrap_storage=self._untyped_storage.clone(), dtype=self.dtype,
                            _internal=True)

    def is_shared(self):
        return self._untyped_storage.is_shared()

    def share_memory_(self):
        self._untyped_storage.share_memory_()
        return self

    def resize_(self, size):
        raise RuntimeError("Trying to resize storage that is not resizable")

    def __repr__(self):
        body = "\n".join(f" {v}" for v in self.tolist())
        head = (f"[{B.display_name}.storage.TypedStorage(dtype={self.dtype!r}, device=cpu) of "
                f"size {self.size()}]")
        return f"{body}\n{head}" if body else head


def _legacy_class(class_name, dtype_name):
    """torch's ``FloatStorage``-style class: a TypedStorage of one dtype."""
    dt = getattr(B, {"bool": "bool_"}.get(dtype_name, dtype_name))

    def __init__(self, *args, device=None, wrap_storage=None):
        TypedStorage.__init__(self, *args, dtype=dt, device=device, wrap_storage=wrap_storage,
                              _internal=True)

    return type(class_name, (TypedStorage,), {"_fixed_dtype": dt, "__init__": __init__,
                                              "__module__": __name__})


LEGACY = {name: _legacy_class(name, dt) for name, dt in (
    ("FloatStorage", "float32"), ("DoubleStorage", "float64"), ("HalfStorage", "float16"),
    ("BFloat16Storage", "bfloat16"), ("LongStorage", "int64"), ("IntStorage", "int32"),
    ("ShortStorage", "int16"), ("CharStorage", "int8"), ("ByteStorage", "uint8"),
    ("BoolStorage", "bool"))}
_LEGACY_BY_DTYPE = {cls._fixed_dtype.name: cls for cls in LEGACY.values()}


def _map_file(filename, shared, nbytes):
    """The bytes of a file as a uint8 array backed by ``mmap`` (MAP_SHARED or MAP_PRIVATE)."""
    if not isinstance(filename, str):
        raise TypeError(f"argument 1 must be str, not {type(filename).__name__}")
    if nbytes < 0:
        raise RuntimeError(f"unable to mmap {nbytes} bytes from file <{filename}>: "
                           "Cannot allocate memory (12)")
    if shared:
        with open(filename, "ab") as f:  # creates it; grows it to nbytes like torch's ftruncate
            if os.fstat(f.fileno()).st_size < nbytes:
                f.truncate(nbytes)
    elif not os.path.exists(filename):
        raise RuntimeError(f"unable to open file <{filename}> in read-only mode: "
                           "No such file or directory (2)")
    elif os.path.getsize(filename) < nbytes:
        raise RuntimeError(f"file <{filename}> size <{os.path.getsize(filename)}> is smaller "
                           f"than the required mapping size <{nbytes}>")
    if nbytes == 0:
        return xp.zeros(0, xp.uint8)
    mapped = xp.memmap(filename, dtype=xp.uint8, mode="r+" if shared else "c", shape=(nbytes,))
    return mapped.view(xp.ndarray)  # a plain array whose base keeps the mapping open


def _check_index(index, size):
    i = int(index)
    if not -size <= i < size:
        raise IndexError(f"index {i} out of range for storage of size {size}")
    return i + size if i < 0 else i


def _raw_bytes(source):
    if isinstance(source, TypedStorage):
        return source._untyped_storage._bytes
    if isinstance(source, UntypedStorage):
        return source._bytes
    if isinstance(source, Tensor):
        return xp.ascontiguousarray(source._data).reshape(-1).view(xp.uint8)
    raise TypeError(f"copy_(): expected a storage or a tensor, got {type(source).__name__}")


# ---------------------------------------------------------------- shared memory
def _is_shared_array(arr):
    return _shared_memory.is_shared_array(_owner(arr))


_shared_copy = _shared_memory.shared_copy


def _rebase(arr, old_raw, new_raw):
    """``arr`` (an array inside ``old_raw``'s memory) at the same place in ``new_raw``."""
    if arr.size == 0:
        return xp.empty(arr.shape, arr.dtype)
    start = _addr(arr) - _addr(old_raw)
    return xp.ndarray(arr.shape, arr.dtype, buffer=new_raw, offset=start, strides=arr.strides)


def share_memory_(self):
    """Move this tensor's storage to shared memory (see the module doc for what that means);
    the tensor it is a view of and its live ``.data`` tensors move with it."""
    if _is_shared_array(self._data):
        return self
    old = storage_bytes(self)
    new = _shared_copy(old)
    for t in _sharing_tensors(self):
        if xp.may_share_memory(t._data, old):
            t._data = _rebase(t._data, old, new)
    return self


def _sharing_tensors(self):
    """``self``, its view base, and the live ``.data`` tensors of both."""
    found = [self] + ([self._base] if self._base is not None else [])
    for t in list(found):
        found += [r() for r in t.__dict__.get("_data_aliases", ()) if r() is not None]
    return found


def is_shared(self):
    return _is_shared_array(self._data)


# ---------------------------------------------------------------- Tensor methods
def untyped_storage(self):
    return UntypedStorage._wrap(storage_bytes(self))


def storage(self):
    from ._warn_once import warn_once

    warn_once("typed-storage", _TYPED_WARNING)
    return TypedStorage(wrap_storage=untyped_storage(self), dtype=self.dtype, _internal=True)


def storage_type(self):
    return _LEGACY_BY_DTYPE[self.dtype.name]


def is_set_to(self, tensor):
    """Whether both tensors use the same storage, offset, sizes and strides."""
    a, b = self._data, tensor._data
    if a.shape != b.shape or a.strides != b.strides or _addr(a) != _addr(b):
        return False
    if _owner(a) is _owner(b):
        return True
    sa, sb = storage_bytes(self), storage_bytes(tensor)
    return sa.size > 0 and sa.size == sb.size and _addr(sa) == _addr(sb)


def _c10(dt):
    return _C10_NAMES.get(dt.name, dt.name)


def _check_set_grad(self):
    if _GradState.enabled and self._rg and self.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")


def set_(self, source=None, storage_offset=0, size=None, stride=None):
    """Make ``self`` use ``source``'s memory: a tensor's (sizes, strides and offset too), a
    storage's (from element ``storage_offset``, ``size``/``stride`` or the whole storage,
    1-D), or a new empty storage (``source`` None)."""
    _check_set_grad(self)
    if source is None:
        data = xp.empty(0, self._data.dtype)
    elif isinstance(source, Tensor):
        if source.dtype != self.dtype:
            raise RuntimeError(f"Could not set tensor of type {_c10(source.dtype)} to a tensor "
                               f"of type {_c10(self.dtype)}")
        data = source._data
    elif isinstance(source, (TypedStorage, UntypedStorage)):
        data = _storage_view(self, source, storage_offset, size, stride)
    else:
        raise TypeError(f"set_(): argument 'source' must be Tensor or Storage, not "
                        f"{type(source).__name__}")
    self._data = data
    self._base = None
    self.__dict__.pop("_view_vc", None)
    self._vc[0] += 1
    return self


def _storage_view(self, source, offset, size, stride):
    from .ops._util import dtype_title

    if isinstance(source, TypedStorage) and source.dtype != self.dtype:
        raise RuntimeError(f"Expected a Storage of type {_c10(self.dtype)} or an UntypedStorage, "
                           f"but got type {dtype_title(source.dtype)} for argument 1 'storage'")
    raw = source.untyped()._bytes
    item = self._data.itemsize
    offset = int(offset)
    size = (raw.size // item - offset,) if size is None else tuple(int(n) for n in size)
    stride = _contiguous_strides(size) if stride is None or not len(stride) else \
        tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape ({len(size)} and "
                           f"{len(stride)})")
    if offset < 0 or any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise RuntimeError(f"set_: negative storage offset, size or stride (offset {offset}, "
                           f"size {list(size)}, stride {list(stride)})")
    need = 0 if 0 in size else (offset + 1 + sum((n - 1) * s for n, s in zip(size, stride)))
    if need * item > raw.size:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, "
            f"and itemsize {item} requiring a storage size of {need * item} are out of bounds "
            f"for storage of size {raw.size} (gradstep cannot grow a storage in place)")
    if need == 0:
        return xp.empty(size, self._data.dtype)
    return xp.lib.stride_tricks.as_strided(raw[offset * item:].view(self._data.dtype), size,
                                           tuple(s * item for s in stride),
                                           writeable=bool(raw.flags.writeable))


def _contiguous_strides(shape, memory_format=None):
    from ._memory_format import channels_last, channels_last_3d

    order = list(range(len(shape)))
    if memory_format in (channels_last, channels_last_3d):
        order = [0, *range(2, len(shape)), 1]  # channels innermost
    strides = [0] * len(shape)
    acc = 1
    for axis in reversed(order):
        strides[axis] = acc
        acc *= max(shape[axis], 1)
    return tuple(strides)


def _parse_sizes(sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    out = []
    for i, n in enumerate(sizes):
        if isinstance(n, float) or isinstance(n, bool):
            raise TypeError(f"resize_(): argument 'size' (position {i + 1}) must be tuple of "
                            f"ints, not {type(n).__name__}")
        out.append(int(n))
    if any(n < 0 for n in out):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(out)}: {out}")
    return tuple(out)


def resize_(self, *sizes, memory_format=None):
    """torch's ``resize_``: the same storage, new sizes with contiguous strides from the same
    offset; when the storage is too small, a larger copy of it (new elements are zero)."""
    from ._memory_format import check_memory_format

    if self._rg:
        raise RuntimeError("cannot resize variables that require grad")
    shape = _parse_sizes(sizes)
    if memory_format is not None:
        check_memory_format(memory_format, len(shape), allow_preserve=False)
    if shape == self._data.shape and memory_format is None:
        return self
    dt, item = self._data.dtype, self._data.itemsize
    strides = _contiguous_strides(shape, memory_format)
    numel = math.prod(shape)
    need = 0 if numel == 0 else 1 + sum((n - 1) * s for n, s in zip(shape, strides))
    storage = storage_elements(self)
    offset = 0 if storage is None or not storage.size else \
        (_addr(self._data) - _addr(storage)) // item
    if storage is None or offset + need > storage.size:
        grown = xp.zeros(offset + need, dt)
        if storage is not None:
            grown[:storage.size] = storage
        storage = grown
        self._base = None
        self.__dict__.pop("_view_vc", None)
    self._data = xp.lib.stride_tricks.as_strided(storage[offset:], shape,
                                                 tuple(s * item for s in strides))
    self._vc[0] += 1
    return self


def resize_as_(self, the_template, memory_format=None):
    return resize_(self, the_template.shape, memory_format=memory_format)


class _ResizeNode(Node):
    """Deprecated out-of-place ``resize``: a reshape keeping the element count, recorded as
    torch's ``ResizeBackward`` (an autograd Function there)."""

    _name = "ResizeBackward"

    def forward(self, a):
        self.in_shape = a.shape
        return a.reshape(self.shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


def _resize_out_of_place(self, shape, what):
    warnings.warn(f"non-inplace {what} is deprecated", UserWarning, stacklevel=3)
    numel = math.prod(shape)
    if numel != self._data.size:
        raise RuntimeError(
            f"requested resize to {'x'.join(map(str, shape))} ({numel} elements in total), but "
            f"the given tensor has a size of {'x'.join(map(str, self._data.shape))} "
            f"({self._data.size} elements). autograd's resize can only change the shape of a "
            "given tensor, while preserving the number of elements. ")
    return _ResizeNode.apply(self, shape=shape)


def resize(self, *sizes):
    return _resize_out_of_place(self, _parse_sizes(sizes), "resize")


def resize_as(self, tensor):
    return _resize_out_of_place(self, tuple(tensor.shape), "resize_as")


METHODS = {"untyped_storage": untyped_storage, "storage": storage, "storage_type": storage_type,
           "is_set_to": is_set_to, "set_": set_, "resize_": resize_, "resize_as_": resize_as_,
           "resize": resize, "resize_as": resize_as, "share_memory_": share_memory_,
           "is_shared": is_shared}
CLASSES = {"UntypedStorage": UntypedStorage, "TypedStorage": TypedStorage, **LEGACY}


def bind():
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
    _shared_memory.register_reductions(_owner)
