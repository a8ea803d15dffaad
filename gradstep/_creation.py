"""Tensor factories: ``tensor``, ``zeros``, ``arange``, ``randn``, ... (torch's signatures)."""

from __future__ import annotations

import math
import numbers
import operator
import sys
import warnings
from collections.abc import Sequence

from . import _creation_args as CA
from . import backend as B
from ._argparse import int_arg, int_list, int_list_arg, invalid_combination, is_int
from ._device import check_device as _check_device
from ._memory_format import check_memory_format
from ._range_values import arange_values, fused_multiply_add
from ._tensor import Tensor, _c_type_name
from ._warn_once import user_stacklevel, warn_once
from .backend import xp


def _finish(arr, requires_grad=False, device=None):
    if device is not None:
        _check_device(device)
    t = Tensor._make(arr)
    if requires_grad is not False and requires_grad is not None:  # torch's factories take None
        if requires_grad is not True:
            raise _not_bool(requires_grad)
        t.requires_grad_(True)
    return t


def _not_bool(requires_grad):
    """torch's TypeError for a factory's ``requires_grad`` that is not a bool (1, "x", ...),
    naming the public function that was called (the first caller without a leading ``_``)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name.startswith("_"):
        frame = frame.f_back
    name = frame.f_code.co_name if frame is not None else "tensor"
    return TypeError(f"{name}(): argument 'requires_grad' must be bool, not "
                     f"{_c_type_name(requires_grad)}")


def _is_sequence(data):
    """Whether torch reads ``data`` as a sequence of elements: lists, tuples, ``range``,
    ``bytearray``, ``deque`` and other sequences, but not ``str``/``bytes`` (an error)."""
    return isinstance(data, (list, tuple, range, bytearray)) or (
        isinstance(data, Sequence) and not isinstance(data, (str, bytes)))


def _infer_array(data):
    """Convert Python data to an array with torch's default dtypes."""
    if isinstance(data, Tensor):
        return data._data.copy()
    if isinstance(data, (xp.ndarray, xp.generic)):
        arr = xp.array(data)
        B.from_numpy_dtype(arr.dtype)  # raises for unsupported dtypes
        return arr
    return _to_array(data, _infer_dtype(data))


def _infer_dtype(data):
    """torch's inference: each scalar's own dtype, promoted across a (nested) sequence."""
    if isinstance(data, (xp.ndarray, xp.generic)):  # before float: np.float64 is a float
        return B.from_numpy_dtype(data.dtype)
    if isinstance(data, bool):
        return B.bool_
    if isinstance(data, int):
        return B.int64
    if isinstance(data, float):
        return B.get_default_dtype()
    if isinstance(data, complex):
        return B.to_complex(B.get_default_dtype())
    if isinstance(data, Tensor):
        return data.dtype
    if _is_sequence(data):
        dt = None
        for x in data:
            d = _infer_dtype(x)
            dt = d if dt is None else B.promote_types(dt, d)
        return dt or B.get_default_dtype()
    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")


def _to_array(data, dt):
    """``data`` (scalars, nested sequences, tensors inside) as an array of dtype ``dt``."""
    if _is_sequence(data):
        data = _unwrap(data)
    try:
        return xp.array(data, dtype=dt.np)
    except OverflowError:
        raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow") from None
    except ValueError as e:
        if "sequence" in str(e) or "inhomogeneous" in str(e):
            raise ValueError(
                f"expected a rectangular (non-ragged) nested sequence to build a tensor ({e})"
            ) from None
        raise


def _unwrap(data):
    """Nested sequences as lists, each tensor inside replaced by its one value (torch reads a
    tensor inside a sequence as a scalar, whatever its shape, and refuses one of more values)."""
    out = []
    for x in data:
        if isinstance(x, Tensor):
            if x._data.size != 1:
                raise ValueError("only one element tensors can be converted to Python scalars")
            out.append(x._data.reshape(()).item())
        elif _is_sequence(x):
            out.append(_unwrap(x))
        else:
            if isinstance(x, xp.ndarray) and x.ndim:
                warn_once("list-of-ndarrays", _LIST_OF_ARRAYS)
            out.append(x)
    return out


# torch's TORCH_WARN_ONCE when a sequence holds arrays of one or more dimensions (0-d: silent)
_LIST_OF_ARRAYS = ("Creating a tensor from a list of numpy.ndarrays is extremely slow. Please "
                   "consider converting the list to a single numpy.ndarray with numpy.array() "
                   "before converting to a tensor.")


