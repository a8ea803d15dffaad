"""``torch.autograd.functional``: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``vhp``, ``hvp``.

Everything is reverse mode: ``jvp`` and ``hvp`` use the double-backward trick (differentiate
``u -> J^T u`` with respect to ``u``), ``jacobian`` takes one backward per output element.
``vectorize=True`` is accepted and gives the same numbers (the rows are still one backward
each); ``strategy="forward-mode"`` is checked as torch checks it and then computed in reverse
mode too (the same Jacobian).
"""

from __future__ import annotations

import importlib

from .grad_mode import enable_grad, is_grad_enabled, set_grad_enabled


class _Lazy:
    """A module imported on first use: ``gradstep.autograd`` loads before the tensor modules."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)


_creation = _Lazy("gradstep._creation")
_tensor = _Lazy("gradstep._tensor")
_autograd = _Lazy("gradstep.autograd")


def _grad(*args, **kwargs):
    return _autograd.grad(*args, **kwargs)

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _as_tuple(x, arg_name, fn_name):
    is_tuple = isinstance(x, tuple)
    items = x if is_tuple else (x,)
    for i, el in enumerate(items):
        if not isinstance(el, _tensor.Tensor):
            where = f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of " \
                    "Tensors"
            if is_tuple:
                raise TypeError(f"{where} but the value at index {i} has type {type(el)}.")
            raise TypeError(f"{where} but the given {arg_name} has type {type(el)}.")
    return is_tuple, items


def _unpack(res, is_tuple):
    """Undo ``_as_tuple`` (``is_tuple`` may be a pair for nested results)."""
    if isinstance(is_tuple, tuple):
        outer, inner = is_tuple
        if not inner:
            res = tuple(r[0] for r in res)
        return res if outer else res[0]
    return res if is_tuple else res[0]


def _prep(inputs, create_graph, need_graph):
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t.view_as(t))  # keeps the link to the caller's graph
        else:
            out.append(t.detach().requires_grad_(need_graph))
    return tuple(out)


def _post(xs, create_graph):
    if isinstance(xs[0], tuple):
        return tuple(_post(x, create_graph) for x in xs)
    return tuple(x if x is None or create_graph else x.detach() for x in xs)


def _validate_v(v, other, is_other_tuple):
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got "
                               f"{len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(v, other)):
        if tuple(a.shape) != tuple(b.shape):
            prefix = f"Entry {i} in " if is_other_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {b.shape} but got "
                               f"{a.shape}.")


def _check_outputs(outputs, strict):
    if not strict:
        return
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(f"Output {i} of the user-provided function does not require "
                               "gradients. The outputs must be computed in a differentiable "
                               "manner from the input when running in strict mode.")


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """autograd.grad over the outputs that require grad (None for every input if none do)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    outs = [o for o, _ in pairs]
    grads = [g if g is not None else _creation.ones_like(o) for o, g in pairs]
    return _grad(outs, list(inputs), grads, allow_unused=True, create_graph=create_graph,
                 retain_graph=retain_graph)


_STRICT_MSG = {
    "back": "The output of the user-provided function is independent of input {i}. This is not "
            "allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
                  "grad_outputs when using the double backward trick to compute forward mode "
                  "gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. "
                   "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i}"
                         " in the grad_jacobian. This is not allowed in strict mode as it "
                         "prevents from using the double backward trick to replace forward "
                         "mode AD.",
}


_JACOBIAN_INDEPENDENT = (
    "While computing the hessian, found that the jacobian of the user-provided function with "
    "respect to input {i} is independent of the input. This is not allowed in strict mode. You "
    "should ensure that your function is twice differentiable and that the jacobian depends on "
    "the inputs (this would be violated by a linear function for example).")


