"""torch's one-rounding ``y += a * x`` (and ``y = a * x + b * y`` on it) from NumPy's own BLAS.

Why this exists: torch's ``y.add_(x, alpha=a)`` rounds once per element (a fused
multiply-add), and every optimizer step is a chain of such updates. NumPy has no
FMA ufunc, so ``y += x * a`` rounds twice, differs from torch in the last bit,
and costs two passes over memory on one core. The level-1 BLAS routine ``axpy``
does the same update in one FMA pass, on the BLAS's own threads, and NumPy's
wheels carry it already (OpenBLAS): no new dependency. Measured on a 2-core Zen 5
VM: 2-3.5x faster than NumPy's two passes for 64K-10M floats, and equal to
torch's ``add_(alpha=)``, ``lerp_`` and ``mul_().add_()`` bit for bit.

Only a kernel that rounds every element once is used (``_rounds_once`` probes it
on first use): OpenBLAS's AVX-512 kernel (SkylakeX and later; Zen 4/5 get it)
passes; its Haswell kernel (also Zen 2/3's) rounds the tail of each thread's
block twice, which would make results depend on array lengths and thread
counts, so there the NumPy path runs.

The library is the one NumPy loaded, found through threadpoolctl (a dependency
already), and the symbol is looked up under the names NumPy's wheels use
(``scipy_cblas_saxpy64_``: 64-bit integers) and the plain CBLAS ones (MKL, a
system OpenBLAS). When no BLAS is found, or for arrays the BLAS cannot take
(dtypes other than float32/float64, non-contiguous or partly overlapping
arrays, a zero scale, which BLAS skips where torch would still propagate a NaN
or inf), the same update runs in NumPy. The numbers then differ from torch's in
the last bit, which the documented tolerances cover.

This is the NumPy backend's fast path: with another array module in
``backend.xp`` (CuPy), ``available()`` is false and NumPy-API code runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading

import numpy as _np

from . import backend

_FLOAT_TYPES = {_np.dtype(_np.float32): "s", _np.dtype(_np.float64): "d"}
_C_SCALAR = {"s": ctypes.c_float, "d": ctypes.c_double}
_lock = threading.Lock()
_kernels = None  # {"saxpy": fn, ...} once looked up; {} when no BLAS was found
_thread_controls = []  # threadpoolctl's controller of the library the kernels come from


def _numpy_blas_controllers():
    """threadpoolctl's controllers of the BLAS libraries NumPy loaded."""
    from ._runtime import _blas

    try:
        return list(_blas().lib_controllers)
    except Exception:  # noqa: BLE001 - no BLAS introspection: use the NumPy path
        return []


def _lookup(lib, routine):
    """``routine`` ("saxpy", ...) in ``lib`` under the names BLAS builds export, with its int type."""
    for prefix in ("scipy_", ""):
        for suffix, int_type in (("64_", ctypes.c_int64), ("", ctypes.c_int)):
            fn = getattr(lib, f"{prefix}cblas_{routine}{suffix}", None)
            if fn is not None:
                return fn, int_type
    return None, None


def _find_routines(routine, argtypes, accept):
    """``routine`` ("axpy", ...) for each float type from the first of NumPy's BLAS libraries
    that has it, typed by ``argtypes(int_type, scalar_type)`` and kept where ``accept(fn, t)``
    holds; returns ``({"s"/"d": fn}, that library's controller)``."""
    for controller in _numpy_blas_controllers():
        try:
            lib = ctypes.CDLL(controller.filepath)
        except OSError:
            continue
        found = {}
        for t in "sd":
            fn, int_t = _lookup(lib, t + routine)
            if fn is None:
                continue
            fn.argtypes = argtypes(int_t, _C_SCALAR[t])
            fn.restype = None
            if accept(fn, t):
                found[t] = fn
        if found:
            return found, controller
    return {}, None


def _load():
    found, controller = _find_routines(
        "axpy", lambda i, x: [i, x, ctypes.c_void_p, i, ctypes.c_void_p, i], _rounds_once)
    if found:
        _thread_controls[:] = [controller]
    return {t + "axpy": fn for t, fn in found.items()}


def _rounds_once(axpy, t):
    """True when ``axpy`` rounds every element once (an FMA), whatever its length and position.

    Kernels differ: OpenBLAS's AVX-512 one fuses everywhere, its Haswell one (Zen 2/3
    get it too) rounds the tail of each thread's block twice. A kernel that mixes the
    two would make the numbers depend on array lengths and thread counts (the flat
    optimizer path would stop equalling the per-parameter one), so it is not used.
    The probe: ``a * x - 1`` with ``a = x = 1 + 2^-k`` is ``2^(1-k) + 2^-2k`` exactly,
    which one rounding keeps and two roundings (a tie in ``a * x``) turn into ``2^(1-k)``.
    """
    dtype, k = (_np.float32, 12) if t == "s" else (_np.float64, 27)
    a = 1.0 + 2.0**-k
    want = dtype(2.0 ** (1 - k) + 2.0 ** (-2 * k))
    for n in [*range(1, 70), 30_011]:
        x = _np.full(n, a, dtype)
        y = _np.full(n, -1.0, dtype)
        axpy(n, a, x.ctypes.data, 1, y.ctypes.data, 1)
        if not (y == want).all():
            return False
    return True


