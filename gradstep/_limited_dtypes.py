"""torch's "limited support" dtypes: uint16/uint32/uint64 and the float8s.

torch 2.13 stores, moves, views, indexes, sorts and converts them, but most of its CPU kernels
are not compiled for them, and it refuses to promote them with other dtypes (a uint with a
floating dtype excepted). gradstep's NumPy kernels would compute all of it, so torch's refusals
are listed here, in one table (``REFUSED``), checked from the probe in
``tests/test_uint_dtypes.py`` against torch.

Nothing here runs until the first tensor of such a dtype is made (``backend._activate_limited``):
``install`` then wraps the public entry points that the table names (``Tensor`` methods and
``gradstep.<fn>``) with a check of their tensor operands' dtype. A program that never makes one
of these dtypes runs every op unwrapped.
"""

from __future__ import annotations

import functools

from . import backend as B


def title(dt):
    """torch's ScalarType name (UInt16, Float8_e4m3fn, Long, ...)."""
    from .ops._util import dtype_title

    return dtype_title(dt)


def promote(a, b):
    """torch's promote_types where ``a`` or ``b`` is a limited dtype (``a is not b``)."""
    fa, fb = a in B.FLOAT8S, b in B.FLOAT8S
    if fa or fb:
        raise RuntimeError("Promotion for Float8 Types is not supported, attempted to promote "
                           f"{title(a)} and {title(b)}")
    # a uint16/32/64 promotes with floating dtypes only (to the floating one)
    other = b if a in B.LIMITED_UINTS else a
    if other.is_floating_point:
        return other
    raise RuntimeError("Promotion for uint16, uint32, uint64 types is not supported, attempted to "
                       f"promote {title(a)} and {title(b)}")


# ---------------------------------------------------------------- the refusals
def _max_kernel(stem):
    """max/min: torch's kernel depends on the call (whole tensor, along a dim, elementwise)."""
    def kernel(args, kwargs):
        rest = args[1:] if len(args) > 1 else ()
        other = kwargs.get("other", rest[0] if rest else kwargs.get("dim"))
        if other is None:
            return f"{stem}_all"
        if _is_tensor(other):
            return "maximum_cpu" if stem == "max" else "minimum_cpu"
        return f"{stem}_cpu"
    return kernel


def _scalar_only(kernel):
    """A kernel torch lacks only for a Python-number operand (float8 ``t * 2``, ``t / 2``)."""
    def pick(args, kwargs):
        other = args[1] if len(args) > 1 else kwargs.get("other")
        return None if _is_tensor(other) else kernel
    return pick


def _div_kernel(args, kwargs):
    mode = kwargs.get("rounding_mode")
    if mode is not None:
        return f"div_{mode}_cpu"
    return None


def _float8_div(args, kwargs):
    mode = kwargs.get("rounding_mode")
    if mode is not None:
        return f"div_{mode}_cpu"
    other = args[1] if len(args) > 1 else kwargs.get("other")
    return "div_cpu" if _is_tensor(other) else "div_cpu_reduced_float"


_ADD = ("add", "__add__", "__radd__", "__iadd__", "add_", "sub", "__sub__", "__rsub__", "__isub__",
        "sub_", "subtract", "subtract_", "rsub")
_CMP = {"lt": ("lt", "__lt__", "less", "lt_"), "gt": ("gt", "__gt__", "greater", "gt_"),
        "le": ("le", "__le__", "less_equal", "le_"), "ge": ("ge", "__ge__", "greater_equal", "ge_")}


def _names(kernel, *names):
    return {n: kernel for n in names}


