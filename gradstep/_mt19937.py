"""torch's CPU random streams: mt19937 and the transforms torch's CPU kernels apply to it.

With the same seed, ``rand``, ``randn``, ``randint``, ``randperm``, ``random_``,
``uniform_``, ``normal_`` and ``bernoulli_`` (with a scalar ``p``, so ``dropout``) give
torch's numbers, so a program seeded with ``torch.manual_seed`` initializes its model,
shuffles its data and drops its units as under torch. The rules, read from torch's
headers (``ATen/core/DistributionsHelper.h``, ``TransformationHelper.h``,
``ATen/native/cpu/DistributionTemplates.h``, ``avx_mathfun.h``):

* the engine is the standard 32-bit mt19937 seeded with the seed's low 32 bits (NumPy's
  ``MT19937`` with the same key gives the same words); ``random64`` joins two words, the
  first one high;
* uniform floats take the type's mantissa bits from one word (two for float64):
  ``(w & (2**digits - 1)) * 2**-digits``, then ``x * (to - from) + from`` in float32 (in
  float64 for float64), one rounding (an FMA);
* ``randn`` of 16 or more contiguous elements fills uniforms, then Box-Muller on blocks of
  16 (``u1 = 1 - u[j]``, ``u2 = u[j + 8]``), the last 16 elements redrawn when the size is
  not a multiple of 16. float32 uses the AVX2 kernel built on ``avx_mathfun``'s ``log`` and
  ``sincos``, which ``_avx_log``/``_avx_sincos`` follow operation by operation (with the
  multiply-adds the compiler fuses), so they match to the bit on AVX2/AVX-512 machines;
  float64 uses libm, reproduced here to the bit too (see ``_libm``). Fewer than 16 or
  non-contiguous elements use the per-element Box-Muller in float64 with the second value
  of each pair cached in the generator, as torch's ``normal_distribution`` does;
* integers: ``(w % range) + low`` (``random64`` when the range is 2**28 or more);
  ``randperm`` is torch's forward Fisher-Yates over ``random() % (n - i)``;
* ``bernoulli_(p)`` (and so ``dropout``) is ``u < p`` for a float64 uniform ``u`` (float32
  when ``p`` is a float32 tensor); ``exponential_`` is ``-log1p(-u) / lambd``.

Elements are drawn in memory order, as torch's serial kernels walk a tensor.
"""

from __future__ import annotations

import math

import numpy as np

MT_N = 624
_F32 = np.float32
_F64 = np.float64
_LOW53 = np.uint64((1 << 53) - 1)
_LOW24 = np.uint64((1 << 24) - 1)


# ---------------------------------------------------------------- the engine
def seeded_key(seed: int) -> np.ndarray:
    """mt19937's ``init_genrand`` key for the low 32 bits of ``seed``."""
    key = [int(seed) & 0xFFFFFFFF]
    for j in range(1, MT_N):
        k = key[-1]
        key.append((1812433253 * (k ^ (k >> 30)) + j) & 0xFFFFFFFF)
    return np.array(key, dtype=np.uint32)


def raw32(bitgen, n: int) -> np.ndarray:
    """``n`` 32-bit words (as uint64)."""
    return bitgen.random_raw(n).astype(np.uint64, copy=False)


def raw64(bitgen, n: int) -> np.ndarray:
    """``n`` of torch's ``random64()``: two words each, the first the high half."""
    w = raw32(bitgen, 2 * n).reshape(n, 2)
    return (w[:, 0] << np.uint64(32)) | w[:, 1]


# ---------------------------------------------------------------- layout
def fill_in_memory_order(arr: np.ndarray, values: np.ndarray) -> None:
    """Write the flat ``values`` into ``arr`` in the order its elements lie in memory."""
    if arr.flags.c_contiguous:
        arr.reshape(-1)[...] = values
        return
    order = sorted(range(arr.ndim), key=lambda d: -abs(arr.strides[d]))
    view = arr.transpose(order)
    view[...] = values.reshape(view.shape)


