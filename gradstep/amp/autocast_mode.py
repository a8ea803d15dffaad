"""``torch.autocast``: mixed precision regions, and the ``torch.*autocast*`` state functions.

Only CPU autocast changes anything in gradstep: ops on torch's CPU lists cast their
inputs (see ``amp/_policy.py``). ``device_type='cuda'`` behaves as torch does on a
machine without a GPU: a warning, then a disabled (no-op) region.
"""

from __future__ import annotations

import collections.abc
import functools
import warnings

from .. import backend as B
from ._policy import STATE

__all__ = ["autocast_decorator", "autocast", "is_autocast_available", "custom_fwd", "custom_bwd"]

# the device strings torch's parser accepts, and which of them have autocast (and its default)
_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                 "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                 "privateuseone")
_DEFAULT_DTYPES = {"cpu": B.bfloat16, "cuda": B.float16, "xpu": B.float16, "mps": B.float16,
                   "hpu": B.bfloat16, "mtia": B.float16, "maia": B.bfloat16, "ipu": B.float16,
                   "xla": B.bfloat16, "privateuseone": B.float16}


def _check_device(device_type):
    if device_type not in _DEVICE_TYPES:
        raise RuntimeError(
            "Expected one of " + ", ".join(_DEVICE_TYPES)
            + f" device type at start of device string: {device_type}"
        )


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast exists for ``device_type`` ('cpu', 'cuda', ...)."""
    _check_device(device_type)
    return device_type in _DEFAULT_DTYPES


# ---------------------------------------------------------------- state functions
def is_autocast_enabled(device_type=None) -> bool:
    """Autocast state of ``device_type`` in this thread; with no argument, CUDA's (as torch)."""
    device_type = "cuda" if device_type is None else device_type
    if device_type == "cpu":
        return STATE.cpu
    _check_device(device_type)
    return STATE.enabled.get(device_type, False)


def set_autocast_enabled(*args) -> None:
    """``set_autocast_enabled(device_type, enabled)`` or the older ``set_autocast_enabled(enabled)``."""
    device_type, enabled = ("cuda", args[0]) if len(args) == 1 else args
    if device_type == "cpu":
        STATE.cpu = bool(enabled)
    else:
        _check_device(device_type)
        STATE.enabled[device_type] = bool(enabled)


def get_autocast_dtype(device_type):
    if device_type == "cpu":
        return STATE.cpu_dtype
    if device_type not in _DEFAULT_DTYPES:
        _check_device(device_type)
        raise RuntimeError("unsupported scalarType")
    return STATE.dtypes.get(device_type, _DEFAULT_DTYPES[device_type])


def set_autocast_dtype(device_type, dtype) -> None:
    dtype = B.as_dtype(dtype)
    if device_type == "cpu":
        STATE.cpu_dtype = dtype
    else:
        _check_device(device_type)
        STATE.dtypes[device_type] = dtype


def is_autocast_cache_enabled() -> bool:
    return STATE.cache_enabled


def set_autocast_cache_enabled(enabled) -> None:
    STATE.cache_enabled = bool(enabled)


def autocast_increment_nesting() -> int:
    STATE.nesting += 1
    return STATE.nesting


def autocast_decrement_nesting() -> int:
    STATE.nesting -= 1
    return STATE.nesting


def clear_autocast_cache() -> None:
    """gradstep keeps no cast cache (each cast is recomputed), so there is nothing to drop."""


def _deprecated(old, new):
    warnings.warn(f"torch.{old} is deprecated. Please use torch.{new} instead.",
                  DeprecationWarning, stacklevel=3)


