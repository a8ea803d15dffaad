"""``torch._foreach_*``: one op applied to every tensor of a list (what modern optimizers call).

torch fuses these into multi-tensor kernels; here each is a loop over the Tensor ops, so the
numbers, autograd and in-place checks are exactly those of the single-tensor op. The second
operand may be a list of tensors, a Python number, a list of numbers (one per tensor) or a
tensor (a 0-d tensor used for every element; for ``addcmul``/``addcdiv`` a 1-D tensor of one
scale per element). Out-of-place forms return a tuple; in-place forms return their input.
"""

from __future__ import annotations

import numbers

from ._tensor import Tensor
from ._tensor_inplace import inplace_from


def _check_list(tensors):
    if len(tensors) == 0:
        raise RuntimeError("Tensor list must have at least one tensor.")
    return tensors


def _per_tensor(self, other):
    """``other`` broadcast to one operand per tensor of ``self``."""
    n = len(_check_list(self))
    if isinstance(other, (list, tuple)):
        if len(other) != n:
            if other and isinstance(other[0], Tensor):
                raise RuntimeError(
                    f"Tensor lists must have the same number of tensors, got {n} and {len(other)}")
            raise RuntimeError("Tensor list must have same number of elements as scalar list.")
        return list(other)
    return [other] * n


def _scales(self, value, fname):
    """``value`` of addcmul/addcdiv: a number, a list of numbers or a 1-D tensor of them."""
    if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in value):
        raise _no_tensor_scalars(fname, value)  # a fork's [lr / bc for ...] with a tensor lr
    if isinstance(value, Tensor):
        if value.ndim != 1:
            raise RuntimeError(
                f"Expected packed scalar Tensor to be of dimension 1. Got {value.ndim} instead.")
        value = value.tolist()
    return _per_tensor(self, value)


def _no_tensor_scalars(fname, value):
    """torch's refusal of a list of tensors as the ``scalars`` of addcmul/addcdiv (its
    ScalarList overload takes numbers; a tensor of scales must be one 1-D tensor)."""
    kind = type(value).__name__
    return TypeError(
        f"{fname}() received an invalid combination of arguments - got (list, list, list, "
        f"{kind}), but expected one of:\n"
        " * (tuple of Tensors self, tuple of Tensors tensor1, tuple of Tensors tensor2, "
        "tuple of Scalars scalars)\n"
        " * (tuple of Tensors self, tuple of Tensors tensor1, tuple of Tensors tensor2, "
        "Tensor scalars)\n"
        " * (tuple of Tensors self, tuple of Tensors tensor1, tuple of Tensors tensor2, "
        "Number value = 1)\n")


def _no_alpha_with_scalars(name, other, alpha):
    if alpha != 1 and (isinstance(other, numbers.Number) or (
            isinstance(other, (list, tuple)) and other and not isinstance(other[0], Tensor))):
        raise TypeError(f"{name}() got an unexpected keyword argument 'alpha' for a scalar operand")


def _method(name):
    return lambda t, o, **kw: getattr(t, name)(o, **kw)


def _bound(method, bound):
    """``maximum``/``minimum`` (a number operand: ``clamp``, torch's Scalar overload)."""

    def op(t, o):
        return t.clamp(**{bound: o}) if isinstance(o, numbers.Number) else getattr(t, method)(o)

    return op


_MISSING = object()


def _operand(fname, other, scalar, scalars):
    """The second operand, given positionally or by one of torch's overloads' keywords
    (``other=``, ``scalar=``, ``scalars=``)."""
    given = [v for v in (other, scalar, scalars) if v is not _MISSING]
    if len(given) != 1:
        raise TypeError(f"{fname}() takes one operand: other, scalar or scalars")
    return given[0]


def _binary(op, op_, name, with_alpha=False):
    """The out-of-place and in-place foreach forms of the binary ``op(t, other)``."""

    def out_of_place(self, other=_MISSING, *, alpha=1, scalar=_MISSING, scalars=_MISSING):
        other = _operand(f"_foreach_{name}", other, scalar, scalars)
        _no_alpha_with_scalars(f"_foreach_{name}", other, alpha)
        kw = {"alpha": alpha} if alpha != 1 else {}
        return tuple(op(t, o, **kw) for t, o in zip(self, _per_tensor(self, other)))

    def in_place(self, other=_MISSING, *, alpha=1, scalar=_MISSING, scalars=_MISSING):
        other = _operand(f"_foreach_{name}_", other, scalar, scalars)
        _no_alpha_with_scalars(f"_foreach_{name}_", other, alpha)
        kw = {"alpha": alpha} if alpha != 1 else {}
        for t, o in zip(self, _per_tensor(self, other)):
            op_(t, o, **kw)
        return self

    if not with_alpha:
        def no_alpha(fn):
            def call(self, other=_MISSING, *, scalar=_MISSING, scalars=_MISSING):
                return fn(self, other, scalar=scalar, scalars=scalars)
            return call

        return no_alpha(out_of_place), no_alpha(in_place)
    return out_of_place, in_place


def _unary(method):
    def out_of_place(self):
        return tuple(getattr(t, method)() for t in _check_list(self))

    def in_place(self):
        for t in _check_list(self):
            getattr(t, method + "_")()
        return self

    return out_of_place, in_place