# what torch 2.13's CPU build refuses on both families, by public name: the kernel its
# NotImplementedError names (a string, or a function of the call's arguments)
_BOTH = {
    **_names("add_stub", *_ADD),
    **_names("div_floor_cpu", "floor_divide", "__floordiv__", "__rfloordiv__", "floor_divide_"),
    **_names("remainder_cpu", "remainder", "__mod__", "__rmod__", "remainder_"),
    **_names("fmod_cpu", "fmod", "fmod_"),
    **_names("pow", "pow", "__pow__", "__rpow__", "pow_", "float_power"),
    **_names("neg_cpu", "neg", "__neg__", "negative", "neg_", "negative_"),
    **{n: f"{k}_cpu" for k, names in _CMP.items() for n in names},
    "max": _max_kernel("max"), "min": _max_kernel("min"),
    **_names("maximum_cpu", "maximum", "fmax"), **_names("minimum_cpu", "minimum", "fmin"),
    "argmax": "argmax_cpu", "argmin": "argmin_cpu", "amax": "max_values_cpu", "amin": "min_values_cpu",
    **_names("lshift_cpu", "__lshift__", "bitwise_left_shift"),
    **_names("rshift_cpu", "__rshift__", "bitwise_right_shift"),
    "topk": "topk_cpu", "bincount": "bincount_cpu",
    **_names("clamp_scalar_cpu", "clamp", "clip", "clamp_", "clip_"),
    "clamp_min": "clamp_min_scalar_cpu", "clamp_max": "clamp_max_scalar_cpu", "relu": "clamp_min_scalar_cpu",
    **_names("flip_cpu", "flip", "fliplr", "flipud"),
    "dot": "dot", "vdot": "dot",
    **_names("sign_cpu", "sign", "sgn"),
    **_names("nonzero_count_cpu", "nonzero", "count_nonzero", "argwhere"),
    **_names("masked_fill", "masked_fill", "masked_fill_"),
    **_names("scatter_gather_tensor_cpu", "scatter", "scatter_"),
    **_names("tril", "tril", "tril_"), **_names("triu", "triu", "triu_"),
    "softmax": "softmax_lastdim_kernel_impl", "log_softmax": "log_softmax_lastdim_kernel_impl",
    "median": "median_cpu", "nanmedian": "median_cpu", "kthvalue": "kthvalue_cpu",
    "cummax": "cummax_cpu", "cummin": "cummin_cpu",
    **_names("logical_and_cpu", "logical_and", "logical_and_"),
    **_names("logical_or_cpu", "logical_or", "logical_or_"),
    **_names("logical_xor_cpu", "logical_xor", "logical_xor_"),
    **_names("masked_scatter", "masked_scatter", "masked_scatter_"),
}

# uint16/uint32/uint64 only (float8 allows these, or refuses them differently below)
_UINT = {
    **_BOTH,
    **_names("abs_cpu", "abs", "__abs__", "absolute", "abs_", "absolute_"),
    **_names("bitwise_not_cpu", "__invert__", "bitwise_not", "bitwise_not_"),
    **_names("div_floor_cpu", "floor_divide"),
    "div": _div_kernel, "divide": _div_kernel, "div_": _div_kernel,
    "gather": "scatter_gather_tensor_cpu", "take_along_dim": "scatter_gather_tensor_cpu",
    "index_select": "index_select", "index_put_": "index_put", "index_put": "index_put",
    "mm": "addmm_impl_cpu_", "bmm": "bmm",
}

# the float8s only
_FLOAT8 = {
    **_BOTH,
    **_names(_scalar_only("mul_cpu_reduced_float"), "mul", "__mul__", "__rmul__", "multiply"),
    **_names("mul_cpu_reduced_float", "mul_", "__imul__"),
    **_names(_float8_div, "div", "divide", "__truediv__", "true_divide"),
    "__rtruediv__": "div_cpu_reduced_float", "div_": _float8_div, "__itruediv__": _float8_div,
    **_names("sum_cpu", "sum", "mean", "nansum", "nanmean"), "prod": "prod_out_cpu",
    "cumsum": "cumsum_out_cpu", "cumprod": "cumprod_out_cpu",
    **_names("bitwise_and_cpu", "__and__", "__rand__", "bitwise_and"),
    **_names("bitwise_or_cpu", "__or__", "__ror__", "bitwise_or"),
    **_names("bitwise_xor_cpu", "__xor__", "__rxor__", "bitwise_xor"),
    **_names("sorting_kernel_method_name", "sort", "argsort", "msort"),
    **_names("unique", "unique", "unique_consecutive"),
    "gather": "gather_expanded_index", "take_along_dim": "gather_expanded_index",
    **_names("dot", "__matmul__", "matmul"),  # 1-d; 2-d float8 mm is torch's (see _matmul_pick)
    "norm": "norm_cpu",
    **_names(lambda args, kwargs: RuntimeError(f"std_var_all: Unsupported dtype {title(args[0].dtype)}"),
             "std", "var", "std_mean", "var_mean"),
    **{f: f"{f}_vml_cpu" for f in ("sqrt", "rsqrt", "exp", "log", "log2", "log10", "log1p", "expm1",
                                    "sin", "cos", "tan", "tanh", "floor", "ceil", "round", "trunc",
                                    "sigmoid", "erf", "reciprocal")},
}
REFUSED = {"uint": _UINT, "float8": _FLOAT8}


def _matmul_pick(kernel, other_kernel=None):
    """matmul: 1-d products are torch's "dot"; the others ``other_kernel`` (float8 2-d matmul
    runs in torch)."""
    def pick(args, kwargs):
        a = args[0] if args else kwargs.get("input")
        b = args[1] if len(args) > 1 else kwargs.get("other")
        if _is_tensor(a) and _is_tensor(b) and a.ndim == 1 and b.ndim == 1:
            return kernel
        return other_kernel
    return pick