# ---------------------------------------------------------------- uniform
_DIGITS = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}


def uniform(gen, n: int, dtype: np.dtype, low=0.0, high=1.0) -> np.ndarray:
    """``n`` values of torch's ``uniform_(low, high)`` for a floating ``dtype``."""
    if dtype == _F64:
        x = (raw64(gen._bg, n) & _LOW53).astype(_F64) * 2.0 ** -53
        lo, hi = _F64(low), _F64(high)
        return _fma(x, hi - lo, lo, _F64)
    x = (raw32(gen._bg, n) & _LOW24).astype(_F32) * _F32(2.0 ** -24)
    lo, hi = _F32(low), _F32(high)  # float32 arithmetic (opmath) for the 16-bit types too
    out = _fma(x, hi - lo, lo, _F32)
    if dtype == _F32:
        return out
    out = out.astype(dtype)
    top = np.asarray(high).astype(dtype)
    out[out == top] = np.asarray(low).astype(dtype)  # torch's clamp after rounding down
    return out


def _fma(a, b, c, dtype):
    """``a * b + c`` rounded once, for an array ``a`` and numbers ``b``, ``c``.

    float32: through float64, where the product is exact; the float64 sum's own rounding
    could only change the float32 result if it landed exactly on a float32 halfway point
    (none in the tests' millions of values). float64: in long double, and exactly
    (fractions) where the long double result lies too near a halfway point to round safely.
    """
    if dtype == _F32:
        return (a.astype(_F64) * _F64(b) + _F64(c)).astype(_F32)
    if b == 1.0 or c == 0.0:
        return a * b + c  # one rounding already
    ld = np.longdouble
    prod = a.astype(ld) * ld(b)
    wide = prod + ld(c)
    out = wide.astype(_F64)
    ulp = np.spacing(np.abs(out)).astype(ld)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.abs((wide - out.astype(ld)) / ulp)
        # long double error bound (two roundings) in ulps of the result, plus a margin
        bound = (np.abs(prod) + np.abs(wide)) * ld(2.0 ** -63) / ulp + ld(2.0 ** -10)
    hard = ~(np.abs(frac - 0.5) > bound)
    if hard.any():
        from fractions import Fraction

        fb, fc = Fraction(float(b)), Fraction(float(c))
        out[hard] = [float(Fraction(v) * fb + fc) for v in a[hard].tolist()]
    return out


# ---------------------------------------------------------------- normal
def normal(gen, arr_shape, dtype: np.dtype, mean=0.0, std=1.0, dense=True) -> np.ndarray:
    """Flat values of torch's ``normal_(mean, std)`` for an array of ``arr_shape``."""
    n = math.prod(arr_shape)
    if n >= 16 and dense:
        if dtype in (_F64, _F32):
            return _normal_fill(gen, n, dtype.type, mean, std)
        return _normal_fill(gen, n, _F32, mean, std, whole_first=False).astype(dtype)
    return _normal_serial(gen, n, mean, std).astype(dtype)


def _normal_fill(gen, n, dt, mean, std, whole_first=True):
    """torch's ``normal_fill``: float32/float64 draw a uniform for every element first; the
    16-bit types (computed in float32) draw only whole blocks before the tail's 16."""
    whole = n // 16 * 16
    u = uniform(gen, n if whole_first else whole, dt)
    out = np.empty(n, dt)
    out[:whole] = _box_muller_16(u[:whole], dt, mean, std)
    if n % 16:
        out[n - 16:] = _box_muller_16(uniform(gen, 16, dt), dt, mean, std)
    return out


_CHUNK_BLOCKS = 4096  # blocks of 16 per chunk: the float32 kernel's temporaries stay in cache


