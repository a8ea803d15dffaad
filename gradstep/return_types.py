"""Named-tuple results of ops that return (values, indices), as in ``torch.return_types``."""

from __future__ import annotations

from typing import NamedTuple


class max(NamedTuple):  # noqa: A001, N801
    values: object
    indices: object


class min(NamedTuple):  # noqa: A001, N801
    values: object
    indices: object


class topk(NamedTuple):  # noqa: N801
    values: object
    indices: object


class sort(NamedTuple):  # noqa: N801
    values: object
    indices: object


def max_min_result(values, indices, name):
    return (max if name == "max" else min)(values, indices)


# linalg, counting and ordering (torch.return_types of the same names)
def _named(name, fields):
    return NamedTuple(name, [(f, object) for f in fields])


linalg_slogdet = _named("linalg_slogdet", ("sign", "logabsdet"))
slogdet = _named("slogdet", ("sign", "logabsdet"))
linalg_qr = _named("linalg_qr", ("Q", "R"))
qr = _named("qr", ("Q", "R"))
linalg_svd = _named("linalg_svd", ("U", "S", "Vh"))
svd = _named("svd", ("U", "S", "V"))
linalg_eigh = _named("linalg_eigh", ("eigenvalues", "eigenvectors"))
linalg_eig = _named("linalg_eig", ("eigenvalues", "eigenvectors"))
linalg_inv_ex = _named("linalg_inv_ex", ("inverse", "info"))
linalg_cholesky_ex = _named("linalg_cholesky_ex", ("L", "info"))
linalg_solve_ex = _named("linalg_solve_ex", ("result", "info"))
linalg_lstsq = _named("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
triangular_solve = _named("triangular_solve", ("solution", "cloned_coefficient"))
kthvalue = _named("kthvalue", ("values", "indices"))
median = _named("median", ("values", "indices"))
nanmedian = _named("nanmedian", ("values", "indices"))
mode = _named("mode", ("values", "indices"))
cummax = _named("cummax", ("values", "indices"))
cummin = _named("cummin", ("values", "indices"))
aminmax = _named("aminmax", ("min", "max"))
histogram = _named("histogram", ("hist", "bin_edges"))
histogramdd = _named("histogramdd", ("hist", "bin_edges"))
linalg_lu = _named("linalg_lu", ("P", "L", "U"))
linalg_lu_factor = _named("linalg_lu_factor", ("LU", "pivots"))
linalg_lu_factor_ex = _named("linalg_lu_factor_ex", ("LU", "pivots", "info"))
lu_unpack = _named("lu_unpack", ("P", "L", "U"))
frexp = _named("frexp", ("mantissa", "exponent"))


def _torch_repr(self):
    """torch's layout: ``torch.return_types.max(\nvalues=...,\nindices=...)``."""
    from . import backend

    fields = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
    return f"{backend.display_name}.return_types.{type(self).__name__}(\n{fields})"


for _cls in [v for v in list(globals().values()) if isinstance(v, type) and issubclass(v, tuple)
             and hasattr(v, "_fields")]:
    _cls.__repr__ = _torch_repr
