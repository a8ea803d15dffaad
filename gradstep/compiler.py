"""``torch.compiler``: gradstep runs eagerly, so nothing is ever being compiled.

Library code asks ``torch.compiler.is_compiling()`` to skip work under tracing, and marks
functions ``@torch.compiler.disable``: here the answers are False and the function itself.
"""

from __future__ import annotations

__all__ = ["is_compiling", "is_dynamo_compiling", "is_exporting", "disable", "reset",
           "allow_in_graph", "assume_constant_result", "cudagraph_mark_step_begin"]


def is_compiling() -> bool:
    return False


is_dynamo_compiling = is_exporting = is_compiling


def disable(fn=None, recursive=True, *, reason=None):
    """``@torch.compiler.disable`` (also with arguments): the function unchanged."""
    if fn is None:
        return lambda f: f
    return fn


def reset() -> None:
    pass


def allow_in_graph(fn):
    return fn


def assume_constant_result(fn):
    return fn


def cudagraph_mark_step_begin() -> None:
    pass