def _box_muller_16(u, dt, mean, std):
    """Box-Muller over blocks of 16 uniforms; float32 runs in chunks, on gradstep's threads
    when there are several (each chunk's numbers do not depend on the split)."""
    n_blocks = u.size // 16
    if dt != _F32 or n_blocks <= _CHUNK_BLOCKS:
        return _box_muller_blocks(u, dt, mean, std)
    from . import _parallel

    out = np.empty_like(u)
    step = _CHUNK_BLOCKS * 16

    def chunk(lo):
        out[lo:lo + step] = _box_muller_blocks(u[lo:lo + step], dt, mean, std)

    _parallel.run(chunk, [(lo,) for lo in range(0, u.size, step)])
    return out


def _box_muller_blocks(u, dt, mean, std):
    blocks = u.reshape(-1, 16)
    u1, u2 = dt(1) - blocks[:, :8], blocks[:, 8:]
    if dt == _F32:
        radius = np.sqrt(_F32(-2) * _avx_log(u1))
        s, c = _avx_sincos(_F32(2.0 * math.pi) * u2)
        pair = np.concatenate([radius * c, radius * s], axis=1).reshape(-1)
        return _fma(pair, _F32(std), _F32(mean), _F32)
    radius = np.sqrt(-2.0 * _libm(np.log, u1))
    theta = (2.0 * math.pi) * u2
    pair = np.concatenate([radius * _libm(np.cos, theta), radius * _libm(np.sin, theta)],
                          axis=1).reshape(-1)
    return _fma(pair, _F64(std), _F64(mean), _F64)


def _normal_serial(gen, n, mean, std):
    """torch's per-element ``normal_distribution<double>``: Box-Muller pairs from two
    float64 uniforms, the sine half cached in the generator for the next draw."""
    out = np.empty(n, _F64)
    i = 0
    if n and gen._next_double_normal is not None:
        out[0], gen._next_double_normal = gen._next_double_normal, None
        i = 1
    pairs = (n - i + 1) // 2
    if pairs:
        u = uniform(gen, 2 * pairs, _F64).reshape(pairs, 2)
        r = np.sqrt(-2.0 * _libm_each(math.log1p, -u[:, 1]))  # glibc's log1p: not rounded
        theta = 2.0 * math.pi * u[:, 0]
        cos, sin = r * _libm(np.cos, theta), r * _libm(np.sin, theta)
        both = np.stack([cos, sin], axis=1).reshape(-1)
        out[i:] = both[:n - i]
        if (n - i) % 2:
            gen._next_double_normal = float(sin[-1])
    return _fma(out, _F64(std), _F64(mean), _F64)


def _libm(fn, x):
    """``fn(x)`` (log, sin or cos) as glibc's double function gives it (torch calls libm).

    glibc's results are the correctly rounded ones except within about 0.015 ulp of a
    halfway point (measured: 950 differences in 900,000 values, all that close). So the
    value is computed in long double and rounded, and where that lands within 2**-5 ulp of
    a halfway point (6% of values) it is taken from Python's ``math``, which is libm.
    """
    wide = fn(x.astype(np.longdouble))
    out = wide.astype(_F64)
    ulp = np.spacing(np.abs(out)).astype(np.longdouble)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.abs((wide - out.astype(np.longdouble)) / ulp)
    hard = ~(np.abs(frac - 0.5) >= 2.0 ** -5)  # NaN included
    if hard.any():
        out[hard] = _libm_each(getattr(math, fn.__name__), x[hard])
    return out


def _libm_each(fn, x):
    """``fn`` of each value through Python's ``math`` (glibc), NaN where it raises."""
    def one(v):
        try:
            return fn(v)
        except (ValueError, OverflowError):
            return math.nan
    return np.array([one(v) for v in x.tolist()], dtype=_F64)


# avx_mathfun's Cephes-style float32 log and sincos, each step as the AVX2 kernel runs it
_LOG_P = (7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
          1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
          3.3333331174E-1)