_COPY_CONSTRUCT = ("To copy construct from a tensor, it is recommended to use sourceTensor.detach()"
                   ".clone() or sourceTensor.detach().clone().requires_grad_(True), rather than "
                   "torch.tensor(sourceTensor).")


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    if requires_grad is None:  # the one factory of torch's that refuses None
        raise TypeError("tensor(): argument 'requires_grad' must be bool, not NoneType")
    if isinstance(data, Tensor):  # torch's warning, at the caller's line (TORCH_WARN)
        warnings.warn(_COPY_CONSTRUCT, UserWarning, stacklevel=user_stacklevel())
    if dtype is not None:
        src = data._data if isinstance(data, Tensor) else data
        arr = _to_array(src, B.as_dtype(dtype))
    else:
        arr = _infer_array(data)
    return _finish(arr, requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, xp.ndarray) and (dtype is None or B.as_dtype(dtype).np == data.dtype):
        B.from_numpy_dtype(data.dtype)
        _warn_if_read_only(data)
        return Tensor._make(data)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(arr):
    """A tensor sharing memory with the NumPy array ``arr``."""
    if not isinstance(arr, xp.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    B.from_numpy_dtype(arr.dtype)
    _warn_if_read_only(arr)
    return Tensor._make(arr)


def _warn_if_read_only(arr):
    """torch's once-per-process warning for sharing a non-writable NumPy array. torch then
    writes into it anyway (undefined behaviour); gradstep's in-place ops refuse instead."""
    if not arr.flags.writeable:
        warn_once("read-only numpy", "The given NumPy array is not writable, and gradstep does "
                  "not support writing to non-writable tensors: in-place operations on this "
                  "tensor will raise. You may want to copy the array to protect its data or make "
                  "it writable before converting it to a tensor. This type of warning will be "
                  "suppressed for the rest of this program.")


def _dim_size(s, pos):
    """One dimension as an int: Python and NumPy ints and integer 0-d tensors, never a float (as torch)."""
    try:
        return operator.index(s)
    except TypeError:
        raise TypeError(f"argument 'size' must be tuple of ints, but found element of type "
                        f"{type(s).__name__} at pos {pos}") from None


def _size(size, kw=None, fname="empty"):
    """Sizes given as ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(size=(2, 3))``, checked
    as torch's argument parser does (messages name ``fname``)."""
    if kw is not None:
        if size:
            raise TypeError("pass the size either positionally or as size=, not both")
        size = int_list_arg(kw, fname, "size", None)
    elif not size:
        raise TypeError(f'{fname}() missing 1 required positional arguments: "size"')
    else:
        size = int_list(size, fname, "size")
    for s in size:
        if s < 0:
            if fname == "zeros":  # torch's zeros checks the sizes itself first
                raise RuntimeError("zeros: Dimension size must be non-negative.")
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return size


def _size_arg(size, fname, pos):
    """A ``size`` that is not the only positional parameter (``full``, ``randint``)."""
    size = int_list_arg(size, fname, "size", pos)
    for s in size:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return size


def _dt(dtype, default=None, fname=None):
    """``dtype`` (a torch dtype; ``fname``: the factory named in torch's TypeError for any
    other value) as a NumPy dtype, ``default`` or the default dtype when None."""
    if dtype is None:
        return (default or B.get_default_dtype()).np
    if fname is not None:
        CA.check_dtype(dtype, fname)
    return B.as_dtype(dtype).np


def zeros(*args, size=None, dtype=None, device=None, requires_grad=False, pin_memory=False):
    return _finish(xp.zeros(_size(args, size, "zeros"), _dt(dtype, None, "zeros")), requires_grad,
                   device)


def ones(*args, size=None, dtype=None, device=None, requires_grad=False, pin_memory=False):
    return _finish(xp.ones(_size(args, size, "ones"), _dt(dtype, None, "ones")), requires_grad,
                   device)


def empty(*args, size=None, dtype=None, device=None, requires_grad=False, pin_memory=False,
          memory_format=None):
    shape = _size(args, size, "empty")
    check_memory_format(memory_format, len(shape), allow_preserve=False)
    return _finish(xp.empty(shape, _dt(dtype, None, "empty")), requires_grad, device)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):
    """An uninitialized tensor with ``size`` and ``stride`` (in elements) on fresh storage just
    large enough for them (torch's allocation)."""
    shape, strides = tuple(int(n) for n in size), tuple(int(s) for s in stride)
    if len(shape) != len(strides):
        raise RuntimeError(f"dimensionality of sizes ({len(shape)}) must match dimensionality of "
                           f"strides ({len(strides)})")
    if any(n < 0 for n in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: "
                           f"{list(shape)}")
    if any(s < 0 for s in strides):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(shape)} and "
                           f"strides={list(strides)}")
    np_dtype = _dt(dtype)
    storage = 0 if 0 in shape else 1 + sum((n - 1) * s for n, s in zip(shape, strides))
    itemsize = xp.dtype(np_dtype).itemsize
    data = xp.lib.stride_tricks.as_strided(xp.empty(storage, np_dtype), shape,
                                           tuple(s * itemsize for s in strides))
    return _finish(data, requires_grad, device)


