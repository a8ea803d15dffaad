"""When torch's ``conv_transpose1d/2d/3d`` give an empty output rather than raise.

A transposed convolution whose output has a size of 0 is valid to torch's generic checks,
but only its oneDNN (mkldnn) kernels accept it: the native kernels raise "Output size is too
small". Which kernel runs is torch's heuristic, reproduced here so that the same call
succeeds or fails in both libraries (a compatibility shim: nothing else depends on it).
"""

from __future__ import annotations

import math

_ONEDNN_DTYPES = ("float32", "bfloat16")  # bfloat16: where the CPU has bf16 support, as here


def allows_empty(x, kernel, groups, stride, output_padding):
    """Whether torch picks oneDNN for ``x`` (N, C, *spatial) and a kernel whose last two
    sizes are ``kernel`` (1-D: kh = 1), with ``stride`` and ``output_padding`` per dim.

    torch's ``use_mkldnn``: not for an output padding as large as its stride in any dim
    ("big", which oneDNN cannot express); a float32 input, worth it unless a 1x1,
    unstrided, undilated kernel on a small batch runs single-threaded (taken as
    multi-threaded here), and not on a small problem: one group, a kernel of at most 3 in
    a dim, a batch of 1, at most 20480 input elements.
    """
    if x.dtype.name not in _ONEDNN_DTYPES:
        return False
    if any(op >= s for op, s in zip(output_padding, stride)):
        return False
    kh, kw = kernel
    # torch multiplies the first four sizes (a 1-D input viewed as (N, C, 1, L))
    return (groups > 1 or (kh > 3 and kw > 3) or x.shape[0] > 1
            or math.prod(x.shape[:4]) > 20480)