def _load_transposers():
    """``omatcopy`` (an out-of-place transposing copy), per float type, from NumPy's BLAS."""
    found, _ = _find_routines(
        "omatcopy", lambda i, x: [ctypes.c_int, ctypes.c_int, i, i, x, ctypes.c_void_p, i,
                                  ctypes.c_void_p, i], _transposes_exactly)
    return found


_ROW_MAJOR, _TRANS = 101, 112  # CBLAS's enum values


def _transposes_exactly(fn, t):
    """A probe: the copy of a small array with signed zeros, infinities and a NaN equals NumPy's."""
    a = _np.arange(-30.0, 36.0).reshape(6, 11).astype(_np.float32 if t == "s" else _np.float64)
    a[0, :4] = [-0.0, _np.inf, -_np.inf, _np.nan]
    out = _np.empty((11, 6), a.dtype)
    fn(_ROW_MAJOR, _TRANS, 6, 11, 1.0, a.ctypes.data, 11, out.ctypes.data, 6)
    return out.tobytes() == _np.ascontiguousarray(a.T).tobytes()


_transposers = None


def transposed(a):
    """``a.T`` of a 2-D array as a new C-contiguous array.

    OpenBLAS's ``omatcopy`` moves a float32/float64 matrix 2-4x faster than NumPy's
    transposing copy, whose inner loop strides across the rows: (1024, 64) in 33 against
    214 us, (32768, 64) in 1.7 against 4.1 ms (2-core Zen 5). Other arrays take NumPy's copy.
    """
    transposers = _once("_transposers", _load_transposers)
    fn = transposers.get(_FLOAT_TYPES.get(a.dtype)) if isinstance(a, _np.ndarray) else None
    if fn is None or a.ndim != 2 or not a.flags.c_contiguous or a.size == 0:
        return backend.xp.ascontiguousarray(a.T)
    rows, cols = a.shape
    out = _np.empty((cols, rows), a.dtype)
    fn(_ROW_MAJOR, _TRANS, rows, cols, 1.0, a.ctypes.data, cols, out.ctypes.data, rows)
    return out


_gemms = None
_NO_TRANS = 111


def _leading_dim(a):
    """The row stride, in elements, of a 2-D array whose rows are unit-stride; else None."""
    if a.ndim != 2:
        return None
    rows, cols = a.shape
    if cols > 1 and a.strides[1] != a.itemsize:
        return None
    if rows <= 1:
        return max(cols, 1)
    ld, rest = divmod(a.strides[0], a.itemsize)
    return ld if rest == 0 and ld >= max(cols, 1) else None


def gemm_accumulate(a, b, c):
    """``c += a @ b`` in place for 2-D arrays, as one BLAS ``gemm`` with ``beta = 1``.

    ``c`` may be any row-major window of a larger array (unit-stride rows, any row stride):
    a convolution's input gradient adds each kernel offset's product straight into a shifted
    window of one buffer (``conv_shifts``), which NumPy's ``matmul`` cannot do without a
    temporary and another pass. Arrays BLAS cannot take (other dtypes or layouts, overlap,
    no BLAS) get NumPy's ``c += a @ b``.
    """
    gemms = _once("_gemms", lambda: _find_routines("gemm", _gemm_argtypes, lambda f, t: True)[0])
    t = _FLOAT_TYPES.get(c.dtype)
    fn = gemms.get(t) if t is not None and a.dtype == b.dtype == c.dtype else None
    lds = [_leading_dim(x) for x in (a, b, c)] if fn is not None else [None]
    if fn is None or None in lds or not c.flags.writeable or 0 in a.shape + b.shape \
            or _np.may_share_memory(c, a) or _np.may_share_memory(c, b):
        c += a @ b
        return c
    (m, k), n = a.shape, b.shape[1]
    fn(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, m, n, k, 1.0, a.ctypes.data, lds[0], b.ctypes.data,
       lds[1], 1.0, c.ctypes.data, lds[2])
    return c


def _gemm_argtypes(i, x):
    return [ctypes.c_int, ctypes.c_int, ctypes.c_int, i, i, i, x, ctypes.c_void_p, i,
            ctypes.c_void_p, i, x, ctypes.c_void_p, i]


