"""``torch.utils.collect_env``: the environment report that bug reports paste.

``get_env_info()`` returns torch's ``SystemEnv`` fields, filled honestly for gradstep: the
version is gradstep's torch-API version string, no CUDA/ROCm/XPU build, the Python, OS and
CPU it runs on, and the versions of the packages it uses. It runs no compilers or package
managers (torch shells out to gcc, cmake, pip, conda, nvidia-smi); those fields read
"Could not collect". ``python -m gradstep.utils.collect_env`` prints it.
"""

from __future__ import annotations

import importlib.metadata as _metadata
import os
import platform
import sys
from collections import namedtuple

__all__ = ["SystemEnv", "get_env_info", "get_pretty_env_info", "pretty_str", "main"]

SystemEnv = namedtuple("SystemEnv", [
    "torch_version", "is_debug_build", "cuda_compiled_version", "gcc_version", "clang_version",
    "cmake_version", "os", "libc_version", "python_version", "python_platform",
    "is_cuda_available", "cuda_runtime_version", "cuda_module_loading", "nvidia_driver_version",
    "nvidia_gpu_models", "cudnn_version", "is_xpu_available", "pip_version", "pip_packages",
    "conda_packages", "hip_compiled_version", "hip_runtime_version", "miopen_runtime_version",
    "caching_allocator_config", "is_xnnpack_available", "cpu_info",
])

_PACKAGES = ("gradstep", "numpy", "ml_dtypes", "threadpoolctl", "tqdm", "matplotlib", "mpi4py")

env_info_fmt = """
PyTorch version: {torch_version}
Is debug build: {is_debug_build}
CUDA used to build PyTorch: {cuda_compiled_version}
ROCM used to build PyTorch: {hip_compiled_version}

OS: {os}
GCC version: {gcc_version}
Clang version: {clang_version}
CMake version: {cmake_version}
Libc version: {libc_version}

Python version: {python_version}
Python platform: {python_platform}
Is CUDA available: {is_cuda_available}
CUDA runtime version: {cuda_runtime_version}
CUDA_MODULE_LOADING set to: {cuda_module_loading}
GPU models and configuration: {nvidia_gpu_models}
Nvidia driver version: {nvidia_driver_version}
cuDNN version: {cudnn_version}
Is XPU available: {is_xpu_available}
HIP runtime version: {hip_runtime_version}
MIOpen runtime version: {miopen_runtime_version}
Is XNNPACK available: {is_xnnpack_available}
Caching allocator config: {caching_allocator_config}

CPU:
{cpu_info}

Versions of relevant libraries:
{pip_packages}
{conda_packages}
""".strip()


def _package_lines():
    lines = []
    for name in _PACKAGES:
        try:
            lines.append(f"{name}=={_metadata.version(name)}")
        except _metadata.PackageNotFoundError:
            continue
    return "\n".join(lines)


def _os_name():
    if sys.platform.startswith("linux"):
        try:
            return platform.freedesktop_os_release().get("PRETTY_NAME", "") + f" ({platform.machine()})"
        except OSError:
            return f"Linux ({platform.machine()})"
    return f"{platform.system()} {platform.release()} ({platform.machine()})"


def get_env_info():
    """The environment as a ``SystemEnv`` (None where gradstep cannot tell)."""
    from ..version import torch_version

    libc = platform.libc_ver()
    return SystemEnv(
        torch_version=str(torch_version), is_debug_build=False, cuda_compiled_version=None,
        gcc_version=None, clang_version=None, cmake_version=None, os=_os_name(),
        libc_version="-".join(p for p in libc if p) or "N/A",
        python_version=f"{platform.python_version()} ({sys.maxsize.bit_length() + 1}-bit runtime)",
        python_platform=platform.platform(), is_cuda_available=False,
        cuda_runtime_version=None, cuda_module_loading="N/A", nvidia_driver_version=None,
        nvidia_gpu_models=None, cudnn_version=None, is_xpu_available=False,
        pip_version="pip3", pip_packages=_package_lines(), conda_packages="",
        hip_compiled_version="N/A", hip_runtime_version="N/A", miopen_runtime_version="N/A",
        caching_allocator_config=os.environ.get("PYTORCH_CUDA_ALLOC_CONF", ""),
        is_xnnpack_available=False,
        cpu_info=f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs",
    )


def pretty_str(envinfo):
    """``envinfo`` in torch's report layout: CUDA fields read "No CUDA" (no GPU build),
    bools Yes/No, None "Could not collect", package lists tagged ``[pip3]``/``[conda]``."""
    fields = envinfo._asdict()
    for key in ("cuda_runtime_version", "nvidia_gpu_models", "nvidia_driver_version",
                "cudnn_version"):
        fields[key] = "No CUDA"
    if envinfo.cuda_compiled_version is None:
        fields["cuda_compiled_version"] = "None"
    for key, value in fields.items():
        if value is None:
            fields[key] = "Could not collect"
        elif value is True:
            fields[key] = "Yes"
        elif value is False:
            fields[key] = "No"
    for key, tag in (("pip_packages", f"[{envinfo.pip_version}] "), ("conda_packages", "[conda] ")):
        text = fields[key] or "No relevant packages"
        fields[key] = "\n".join(tag + line for line in text.split("\n"))
    fields["cpu_info"] = envinfo.cpu_info
    fields["caching_allocator_config"] = envinfo.caching_allocator_config or "N/A"
    return env_info_fmt.format(**fields)


def get_pretty_env_info():
    """The environment report as one string."""
    return pretty_str(get_env_info())


def main() -> None:
    print("Collecting environment information...")
    print(get_pretty_env_info())


if __name__ == "__main__":
    main()
