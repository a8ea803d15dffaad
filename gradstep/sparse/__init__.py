"""``torch.sparse``: products, sums and softmax of sparse COO tensors, and the legacy
constructors ``torch.sparse.FloatTensor(indices, values, size)`` that pygcn-era code uses.

The tensor type itself is in ``gradstep/_sparse_coo.py``; what it computes, in
``gradstep/_sparse_ops.py``.
"""

from __future__ import annotations

import functools

from .. import _sparse_ops
from .. import backend as B
from .._sparse_coo import SparseCooTensor as _SparseCoo
from .._sparse_coo import empty_sparse, sparse_coo_tensor
from .._tensor import Size
from .._warn_once import warn_once

__all__ = ["addmm", "check_sparse_tensor_invariants", "mm", "sum", "softmax", "log_softmax"]


def mm(mat1, mat2):
    """``mat1 @ mat2`` with a sparse ``mat1`` (the gradient of a sparse leaf is sparse)."""
    if isinstance(mat1, _SparseCoo) and not isinstance(mat2, _SparseCoo):
        return _sparse_ops.mm(mat1, mat2, "SparseAddmmBackward0", dense_leaf_grad=False)
    if isinstance(mat2, _SparseCoo):
        return _sparse_ops.mm(mat1, mat2, dense_leaf_grad=False)
    return mat1.mm(mat2)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0):
    """``beta * mat + alpha * (mat1 @ mat2)`` for a sparse ``mat1`` and dense ``mat``."""
    return _sparse_ops.addmm(mat, mat1, mat2, beta=beta, alpha=alpha, dense_leaf_grad=False)


def sum(input, dim=None, dtype=None):  # noqa: A001, A002 - torch's names
    """The sum over all dims (a dense 0-d tensor) or over ``dim`` (sparse while a sparse
    dim is kept)."""
    return _sparse_ops.sparse_sum(input, dim, dtype=dtype)


def softmax(input, dim, *, dtype=None):  # noqa: A002
    """Softmax over ``dim`` among the stored entries (unstored ones act as -inf)."""
    return _sparse_ops.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):  # noqa: A002
    return _sparse_ops.softmax(input, dim, dtype=dtype, log=True)


class check_sparse_tensor_invariants:  # noqa: N801 - torch's name
    """torch's switch for index checks. gradstep always checks indices at construction
    (they are cheap and unchecked ones read out of bounds), so this only records the flag."""

    _enabled = True

    @staticmethod
    def is_enabled():
        return True

    @staticmethod
    def enable():
        check_sparse_tensor_invariants._enabled = True

    @staticmethod
    def disable():
        check_sparse_tensor_invariants._enabled = False

    def __init__(self, enable=True):
        self.state = enable

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapper


# ---------------------------------------------------------------- legacy constructors
_DEPRECATED = {
    3: ("torch.sparse.SparseTensor(indices, values, shape, *, device=) is deprecated.  Please "
        "use torch.sparse_coo_tensor(indices, values, shape, dtype=, device=)."),
    2: ("torch.sparse.SparseTensor(indices, values, *, device=) is deprecated.  Please use "
        "torch.sparse_coo_tensor(indices, values, dtype=, device=)."),
    0: ("torch.sparse.SparseTensor(shape, *, device=) is deprecated.  Please use "
        "torch.sparse_coo_tensor(shape, dtype=, device=)."),
}


class _SparseTensorType(type):
    """``torch.sparse.FloatTensor`` & co: a sparse tensor of the class's dtype is an
    instance; calling builds one (values keep their own dtype, as torch's do)."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, _SparseCoo) and obj.dtype is cls.dtype

    def __subclasscheck__(cls, sub):
        return sub is cls

    def __call__(cls, *args, device=None):
        from .._device import check_device

        check_device(device)
        if args and not all(isinstance(a, int) for a in args) and not isinstance(args[0], Size):
            if len(args) not in (2, 3):
                raise TypeError(f"new() received an invalid combination of arguments - got "
                                f"{len(args)} positional arguments")
            warn_once(f"sparse-legacy-{len(args)}", _DEPRECATED[len(args)])
            return sparse_coo_tensor(*args)
        if args:
            warn_once("sparse-legacy-0", _DEPRECATED[0])
        sizes = tuple(args[0]) if args and isinstance(args[0], Size) else args
        return empty_sparse(sizes if args else (0,), cls.dtype)

    def __repr__(cls):
        return f"<class '{B.display_name}.sparse.{cls.__name__}'>"


_NAMES = {"FloatTensor": "float32", "DoubleTensor": "float64", "HalfTensor": "float16",
          "BFloat16Tensor": "bfloat16", "LongTensor": "int64", "IntTensor": "int32",
          "ShortTensor": "int16", "CharTensor": "int8", "ByteTensor": "uint8"}
for _name, _dt in _NAMES.items():
    globals()[_name] = _SparseTensorType(_name, (), {
        "dtype": B.as_dtype(_dt), "is_sparse": True, "__module__": __name__,
        "__doc__": f"Legacy constructor of sparse {_dt} tensors."})
del _name, _dt
