"""``jvp``, ``linearize``, ``jacfwd`` and ``hessian`` of ``torch.func``, and its module helpers.

gradstep has no forward-mode autograd, so a Jacobian-vector product is computed by the
double-vjp trick: with ``g(u) = J^T u`` (a vjp recorded with ``create_graph``), ``J t`` is
the vjp of ``g`` against ``t``. The numbers are J's entries combined as reverse mode does;
torch's forward mode can round differently in the last place.
``jacfwd`` gives the same Jacobian as ``jacrev`` (built row by row instead of column by column).
"""

from __future__ import annotations

import functools

from .. import _creation, _vmap_batched
from ..autograd import grad as _autograd_grad
from ..autograd.grad_mode import enable_grad
from ._transforms import _finish_aux, _finish_outer, _flatten, _stand_in_ids, _track, jacrev


def _check_pytree_match(primals, tangents):
    p_leaves, _ = _flatten(primals)
    t_leaves, _ = _flatten(tangents)
    if len(p_leaves) != len(t_leaves):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have "
                           "the same python structure. For example, if primals is a tuple of 3 "
                           "tensors, tangents also must be.")
    for p, t in zip(p_leaves, t_leaves):
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError("Trying to set a forward gradient that has a different size than "
                               "that of the original Tensor, this is not supported. Tensor is of "
                               f"size {list(p.shape)} while the given forward gradient is of "
                               f"size {list(t.shape)}.")
    return p_leaves, t_leaves


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(func(*primals), J @ tangents)`` (and ``aux`` if ``has_aux``)."""
    if not isinstance(primals, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it "
                           "should be valid to call f(*primals).")
    if not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have "
                           "the same python structure. For example, if primals is a tuple of 3 "
                           "tensors, tangents also must be.")
    p_leaves, t_leaves = _check_pytree_match(primals, tangents)
    with enable_grad():
        leaves, rebuild = _flatten(list(primals))
        tracked = [_track(x) for x in leaves]
        stand_ins = _stand_in_ids(tracked)
        with _vmap_batched.grad_transform():
            out = func(*rebuild(tracked))
        aux = None
        if has_aux:
            out, aux = out
        out_leaves, out_rebuild = _flatten(out)
        pairs = [o for o in out_leaves if o.requires_grad]
        dummies = [_creation.zeros_like(o).requires_grad_(True) for o in pairs]
        stand_ins |= {id(d) for d in dummies}
        tangent_out = {}
        if pairs:
            g = _autograd_grad(pairs, tracked, dummies, create_graph=True, allow_unused=True)
            used = [(gi, t) for gi, t in zip(g, t_leaves) if gi is not None]
            if used:
                jt = _autograd_grad([gi for gi, _ in used], dummies,
                                    [t.to(gi.dtype) for gi, t in used],
                                    create_graph=True, allow_unused=True)
                tangent_out = {id(o): r for o, r in zip(pairs, jt)}
    tans = [tangent_out.get(id(o)) for o in out_leaves]
    finished = _finish_outer(out_leaves + tans, stand_ins)
    outs = finished[:len(out_leaves)]
    tans = [_creation.zeros_like(o) if t is None else t
            for o, t in zip(out_leaves, finished[len(out_leaves):])]
    result = (out_rebuild(outs), out_rebuild(tans))
    return (*result, _finish_aux(aux, stand_ins)) if has_aux else result


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)`` with ``jvp_fn(*tangents)`` the Jacobian-vector product."""
    output = func(*primals)

    def jvp_fn(*tangents):
        return jvp(func, primals, tangents)[1]

    return output, jvp_fn


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian of ``func`` w.r.t. ``args[argnums]``: ``out.shape + arg.shape``, as jacrev."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func, argnums=0):
    """The Hessian of the scalar ``func`` w.r.t. ``args[argnums]``."""
    return jacfwd(jacrev(func, argnums), argnums)


# ---------------------------------------------------------------- modules
def stack_module_state(models):
    """(parameters, buffers) of same-shaped ``models``, each stacked along a new dim 0;
    the stacked parameters are new leaves that require grad (for ``vmap`` ensembles)."""
    from ..ops.shape import stack

    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/"
                           "eval mode.")
    first = type(models[0])
    if not all(type(m) is first for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    params = {name: stack([dict(m.named_parameters())[name] for m in models]).detach()
              .requires_grad_(True) for name, _ in models[0].named_parameters()}
    buffers = {name: stack([dict(m.named_buffers())[name] for m in models])
               for name, _ in models[0].named_buffers()}
    return params, buffers


def functionalize(func, *, remove="mutations"):
    """gradstep runs eagerly without a tracer: the function is already what it computes."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument "
                           f"for remove={remove}. Valid options are:\n     remove='mutations': "
                           "all inplace and out= operators will be removed from the program, "
                           "and replaced with their out-of-place equivalents.\n     remove="
                           "'mutations_and_views': In addition to the above, all aliasing "
                           "operators {view} will be replaced with their non-aliasing "
                           "counterparts, {view}_copy.\n")
    return functools.wraps(func)(lambda *args, **kwargs: func(*args, **kwargs))


def replace_all_batch_norm_modules_(root):
    """Make every batch norm under ``root`` use batch statistics only (no running stats)."""
    from ..nn.modules.batchnorm import _BatchNorm

    for module in root.modules():
        if isinstance(module, _BatchNorm):
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root


__all__ = ["jvp", "linearize", "jacfwd", "hessian", "stack_module_state", "functionalize",
           "replace_all_batch_norm_modules_"]
