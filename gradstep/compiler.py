"""``torch.compiler``: gradstep runs eagerly, so nothing is ever being compiled.

Library code asks ``torch.compiler.is_compiling()`` to skip work under tracing, and marks
functions ``@torch.compiler.disable``: here the answers are False and the function itself.
The settings (``set_stance``, ``set_default_backend``, ``config``) are kept with torch's
argument checks and change nothing.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import types

__all__ = ["compile", "config", "assume_constant_result", "reset", "allow_in_graph",
           "substitute_in_graph", "list_backends", "disable", "set_default_backend",
           "get_default_backend", "set_stance", "set_enable_guard_collectives",
           "cudagraph_mark_step_begin", "wrap_numpy", "is_compiling", "is_dynamo_compiling",
           "is_exporting", "nested_compile_region"]

# torch 2.13's registered backends and their tags (list_backends leaves out the tagged ones)
_DEBUG = ("eager", "eager_noexcept", "pre_dispatch_eager", "eager_debug", "ts",
          "invoke_subgraph", "aot_eager", "aot_eager_default_partitioner",
          "aot_eager_decomp_partition", "aot_eager_decomp_partition_with_mode",
          "aot_eager_decomp_partition_crossref", "aot_ts", "relu_compile_error_TESTING_ONLY",
          "relu_runtime_error_TESTING_ONLY", "relu_accuracy_error_TESTING_ONLY",
          "non_leaf_compile_error_TESTING_ONLY", "dynamo_minifier_backend",
          "dynamo_accuracy_minifier_backend")
_TAGS = {**{n: ("debug",) for n in _DEBUG}, "cudagraphs": (), "inductor": (),
         "openxla_eval": ("experimental",), "openxla": (), "tvm": ()}
_state = {"backend": "inductor", "stance": "default"}

config = types.ModuleType(__name__ + ".config", "torch.compiler.config: kept, unused.")
config.__dict__.update(
    job_id=None, pgo_extra_read_key=None, pgo_extra_write_key=None, cache_key_tag="",
    force_disable_caches=False, dynamic_sources="", dynamic_values="", unbacked_sources="",
    force_cudagraph_gc=False, dynamic_shapes=True, assume_static_by_default=True,
    automatic_dynamic_shapes=True, recompile_limit=8, accumulated_recompile_limit=256,
    verbose=False, capture_scalar_outputs=False, capture_dynamic_output_shape_ops=False,
    log_file_name=None, fail_on_recompile_limit_hit=False,
    allow_unspec_int_on_nn_module=False, skip_tensor_guards_with_matching_dict_tags=True,
    enable_cpp_symbolic_shape_guards=False, wrap_top_frame=False,
    reorderable_logging_functions=set())
sys.modules[config.__name__] = config
__path__: list = []  # a package to the import system, so `import torch.compiler.config` works


def compile(*args, **kwargs):  # noqa: A001 - torch's name
    from ._runtime import compile as _compile

    return _compile(*args, **kwargs)


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
    if not callable(fn) and not isinstance(fn, (list, tuple)):
        raise AssertionError("allow_in_graph expects a callable")
    return fn


def assume_constant_result(fn):
    return fn


def cudagraph_mark_step_begin() -> None:
    pass


def set_enable_guard_collectives(enabled: bool) -> bool:
    """Returns the previous setting, as torch's (always False here)."""
    return False


def list_backends(exclude_tags=("debug", "experimental")) -> list[str]:
    skip = set(exclude_tags or ())
    return sorted(n for n, tags in _TAGS.items() if not skip.intersection(tags))


def set_default_backend(backend) -> None:
    if backend is not None and not isinstance(backend, str) and not callable(backend):
        raise TypeError(f"backend must be a string or callable, got {type(backend)}")
    _state["backend"] = "inductor" if backend is None else backend


def get_default_backend():
    return _state["backend"]


class set_stance(contextlib.ContextDecorator):  # noqa: N801 - torch's name
    """``torch.compiler.set_stance``: takes effect when called, and as a context manager or
    decorator restores the previous stance afterwards. gradstep is eager under every stance."""

    def __init__(self, stance="default", *, skip_guard_eval_unsafe=False, force_backend=None):
        if force_backend is not None and stance != "default":
            raise RuntimeError("non-default stance cannot have force_backend set")
        self.stance, self.prev = stance, _state["stance"]
        _state["stance"] = stance

    def __enter__(self):
        _state["stance"] = self.stance
        return self

    def __exit__(self, *exc):
        _state["stance"] = self.prev
        return False


def substitute_in_graph(original_fn, *, can_constant_fold_through=False,
                        skip_signature_check=False):
    """Checks the polyfill's signature against the original's, as torch's, and returns it."""
    if not callable(original_fn):
        raise TypeError(f"substitute_in_graph expects a function but got {type(original_fn)!r}")

    def wrapper(fn):
        if not skip_signature_check:
            try:
                want = inspect.signature(original_fn)
            except ValueError:
                want = None
            got = inspect.signature(fn)
            if want is not None and want != got:
                raise TypeError(f"Signature mismatch between {original_fn} and {fn}: "
                                f"{want} != {got}")
        return fn

    return wrapper


def wrap_numpy(fn):
    """Tensors in, NumPy arrays to ``fn``, arrays out back as tensors (eagerly)."""
    from ._tensor import Tensor
    from .utils._pytree import tree_map

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        import numpy as np

        from . import as_tensor

        args, kwargs = tree_map(lambda x: x.numpy() if isinstance(x, Tensor) else x,
                                (args, kwargs))
        out = fn(*args, **kwargs)
        return tree_map(lambda x: as_tensor(x) if isinstance(x, np.ndarray) else x, out)

    return wrapped


def nested_compile_region(fn=None, options=None):
    """A region compiled once and reused: eagerly, the function itself."""
    if fn is None:
        return lambda f: f
    return fn