def full(size, fill_value, dtype=None, device=None, requires_grad=False, pin_memory=False):
    tf = type(fill_value)
    if tf is not float and tf is not int and tf is not bool:
        CA.check_fill(fill_value, "full")
    if dtype is None:
        dtype = B.bool_ if isinstance(fill_value, (bool, xp.bool_)) else (
            B.int64 if isinstance(fill_value, numbers.Integral) else B._scalar_dtype(fill_value))
    return _finish(xp.full(_size_arg(size, "full", 1), fill_value, _dt(dtype, None, "full")),
                   requires_grad, device)


def _like(t, dtype, fname=None):
    return _dt(dtype, t.dtype, fname)


def zeros_like(t, dtype=None, device=None, requires_grad=False, memory_format=None):
    CA.check_like_input(t, "zeros_like")
    check_memory_format(memory_format, t.ndim)
    return _finish(xp.zeros(t.shape, _like(t, dtype, "zeros_like")), requires_grad, device)


def ones_like(t, dtype=None, device=None, requires_grad=False, memory_format=None):
    CA.check_like_input(t, "ones_like")
    check_memory_format(memory_format, t.ndim)
    return _finish(xp.ones(t.shape, _like(t, dtype, "ones_like")), requires_grad, device)


def empty_like(t, dtype=None, device=None, requires_grad=False, memory_format=None):
    CA.check_like_input(t, "empty_like")
    check_memory_format(memory_format, t.ndim)
    return _finish(xp.empty(t.shape, _like(t, dtype, "empty_like")), requires_grad, device)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False, memory_format=None):
    CA.check_like_input(t, "full_like")
    if type(fill_value) not in (float, int, bool):
        CA.check_fill(fill_value, "full_like")
    check_memory_format(memory_format, t.ndim)
    return _finish(xp.full(t.shape, fill_value, _like(t, dtype, "full_like")), requires_grad,
                   device)


def _sampled_like(t, dtype, memory_format, sample, requires_grad, device):
    """A ``*_like`` sampler's result: ``sample`` fills an array laid out as torch's
    ``empty_like(t)`` (so a transposed ``t`` gets torch's values in torch's places), stored
    row-major as gradstep stores tensors."""
    from ._torch_random import empty_as_torch

    check_memory_format(memory_format, t.ndim)
    arr = sample(empty_as_torch(t._data, memory_format, _like(t, dtype)))
    return _finish(xp.ascontiguousarray(arr), requires_grad, device)


def rand_like(t, dtype=None, device=None, requires_grad=False, generator=None,
              memory_format=None):
    from ._torch_random import uniform_like

    _check_sampling_dtype(dtype or t.dtype, "check_uniform_bounds")
    return _sampled_like(t, dtype, memory_format, lambda a: uniform_like(a, generator=generator),
                         requires_grad, device)


def randn_like(t, dtype=None, device=None, requires_grad=False, generator=None,
               memory_format=None):
    from ._torch_random import normal_like

    _check_sampling_dtype(dtype or t.dtype, "normal_kernel_cpu")
    return _sampled_like(t, dtype, memory_format, lambda a: normal_like(a, generator=generator),
                         requires_grad, device)


