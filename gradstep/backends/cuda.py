"""``torch.backends.cuda``: not built; ``matmul.allow_tf32`` and the SDPA switches are settable."""

from __future__ import annotations

import contextlib
import warnings


class _Matmul:
    """``torch.backends.cuda.matmul``: precision flags for cuBLAS, kept and ignored."""

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _Matmul()
_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True, "overrideable": True}


def is_built() -> bool:
    return False


def _getter(kind):
    def enabled() -> bool:
        return _sdp[kind]
    enabled.__name__ = f"{kind}_sdp_enabled"
    return enabled


def _setter(kind):
    def enable(enabled: bool) -> None:
        _sdp[kind] = bool(enabled)
    enable.__name__ = f"enable_{kind}_sdp"
    return enable


flash_sdp_enabled, enable_flash_sdp = _getter("flash"), _setter("flash")
mem_efficient_sdp_enabled, enable_mem_efficient_sdp = _getter("mem_efficient"), _setter("mem_efficient")
math_sdp_enabled, enable_math_sdp = _getter("math"), _setter("math")
cudnn_sdp_enabled, enable_cudnn_sdp = _getter("cudnn"), _setter("cudnn")


_SDP_KERNEL_DEPRECATED = (
    "`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager will be "
    "removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context manager, with "
    "updated signature.")


def _sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True, enable_cudnn=True):
    """The old context manager choosing attention kernels; gradstep has one (the math one).

    torch wraps it in ``@deprecated(..., category=FutureWarning)`` under ``@contextmanager``, so
    the warning comes when it is called and names contextlib's line (stacklevel 2 from here)."""
    warnings.warn(_SDP_KERNEL_DEPRECATED, FutureWarning, stacklevel=2)
    return _sdp_kernel_body(enable_flash, enable_math, enable_mem_efficient, enable_cudnn)


sdp_kernel = contextlib.contextmanager(_sdp_kernel)
sdp_kernel.__name__ = sdp_kernel.__qualname__ = "sdp_kernel"


def _sdp_kernel_body(enable_flash, enable_math, enable_mem_efficient, enable_cudnn):
    old = dict(_sdp)
    _sdp.update(flash=enable_flash, math=enable_math, mem_efficient=enable_mem_efficient,
                cudnn=enable_cudnn)
    try:
        yield
    finally:
        _sdp.update(old)
