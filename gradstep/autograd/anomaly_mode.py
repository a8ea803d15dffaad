"""Anomaly detection for autograd (torch.autograd.detect_anomaly / set_detect_anomaly).

While the mode is on:

* every op records where it was created (a short traceback of the forward call);
* in backward, every gradient a node produces is checked for NaN (not infinity, as torch);
  the first bad one raises ``RuntimeError("Function 'LogBackward0' returned nan
  values in its 0th output.")`` and the error carries the forward traceback of
  the node that produced it, so the user sees which line of *their* code made it;
* an exception raised inside a node's backward is preceded by a warning that
  shows the node's forward traceback, as torch does.

It slows every op down (a traceback per op): a debugging tool, off by default.
The engine and ``Node.apply`` look at ``_AnomalyState.enabled`` only (one
attribute read per op when off).

As in torch, the mode is one switch for the whole process (torch's ``AnomalyMode`` is a
static flag, not thread-local state; unlike grad mode): turning it on in one thread turns
it on in every thread. The private ``forward_check`` hook is per thread.
"""

from __future__ import annotations

import threading
import traceback
import warnings

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled"]

_ENABLE_WARNING = ("Anomaly Detection has been enabled. This mode will increase the runtime and should "
                   "only be enabled for debugging.")
_NO_TRACE = ("No forward pass information available. Enable detect anomaly during forward pass for "
             "more information.")
_TRACE_LIMIT = 12  # frames kept per node: enough to reach the user's line from any op


class _AnomalyState:
    enabled = False
    check_nan = True


class _AnomalyLocal(threading.local):
    # Private: a callable ``check(node, inputs, out_array)`` called after every op's forward in
    # this thread while anomaly mode is on (gradstep.doctor uses it to find the op that first
    # made a NaN; per thread, so a re-run in one thread does not see another thread's ops).
    forward_check = None
    # Private: also flag infinite gradients (torch flags NaN only). The doctor's re-run sets it
    # to name the op where a gradient first stopped being finite (sqrt at 0 makes inf, which
    # only a later op turns into NaN).
    check_inf = False


_anomaly_local = _AnomalyLocal()


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    return _AnomalyState.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection also checks backward outputs for NaN."""
    return _AnomalyState.check_nan


class detect_anomaly:
    """Context manager that turns anomaly detection on inside its block.

    ``check_nan=False`` keeps the forward tracebacks but skips the NaN checks.
    """

    def __init__(self, check_nan=True):
        self.check_nan = bool(check_nan)
        self._prev = _AnomalyState.enabled
        self._prev_check_nan = _AnomalyState.check_nan
        warnings.warn(_ENABLE_WARNING, UserWarning, stacklevel=2)

    def __enter__(self):
        self._prev = _AnomalyState.enabled
        self._prev_check_nan = _AnomalyState.check_nan
        _AnomalyState.enabled = True
        _AnomalyState.check_nan = self.check_nan
        return self

    def __exit__(self, *exc):
        _AnomalyState.enabled = self._prev
        _AnomalyState.check_nan = self._prev_check_nan
        return False


class set_detect_anomaly:
    """Set anomaly detection on or off; takes effect at once, and restores on leaving a ``with``."""

    def __init__(self, mode, check_nan=True):
        self._prev = _AnomalyState.enabled
        self._prev_check_nan = _AnomalyState.check_nan
        _AnomalyState.enabled = bool(mode)
        _AnomalyState.check_nan = bool(check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _AnomalyState.enabled = self._prev
        _AnomalyState.check_nan = self._prev_check_nan
        return False


# ---------------------------------------------------------------- hooks called by the engine
def on_forward(node, inputs, out):
    """Called by ``Node.apply`` after ``forward`` when the mode is on: remember where ``node`` was made."""
    node._anomaly_trace = traceback.extract_stack(limit=_TRACE_LIMIT + 2)[:-2]
    check = _anomaly_local.forward_check
    if check is not None:
        check(node, inputs, out)


def forward_trace(node):
    """The forward traceback recorded for ``node`` as text, or torch's note that there is none."""
    trace = getattr(node, "_anomaly_trace", None)
    if trace is None:
        return _NO_TRACE
    return "".join(traceback.format_list(trace)).rstrip()


def run_backward(node, grads):
    """``node._run_backward(grads)`` with the anomaly checks: warn with the trace on error, check outputs."""
    try:
        in_grads = node._run_backward(grads)
    except Exception:
        _warn_trace(node)
        raise
    if _AnomalyState.check_nan:
        _check_outputs(node, in_grads)
    return in_grads


def _warn_trace(node):
    warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n"
                  f"{forward_trace(node)}", UserWarning, stacklevel=4)


def _check_outputs(node, in_grads):
    from ..backend import is_float_array, xp

    edges = node._next
    for i, g in enumerate(in_grads):
        if g is None or i >= len(edges) or edges[i] is None:
            continue
        data = g._data
        if not (is_float_array(data) or data.dtype.kind == "c"):
            continue
        # NaN only, as torch: an infinite gradient (sqrt at 0) is a value, not an anomaly
        kind = "nan" if xp.isnan(data).any() else None
        if kind is None and _anomaly_local.check_inf and xp.isinf(data).any():
            kind = "inf"
        if kind is None:
            continue
        _warn_trace(node)
        raise RuntimeError(
            f"Function '{node.name()}' returned {kind} values in its {i}th output.\n"
            f"Traceback of forward call that caused the error:\n{forward_trace(node)}"
        )