def randint_like(t, low=0, high=None, *, generator=None, dtype=None, device=None,
                 requires_grad=False, memory_format=None):
    from ._torch_random import random_like

    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return _sampled_like(t, dtype, memory_format,
                         lambda a: random_like(a, low, high, generator), requires_grad, device)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False,
           pin_memory=False):
    if type(start) not in (int, float) or type(end) not in (int, float, type(None)) or \
            type(step) not in (int, float):
        CA.check_arange(start, end, step)
    if dtype is not None:
        CA.check_dtype(dtype, "arange", CA.ARANGE_SIGNATURES, (start,) if end is None else
                       (start, end, step))
    if end is None:
        start, end = 0, start
    s, e, st = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if not (math.isfinite(s) and math.isfinite(e)):
        raise RuntimeError(f"unsupported range: {_c_number(s)} -> {_c_number(e)}")
    if not (st > 0 or st < 0):  # zero, or NaN
        raise RuntimeError("step must be nonzero")
    if (st > 0 and e < s) or (st < 0 and e > s):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (s, e, st))
        dtype = B.get_default_dtype() if is_float else B.int64
    dt = B.as_dtype(dtype)
    size = (e - s) / st
    if not size <= 2**63 - 1:  # an infinite step gives 0 or NaN points: NaN lands here too
        raise RuntimeError("invalid size, possible overflow?")
    n = math.ceil(size)
    if dt in (B.float32, B.float64):
        arr = arange_values(float(s), float(st), n, dt is B.float32)
    elif dt.is_floating_point or any(isinstance(v, float) for v in (s, e, st)):
        arr = xp.arange(n, dtype=xp.float64) * st + s  # start + i * step, in double
    else:
        arr = xp.arange(s, e, st, dtype=xp.int64)
    return _finish(arr.astype(dt.np), requires_grad, device)


def _c_number(v):
    """A number as torch's C++ messages print it (``0``, ``1.5``, ``inf``, ``1e+20``)."""
    return f"{v:g}" if isinstance(v, float) else str(v)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """``steps`` points from ``start`` to ``end``; the second half counts back from ``end``.

    Like torch, the step is rounded in the output precision (float32 by default) and
    the points are then computed in double.
    """
    if type(steps) is not int or type(start) not in (int, float) or type(end) not in (int, float):
        CA.check_linspace(start, end, steps)
    if dtype is not None:
        CA.check_dtype(dtype, "linspace", CA.LINSPACE_SIGNATURES, (start, end, steps))
    steps = int(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = B.as_dtype(dtype) if dtype is not None else B.get_default_dtype()
    start, end = float(start), float(end)
    if steps <= 1:
        arr = xp.full((steps,), start, dtype=xp.float64)
    else:
        step = (end - start) / (steps - 1)
        if dt is B.float32:
            f32 = xp.float32
            start, end = float(f32(start)), float(f32(end))
            step = float((f32(end) - f32(start)) / f32(steps - 1))
        i = xp.arange(steps, dtype=xp.float64)
        with xp.errstate(all="ignore"):  # infinite ends give inf/nan points silently, as torch
            if dt is B.float64:  # torch's float64 kernel fuses each multiply-add (one rounding)
                half = steps // 2
                arr = xp.concatenate([fused_multiply_add(step, i[:half], start),
                                      fused_multiply_add(-step, steps - 1 - i[half:], end)])
            else:
                arr = xp.where(i < steps // 2, start + step * i, end - step * (steps - 1 - i))
    return _finish(arr.astype(dt.np), requires_grad, device)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False,
             pin_memory=False):
    arr = base ** xp.linspace(float(start), float(end), int(steps))
    return _finish(arr.astype(_dt(dtype)), requires_grad, device)


def eye(n, m=None, dtype=None, device=None, requires_grad=False, pin_memory=False):
    if type(n) is not int or (m is not None and type(m) is not int):
        CA.check_eye(n, m)
    m = n if m is None else m
    for name, v in (("n", n), ("m", m)):
        if v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    return _finish(xp.eye(n, m, dtype=_dt(dtype, None, "eye")), requires_grad, device)


# ---------------------------------------------------------------- random
def _check_sampling_dtype(dtype, kernel):
    """torch samples rand/randn only into floating (or complex) dtypes: e.g. ``randn_like`` of
    a LongTensor raises NotImplementedError naming the kernel."""
    if dtype is None:
        return
    dt = B.as_dtype(dtype)
    if not dt.is_floating_point and not getattr(dt, "is_complex", False):
        from .ops._util import dtype_title

        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype_title(dt)}\'')


