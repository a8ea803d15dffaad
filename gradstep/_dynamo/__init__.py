"""``torch._dynamo``: what training scripts touch of torch's graph compiler, which gradstep
does not have (it runs eagerly): ``config`` flags to set, ``reset``, ``disable``,
``is_compiling``, ``explain``-free."""

from __future__ import annotations

import types

from ..compiler import allow_in_graph, disable, is_compiling, reset  # noqa: F401
from .eval_frame import OptimizedModule  # noqa: F401

# flags scripts set (torch._dynamo.config.suppress_errors = True); remembered, nothing to change
config = types.SimpleNamespace(suppress_errors=False, cache_size_limit=8, verbose=False,
                               optimize_ddp=True, capture_scalar_outputs=False,
                               automatic_dynamic_shapes=True, recompile_limit=8)


def optimize(*args, **kwargs):
    """``torch._dynamo.optimize(backend)``: a decorator that leaves the function as it is."""
    return lambda fn: fn
