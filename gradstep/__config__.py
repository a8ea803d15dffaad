"""``torch.__config__``: how this build was made, as scripts print it at start-up.

gradstep has no C++ build: it reports the Python, NumPy and BLAS it runs on, and the
thread counts its BLAS and its own elementwise pool use."""

from __future__ import annotations

import os
import platform


def _blas_libraries():
    from ._runtime import _controller

    return [(info.get("internal_api", "?"), info.get("version") or "?",
             info.get("num_threads", "?")) for info in _controller().info()
            if info.get("user_api") == "blas"]


def show() -> str:
    """A description of what gradstep runs on (torch: its build configuration)."""
    import numpy

    from .version import gradstep_version, torch_api

    lines = [f"gradstep {gradstep_version} (torch {torch_api} API), pure Python:",
             f"  - Python {platform.python_version()} ({platform.python_implementation()})",
             f"  - NumPy {numpy.__version__}"]
    lines += [f"  - BLAS: {name} {version}" for name, version, _ in _blas_libraries()]
    lines += ["  - CPU only: no CUDA, cuDNN, MKL-DNN or OpenMP build options"]
    return "\n".join(lines) + "\n"


def parallel_info() -> str:
    """Thread counts (torch: ATen's parallel settings)."""
    from ._runtime import get_num_interop_threads, get_num_threads

    lines = ["gradstep parallel settings:",
             f"\tget_num_threads() : {get_num_threads()}",
             f"\tget_num_interop_threads() : {get_num_interop_threads()}"]
    lines += [f"{name} {version}\n\tthreads : {n}" for name, version, n in _blas_libraries()]
    lines += [f"os.cpu_count() : {os.cpu_count()}", "Environment variables:"]
    lines += [f"\t{var} : {os.environ.get(var, '[not set]')}"
              for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")]
    return "\n".join(lines) + "\n"