def _fma32(a, b, c):
    """float32 ``a * b + c`` rounded once: the float64 product is exact."""
    t = np.multiply(a, b, dtype=_F64)
    np.add(t, c, out=t, dtype=_F64)
    return t.astype(_F32)


def _avx_log(x):
    x = np.maximum(x.astype(_F32), np.array(0x00800000, np.uint32).view(_F32))
    bits = x.view(np.uint32)
    e = ((bits >> np.uint32(23)).astype(np.int32) - 0x7F).astype(_F32) + _F32(1)
    x = ((bits & np.uint32(0x807FFFFF)) | np.uint32(0x3F000000)).view(_F32)
    small = x < _F32(0.707106781186547524)
    tmp = np.where(small, x, _F32(0))
    x = x - _F32(1)
    e = e - np.where(small, _F32(1), _F32(0))
    x = x + tmp
    z = x * x
    y = np.full_like(x, _F32(_LOG_P[0]))
    for p in _LOG_P[1:]:
        y = _fma32(y, x, _F32(p))
    y = y * x
    y = _fma32(y, z, e * _F32(-2.12194440e-4))
    y = _fma32(-z, _F32(0.5), y)
    return _fma32(e, _F32(0.693359375), x + y)


def _avx_sincos(x):
    x = x.astype(_F32)
    sign_sin = x.view(np.uint32) & np.uint32(0x80000000)
    x = np.abs(x)
    j = ((x * _F32(1.27323954473516)).astype(np.int32) + 1) & ~1
    y = j.astype(_F32)
    sign_sin = sign_sin ^ ((j & 4) << 29).astype(np.uint32)
    sign_cos = ((~(j - 2) & 4) << 29).astype(np.uint32)
    sine_poly = (j & 2) == 0
    for dp in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):
        x = _fma32(y, _F32(dp), x)
    z = x * x
    c = _fma32(_F32(2.443315711809948E-005), z, _F32(-1.388731625493765E-003))
    c = _fma32(c, z, _F32(4.166664568298827E-002))
    c = _fma32(c * z, z, -(z * _F32(0.5))) + _F32(1)
    s = _fma32(_F32(-1.9515295891E-4), z, _F32(8.3321608736E-3))
    s = _fma32(s, z, _F32(-1.6666654611E-1))
    s = _fma32(s * z, x, x)
    sin = np.where(sine_poly, s, c).view(np.uint32) ^ sign_sin
    cos = np.where(sine_poly, c, s).view(np.uint32) ^ sign_cos
    return sin.view(_F32), cos.view(_F32)


# ---------------------------------------------------------------- integers
def from_to(gen, n: int, low: int, span: int) -> np.ndarray:
    """``n`` of torch's ``random_(low, low + span)`` as int64 (``randint``)."""
    words = raw64(gen._bg, n) if span >= 1 << 28 else raw32(gen._bg, n)
    return (words % np.uint64(span)).astype(np.int64) + np.int64(low)


def full_default(gen, n: int, dtype: np.dtype) -> np.ndarray:
    """``n`` of torch's ``random_()`` without bounds: ``[0, max]`` of an integer dtype,
    ``[0, 2**digits]`` of a floating one."""
    name = dtype.name
    if name == "bool":
        return (raw32(gen._bg, n) & np.uint64(1)).astype(bool)
    if name in ("int64", "float64"):
        words = raw64(gen._bg, n)
    else:
        words = raw32(gen._bg, n)
    if name in _DIGITS:
        modulus = (1 << _DIGITS[name]) + 1
    else:
        modulus = int(np.iinfo(dtype).max) + 1
    return (words % np.uint64(modulus)).astype(dtype)


def randperm(gen, n: int) -> np.ndarray:
    """torch's ``randperm``: swap ``i`` with ``i + random() % (n - i)`` for each ``i``."""
    perm = list(range(n))
    if n > 1:
        words = raw32(gen._bg, n - 1) % np.arange(n, 1, -1, dtype=np.uint64)
        for i, z in enumerate(words.tolist()):
            j = i + z
            perm[i], perm[j] = perm[j], perm[i]
    return np.array(perm, dtype=np.int64)


