"""Reverse-mode automatic differentiation: ``backward``, ``grad``, ``Function``, grad modes."""

from __future__ import annotations

from collections.abc import Mapping as _Mapping

import numpy as _np

from .._warn_once import warn_once as _warn_once
from . import engine as _engine
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
    set_multithreading_enabled,
)
from .gradcheck import gradcheck, gradgradcheck
from .graph import GradientEdge as _GradientEdge
from .variable import Variable


def _as_list(x):
    """torch's reading of a tensors argument: one tensor (or edge), or any iterable of them."""
    if x is None:
        return None
    if isinstance(x, (_engine._Tensor, _GradientEdge)):
        return [x]
    return list(x)


def _inputs_list(inputs, fn_name):
    """``inputs`` as a list; a plain dict gives its values (the caller returns a dict back)."""
    if type(inputs) is dict:
        inputs = list(inputs.values())
    elif isinstance(inputs, _Mapping):
        raise TypeError(
            f"`inputs` argument to `{fn_name}()` must be a dict, not {type(inputs).__name__}. "
            "Other Mapping types are not supported.")
    else:
        inputs = _as_list(inputs)
    if not inputs:
        raise RuntimeError(f"`inputs` argument to `{fn_name}()` cannot be empty.")
    return inputs


def _make_grads(outputs, grad_outputs, create_graph):
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs is not None else None
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not out.is_floating_point():
                raise RuntimeError(
                    f"grad can be implicitly created only for real scalar outputs but got {out.dtype.name}"
                )
            d = out._data  # ones_like(out), without its argument checks
            g = _engine._Tensor._make(_np.ones(d.shape, d.dtype))
        else:
            if g.shape != out.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)} and "
                    f"output[{i}] has a shape of {tuple(out.shape)}."
                )
            if not create_graph:
                g = g.detach()
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Compute the gradients of ``tensors`` and accumulate them into the leaves' ``.grad``."""
    tensors = _as_list(tensors)
    grad_tensors = _as_list(grad_tensors)
    for t in tensors:
        if not t.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph:
        _warn_reference_cycle()
    grads = _make_grads(tensors, grad_tensors, create_graph)
    if inputs is not None:
        inputs = _inputs_list(inputs, "backward")
        res = _engine.run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs,
                                   allow_unused=True)
        for t, g in zip(inputs, res):
            if g is not None:
                t._grad = g.detach() if t._grad is None else t._grad + g.detach()
        return
    _engine.run_backward(tensors, grads, retain_graph, create_graph)


def _warn_reference_cycle():
    _warn_once(
        "create-graph-cycle",
        "Using backward() with create_graph=True will create a reference cycle between the "
        "parameter and its gradient which can cause a memory leak. We recommend using "
        "autograd.grad when creating the graph to avoid this. If you have to use this "
        "function, make sure to reset the .grad fields of your parameters to None after use "
        "to break the cycle and avoid the leak.", stacklevel=4)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return the gradients of ``outputs`` with respect to ``inputs`` (no ``.grad`` is touched)."""
    outputs = _as_list(outputs)
    keys = inputs.keys() if type(inputs) is dict else None
    inputs = _inputs_list(inputs, "grad")
    grad_outputs = _as_list(grad_outputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    for t in outputs:
        if not t.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
    grads = _make_grads(outputs, grad_outputs, create_graph)
    res = _engine.run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs,
                               allow_unused=allow_unused)
    if materialize_grads:
        from .._creation import zeros_like

        res = [zeros_like(t) if r is None else r for t, r in zip(inputs, res)]
    if not create_graph:
        res = [r.detach() if r is not None else None for r in res]
    return tuple(res) if keys is None else dict(zip(keys, res))


__all__ = [
    "Function", "FunctionCtx", "backward", "grad", "gradcheck", "gradgradcheck", "no_grad",
    "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled", "once_differentiable",
    "detect_anomaly", "set_detect_anomaly", "Variable", "set_multithreading_enabled",
]

# need grad, defined above; profiler (torch.autograd.profiler) brings torch.profiler too
from . import forward_ad, functional, graph, profiler  # noqa: E402
