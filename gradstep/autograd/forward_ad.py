"""``torch.autograd.forward_ad``: dual tensors, ``(primal, tangent)`` pairs whose tangent
follows the computation.

gradstep has no per-op forward rules; the tangent of a result is worked out when it is
asked for (``unpack_dual``), from the graph reverse mode records, so ordinary ops pay
nothing. Each level owns one scalar leaf ``s``; ``make_dual(x, t)`` gives a tensor equal to
``x`` whose backward also sends ``<grad, t>`` to ``s``. For a result ``y`` of the duals,
``d<u, y>/ds = <u, J t>`` is linear in ``u``; its gradient with respect to ``u`` is ``J t``,
the tangent (the double-vjp trick). Both passes keep their graph, so a tangent is
differentiable with respect to the parameters it depends on, as torch's is.

Differences from torch: a dual tensor (and a result of one) reports ``requires_grad=True``
and has a ``grad_fn``, and is a copy of its primal rather than an alias; ops run under
``no_grad``/``inference_mode`` record nothing, so their results have no tangent; a
tangent whose dtype differs from its primal's propagates in the primal's dtype.
"""

from __future__ import annotations

from typing import NamedTuple

from .function import AccumulateGrad, Function
from .grad_mode import _decorate, enable_grad

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual",
           "unpack_dual", "dual_level"]

_current_level = -1
_seed = None  # the current level's scalar leaf
_made = {}  # id(dual) -> (dual, primal, tangent) for make_dual's own results at this level


def _tensor_cls():
    from .._tensor import Tensor

    return Tensor


# ---------------------------------------------------------------- levels
def enter_dual_level():
    """Enter a new forward grad level (gradstep, as torch, supports one level at a time)."""
    global _current_level, _seed
    if _current_level >= 0:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    from .._creation import zeros
    from ..backend import float64

    _seed = zeros((), dtype=float64, requires_grad=True)
    _made.clear()
    _current_level = 0
    return _current_level


def exit_dual_level(*, level=None):
    """Exit the current level: the tangents made in it are forgotten."""
    global _current_level, _seed
    if level is None:
        level = _current_level
    if level != _current_level:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that "
                           "was created. This is not supported.")
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    _seed = None
    _made.clear()
    _current_level = level - 1


class dual_level:
    """Context manager (or decorator) that enters a dual level and exits it on the way out."""

    def __call__(self, fn):
        return _decorate(fn, dual_level)

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, exc_type, exc_value, traceback):
        exit_dual_level()


# ---------------------------------------------------------------- make_dual
class _MakeDual(Function):
    """``primal`` (copied) whose backward also sends ``<grad, tangent>`` to the level's seed."""

    @staticmethod
    def forward(ctx, primal, seed, tangent):
        ctx.tangent = tangent
        return primal.clone()

    @staticmethod
    def backward(ctx, grad):
        to_seed = (grad * ctx.tangent).sum().double()
        return (grad if ctx.needs_input_grad[0] else None), to_seed, None


def _reaches(t, leaf):
    """Whether ``t``'s recorded graph reaches the leaf ``leaf``."""
    if t.grad_fn is None:
        return t is leaf
    seen, stack = {t.grad_fn}, [t.grad_fn]
    while stack:
        node = stack.pop()
        if isinstance(node, AccumulateGrad):
            if node.variable is leaf:
                return True
            continue
        for e in node._next:
            if e is not None and e[0] not in seen:
                seen.add(e[0])
                stack.append(e[0])
    return False


def _check_level(level, fn):
    if level != _current_level:
        raise RuntimeError(f"Invalid level given to {fn}")


def make_dual(tensor, tangent, *, level=None):
    """A dual tensor: ``tensor``'s value with ``tangent`` as its forward gradient."""
    if level is None:
        level = _current_level
    if level < 0:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, "
                           "make sure to enter_dual_level() first.")
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: "
                         f"{tensor.dtype}")
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(f"Expected tangent to be floating point or complex, but got: "
                         f"{tangent.dtype}")
    _check_level(level, "_make_dual")
    if tuple(tensor.shape) != tuple(tangent.shape):
        raise RuntimeError("Trying to set a forward gradient that has a different size than "
                           "that of the original Tensor, this is not supported. Tensor is of "
                           f"size {list(tensor.shape)} while the given forward gradient is of "
                           f"size {list(tangent.shape)}.")
    if id(tensor) in _made or (tensor.requires_grad and _reaches(tensor, _seed)):
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward "
                           f"gradient at the same level {level} is not supported.")
    with enable_grad():
        dual = _MakeDual.apply(tensor, _seed, tangent)
    _made[id(dual)] = (dual, tensor, tangent)
    return dual


# ---------------------------------------------------------------- unpack_dual
class UnpackedDualTensor(NamedTuple):
    """What ``unpack_dual`` returns: the primal and the tangent (None if there is none)."""

    primal: object
    tangent: object


def _tangent_of(out):
    """``J t`` for ``out``, or None when ``out`` does not depend on this level's duals."""
    from .._creation import zeros_like
    from . import grad

    if not out.requires_grad or not (out.is_floating_point() or out.is_complex()):
        return None
    with enable_grad():
        u = zeros_like(out).requires_grad_(True)
        (g,) = grad(out, _seed, u, create_graph=True, allow_unused=True)
        if g is None:
            return None
        if not g.requires_grad:
            return zeros_like(out)
        (jt,) = grad(g, u, create_graph=True, allow_unused=True)
    if jt is None:
        return zeros_like(out)
    return jt if _depends_on_other_leaves(jt, (u, _seed)) else jt.detach()


def _depends_on_other_leaves(t, own):
    from ..func._transforms import _reaches_outside

    return _reaches_outside(t, {id(x) for x in own}, set())


def unpack_dual(tensor, *, level=None):
    """``(primal, tangent)`` of ``tensor`` at ``level``; the tangent is None for a tensor
    that does not depend on a dual tensor of the level (or outside any level)."""
    if level is None:
        level = _current_level
    if level < 0:
        return UnpackedDualTensor(tensor, None)
    if not isinstance(tensor, _tensor_cls()):
        raise TypeError("_unpack_dual(): argument 'dual' (position 1) must be Tensor, not "
                        f"{type(tensor).__name__}")
    _check_level(level, "_fw_primal")
    made = _made.get(id(tensor))
    if made is not None and made[0] is tensor:
        primal = made[1]
        return UnpackedDualTensor(primal.view_as(primal), made[2])
    tangent = _tangent_of(tensor)
    if tangent is None and not tensor.requires_grad:
        return UnpackedDualTensor(tensor.view_as(tensor), None)
    keep = _depends_on_other_leaves(tensor, (_seed,))
    return UnpackedDualTensor(tensor.view_as(tensor) if keep else tensor.detach(), tangent)
