"""The Tensor functions of ``torch.special``'s Bessel, Airy and orthogonal-polynomial
family: argument checks, dtypes and ``out=`` as torch's, values from ``special_bessel``
and ``special_poly``.

torch has no derivative for any of them: the result never requires grad, whatever the
inputs. Integer and bool inputs compute in the default float dtype; float16, bfloat16
and complex inputs are refused (torch's CPU kernels exist for float32 and float64 only).
"""

from __future__ import annotations

from .. import backend as B
from ..backend import xp
from . import special_bessel, special_poly
from ._util import binary_args, dtype_title, tensor_cls


def _compute_dtype(dt, kernel):
    """The float dtype the kernel runs in for a result of dtype ``dt`` (the default float
    dtype for integers and bools), or torch's NotImplementedError."""
    if dt.is_floating_point and dt.name in ("float32", "float64"):
        return dt
    if not dt.is_floating_point and not dt.is_complex:
        return B.get_default_dtype()
    raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype_title(dt)}\'')


def _finish(name, arr, out):
    Tensor = tensor_cls()
    result = Tensor._make(arr)
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"special_{name}(): argument 'out' must be Tensor, not "
                        f"{type(out).__name__}")
    if not out.dtype.is_floating_point:
        raise RuntimeError(f"result type {dtype_title(result.dtype)} can't be cast to the "
                           f"desired output type {dtype_title(out.dtype)}")
    if tuple(out.shape) != tuple(result.shape):
        out.resize_(tuple(result.shape))
    out.copy_(result)
    return out


def _unary(name):
    kernel = special_bessel.FUNCTIONS[name]

    def op(input, *, out=None):  # noqa: A002 - torch's keyword name
        Tensor = tensor_cls()
        if not isinstance(input, Tensor):
            raise TypeError(f"special_{name}(): argument 'input' (position 1) must be Tensor, "
                            f"not {type(input).__name__}")
        dt = _compute_dtype(input.dtype, f"{name}_cpu")
        ct = xp.dtype(dt.np).type
        x = xp.array(input._data, dtype=ct, copy=True)
        with xp.errstate(all="ignore"):
            return _finish(name, xp.ascontiguousarray(kernel(x, ct).astype(ct)), out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``torch.special.{name}``: elementwise, in the input's float precision."
    return op


def _binary(name):
    kernel = special_poly.FUNCTIONS[name]

    def op(x, n, *, out=None):
        Tensor = tensor_cls()
        if not isinstance(x, Tensor) and not isinstance(n, Tensor):
            raise TypeError(f"special_{name}() received an invalid combination of arguments - "
                            f"got ({type(x).__name__}, {type(n).__name__}), but expected one "
                            "of:\n * (Tensor x, Tensor n, *, Tensor out = None)\n"
                            " * (Number x, Tensor n, *, Tensor out = None)\n"
                            " * (Tensor x, Number n, *, Tensor out = None)\n")
        tx, tn = binary_args(x, n)
        dt = _compute_dtype(tx.dtype, f"{name}_cpu")
        ct = xp.dtype(dt.np).type
        xa, na = xp.broadcast_arrays(tx._data.astype(ct), tn._data.astype(ct))
        with xp.errstate(all="ignore"):
            res = kernel(xa.copy(), special_poly.degrees(na), ct)
        return _finish(name, xp.ascontiguousarray(xp.asarray(res, dtype=ct)), out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"``torch.special.{name}(input, n)``: the polynomial of degree ``n`` "
                  "(truncated to an integer; 0 for a negative degree), broadcast.")
    return op


FUNCTIONS = {name: _unary(name) for name in special_bessel.FUNCTIONS}
FUNCTIONS.update({name: _binary(name) for name in special_poly.FUNCTIONS})
