"""Finite-difference gradient checks (central differences, float64)."""

from __future__ import annotations

from ..backend import xp


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytical and numerical gradients disagree."""


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _numerical_jacobian(fn, inputs, i, eps):
    """d(outputs)/d(inputs[i]) by central differences: shape (numel_in, numel_out)."""
    data = inputs[i]._data
    cols = []
    for k in range(data.size):
        at = xp.unravel_index(k, data.shape)  # in place, also in a non-contiguous input
        orig = data[at]
        data[at] = orig + eps
        plus = [o._data.astype(xp.float64).reshape(-1) for o in _as_tuple(fn(*inputs))]
        data[at] = orig - eps
        minus = [o._data.astype(xp.float64).reshape(-1) for o in _as_tuple(fn(*inputs))]
        data[at] = orig
        cols.append(xp.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)]))
    return xp.stack(cols) if cols else xp.zeros((0, 0))


def _analytical_jacobian(fn, inputs, i):
    from .. import autograd
    from .._creation import zeros_like

    outs = _as_tuple(fn(*inputs))
    rows = []
    sizes = [o.numel() for o in outs]
    for j, o in enumerate(outs):
        for k in range(o.numel()):
            gos = [zeros_like(q) for q in outs]
            gos[j]._data[xp.unravel_index(k, o.shape)] = 1.0
            diff = [q for q in outs if q.requires_grad]
            if not diff:
                rows.append(xp.zeros(inputs[i].numel()))
                continue
            g = autograd.grad([q for q in outs if q.requires_grad],
                              [inputs[i]], [gq for q, gq in zip(outs, gos) if q.requires_grad],
                              retain_graph=True, allow_unused=True)[0]
            rows.append(xp.zeros(inputs[i].numel()) if g is None else g._data.reshape(-1).astype(xp.float64))
    jac = xp.stack(rows, axis=1) if rows else xp.zeros((inputs[i].numel(), sum(sizes)))
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, fast_mode=False):
    """Compare autograd's gradients of ``func`` with central differences at ``inputs``.

    Inputs that require grad should be float64; returns True, or raises
    ``GradcheckError`` naming the input and the worst element.
    """
    inputs = _as_tuple(inputs)
    for i, x in enumerate(inputs):
        if not (hasattr(x, "requires_grad") and x.requires_grad):
            continue
        if x.dtype.name != "float64":
            import warnings

            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point. gradcheck's finite differences will be inaccurate.", stacklevel=2)
        num = _numerical_jacobian(func, inputs, i, eps)
        ana = _analytical_jacobian(func, inputs, i)
        if num.shape != ana.shape or not xp.allclose(ana, num, rtol=rtol, atol=atol):
            if not raise_exception:
                return False
            diff = xp.abs(ana - num) if num.shape == ana.shape else None
            where = "" if diff is None else f" (largest difference {diff.max():.3e})"
            raise GradcheckError(
                f"Jacobian mismatch for output 0 with respect to input {i}{where},\n"
                f"numerical:{num}\nanalytical:{ana}\n"
            )
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True):
    """``gradcheck`` of the first derivative (checks double backward)."""
    from .. import autograd
    from .._creation import randn

    inputs = _as_tuple(inputs)
    outs = _as_tuple(func(*inputs))
    if grad_outputs is None:
        grad_outputs = tuple(randn(tuple(o.shape), dtype=o.dtype, requires_grad=True) for o in outs)
    diff_idx = [i for i, x in enumerate(inputs) if getattr(x, "requires_grad", False)]

    def first(*args):
        xs, gos = args[: len(inputs)], args[len(inputs):]
        outs = _as_tuple(func(*xs))
        gs = autograd.grad(outs, [xs[i] for i in diff_idx], gos, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
