"""``grad``, ``grad_and_value``, ``vjp`` and ``jacrev``."""

from __future__ import annotations

import functools

from .. import _creation, _vmap_batched
from .._tensor import Tensor
from ..autograd import grad as _autograd_grad
from ..autograd.function import AccumulateGrad
from ..autograd.grad_mode import enable_grad
from ..ops.shape import stack


# ---------------------------------------------------------------- pytrees of tensors
def _flatten(tree):
    if isinstance(tree, Tensor):
        return [tree], lambda leaves: leaves[0]
    if isinstance(tree, (tuple, list)):
        parts = [_flatten(t) for t in tree]
        sizes = [len(p[0]) for p in parts]
        kind = type(tree)

        def rebuild(leaves):
            out, i = [], 0
            for (_, r), n in zip(parts, sizes):
                out.append(r(leaves[i:i + n]))
                i += n
            return kind(out)

        return [x for p in parts for x in p[0]], rebuild
    if isinstance(tree, dict):
        keys = list(tree)
        leaves, rebuild = _flatten([tree[k] for k in keys])
        return leaves, lambda ls: dict(zip(keys, rebuild(ls)))
    return [], lambda leaves: tree


def _track(x):
    """A differentiable stand-in for ``x``: linked to the caller's graph if x is tracked."""
    return x.view_as(x) if x.requires_grad else x.detach().requires_grad_(True)


def _finish(t, keep_graph):
    return t if keep_graph or t is None else t.detach()


def _stand_in_ids(tracked):
    """ids of the fresh leaves ``_track`` made (tracked inputs got a view, which has a grad_fn)."""
    return {id(t) for t in tracked if t.grad_fn is None}


def _reaches_outside(t, stand_ins, clean):
    """Whether ``t``'s graph reaches a leaf that requires grad other than this transform's own
    stand-ins: a parameter passed in another argument or closed over by ``func``, or an input
    an enclosing transform or the caller tracks. torch's transform levels keep such results
    differentiable for the caller (PINN losses over ``vmap(hessian(u))`` train the weights).
    ``clean`` holds the nodes known to reach none (shared by the walks of one call's results)."""
    if t is None or not t.requires_grad:
        return False
    if t.grad_fn is None:
        return id(t) not in stand_ins
    seen, stack = {t.grad_fn}, [t.grad_fn]
    while stack:
        node = stack.pop()
        if node in clean:
            continue
        if isinstance(node, AccumulateGrad):
            if id(node.variable) not in stand_ins:
                return True
            continue
        for e in node._next:
            if e is not None and e[0] not in seen:
                seen.add(e[0])
                stack.append(e[0])
    clean |= seen
    return False


def _finish_outer(tensors, stand_ins):
    """``tensors`` as the caller sees them: each detached unless it depends on something
    outside (see ``_reaches_outside``)."""
    clean = set()
    return [t if t is None or _reaches_outside(t, stand_ins, clean) else t.detach()
            for t in tensors]


def _finish_aux(aux, stand_ins):
    """``has_aux``'s second output as the caller sees it: tensors only (torch refuses other
    leaves), each detached unless it depends on something outside (``_finish_outer``)."""
    from ._pytree import tree_flatten, tree_unflatten

    leaves, spec = tree_flatten(aux)
    for x in leaves:
        if not isinstance(x, Tensor):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(x)}")
    return tree_unflatten(_finish_outer(leaves, stand_ins), spec)


def _zeros_if_none(grads, refs):
    return [_creation.zeros_like(r) if g is None else g for g, r in zip(grads, refs)]


def _check_argnums(argnums, n):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise RuntimeError("argnums must be non-empty")
    for a in nums:
        if not isinstance(a, int):
            raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(a)}")
        if not -n <= a < n:
            raise RuntimeError(f"Got argnum={a}, but only {n} positional inputs")
    return tuple(a % n for a in nums)


