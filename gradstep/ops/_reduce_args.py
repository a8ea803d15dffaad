"""torch's argument checks for the reductions' ``dim``/``keepdim``/``dtype``/``unbiased``/
``correction`` (sum, prod, amax, var, logsumexp, softmax, cumsum, ...).

The reductions call these only off their common path (after a ``type(keepdim) is not bool``
or ``dtype is not None`` test). torch's parser gives the specific "argument 'keepdim' must be
bool" when only one of a function's signatures takes as many arguments as the call gave, and
"invalid combination" otherwise: for ``sum`` that is decided by whether ``dim`` was given.
"""

from __future__ import annotations

import numbers

from .._argparse import (
    Signatures,
    arg_error,
    bool_error,
    dtype_error,
    int_arg,
    int_list_arg,
    invalid_combination,
    is_int,
    type_name,
)


def _is_dtype(v):
    from ..backend import dtype

    return isinstance(v, dtype)


def check_dtype(dtype, fname):
    """A ``dtype=`` that is not None: a torch dtype, or torch's TypeError."""
    if not _is_dtype(dtype):
        raise dtype_error(dtype, fname)


def keepdim_error(v, fname, pos):
    return bool_error(v, fname, "keepdim", pos)


def check_keepdim(keepdim, fname, pos=2):
    """``keepdim`` of a function with one signature (amax, argmax, logsumexp)."""
    if type(keepdim) is not bool:
        raise keepdim_error(keepdim, fname, pos)


def check_dim_keepdim_dtype(fname, dim, keepdim, dtype, signatures):
    """``sum``/``mean``/``prod``: with no ``dim`` the call matches both signatures by count
    (torch's "invalid combination"); with one, only the second (a specific message)."""
    if type(keepdim) is not bool:
        if dim is None:
            raise invalid_combination(fname, (), signatures)
        raise keepdim_error(keepdim, fname, 2)
    if dtype is not None and not _is_dtype(dtype):
        if dim is None:
            raise invalid_combination(fname, (), signatures)
        raise dtype_error(dtype, fname)


PROD_SIGNATURES = Signatures(("*, torch.dtype dtype = None",
                             "int dim, bool keepdim = False, *, torch.dtype dtype = None"),
                            ("", "Tensor out = None"))


def prod_dim(dim):
    """``prod``'s ``int dim`` (not a tuple: that matches no signature)."""
    if not is_int(dim):
        raise invalid_combination("prod", (dim,), PROD_SIGNATURES)
    return int_arg(dim, "prod", "dim", 1)


def dims_arg(dim, fname):
    """A single-signature ``tuple of ints dim`` (amax, amin, logsumexp)."""
    return int_list_arg(dim, fname, "dim", 1, single_int=True)


VAR_SIGNATURES = Signatures(
    ("tuple of ints dim, bool unbiased = True, bool keepdim = False",
     "tuple of ints dim = None, *, Number correction = None, bool keepdim = False",
     "bool unbiased = True"),
    ("Tensor out = None", "Tensor out = None", ""))


def _is_number(v):
    from .._tensor import Tensor

    if isinstance(v, Tensor):
        return v.ndim == 0
    return isinstance(v, numbers.Number)


def var_args(fname, dim, unbiased, keepdim, correction):
    """var/std/var_mean/std_mean: every refusal is "invalid combination" (three signatures);
    a later element of a ``dim`` tuple fails its unpacking. Returns ``dim`` checked."""
    if dim is not None and type(dim) is not int and not isinstance(dim, bool):
        if is_int(dim):
            dim = int_arg(dim, fname, "dim", 1)
        else:
            dim = int_list_arg(dim, fname, "dim", 1, VAR_SIGNATURES)
    if type(keepdim) is not bool or (unbiased is not None and type(unbiased) is not bool) or \
            (correction is not None and not _is_number(correction)):
        raise invalid_combination(fname, (dim,) if dim is not None else (), VAR_SIGNATURES)
    return dim


def _final(err):
    """An error torch raises from an inner call its own Python code makes (``Tensor.norm``
    calls ``linalg_vector_norm`` positionally): the wording does not depend on our caller."""
    err._gs_refusal = None
    return err


def norm_args(a, p, dim, keepdim, dtype):
    """``Tensor.norm``/``torch.norm`` as torch's Python ``norm`` passes them on to
    ``linalg.vector_norm(input, ord, dim, keepdim, dtype=)``: its names and positions.
    Returns ``dim`` checked."""
    fname = "linalg_vector_norm"
    if dim is not None:
        try:
            dim = int_list_arg([dim] if isinstance(dim, int) else dim, fname, "dim", 3,
                               single_int=True)
        except TypeError as e:
            raise _final(e) from None
    if isinstance(p, str):
        if p not in ("fro", "nuc"):
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
    elif p is not None and not _is_number(p):
        raise _final(arg_error(fname, "ord", 2, f" must be Number, not {type_name(p)}"))
    if type(keepdim) is not bool:
        raise _final(keepdim_error(keepdim, fname, 4))
    if dtype is not None and not _is_dtype(dtype):
        raise _final(dtype_error(dtype, fname))
    return dim
