"""Plain NumPy data described by a file (a torch pickle's NumPy arrays, a ``.gs`` header's arrays).

Both loaders build NumPy dtypes from type-code strings in the file and arrays
from its bytes; these helpers keep what reaches NumPy to plain numeric data.
"""

from __future__ import annotations

import re

import numpy as np

# The type codes NumPy's pickles and .gs headers write for plain numeric dtypes ('f4', '<i8', 'b1', 'c16')
# and NumPy's one-letter codes. Nothing else reaches np.dtype, whose parser raises SyntaxError on some
# strings (',', '01'), warns on deprecated ones ('a') and builds structured or subarray dtypes from others.
_NP_TYPE_CODE = re.compile(r"[<>|=]?(?:[biufc][0-9]{1,2}|[?bhilnpqBHILNPQefdgFDG])")


def plain_numpy_dtype(code):
    """The NumPy dtype a file's type code names if it is plain numeric data (bool, int, float, complex), else None."""
    if type(code) is not str or not _NP_TYPE_CODE.fullmatch(code):
        return None
    try:
        dt = np.dtype(code)
    except (TypeError, ValueError):
        return None
    return dt if dt.kind in "biufc" and dt.fields is None and dt.subdtype is None else None


def normalized_bools(arr):
    """``arr`` with every byte of a bool array made 0 or 1: NumPy bools holding 2..255 misbehave
    (``sum`` counts them as 2..255, ``~`` leaves them true), and torch writes only 0 and 1."""
    if arr.dtype.kind == "b":
        raw = arr.view(np.uint8)
        np.minimum(raw, 1, out=raw)
    return arr