_FLOAT8.update({n: _matmul_pick("dot") for n in ("matmul", "__matmul__")})
_UINT.update({n: _matmul_pick("dot", "addmm_impl_cpu_") for n in ("matmul", "__matmul__")})
# creation functions torch lacks a kernel for, by their dtype= argument
_BY_DTYPE_ARG = {"arange": "arange_cpu", "randperm": "randperm", "linspace": "linspace_cpu",
                 "logspace": "logspace_cpu"}


def _data_of(x):
    """``x``'s array, or None for a non-tensor or a tensor without one (a sparse COO tensor's
    ``_data`` raises: its values are never of a limited dtype)."""
    try:
        return getattr(x, "_data", None)
    except NotImplementedError:
        return None


def _is_tensor(x):
    from ._tensor import Tensor

    return isinstance(x, Tensor)


def _limited_operand(name, args, kwargs):
    """The limited-dtype tensor a refused kernel would run on, or None.

    Unary ops (and those whose other arguments are dims, sizes, indices or masks) look at their
    first operand. The binary arithmetic ones run on the promoted dtype: a uint16 tensor plus a
    Python float is computed in float32, as in torch, and a clash of dtypes is left to the op's
    own promotion error.
    """
    x = args[0] if args else kwargs.get("input")
    data = _data_of(x)
    if data is None or data.dtype not in _FAMILY:
        if name not in _BINARY or len(args) < 2:
            return None
        x, other = args[1], x  # torch.add(2, t): the tensor second
        data = _data_of(x)
        if data is None or data.dtype not in _FAMILY:
            return None
    else:
        other = args[1] if len(args) > 1 else kwargs.get("other")
    if name in _BINARY and (isinstance(other, (int, float, bool)) or _is_tensor(other)):
        try:
            common = B.result_type(x, other)
        except (RuntimeError, TypeError):
            return None  # the op raises torch's promotion error itself
        if common.np not in _FAMILY:
            return None
    return x


_BINARY = {*_ADD, *(n for names in _CMP.values() for n in names), "mul", "__mul__", "__rmul__",
           "multiply", "mul_", "__imul__", "div", "divide", "__truediv__", "__rtruediv__",
           "true_divide", "div_", "__itruediv__", "floor_divide", "__floordiv__", "__rfloordiv__",
           "floor_divide_", "remainder", "__mod__", "__rmod__", "remainder_", "fmod", "fmod_", "pow",
           "__pow__", "__rpow__", "pow_", "maximum", "minimum", "fmax", "fmin"}


_FAMILY = {}  # NumPy dtype -> "uint" / "float8", filled by install()


def _guard(fn, name):
    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        t = _limited_operand(name, args, kwargs)
        if t is not None:
            kernel = REFUSED[_FAMILY[t._data.dtype]].get(name)
            if callable(kernel):
                kernel = kernel(args, kwargs)
            if isinstance(kernel, Exception):
                raise kernel
            if kernel is not None:
                raise NotImplementedError(f'"{kernel}" not implemented for \'{title(t.dtype)}\'')
        return fn(*args, **kwargs)

    guarded._limited_guard = True
    return guarded


def _dtype_guard(fn, kernel):
    """A creation function torch refuses for a limited ``dtype=`` (torch.arange(5, dtype=torch.uint16))."""
    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        dt = kwargs.get("dtype")
        if dt is not None and getattr(dt, "np", None) in _FAMILY:
            raise NotImplementedError(f'"{kernel}" not implemented for \'{title(dt)}\'')
        return fn(*args, **kwargs)

    guarded._limited_guard = True
    return guarded


def install():
    """Wrap every entry point the table names (once; called by ``backend._activate_limited``)."""
    import gradstep

    from ._tensor import Tensor
    from .nn import functional as F

    for d in B.LIMITED_UINTS:
        _FAMILY[d.np] = "uint"
    for d in B.FLOAT8S:
        _FAMILY[d.np] = "float8"
    names = set(_UINT) | set(_FLOAT8)
    for owner in (Tensor, gradstep, F):
        for name in names:
            fn = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
            if fn is None or not callable(fn) or getattr(fn, "_limited_guard", False):
                continue
            setattr(owner, name, _guard(fn, name))
    for name, kernel in _BY_DTYPE_ARG.items():
        fn = getattr(gradstep, name, None)
        if fn is not None and not getattr(fn, "_limited_guard", False):
            setattr(gradstep, name, _dtype_guard(fn, kernel))
