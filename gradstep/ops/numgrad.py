"""torch.gradient: central differences inside, one-sided (edge_order 1 or 2) at the edges,
uniform spacing or coordinates per dimension. Written in Tensor ops, so it is differentiable."""

from __future__ import annotations

from ._util import normalize_dim, to_tensor


def _dims(input, dim):  # noqa: A002
    if dim is None:
        return list(range(input.ndim))
    if isinstance(dim, int):
        return [normalize_dim(dim, input.ndim)]
    return [normalize_dim(d, input.ndim) for d in dim]


def _spacings(spacing, dims):
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or "
                               f"it's spacing and dim arguments to have the same length, but got "
                               f"a spacing argument of length {len(spacing)} and a dim argument "
                               f"of length {len(dims)}.")
        return list(spacing)
    return [spacing] * len(dims)


def _along(x, d, start, length):
    return x.narrow(d, start, length)


def _shaped(v, x, d):
    """A 1-D tensor ``v`` laid along dim ``d`` of ``x`` for broadcasting."""
    shape = [1] * x.ndim
    shape[d] = -1
    return v.reshape(shape)


def _uniform(x, d, h, edge_order):
    from .shape import cat

    n = x.shape[d]
    inner = (_along(x, d, 2, n - 2) - _along(x, d, 0, n - 2)) / (2 * h)
    if edge_order == 1:
        first = (_along(x, d, 1, 1) - _along(x, d, 0, 1)) / h
        last = (_along(x, d, n - 1, 1) - _along(x, d, n - 2, 1)) / h
    else:
        first = (-1.5 * _along(x, d, 0, 1) + 2 * _along(x, d, 1, 1)
                 - 0.5 * _along(x, d, 2, 1)) / h
        last = (0.5 * _along(x, d, n - 3, 1) - 2 * _along(x, d, n - 2, 1)
                + 1.5 * _along(x, d, n - 1, 1)) / h
    return cat([first, inner, last], d)


def _coordinates(x, d, coords, edge_order):
    from .shape import cat

    n = x.shape[d]
    dx = coords[1:] - coords[:-1]
    hs, hd = _shaped(dx[:-1], x, d), _shaped(dx[1:], x, d)
    f0, f1, f2 = _along(x, d, 0, n - 2), _along(x, d, 1, n - 2), _along(x, d, 2, n - 2)
    inner = (hs * hs * f2 + (hd * hd - hs * hs) * f1 - hd * hd * f0) / (hs * hd * (hd + hs))
    if edge_order == 1:
        first = (_along(x, d, 1, 1) - _along(x, d, 0, 1)) / dx[0]
        last = (_along(x, d, n - 1, 1) - _along(x, d, n - 2, 1)) / dx[-1]
    else:
        a1, a2 = dx[0], dx[1]
        first = (-(2 * a1 + a2) / (a1 * (a1 + a2)) * _along(x, d, 0, 1)
                 + (a1 + a2) / (a1 * a2) * _along(x, d, 1, 1)
                 - a1 / (a2 * (a1 + a2)) * _along(x, d, 2, 1))
        b1, b2 = dx[-2], dx[-1]
        last = (b2 / (b1 * (b1 + b2)) * _along(x, d, n - 3, 1)
                - (b2 + b1) / (b1 * b2) * _along(x, d, n - 2, 1)
                + (2 * b2 + b1) / (b2 * (b1 + b2)) * _along(x, d, n - 1, 1))
    return cat([first, inner, last], d)


def gradient(input, *, spacing=1, dim=None, edge_order=1):  # noqa: A002
    from .._tensor import Tensor
    from ._util import as_float

    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = _dims(input, dim)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least "
                               "edge_order+1")
    x = as_float(input)
    out = []
    for d, h in zip(dims, _spacings(spacing, dims)):
        if isinstance(h, Tensor) and h.ndim == 1:
            out.append(_coordinates(x, d, as_float(to_tensor(h)).to(x.dtype), edge_order))
        else:
            out.append(_uniform(x, d, float(h.item() if isinstance(h, Tensor) else h),
                                edge_order))
    return tuple(out)