def _fill_in_zeros(grads, refs, strict, create_graph, stage):
    res = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_STRICT_MSG[stage].format(i=i))
            g = _creation.zeros_like(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode when "
                               "create_graph=True.")
        res.append(g)
    return tuple(res)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product at ``inputs``."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prep(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs),
                                              "outputs of the user-provided function", "vjp")
        _check_outputs(outputs, strict)
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            v = _prep(v, create_graph, need_graph=False)
            _validate_v(v, outputs, is_outputs_tuple)
        elif len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function "
                               "returns a single Tensor with a single element.")
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        res = _fill_in_zeros(res, inputs, strict, create_graph, "back")
    return (_unpack(_post(outputs, create_graph), is_outputs_tuple),
            _unpack(_post(res, create_graph), is_inputs_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, by the double-backward trick."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prep(inputs, create_graph, need_graph=True)
        if v is not None:
            _, v = _as_tuple(v, "v", "jvp")
            v = _prep(v, create_graph, need_graph=False)
            _validate_v(v, inputs, is_inputs_tuple)
        elif len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        is_outputs_tuple, outputs = _as_tuple(func(*inputs),
                                              "outputs of the user-provided function", "jvp")
        _check_outputs(outputs, strict)
        grad_outputs = tuple(_creation.zeros_like(o, requires_grad=True) for o in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
        if strict:
            for i, g in enumerate(grad_inputs):
                if g is None:
                    raise RuntimeError(f"The output of the user-provided function is "
                                       f"independent of input {i}. This is not allowed in "
                                       "strict mode.")
    if create_graph:
        with enable_grad():
            res = _autograd_grad(grad_inputs, grad_outputs, v, create_graph=True)
    else:
        res = _autograd_grad(grad_inputs, grad_outputs, v, create_graph=False)
    res = _fill_in_zeros(res, outputs, strict, create_graph, "back_trick")
    return (_unpack(_post(outputs, create_graph), is_outputs_tuple),
            _unpack(_post(res, create_graph), is_outputs_tuple))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: ``J[i][j]`` of shape ``out_i.shape +
    in_j.shape`` (a plain tensor when there is one input and one output)."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                             'Hint: If your function has more outputs than inputs, '
                             '"forward-mode" tends to be more performant. Otherwise, prefer '
                             'to use "reverse-mode".')
    if strategy == "forward-mode":
        _check_forward_mode(create_graph, strict, vectorize)
        res = jacobian(func, inputs, vectorize=True)
        if not isinstance(inputs, tuple):
            return res
        # torch's forward-mode path builds lists where reverse mode builds tuples
        return [list(r) for r in res] if isinstance(res[0], tuple) else list(res)
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prep(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs),
                                              "outputs of the user-provided function",
                                              "jacobian")
        _check_outputs(outputs, strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                               "`vectorized=True` are not supported together. Please either "
                               "set `strict=False` or `vectorize=False`.")
        jac = []
        for i, out in enumerate(outputs):
            rows = [[] for _ in inputs]
            flat = out.reshape(-1)
            for j in range(flat.numel()):
                g = _autograd_grad((flat[j],), inputs, retain_graph=True,
                                   create_graph=create_graph)
                for k, (gk, inp) in enumerate(zip(g, inputs)):
                    if gk is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is "
                                               f"independent of input {k}. This is not allowed "
                                               "in strict mode.")
                        gk = _creation.zeros_like(inp)
                    rows[k].append(gk)
            jac_i = []
            for k, inp in enumerate(inputs):
                if rows[k]:
                    from ..ops.shape import stack

                    block = stack(rows[k]).reshape(*out.shape, *inp.shape)
                else:
                    block = _creation.zeros(*out.shape, *inp.shape, dtype=inp.dtype)
                jac_i.append(block)
            jac.append(tuple(jac_i))
    jac = _post(tuple(jac), create_graph)
    return _unpack(jac, (is_outputs_tuple, is_inputs_tuple))


def _check_forward_mode(create_graph, strict, vectorize):
    """torch's refusals for ``strategy='forward-mode'``; what it accepts is computed by
    reverse mode (the same Jacobian; forward mode would only order the work differently)."""
    if create_graph:
        raise NotImplementedError("torch.autograd.functional.jacobian: `create_graph=True` and "
                                  '`strategy="forward-mode"` are not supported together (yet). '
                                  "Please either set `create_graph=False` or "
                                  '`strategy="reverse-mode"`.')
    if strict:
        raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                           '`strategy="forward-mode"` are not supported together (yet). Please '
                           'either set `strict=False` or `strategy="reverse-mode"`.')
    if not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse "
                                  "Hessian isonly implemented for `vectorize=True`.")


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar ``func``: ``H[i][j]`` of shape ``in_i.shape + in_j.shape``."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def single_output(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_outputs(t_out, strict)
        if is_out_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should "
                               "contain a single element")
        return out.squeeze()

    def jac_func(*inp):
        jac = jacobian(single_output, inp, create_graph=True)
        if strict:
            for i, j in enumerate(jac):
                if not j.requires_grad:
                    raise RuntimeError(_JACOBIAN_INDEPENDENT.format(i=i))
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _unpack(res, (is_inputs_tuple, is_inputs_tuple))


def _second_order(name, func, inputs, v, create_graph, strict, trick):
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", name)
        inputs = _prep(inputs, create_graph, need_graph=True)
        if v is not None:
            _, v = _as_tuple(v, "v", name)
            v = _prep(v, create_graph, need_graph=False)
            _validate_v(v, inputs, is_inputs_tuple)
        elif len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        is_outputs_tuple, outputs = _as_tuple(func(*inputs),
                                              "outputs of the user-provided function", name)
        _check_outputs(outputs, strict)
        if is_outputs_tuple or not isinstance(outputs[0], _tensor.Tensor):
            raise RuntimeError(f"The function given to {name} should return a single Tensor")
        if outputs[0].numel() != 1:
            raise RuntimeError(f"The Tensor returned by the function given to {name} should "
                               "contain a single element")
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        if strict:
            for i, j in enumerate(jac):
                if j is None:
                    raise RuntimeError(f"The output of the user-provided function is "
                                       f"independent of input {i}. This is not allowed in "
                                       "strict mode.")
                if not j.requires_grad:
                    raise RuntimeError(_JACOBIAN_INDEPENDENT.format(i=i))
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        if not trick:  # vhp: v^T H = d(v . grad)/dx
            res = _autograd_grad(jac, inputs, v, create_graph=create_graph)
            res = _fill_in_zeros(res, inputs, strict, create_graph, "double_back")
        else:  # hvp: H v through the double-backward trick
            with enable_grad():
                grad_jac = tuple(_creation.zeros_like(x, requires_grad=True) for x in inputs)
                double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True)
            res = _autograd_grad(double_back, grad_jac, v, create_graph=create_graph)
            res = _fill_in_zeros(res, inputs, strict, create_graph, "double_back_trick")
    return (_unpack(_post(outputs, create_graph), False),
            _unpack(_post(res, create_graph), is_inputs_tuple))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar ``func``."""
    return _second_order("vhp", func, inputs, v, create_graph, strict, trick=False)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar ``func``."""
    return _second_order("hvp", func, inputs, v, create_graph, strict, trick=True)