def _once(name, loader):
    """The module global ``name``: ``loader()``'s routines, looked up on first use (``{}`` with
    another array module than NumPy); tests may set the global to ``{}`` for "no BLAS"."""
    found = globals()[name]
    if found is None:
        with _lock:
            found = globals()[name]
            if found is None:
                found = globals()[name] = loader() if backend.xp is _np else {}
    return found


def _get_kernels():
    return _once("_kernels", _load)


def available() -> bool:
    """True when the fused BLAS kernels were found (NumPy backend with a CBLAS library)."""
    return bool(_get_kernels())


def _kind(x, y):
    """"s"/"d" when BLAS can update ``y`` from ``x`` in place, else None."""
    t = _FLOAT_TYPES.get(y.dtype)
    if t is None or not isinstance(x, _np.ndarray) or not isinstance(y, _np.ndarray):
        return None
    if (x.dtype != y.dtype or x.shape != y.shape or not y.flags.c_contiguous
            or not x.flags.c_contiguous or not y.flags.writeable or y.size == 0):
        return None
    if x is not y and _np.may_share_memory(x, y):
        return None  # another view of y's memory: BLAS could read elements it already wrote
    return t


def can_fuse(x, y) -> bool:
    """True when ``axpy``/``axpby`` on ``x`` and ``y`` run in the BLAS (one rounding)."""
    kernels = _kernels if _kernels is not None else _get_kernels()
    return bool(kernels) and _kind(x, y) is not None


def fusable_scale(alpha) -> bool:
    """True for a non-zero real Python number: a scale the Tensor-level fast paths may hand to
    ``axpy`` (a bool or tensor goes through the ops; zero is left to NumPy, see ``axpy``)."""
    return isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and alpha != 0


def axpy(alpha, x, y):
    """``y += alpha * x`` in place, rounded once per element when BLAS does it; returns ``y``.

    ``x`` and ``y`` are arrays of one shape; torch's ``y.add_(x, alpha=alpha)``. ``alpha`` is a
    Python number or a scalar of ``y``'s dtype (a NumPy float64 scalar would promote a float32
    product in the NumPy fallback).
    """
    kernels = _kernels if _kernels is not None else _get_kernels()
    t = _kind(x, y) if kernels and alpha != 0 else None
    if t is None:
        y += x * alpha
    else:
        kernels[t + "axpy"](y.size, float(alpha), x.ctypes.data, 1, y.ctypes.data, 1)
    return y


def axpby(alpha, x, beta, y):
    """``y <- alpha * x + beta * y`` in place, rounded like torch's ``y.mul_(beta).add_(x, alpha=alpha)``.

    ``beta * y`` is rounded first (NumPy), then ``axpy``. BLAS's own ``axpby`` is not used:
    its kernels differ in rounding order (OpenBLAS's Haswell kernel gives other last bits than
    its SkylakeX one), where the product-then-FMA order is torch's on every CPU.
    """
    y *= beta
    return axpy(alpha, x, y)


def lerp_(start, end, weight, tmp=None):
    """``start <- start + weight * (end - start)`` in place, rounded as torch's lerp kernel does.

    torch evaluates from whichever end is closer (``|weight| < 0.5``) for accuracy, as one
    fused multiply-add: ``start + weight * d`` or ``end + (weight - 1) * d``, with
    ``d = end - start`` and ``weight - 1`` rounded in float32 for float32 tensors. ``tmp``: an
    optional temporary shaped like ``start``.
    """
    xp = backend.xp
    d = xp.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        return axpy(weight, d, start)
    xp.copyto(start, end)
    minus_one = float(_np.float32(weight) - _np.float32(1)) if start.dtype == _np.float32 \
        else weight - 1
    return axpy(minus_one, d, start)


_serial = {"depth": 0, "saved": []}  # serial() blocks open in any thread, the counts to restore


@contextlib.contextmanager
def serial():
    """Run the BLAS on one thread inside the block, for callers that split the work themselves.

    The BLAS threads an ``axpy`` of more than ~10K elements. When several of our
    threads call it at once, each call waits for the BLAS's thread team in turn,
    and a 10M-parameter Adam step took twice as long (44 ms of CPU for 24 ms of
    wall time, against 12 ms on our own threads). The thread count is the
    library's, process-wide (OpenBLAS's pthreads build has no per-thread count),
    so the block should be short: one optimizer step. Blocks open at once in
    several threads share one setting: the first sets it, the last restores it.
    """
    controls = _thread_controls if _get_kernels() else []
    with _lock:
        if _serial["depth"] == 0:
            _serial["saved"] = [c.get_num_threads() for c in controls]
            for c in controls:
                c.set_num_threads(1)
        _serial["depth"] += 1
    try:
        yield
    finally:
        with _lock:
            _serial["depth"] -= 1
            if _serial["depth"] == 0:
                for c, n in zip(controls, _serial["saved"]):
                    c.set_num_threads(n)