# ---------------------------------------------------------------- bernoulli, exponential
def bernoulli(gen, p) -> np.ndarray:
    """torch's ``bernoulli_``: ``u < p`` for each element of ``p`` (an array or a number), the
    uniform ``u`` in float64 for a float64 or Python-number ``p``, else in float32."""
    p = np.asarray(p)
    wide = p.dtype == _F64 or p.dtype.kind in "iub"
    u = uniform(gen, p.size, np.dtype(_F64 if wide else _F32))
    return u.reshape(p.shape) < p


def exponential(gen, n: int, lambd: float) -> np.ndarray:
    """torch's ``exponential_(lambd)`` in float64: ``-1 / lambd * log1p(-u)``."""
    u = uniform(gen, n, np.dtype(_F64))
    return (-1.0 / lambd) * _libm_each(math.log1p, -u)


def cauchy(gen, n: int, median: float, sigma: float) -> np.ndarray:
    """torch's ``cauchy_``: ``median + sigma * tan(pi * (u - 1/2))``, ``u`` kept in
    ``[eps, 1 - eps]``, in float64."""
    eps = np.finfo(_F64).eps
    u = np.clip(uniform(gen, n, np.dtype(_F64)), eps, 1 - eps)
    return median + sigma * _libm_each(math.tan, math.pi * (u - 0.5))


def log_normal(gen, n: int, mean: float, std: float) -> np.ndarray:
    """torch's ``log_normal_``: ``exp`` of its per-element normal draws (cache included)."""
    return _libm_each(math.exp, _normal_serial(gen, n, mean, std))


def geometric(gen, n: int, p: float) -> np.ndarray:
    """torch's ``geometric_``: ``ceil(log(u) / log1p(-p))`` for a float64 uniform ``u``."""
    u = uniform(gen, n, np.dtype(_F64))
    return np.ceil(_libm_each(math.log, u) / math.log1p(-p))


# ---------------------------------------------------------------- gamma
_THIRD_F = float(np.float32(1.0) / np.float32(3.0))  # torch's ``1.0f / 3.0f``
_C331_F = float(np.float32(0.0331))


def gamma(gen, alphas, single=False) -> np.ndarray:
    """torch's ``_standard_gamma`` draws (float64 values), one per element of ``alphas`` in
    order: Marsaglia-Tsang with float64 normals and uniforms from the generator, one element
    at a time as torch's serial kernel runs (``ATen/native/Distributions.h``,
    ``sample_gamma``). ``single``: float32 ``alpha`` arithmetic (a float32 tensor's
    ``_standard_gamma``); otherwise float64 (float64 tensors, and ``_sample_dirichlet``)."""
    out = np.empty(len(alphas))
    for i, a in enumerate(alphas.tolist()):
        out[i] = _gamma_one(gen, a, single)
    return out


def _gamma_one(gen, alpha, single):
    f32 = _F32 if single else float
    alpha = f32(alpha)
    scale = 1.0
    if alpha < 1.0:
        if alpha == 0.0:
            return 0.0
        scale *= math.pow(1.0 - _uniform1(gen), float(f32(1.0) / alpha))
        alpha = f32(alpha + f32(1.0))
    d = float(f32(alpha - f32(_THIRD_F)))
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        while True:
            x = float(_normal_serial(gen, 1, 0.0, 1.0)[0])
            y = 1.0 + c * x
            if y > 0:
                break
        v = y * y * y
        u = 1.0 - _uniform1(gen)
        xx = x * x
        if u < 1.0 - _C331_F * xx * xx:
            return scale * d * v
        if math.log(u) < 0.5 * xx + d * (1.0 - v + math.log(v)):
            return scale * d * v


def _uniform1(gen):
    return float(uniform(gen, 1, np.dtype(_F64))[0])
