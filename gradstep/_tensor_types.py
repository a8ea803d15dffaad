"""The legacy typed tensor classes: ``torch.FloatTensor``, ``torch.LongTensor``, ...

In torch 2.13 these are still callable constructors (``torch.FloatTensor([1, 2])`` from data,
``torch.FloatTensor(2, 3)`` or ``torch.FloatTensor(torch.Size([2, 3]))`` from sizes,
uninitialised) and ``isinstance(x, torch.FloatTensor)`` is true for every float32 CPU tensor,
though no tensor's ``type()`` is one of them. ``Tensor.type()`` names them,
``Tensor.type(torch.DoubleTensor)`` / ``type('torch.DoubleTensor')`` converts to their dtype,
and ``x.new(...)`` is the constructor of ``x``'s dtype.
"""

from __future__ import annotations

from . import backend as B
from ._tensor import Size, Tensor


class _LegacyTensorType(type):
    """Metaclass: ``isinstance`` compares dtypes, calling constructs a tensor of that dtype."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype

    def __subclasscheck__(cls, sub):
        return sub is cls

    def __call__(cls, *args, device=None, **kwargs):
        if kwargs:
            raise TypeError(
                f"new() received an invalid combination of arguments - got unexpected keyword "
                f"arguments {', '.join(kwargs)}; only device= is accepted")
        if device is not None and str(device) != "cpu":
            Tensor._make(B.xp.zeros(0)).to(device)  # raises torch's CPU-only-build error
        return _construct(cls.dtype, args)

    def __repr__(cls):
        return f"<class 'torch.{cls.__name__}'>"


def _construct(dtype, args):
    from ._creation import tensor

    if len(args) == 0:
        return Tensor._make(B.xp.zeros((0,), dtype.np))
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args) or (
            len(args) == 1 and isinstance(args[0], Size)):
        sizes = tuple(args[0]) if isinstance(args[0], Size) else args
        if any(s < 0 for s in sizes):
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(sizes)}: "
                               f"{list(sizes)}")
        return Tensor._make(B.xp.zeros(sizes, dtype.np))  # torch's is uninitialised memory
    if len(args) > 1:
        raise TypeError(f"new() received an invalid combination of arguments - got "
                        f"{len(args)} positional arguments that are not all sizes")
    data = args[0]
    if isinstance(data, Tensor):
        if data.dtype is not dtype:
            raise TypeError(f"expected {_NAMES[dtype.name]} (got {_NAMES.get(data.dtype.name)})")
        return data.detach()  # torch: a new tensor sharing the data
    return tensor(data, dtype=dtype)


# dtype name -> legacy class name
_NAMES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
    "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor",
    "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor",
}
# names type() gives that torch has no legacy class for
_TYPE_ONLY_NAMES = {"complex64": "ComplexFloatTensor", "complex128": "ComplexDoubleTensor",
                    "uint16": "UInt16Tensor", "uint32": "UInt32Tensor", "uint64": "UInt64Tensor",
                    **{n: f"F{n[1:]}Tensor" for n in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
                                                       "float8_e5m2fnuz")}}


def _make_class(dtype_name, class_name):
    return _LegacyTensorType(class_name, (), {
        "dtype": B.as_dtype(dtype_name), "is_sparse": False, "is_cuda": False,
        "__module__": "torch", "__doc__": f"Legacy constructor of {dtype_name} CPU tensors.",
    })


CLASSES = {name: _make_class(dt, name) for dt, name in _NAMES.items()}
_BY_STRING = {f"torch.{name}": cls for name, cls in CLASSES.items()}
FloatTensor, DoubleTensor, HalfTensor = (CLASSES[n] for n in ("FloatTensor", "DoubleTensor",
                                                              "HalfTensor"))
BFloat16Tensor, LongTensor, IntTensor = (CLASSES[n] for n in ("BFloat16Tensor", "LongTensor",
                                                              "IntTensor"))
ShortTensor, CharTensor, ByteTensor, BoolTensor = (
    CLASSES[n] for n in ("ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"))


class _CudaTensorType(type):
    """``torch.cuda.FloatTensor`` and friends: on a CPU-only build they exist (old code picks
    ``torch.cuda.FloatTensor if cuda else torch.FloatTensor`` at import), match no tensor, and
    refuse to construct, with torch's message."""

    def __instancecheck__(cls, obj):
        return False

    def __subclasscheck__(cls, sub):
        return sub is cls

    def __call__(cls, *args, **kwargs):
        raise TypeError(f"type torch.cuda.{cls.__name__} not available. Torch not compiled with "
                        "CUDA enabled.")

    def __repr__(cls):
        return f"<class 'torch.cuda.{cls.__name__}'>"


CUDA_CLASSES = {name: _CudaTensorType(name, (), {
    "dtype": B.as_dtype(dt), "is_sparse": False, "is_cuda": True, "__module__": "torch.cuda",
    "__doc__": f"Legacy constructor of {dt} CUDA tensors (not available: CPU only)."})
    for dt, name in _NAMES.items()}


def type_(self, dtype=None, non_blocking=False, **kwargs):
    """``Tensor.type``: the legacy type name, or a conversion to a dtype / legacy type."""
    if dtype is None:
        name = self.dtype.name
        return "torch." + _NAMES.get(name, _TYPE_ONLY_NAMES.get(name, "Tensor"))
    if isinstance(dtype, str):
        if dtype.startswith("torch.cuda."):
            return self.to("cuda")  # raises torch's CPU-only-build error
        if dtype not in _BY_STRING:
            raise ValueError(f"invalid type: '{dtype}'")
        dtype = _BY_STRING[dtype]
    if isinstance(dtype, _CudaTensorType):
        return self.to("cuda")  # raises torch's CPU-only-build error
    if isinstance(dtype, _LegacyTensorType):
        dtype = dtype.dtype
    return self.to(B.as_dtype(dtype))


def new(self, *args, device=None):
    """``Tensor.new``: the legacy constructor for this tensor's dtype (data, sizes or nothing)."""
    return CLASSES[_NAMES[self.dtype.name]](*args, device=device)


Tensor.type = type_
Tensor.new = new


def set_default_tensor_type(t):
    """torch's deprecated ``set_default_tensor_type(torch.DoubleTensor)`` (or its name): the
    default dtype of the floating type given, with torch's once-per-process warning."""
    from ._warn_once import warn_once

    if isinstance(t, str):
        if t not in _BY_STRING:
            raise TypeError(f"invalid type: '{t}'")
        t = _BY_STRING[t]
    warn_once("set_default_tensor_type", "torch.set_default_tensor_type() is deprecated as of "
              "PyTorch 2.1, please use torch.set_default_dtype() and torch.set_default_device() "
              "as alternatives.")
    if not getattr(t, "dtype", None) or not t.dtype.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    B.set_default_dtype(t.dtype)