def is_autocast_cpu_enabled() -> bool:
    _deprecated("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return STATE.cpu


def set_autocast_cpu_enabled(enabled) -> None:
    _deprecated("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype():
    _deprecated("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return STATE.cpu_dtype


def set_autocast_cpu_dtype(dtype) -> None:
    _deprecated("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def get_autocast_gpu_dtype():
    _deprecated("get_autocast_gpu_dtype()", "get_autocast_dtype('cuda')")
    return get_autocast_dtype("cuda")


def set_autocast_gpu_dtype(dtype) -> None:
    _deprecated("set_autocast_gpu_dtype(dtype)", "set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)


# ---------------------------------------------------------------- the context manager
def autocast_decorator(autocast_instance, func):
    @functools.wraps(func)
    def decorate_autocast(*args, **kwargs):
        with autocast_instance:
            return func(*args, **kwargs)

    return decorate_autocast


class autocast:
    """Context manager / decorator for a mixed precision region (``torch.autocast``).

    ``dtype`` defaults to ``get_autocast_dtype(device_type)`` (bfloat16 on the CPU).
    The state is thread-local; ``autocast(..., enabled=False)`` nests inside an
    enabled region to run a part in full precision.
    """

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        self.device = device_type
        if not is_autocast_available(device_type):
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None else cache_enabled
        if enabled:
            if device_type == "cuda":  # gradstep has no GPU: what torch does without one
                warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.",
                              stacklevel=2)
                enabled = False
            elif self.fast_dtype not in (B.bfloat16, B.float16):
                name = device_type.upper()
                warnings.warn(
                    f"In {name} autocast, but the target dtype is not supported. Disabling "
                    f"autocast.\n{name} Autocast only supports dtypes of {B.bfloat16!r}, "
                    f"{B.float16!r} currently.", stacklevel=2)
                enabled = False
        self._enabled = enabled

    def __enter__(self):
        self.prev_cache_enabled = is_autocast_cache_enabled()
        self.prev = is_autocast_enabled(self.device)
        self.prev_fastdtype = get_autocast_dtype(self.device)
        set_autocast_enabled(self.device, self._enabled)
        set_autocast_dtype(self.device, self.fast_dtype)
        autocast_increment_nesting()
        set_autocast_cache_enabled(self._cache_enabled)
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if autocast_decrement_nesting() == 0:
            clear_autocast_cache()
        set_autocast_enabled(self.device, self.prev)
        set_autocast_dtype(self.device, self.prev_fastdtype)
        set_autocast_cache_enabled(self.prev_cache_enabled)
        return False

    def __call__(self, func):
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. "
                "Did you mean to use autocast as a context manager? For example:\n"
                "    with torch.autocast(device_type=...):\n"
                "        output = model(input)"
            )
        return autocast_decorator(self, func)


# ---------------------------------------------------------------- custom autograd functions
def _cast(value, device_type, dtype):
    """Floating tensors (not float64) in ``value`` (containers included) cast to ``dtype``."""
    from .._tensor import Tensor

    if isinstance(value, Tensor):
        eligible = value.is_floating_point() and value.device.type == device_type and \
            value.dtype is not B.float64
        return value.to(dtype) if eligible else value
    if isinstance(value, (str, bytes)) or type(value).__module__ == "numpy":
        return value
    if isinstance(value, collections.abc.Mapping):
        return {_cast(k, device_type, dtype): _cast(v, device_type, dtype)
                for k, v in value.items()}
    if isinstance(value, collections.abc.Iterable):
        it = (_cast(v, device_type, dtype) for v in value)
        return type(value)(it) if isinstance(value, (list, tuple)) else it
    return value


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """Decorator for ``forward`` of a custom ``autograd.Function`` under autocast.

    With ``cast_inputs``, inside an autocast region the floating inputs are cast to
    it and ``forward`` runs with autocast off; otherwise ``forward`` sees the current state.
    """
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        args[0]._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None:
            args[0]._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        autocast_context = is_autocast_enabled(device_type)
        args[0]._fwd_used_autocast = False
        if autocast_context:
            with autocast(device_type=device_type, enabled=False):
                return fwd(*_cast(args, device_type, cast_inputs),
                           **_cast(kwargs, device_type, cast_inputs))
        return fwd(*args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type):
    """Decorator for ``backward``: runs it with the autocast state ``forward`` had."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        with autocast(device_type=device_type, enabled=args[0]._fwd_used_autocast,
                      dtype=args[0]._dtype):
            return bwd(*args, **kwargs)

    return decorate_bwd