def rand(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False,
         pin_memory=False):
    from ._torch_random import uniform_like

    if dtype is not None:
        CA.check_dtype(dtype, "rand", CA.SAMPLE_SIGNATURES, args)
    _check_sampling_dtype(dtype, "check_uniform_bounds")
    arr = uniform_like(xp.empty(_size(args, size, "rand"), _dt(dtype, None, "rand")),
                       generator=generator)
    return _finish(arr, requires_grad, device)


def randn(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False,
          pin_memory=False):
    from ._torch_random import normal_like

    if dtype is not None:
        CA.check_dtype(dtype, "randn", CA.SAMPLE_SIGNATURES, args)
    _check_sampling_dtype(dtype, "normal_kernel_cpu")
    arr = normal_like(xp.empty(_size(args, size, "randn"), _dt(dtype, None, "randn")),
                      generator=generator)
    return _finish(arr, requires_grad, device)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False, pin_memory=False):
    if size is None or high is None:  # randint(high, size) or randint(high, size=size)
        low, high, size, pos = 0, low, high if size is None else size, 2
        if type(high) is not int:
            high = int_arg(high, "randint", "high", 1)
    else:
        pos = 3
        if type(low) is not int or type(high) is not int:
            low, high = _randint_bounds(low, high, size)
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    from ._torch_random import randint_array

    shape = _size_arg(size, "randint", pos)
    if dtype is not None:
        CA.check_dtype(dtype, "randint", _RANDINT_SIGNATURES, (low, high, size))
    arr = randint_array(low, high, shape, _dt(dtype, B.int64), generator)
    return _finish(arr, requires_grad, device)


_RANDINT_SIGNATURES = tuple(
    f"{args}, *, {gen}Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, "
    "torch.device device = None, bool pin_memory = False, bool requires_grad = False"
    for args in ("int high, tuple of ints size", "int low, int high, tuple of ints size")
    for gen in ("torch.Generator generator, ", ""))


