"""``torch.autograd.forward_ad``: dual tensors, ``(primal, tangent)`` pairs whose tangent
follows the computation.

gradstep has no per-op forward rules; the tangent of a result is worked out when it is
asked for (``unpack_dual``) from a hidden reverse-mode graph, so ordinary ops pay nothing
(while a level is entered every op runs through ``function._op_hook``, a check that is
already on the op path). Each level owns one scalar leaf ``s``. ``make_dual(x, t)`` gives an
alias of ``x`` (a view, as torch's dual is) and records, out of sight, a *shadow*: a tensor
equal to ``x`` whose backward also sends ``<grad, t>`` to ``s``. An op on dual tensors runs
as usual (so its result's ``requires_grad``/``grad_fn`` are what they would be without forward
AD, as in torch) and once more on the shadows, with grad recording on even under
``no_grad``; the result keeps that shadow. For a shadow ``y``, ``d<u, y>/ds = <u, J t>`` is
linear in ``u``; its gradient with respect to ``u`` is ``J t``, the tangent (the double-vjp
trick). Both passes keep their graph, so a tangent is differentiable with respect to the
parameters it depends on, as torch's is.

Differences from torch: an op on duals costs two forward runs and two reverse passes when its
tangent is read; an in-place op on a view of a dual does not update its base's tangent; a
tangent whose dtype differs from its primal's propagates in the primal's dtype.
"""

from __future__ import annotations

from typing import NamedTuple

from . import function as _function
from .function import Function
from .grad_mode import _decorate, enable_grad

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual",
           "unpack_dual", "dual_level"]

_current_level = -1
_seed = None  # the current level's scalar leaf
_saved_hooks = None  # the op hooks in place before the level was entered


def _tensor_cls():
    from .._tensor import Tensor

    return Tensor


# ---------------------------------------------------------------- shadows
def shadow(t):
    """``t``'s shadow at the current level (None: ``t`` has no tangent)."""
    entry = t.__dict__.get("_fw")
    return entry[1] if entry is not None and entry[0] is _seed else None


def involved(tensors):
    """Whether a level is entered and one of ``tensors`` has a tangent at it (the in-place
    methods ask, to record a write that changes a tangent)."""
    Tensor = _tensor_cls()
    return _seed is not None and any(isinstance(t, Tensor) and shadow(t) is not None
                                     for t in tensors)


def carry(src, dst):
    """Give ``dst`` the shadow of ``src`` (an in-place op's result handed back to ``self``)."""
    entry = src.__dict__.get("_fw")
    if entry is not None:
        dst.__dict__["_fw"] = entry


def _set_shadow(t, sh, tangent=None):
    t.__dict__["_fw"] = (_seed, sh, tangent)


def _run_plain(apply, args, kwargs):
    """``apply(*args, **kwargs)`` with the hooks that were in place before the level."""
    node_hook, fn_hook = _function._op_hook, _function._fn_hook
    _function._op_hook, _function._fn_hook = _saved_hooks
    try:
        return apply(*args, **kwargs)
    finally:
        _function._op_hook, _function._fn_hook = node_hook, fn_hook


def _shadowed(args):
    """``args`` with each dual tensor replaced by its shadow; None when there is no dual."""
    Tensor = _tensor_cls()
    out, found = [], False
    for a in args:
        sh = shadow(a) if isinstance(a, Tensor) else None
        found = found or sh is not None
        out.append(a if sh is None else sh)
    return out if found else None


def _attach(outs, shadows):
    Tensor = _tensor_cls()
    if isinstance(outs, Tensor):
        outs, shadows = (outs,), (shadows,)
    elif not isinstance(outs, (tuple, list)):
        return
    for o, sh in zip(outs, shadows):
        if isinstance(o, Tensor) and isinstance(sh, Tensor) and sh.requires_grad:
            _set_shadow(o, sh)


def _node_hook(cls, inputs, attrs):
    """Every graph op while a level is entered: the op, then its shadow (when an input is
    dual)."""
    out = _run_plain(cls.apply, inputs, attrs)
    shadow_inputs = _shadowed(inputs)
    if shadow_inputs is not None:
        with enable_grad():
            _attach(out, _run_plain(cls.apply, shadow_inputs, attrs))
    return out


def _fn_hook(cls, args, kwargs):
    """A user ``autograd.Function`` while a level is entered (its tangent goes through its
    backward, as for built-in ops)."""
    out = _run_plain(cls.apply, args, kwargs)
    shadow_args = _shadowed(args)
    if shadow_args is not None:
        with enable_grad():
            _attach(out, _run_plain(cls.apply, shadow_args, kwargs))
    return out


# ---------------------------------------------------------------- levels
def enter_dual_level():
    """Enter a new forward grad level (gradstep, as torch, supports one level at a time)."""
    global _current_level, _seed, _saved_hooks
    if _current_level >= 0:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    from .._creation import zeros
    from ..backend import float64

    _seed = zeros((), dtype=float64, requires_grad=True)
    _saved_hooks = (_function._op_hook, _function._fn_hook)
    _function._op_hook, _function._fn_hook = _node_hook, _fn_hook
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
    _function._op_hook, _function._fn_hook = _saved_hooks
    _seed = None
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
    """The shadow of ``primal`` (its memory) whose backward also sends ``<grad, tangent>`` to
    the level's seed."""

    @staticmethod
    def forward(ctx, primal, seed, tangent):
        ctx.tangent = tangent
        return primal.view_as(primal)

    @staticmethod
    def backward(ctx, grad):
        to_seed = (grad * ctx.tangent).sum().double()
        return (grad if ctx.needs_input_grad[0] else None), to_seed, None


def _check_level(level, fn):
    if level != _current_level:
        raise RuntimeError(f"Invalid level given to {fn}")


def make_dual(tensor, tangent, *, level=None):
    """A dual tensor: a view of ``tensor`` with ``tangent`` as its forward gradient."""
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
    if shadow(tensor) is not None:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward "
                           f"gradient at the same level {level} is not supported.")
    dual = _run_plain(tensor.view_as, (tensor,), {})
    with enable_grad():
        sh = _run_plain(_MakeDual.apply, (tensor, _seed, tangent), {})
    _set_shadow(dual, sh, tangent)
    return dual


# ---------------------------------------------------------------- unpack_dual
class UnpackedDualTensor(NamedTuple):
    """What ``unpack_dual`` returns: the primal and the tangent (None if there is none)."""

    primal: object
    tangent: object


def _tangent_of(out):
    """``J t`` for the shadow ``out``, or None when it does not depend on this level's duals."""
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
    if _current_level < 0:
        return UnpackedDualTensor(tensor, None)
    if not isinstance(tensor, _tensor_cls()):
        raise TypeError("_unpack_dual(): argument 'dual' (position 1) must be Tensor, not "
                        f"{type(tensor).__name__}")
    _check_level(level, "_fw_primal")
    primal = _run_plain(tensor.view_as, (tensor,), {})
    entry = tensor.__dict__.get("_fw")
    if entry is None or entry[0] is not _seed:
        return UnpackedDualTensor(primal, None)
    if entry[2] is not None:  # make_dual's own result: its tangent as given
        return UnpackedDualTensor(primal, entry[2])
    return UnpackedDualTensor(primal, _tangent_of(entry[1]))
