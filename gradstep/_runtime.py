"""Process-wide settings torch keeps in its C++ context: threads, matmul precision,
determinism, and ``compile``.

``set_num_threads`` is real: it sets the thread count of the BLAS NumPy loaded (via
threadpoolctl), which is where gradstep's large matmuls and convolutions run, and
``get_num_threads`` reads it back. Matmul precision and deterministic-algorithm
flags are validated and remembered like torch's; they change nothing, because
gradstep's float32 matmuls are always full float32 (torch's 'highest') and its ops
are deterministic. ``compile`` returns the model or function unchanged: gradstep is
eager only.
"""

from __future__ import annotations

import functools
import os

_state = {"precision": "highest", "deterministic": False, "warn_only": False, "interop": None}
_PRECISIONS = ("highest", "high", "medium")
_COMPILE_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs",
                  "max-autotune")


# ---------------------------------------------------------------- threads
@functools.lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _blas():
    """The BLAS libraries NumPy loaded (all BLAS libraries if none can be told apart as NumPy's).

    Other libraries in the process (SciPy's own OpenBLAS, a real torch's) are left alone.
    """
    import numpy

    blas = _controller().select(user_api="blas")
    root = os.path.dirname(numpy.__file__)  # .../numpy, and the wheel's .../numpy.libs
    mine = [lib["filepath"] for lib in blas.info() if lib["filepath"].startswith(root)]
    return blas.select(filepath=mine) if mine else blas


def _check_positive(name, n):
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"{name} expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{name} expects a positive integer")


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in the BLAS (matmul, linear layers, convolutions).

    gradstep's own pool for large elementwise work keeps its count (``GRADSTEP_NUM_THREADS``,
    else ``OMP_NUM_THREADS``, else the cores): see ``gradstep._parallel``.
    """
    _check_positive("set_num_threads", n)
    _blas().limit(limits=n)


def get_num_threads() -> int:
    """The BLAS's thread count (the largest, if several BLAS libraries are loaded)."""
    counts = [lib["num_threads"] for lib in _blas().info()]
    return max(counts) if counts else 1


def set_num_interop_threads(n: int) -> None:
    """Accepted and remembered: gradstep runs independent ops one after another."""
    _check_positive("set_num_interop_threads", n)
    _state["interop"] = n


def get_num_interop_threads() -> int:
    return _state["interop"] or get_num_threads()


# ---------------------------------------------------------------- precision and determinism
def set_float32_matmul_precision(precision: str) -> None:
    """'highest', 'high' or 'medium'; gradstep computes float32 matmuls in float32 whatever it is."""
    if not isinstance(precision, str):
        raise RuntimeError(f"set_float32_matmul_precision expects a str, but got "
                           f"{type(precision).__name__}")
    if precision not in _PRECISIONS:
        import warnings

        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "set_float32_matmul_precision call has no effect.", UserWarning, stacklevel=2)
        return
    _state["precision"] = precision


def get_float32_matmul_precision() -> str:
    return _state["precision"]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Remembered for ``are_deterministic_algorithms_enabled``; gradstep's ops are deterministic."""
    for name, v in (("mode", mode), ("warn_only", warn_only)):
        if not isinstance(v, bool):
            raise TypeError(f"use_deterministic_algorithms(): argument '{name}' must be bool, "
                            f"not {type(v).__name__}")
    _state["deterministic"], _state["warn_only"] = mode, warn_only


def are_deterministic_algorithms_enabled() -> bool:
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _state["warn_only"]


# ---------------------------------------------------------------- compile
def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,  # noqa: A001
            options=None, disable=False):
    """``torch.compile``: checks its arguments as torch does; a function comes back unchanged
    and a module wrapped in torch's ``OptimizedModule`` (``_orig_mod``), which runs it as it is.

    gradstep runs eagerly, so there is no graph to compile; ``@torch.compile`` and
    ``@torch.compile(mode=...)`` both work as decorators.
    """
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified "
                           "at the same time.")
    if mode is not None and mode not in _COMPILE_MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: "
                           f"{', '.join(_COMPILE_MODES)}")
    if model is None:
        return lambda fn: compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                  mode=mode, options=options, disable=disable)
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    from .nn.modules.module import Module

    if isinstance(model, Module) and not disable:  # torch's wrapper, run eagerly
        from ._dynamo.eval_frame import OptimizedModule

        return OptimizedModule(model)
    return model


# ---------------------------------------------------------------- CPU and process setup
def init_num_threads() -> None:
    """Nothing to do: torch initialises its OpenMP pool here; the BLAS keeps its own threads
    (``set_num_threads``)."""


_MXCSR_FLUSH = 0x8040  # SSE's flush-to-zero (bit 15) and denormals-are-zero (bit 6)
_MXCSR_MASKS = 0x1F80  # the exception masks, all set in any normal floating-point environment


def _libm():
    import ctypes
    import platform
    import sys

    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None
    try:
        return ctypes.CDLL("libm.so.6")
    except OSError:
        return None


def set_flush_denormal(mode: bool) -> bool:
    """Flush denormal floats to zero (``mode`` True) or stop (False), in the calling thread,
    as torch does on x86: the SSE control register's FTZ and DAZ bits, through glibc's
    ``fegetenv``/``fesetenv`` (x86-64 ``fenv_t`` keeps MXCSR in its last 4 bytes). Returns
    True when set; False where that is not available (not x86-64 Linux), as torch returns
    False on processors without the flags."""
    if not isinstance(mode, bool):
        raise TypeError(f"set_flush_denormal(): argument 'mode' (position 1) must be bool, not "
                        f"{type(mode).__name__}")
    import ctypes

    libm = _libm()
    if libm is None:
        return False
    env = ctypes.create_string_buffer(32)
    if libm.fegetenv(env) != 0:
        return False
    mxcsr = int.from_bytes(env.raw[28:32], "little")
    if mxcsr & _MXCSR_MASKS != _MXCSR_MASKS:  # not the layout we expect: leave it alone
        return False
    mxcsr = mxcsr | _MXCSR_FLUSH if mode else mxcsr & ~_MXCSR_FLUSH
    raw = bytearray(env.raw)
    raw[28:32] = mxcsr.to_bytes(4, "little")
    return libm.fesetenv(ctypes.create_string_buffer(bytes(raw), 32)) == 0


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn autograd's anomaly detection on or off (``torch.autograd.set_detect_anomaly``
    without the context manager and its warning)."""
    from .autograd.anomaly_mode import _AnomalyState

    _AnomalyState.enabled = bool(enabled)
    _AnomalyState.check_nan = bool(check_nan)


def prepare_multiprocessing_environment(path: str) -> None:
    """Nothing to prepare: torch starts its shared-memory manager for ``path`` here; gradstep
    shares memory through anonymous maps inherited by forked processes (``Tensor.share_memory_``)."""