# ---------------------------------------------------------------- grad
def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning (gradient of the scalar ``func`` w.r.t. ``args[argnums]``, value)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _check_argnums(argnums, len(args))
        args = list(args)
        trees = []
        with enable_grad():
            for a in nums:
                leaves, rebuild = _flatten(args[a])
                tracked = [_track(x) for x in leaves]
                args[a] = rebuild(tracked)
                trees.append((tracked, rebuild))
            with _vmap_batched.grad_transform():
                out = func(*args, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError("grad_and_value(f)(*args): output of function f should "
                                       "be a tuple: (output, aux) if has_aux is True")
                out, aux = out
            if not isinstance(out, Tensor):
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"Tensor, got {type(out)}")
            if out.ndim != 0:
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"scalar Tensor, got tensor with {out.ndim} dims. Maybe you "
                                   "wanted to use the vjp or jacrev APIs instead?")
            inputs = [x for tracked, _ in trees for x in tracked]
            if out.requires_grad and inputs:
                grads = _autograd_grad(out, inputs, create_graph=True, allow_unused=True)
            else:
                grads = [None] * len(inputs)
        stand_ins = _stand_in_ids(inputs)
        grads = _finish_outer(_zeros_if_none(grads, inputs) + [out], stand_ins)
        if has_aux:
            aux = _finish_aux(aux, stand_ins)
        value = grads.pop()
        results, i = [], 0
        for tracked, rebuild in trees:
            results.append(rebuild(grads[i:i + len(tracked)]))
            i += len(tracked)
        g = results[0] if isinstance(argnums, int) else tuple(results)
        if has_aux:
            return g, (value, aux)
        return g, value

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The gradient of the scalar ``func`` w.r.t. ``args[argnums]`` (and aux if ``has_aux``)."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


# ---------------------------------------------------------------- vjp and jacrev
def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn[, aux]); ``vjp_fn(cotangents)`` gives one gradient per primal."""
    leaves, rebuild = _flatten(list(primals))
    with enable_grad():
        tracked = [_track(x) for x in leaves]
        stand_ins = _stand_in_ids(tracked)
        with _vmap_batched.grad_transform():
            out = func(*rebuild(tracked))
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError("vjp(f, *primals): output of function f should be a tuple: "
                                   "(output, aux) if has_aux is True")
            out, aux = out
    out_leaves, out_rebuild = _flatten(out)

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        cot, _ = _flatten(cotangents)
        if len(cot) != len(out_leaves):
            raise RuntimeError("Expected pytree structure of cotangents to be the same as "
                               "pytree structure of outputs to the function.")
        pairs = [(o, c) for o, c in zip(out_leaves, cot) if o.requires_grad]
        with enable_grad():
            if pairs:
                grads = _autograd_grad([o for o, _ in pairs], tracked, [c for _, c in pairs],
                                       retain_graph=retain_graph, create_graph=True,
                                       allow_unused=True)
            else:
                grads = [None] * len(tracked)
        grads = _zeros_if_none(grads, tracked)
        if create_graph is None:
            grads = _finish_outer(grads, stand_ins)
        else:
            grads = [_finish(g, create_graph) for g in grads]
        return tuple(rebuild(grads))

    result = out_rebuild(_finish_outer(out_leaves, stand_ins))
    return (result, vjp_fn, _finish_aux(aux, stand_ins)) if has_aux else (result, vjp_fn)


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """The Jacobian of ``func`` w.r.t. ``args[argnums]`` by reverse mode, one row per output
    element: shape ``out.shape + arg.shape``."""

    @functools.wraps(func)
    def wrapper(*args):
        nums = _check_argnums(argnums, len(args))
        primals = [args[a] for a in nums]

        def partial(*p):
            full = list(args)
            for a, v in zip(nums, p):
                full[a] = v
            return func(*full)

        res = vjp(partial, *primals, has_aux=has_aux)
        out, vjp_fn = res[0], res[1]
        out_leaves, out_rebuild = _flatten(out)
        per_out = []
        for i, o in enumerate(out_leaves):
            rows = []
            for j in range(o.numel()):
                cot = [_creation.zeros_like(x) for x in out_leaves]
                cot[i] = _creation.zeros(o.numel(), dtype=o.dtype)
                cot[i][j] = 1
                cot[i] = cot[i].reshape(o.shape)
                rows.append(vjp_fn(cot))
            per_arg = []
            for k, p in enumerate(primals):
                p_leaves, p_rebuild = _flatten(p)
                blocks = []
                for m, leaf in enumerate(p_leaves):
                    if rows:
                        col = [_flatten(r[k])[0][m] for r in rows]
                        blocks.append(stack(col).reshape(*o.shape, *leaf.shape))
                    else:
                        blocks.append(_creation.zeros((*o.shape, *leaf.shape), dtype=leaf.dtype))
                per_arg.append(p_rebuild(blocks))
            per_out.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
        jac = out_rebuild(per_out)
        return (jac, res[2]) if has_aux else jac

    return wrapper