def _randint_bounds(low, high, size):
    if not (is_int(low) and is_int(high)):
        raise invalid_combination("randint", (low, high, size), _RANDINT_SIGNATURES)
    return int_arg(low, "", "", 1), int_arg(high, "", "", 2)


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False, pin_memory=False):
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    from ._torch_random import randperm_array

    return _finish(randperm_array(n, _dt(dtype, B.int64), generator), requires_grad, device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """torch's three forms: numbers (``normal_(mean, std)`` of ``size``); a Tensor ``mean``
    and a number ``std`` (``normal_(0, std)``, then ``+ mean``); a Tensor ``std`` (standard
    normals, then ``* std + mean``), each in the dtype of the tensor argument."""
    from ._torch_random import normal_like

    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        if (isinstance(std, Tensor) and (s < 0).any()) or (not isinstance(std, Tensor) and s < 0):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        shape = xp.broadcast_shapes(xp.shape(m), xp.shape(s))
        ref = (mean if isinstance(mean, Tensor) else std)._data.dtype
        if isinstance(std, Tensor):
            arr = normal_like(xp.empty(shape, ref), 0.0, 1.0, generator) * s.astype(ref)
        else:
            arr = normal_like(xp.empty(shape, ref), 0.0, s, generator)
        return _finish((arr + xp.asarray(m).astype(ref)).astype(ref))
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    shape = _size((size,)) if not isinstance(size, int) else (size,)
    arr = normal_like(xp.empty(shape, _dt(dtype)), mean, std, generator)
    return _finish(arr, requires_grad, device)


def _refuse_as_cumulative_kernel(rows):
    """torch's error for sampling several times with replacement: its kernel checks each row in
    order, entry by entry (a NaN fails ``>= 0`` first), then the row's sum."""
    for row in rows:
        for v in row:
            if not v >= 0:
                raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
            if not xp.isfinite(v):
                raise RuntimeError("invalid multinomial distribution (encountering probability entry = "
                                   "infinity or NaN)")
        if row.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


def multinomial(input, num_samples, replacement=False, *, generator=None):  # noqa: A002
    """Sample category indices from each row of (unnormalised) probabilities ``input``.

    torch's two CPU algorithms, so the same seed gives torch's samples: one sample, or
    sampling without replacement, takes the ``num_samples`` largest ``p / q`` with
    ``q = exponential_(1)`` drawn like ``input`` (zero-probability categories come last
    instead of raising); several samples with replacement search each row's normalised
    cumulative sums (accumulated in the input's dtype) with one float64 uniform a sample.
    """
    from ._torch_random import exponential_like, uniform_like

    data = input._data
    if data.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    n_cat = data.shape[-1]
    if not replacement and num_samples > n_cat:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if num_samples <= 0:
        raise RuntimeError(f"cannot sample n_sample <= 0 samples (got {num_samples})")
    p = data.astype(xp.float64)
    if (p < 0).any() or not xp.isfinite(p).all():
        if replacement and num_samples > 1:
            _refuse_as_cumulative_kernel(p.reshape(-1, n_cat))
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = data.reshape(-1, n_cat)
    if (p.reshape(-1, n_cat).sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement or num_samples == 1:
        keys = rows / exponential_like(xp.empty_like(rows), 1.0, generator)
        out = xp.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    else:
        cum = xp.cumsum(rows, axis=1, dtype=rows.dtype)
        cum = (cum / cum[:, -1:]).astype(xp.float64)
        cum[:, -1] = 1.0
        u = uniform_like(xp.empty((rows.shape[0], num_samples), xp.float64), generator=generator)
        out = xp.stack([xp.searchsorted(c, x, side="left") for c, x in zip(cum, u)])
    return _finish(out.astype(xp.int64).reshape(data.shape[:-1] + (num_samples,)))


# ---------------------------------------------------------------- memory-level factories
_READ_ONLY_BUFFER = (
    "The given buffer is not writable. gradstep's tensor shares its memory read-only: "
    "in-place operations on it raise (torch would write into the supposedly non-writable "
    "buffer). Copy the buffer, or pass a writable one (bytearray, array.array, a writable "
    "memoryview), to write to the tensor.")


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D tensor over the memory of ``buffer`` (any object with the buffer protocol),
    sharing it: writes through either side show in the other. ``offset`` is in bytes;
    ``count`` elements (every remaining element when negative)."""
    dt = B.as_dtype(dtype)
    try:
        view = memoryview(buffer)
    except TypeError:
        raise ValueError("object does not implement Python buffer protocol.") from None
    length, item = view.nbytes, dt.itemsize
    count, offset = int(count), int(offset)
    if length == 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if not 0 <= offset < length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than "
                         f"buffer length ({length} bytes) minus 1")
    if count < 0:
        if (length - offset) % item:
            raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} "
                             f"bytes) must be a multiple of element size ({item})")
        count = (length - offset) // item
    elif offset + count * item > length:
        raise ValueError(f"requested buffer length ({count} * {item} bytes) after offset "
                         f"({offset} bytes) must not be greater than actual buffer length "
                         f"({length} bytes)")
    arr = xp.frombuffer(view.cast("B") if view.ndim != 1 or view.format != "B" else view,
                        dtype=dt.np, count=count, offset=offset)
    if view.readonly:
        from ._warn_once import warn_once

        warn_once("frombuffer-read-only", _READ_ONLY_BUFFER)
    return _finish(arr, requires_grad)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None,
                   requires_grad=False, pin_memory=False):
    """An uninitialised tensor of ``size`` whose dimensions lie in memory in the order
    ``physical_layout`` (outermost first): ``(0, 2, 3, 1)`` is channels-last."""
    shape = tuple(_dim_size(s, i) for i, s in enumerate(size))
    order = tuple(int(d) for d in physical_layout)
    if len(shape) != len(order):
        raise RuntimeError(f"Number of dimensions in size does not match the length of the "
                           f"physical_layout; i.e. len(size) = {len(shape)} is not equal to "
                           f"len(physical_layout) = {len(order)}")
    for i, d in enumerate(order):
        if not 0 <= d < len(shape):
            raise RuntimeError(f"Dimension out of range (expected to be between 0 and "
                               f"{len(shape) - 1}, but got {d} at index {i}).  NB: negative "
                               "dims not currently supported; file an issue if you want it.")
    if len(set(order)) != len(order):
        raise RuntimeError("Duplicate dim not allowed")
    if any(n < 0 for n in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: "
                           f"{list(shape)}")
    physical = xp.empty(tuple(shape[d] for d in order), _dt(dtype))
    return _finish(physical.transpose(tuple(order.index(i) for i in range(len(shape)))),
                   requires_grad, device)