def _pointwise(method):
    """``addcmul``/``addcdiv``: ``self[i] + value[i] * tensor1[i] (*|/) tensor2[i]``."""

    def out_of_place(self, tensor1, tensor2, value=1, *, scalars=_MISSING):
        value = value if scalars is _MISSING else scalars  # torch's list overload's keyword
        return tuple(getattr(t, method)(a, b, value=v) for t, a, b, v in
                     zip(self, _per_tensor(self, tensor1), _per_tensor(self, tensor2),
                         _scales(self, value, f"_foreach_{method}")))

    def in_place(self, tensor1, tensor2, value=1, *, scalars=_MISSING):
        value = value if scalars is _MISSING else scalars
        for t, a, b, v in zip(self, _per_tensor(self, tensor1), _per_tensor(self, tensor2),
                              _scales(self, value, f"_foreach_{method}_")):
            getattr(t, method + "_")(a, b, value=v)
        return self

    return out_of_place, in_place


def _scalar_weight(weight):
    """torch's ``_foreach_lerp`` has no single-Tensor weight: a 0-d tensor is its Scalar
    overload's number (a float16 list then lerps with the float32 weight, not a rounded one)."""
    return weight.item() if isinstance(weight, Tensor) and weight.dim() == 0 else weight


def _lerp():
    def out_of_place(self, tensors1, weight=_MISSING, *, weights=_MISSING):
        weight = _scalar_weight(_operand("_foreach_lerp", weight, weights, _MISSING))
        return tuple(t.lerp(e, w) for t, e, w in
                     zip(self, _per_tensor(self, tensors1), _per_tensor(self, weight)))

    def in_place(self, tensors1, weight=_MISSING, *, weights=_MISSING):
        weight = _scalar_weight(_operand("_foreach_lerp_", weight, weights, _MISSING))
        for t, e, w in zip(self, _per_tensor(self, tensors1), _per_tensor(self, weight)):
            t.lerp_(e, w)
        return self

    return out_of_place, in_place


def _clamp(bound):
    def out_of_place(self, other):
        return tuple(t.clamp(**{bound: o}) for t, o in zip(self, _per_tensor(self, other)))

    def in_place(self, other):
        for t, o in zip(self, _per_tensor(self, other)):
            t.clamp_(**{bound: o})
        return self

    return out_of_place, in_place


def _foreach_pow(self, exponent):
    if isinstance(self, numbers.Number):  # _foreach_pow(scalar, tensors)
        return tuple(t.__rpow__(self) for t in _check_list(exponent))
    return tuple(t.pow(e) for t, e in zip(self, _per_tensor(self, exponent)))


def _foreach_pow_(self, exponent):
    for t, e in zip(self, _per_tensor(self, exponent)):
        t.pow_(e)
    return self


def _foreach_norm(self, ord=2, dtype=None):  # noqa: A002 - torch's name
    """The vector norm of each tensor, as a tuple of 0-d tensors."""
    out = []
    for t in _check_list(self):
        t = t if dtype is None else t.to(dtype)
        out.append(t.abs().amax() if ord in (float("inf"), "inf") else t.norm(p=ord))
    return tuple(out)


def _foreach_zero_(self):
    for t in _check_list(self):
        t.zero_()
    return self


def _foreach_copy_(self, src, non_blocking=False):
    for t, s in zip(self, _per_tensor(self, src)):
        t.copy_(s)
    return self


def _foreach_clone(self):
    return tuple(t.clone() for t in _check_list(self))


_BINARY = {"add": True, "sub": True, "mul": False, "div": False}  # name -> takes alpha
_UNARY = ("abs", "neg", "sqrt", "rsqrt", "exp", "expm1", "log", "log1p", "log2", "log10",
          "sign", "reciprocal", "sigmoid", "tanh", "sin", "cos", "floor", "ceil", "round",
          "trunc", "frac", "erf")


def _table():
    ops = {}
    for name, with_alpha in _BINARY.items():
        ops[name] = _binary(_method(name), _method(name + "_"), name, with_alpha)
    for name, bound in (("maximum", "min"), ("minimum", "max")):
        op = _bound(name, bound)
        ops[name] = _binary(op, inplace_from(op), name)
    for name in _UNARY:
        ops[name] = _unary(name)
    ops["addcmul"], ops["addcdiv"] = _pointwise("addcmul"), _pointwise("addcdiv")
    ops["lerp"] = _lerp()
    ops["clamp_min"], ops["clamp_max"] = _clamp("min"), _clamp("max")
    functions = {}
    for name, (out_of_place, in_place) in ops.items():
        out_of_place.__name__, in_place.__name__ = f"_foreach_{name}", f"_foreach_{name}_"
        functions[out_of_place.__name__] = out_of_place
        functions[in_place.__name__] = in_place
    for fn in (_foreach_pow, _foreach_pow_, _foreach_norm, _foreach_zero_, _foreach_copy_,
               _foreach_clone):
        functions[fn.__name__] = fn
    return functions


# name -> function; gradstep exports every one of them as torch does (torch._foreach_add, ...)
FUNCTIONS = _table()
globals().update(FUNCTIONS)
__all__ = sorted(FUNCTIONS)
