"""Where a non-finite value came from: the doctor's two re-runs under anomaly mode.

``anomaly_backward`` runs a retained backward again to name the op whose gradient first
went non-finite; ``rerun_forward`` runs the model's last forward again with a check after
every op and module. Both leave the user's run as it was (RNG, buffers, hooks restored).
"""

from __future__ import annotations

import os
import warnings

from .._tensor import Tensor
from ..autograd import anomaly_mode
from ..autograd.anomaly_mode import _anomaly_local, set_detect_anomaly
from ..autograd.grad_mode import enable_grad
from ..random import get_rng_state, set_rng_state
from .checks import is_finite_array


def anomaly_backward(loss, gradient):
    """Run ``loss``'s (retained) backward again under anomaly mode; the op it names, or ''."""
    from ..autograd import grad

    leaves = _graph_leaves(loss)
    if not leaves:
        return ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _anomaly_local.check_inf = True  # the first op whose gradient is not finite
        try:
            with set_detect_anomaly(True), enable_grad():
                grad([loss], leaves, [gradient] if gradient is not None else None,
                     retain_graph=True, allow_unused=True)
        except RuntimeError as e:
            return str(e).splitlines()[0]
        finally:
            _anomaly_local.check_inf = False
    return ""


def _graph_leaves(tensor):
    leaves, seen, stack = [], set(), [tensor.grad_fn]
    while stack:
        node = stack.pop()
        for e in node._next:
            if e is None or e[0] in seen:
                continue
            seen.add(e[0])
            if type(e[0]).__name__ == "AccumulateGrad":
                leaves.append(e[0].variable)
            else:
                stack.append(e[0])
    return leaves


def rerun_forward(model, args, kwargs):
    """Run ``model(*args, **kwargs)`` again with a check after every op and module.

    Returns what it found: ``op`` (the first graph op whose inputs are finite but output
    is not), ``line`` (the user's line that called it), ``module`` (the first module, in
    completion order, with a non-finite output). The RNG and every buffer (BatchNorm
    statistics) are restored, so the user's run is unchanged.
    """
    found = {}
    names = {id(m): n or type(m).__name__ for n, m in model.named_modules()}

    def check_op(node, inputs, out):
        if "op" in found or out is None or is_finite_array(out):
            return
        if all(is_finite_array(t._data) for t in inputs):
            found["op"] = node.name()
            line = _user_line(getattr(node, "_anomaly_trace", None))
            if line:
                found["line"] = line

    def check_module(module, inputs, out):
        if "module" not in found and isinstance(out, Tensor) and not is_finite_array(out._data):
            found["module"] = f"{names[id(module)]} ({type(module).__name__})"

    rng = get_rng_state()
    buffers = [(b, b._data.copy()) for b in model.buffers()]
    handles = [m.register_forward_hook(check_module) for m in model.modules()]
    previous = _anomaly_local.forward_check
    _anomaly_local.forward_check = check_op
    try:
        with set_detect_anomaly(True), enable_grad():
            model(*args, **kwargs)
    except Exception as e:  # the re-run is a diagnostic: never let it break the user's run
        found.setdefault("op", f"(the re-run raised {type(e).__name__}: {e})")
    finally:
        _anomaly_local.forward_check = previous
        for h in handles:
            h.remove()
        for b, data in buffers:
            b._data[...] = data
        set_rng_state(rng)
    return found


def _user_line(trace):
    """The innermost frame of ``trace`` outside gradstep's own files: ``file:line in func``."""
    if not trace:
        return ""
    package = os.path.dirname(os.path.dirname(os.path.abspath(anomaly_mode.__file__)))
    doctor_dir = os.path.join(package, "doctor")
    frames = list(trace)
    for i in range(len(frames) - 1, -1, -1):  # only frames below the doctor's own re-run
        if os.path.abspath(frames[i].filename).startswith(doctor_dir):
            frames = frames[i + 1:]
            break
    for f in reversed(frames):
        if not os.path.abspath(f.filename).startswith(package):
            code = (f.line or "").strip()
            return f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" + (f": {code}" if code else "")
    return ""
