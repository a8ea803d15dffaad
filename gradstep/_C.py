"""``torch._C``: torch's C extension, which gradstep does not have.

Public code probes it with ``hasattr(torch._C, "...")``; every such name is missing
here, so the probes answer False and code takes its portable path.
"""


# The few private names published code imports outright, not through a probe.
def _disabled_torch_function_impl(func, types, args=(), kwargs=None):
    """What a Tensor subclass sets as its ``__torch_function__`` to opt out of the protocol:
    call ``func`` as it is (gradstep's ops never dispatch to ``__torch_function__``)."""
    return func(*args, **(kwargs or {}))


def _get_tracing_state():
    """None: no ``torch.jit.trace`` is running (gradstep has no tracer)."""
    return None


def _log_api_usage_once(event: str) -> None:
    """torch's usage logging hook, which libraries call at import: nothing to log."""
