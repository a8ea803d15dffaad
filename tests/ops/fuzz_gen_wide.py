"""Fuzzer case generators for what ``fuzz_gen``/``fuzz_gen_more`` leave out: more elementwise
math (trigonometric, special functions, binary math), ``torch.special``, in-place ops with
broadcasting on views, ``out=`` arguments, complex dtypes, ``torch.linalg`` on well-conditioned
matrices, and ``stft``.

``add_wide(table)`` adds them to the op table under their own names (``special.*``,
``linalg.*``, ``inplace.*``, ``out.*``, ``complex.*``).
"""

from __future__ import annotations

import numpy as np

from tests.ops.fuzz_gen import FLOATS, FM, INTS, F, M
from tests.ops.fuzz_ops import Case, Inp

# torch-level unary math: name -> tolerance ("exact" where the result is a correctly rounded
# IEEE operation or a classification, "ulp" for libm-style functions)
MATH_UNARY = {"tan": "ulp", "asin": "ulp", "acos": "ulp", "atan": "ulp", "sinh": "ulp",
              "cosh": "ulp", "asinh": "ulp", "acosh": "ulp", "atanh": "ulp", "frac": "exact",
              "sgn": "exact", "signbit": "exact", "exp2": "ulp", "deg2rad": "ulp",
              "rad2deg": "ulp", "erfc": "ulp", "sinc": "ulp", "nan_to_num": "exact",
              "isneginf": "exact", "isposinf": "exact", "angle": "exact", "positive": "exact",
              "fix": "exact", "lgamma": "ulp"}

MATH_BINARY = {"atan2": "ulp", "hypot": "ulp", "logaddexp": "ulp", "logaddexp2": "ulp",
               "copysign": "exact", "fmod": "exact", "fmax": "exact", "fmin": "exact",
               "xlogy": "ulp", "float_power": "ulp", "heaviside": "exact", "true_divide": "exact",
               "nextafter": "exact"}
INT_BINARY = ("gcd", "lcm", "bitwise_left_shift", "bitwise_right_shift")

# torch.special functions of one tensor, with the interval their interesting inputs lie in
# (values are drawn there half of the time, else from the generic distribution)
SPECIAL_UNARY = {"expit": None, "exp2": None, "expm1": None, "log1p": None, "erf": None,
                 "erfc": None, "erfcx": (-2, 8), "erfinv": (-1, 1), "ndtr": None,
                 "ndtri": (0, 1), "log_ndtr": (-8, 4), "logit": (0, 1), "entr": (0, 3),
                 "i0": None, "i0e": None, "i1": None, "i1e": None, "sinc": None,
                 "gammaln": (0.1, 6), "digamma": (0.1, 6), "psi": (0.1, 6)}
EXP_SQUARE = {"erfcx": 2.0, "log_ndtr": 0.5}  # the factor of x^2 in the exponent
SPECIAL_BINARY = {"xlogy": None, "xlog1py": None, "zeta": (1.5, 5), "gammainc": (0.1, 5),
                  "gammaincc": (0.1, 5)}
INPLACE = ("add_", "sub_", "mul_", "div_", "pow_", "remainder_", "clamp_min_", "maximum")
OUT_DTYPE_REDUCTIONS = ("sum", "cumsum")  # these compute in out's dtype (torch infers it)
OUT_OPS = ("add", "mul", "exp", "sum", "cumsum", "matmul", "cat", "where", "clamp", "sqrt")
COMPLEX_UNARY = {"exp": "ulp", "log": "ulp", "sqrt": "ulp", "abs": "ulp", "angle": "ulp",
                 "conj": "exact", "real": "exact", "imag": "exact", "neg": "exact",
                 "sin": "ulp", "tanh": "ulp", "reciprocal": "ulp", "square": "ulp",
                 "sgn": "ulp", "sigmoid": "ulp"}
COMPLEX_BINARY = {"add": "exact", "sub": "exact", "mul": "ulp", "div": "ulp", "pow": "ulp",
                  "eq": "exact"}
COMPLEX_RED = {"sum": "sum", "mean": "sum", "prod": "prod", "matmul": "mm",
               "view_as_real": "exact", "cumsum": "sum"}
LINALG = ("det", "slogdet", "inv", "solve", "cholesky", "eigvalsh", "svdvals", "matrix_norm",
          "vector_norm", "cross", "vecdot", "matrix_power", "matrix_exp", "solve_triangular",
          "qr", "multi_dot")


def _within(r, inp, interval):
    """Half of the time, redraw a float input's values uniformly inside ``interval``."""
    if interval is None or not inp.is_float or not r.p(0.5):
        return inp
    lo, hi = interval
    vals = r.g.uniform(lo, hi, size=inp.base.shape).astype(inp.base.dtype)
    return Inp(vals, inp.layout, inp.shape, inp.rg)


def gen_math_unary(name):
    def gen(r):
        dt = r.dtype(FLOATS) if r.p(0.85) else r.dtype()
        x = r.tensor(None, dt)
        kw = {}
        if name == "nan_to_num" and r.p(0.5):
            kw = {"nan": 2.0, "posinf": r.choice((None, 7.0)), "neginf": -7.0}
        return Case(name, FM(r, name), (x,), kw, tol=MATH_UNARY[name])
    return gen


def gen_math_binary(name):
    def gen(r):
        pool = FLOATS if r.p(0.8) else FLOATS + INTS + ("bool",)
        a = r.tensor(None, r.dtype(pool))
        if r.p(0.2) and name not in ("nextafter", "heaviside"):
            b = r.scalar(("int", "float"))
        else:
            b = r.tensor(r.bshape(a.shape), a.base.dtype.name if r.p(0.7) else r.dtype(pool))
        return Case(name, FM(r, name), (a, b), tol=MATH_BINARY[name], n=2)
    return gen


def gen_int_binary(name):
    def gen(r):
        a = r.tensor(None, r.choice(INTS) if r.p(0.9) else r.dtype())
        vals = r.g.integers(0, 8, size=r.bshape(a.shape))
        b_dt = a.base.dtype.name if r.p(0.8) else r.choice(INTS)
        b = r.tensor(vals.shape, b_dt, rg=False, vals=vals.astype(b_dt))
        return Case(name, FM(r, name), (a, b))
    return gen


def gen_special_unary(name):
    def gen(r):
        dt = r.dtype(FLOATS) if r.p(0.85) else r.choice(INTS + ("bool",))
        x = _within(r, r.tensor(None, dt), SPECIAL_UNARY[name])
        # torch's float32 special kernels (Cephes float series) are accurate to ~1e-6 relative
        # (measured, tests/ops/test_special.py): ~16 ulp, the "sum" bound with n = 4
        n = 4
        if name in EXP_SQUARE and x.base.size and x.is_float:
            # exp(x^2) (erfcx at x < 0) or exp(-x^2/2) (log_ndtr's derivative) carries the
            # rounding of x^2 into the exponent: a relative error of eps * x^2 (times 2 or 1/2)
            sq = np.nanmax(np.where(np.isfinite(x.base), x.base.astype(float) ** 2, 0))
            n = max(n, int(EXP_SQUARE[name] * sq) + 1)
        return Case("special." + name, F(name, "special"), (x,), tol="sum", n=n)
    return gen


def gen_special_binary(name):
    def gen(r):
        interval = SPECIAL_BINARY[name]
        a = _within(r, r.tensor(None, r.dtype(FLOATS)), interval)
        b = _within(r, r.tensor(r.bshape(a.shape), a.base.dtype.name), interval)
        if r.p(0.15) and name.startswith("x"):
            a, b = r.scalar(("int", "float")), b
        # gammainc/zeta: torch gives no gradient (gradstep raises like it, compared as errors)
        return Case("special." + name, F(name, "special"), (a, b), tol="ulp", n=2)
    return gen


def gen_special_misc(r):
    """special functions with a non-tensor argument: polygamma, multigammaln, round, softmax."""
    x = _within(r, r.tensor(None, r.dtype(FLOATS)), (0.5, 6))
    kind = r.choice(("polygamma", "multigammaln", "logsumexp", "softmax"))
    if kind == "polygamma":
        return Case("special.polygamma", lambda lib, n, x: lib.special.polygamma(n, x),
                    (r.int(0, 3), x), tol="sum", n=4)  # torch's float32 kernels: ~1e-6
    if kind == "multigammaln":
        return Case("special.multigammaln", F("multigammaln", "special"),
                    (_within(r, x, (2, 6)), r.int(1, 3)), tol="ulp", n=4)
    nd = len(x.shape)
    n = x.shape[r.dim(nd, allow_bad=False)] if nd else 1
    return Case("special." + kind, F(kind, "special"), (x, r.dim(nd)), tol="sum", n=max(n, 1))


def _view(lib_t, how):
    if how == "T" and lib_t.dim() >= 2:
        return lib_t.transpose(-1, -2)
    if how == "step" and lib_t.dim() >= 1:
        return lib_t[..., ::2]
    return lib_t


def gen_inplace(name):
    """``base.clone()``, a view of it (as is, transposed or strided), the in-place op on the view
    with a broadcasting (sometimes not broadcastable, or not castable) operand; the view and the
    base (which must see the write) are the outputs."""
    def gen(r):
        a = r.tensor(None, r.dtype(FLOATS) if r.p(0.75) else r.dtype())
        how = r.choice(("as is", "T", "step"))
        vs = a.shape
        if how == "T" and len(vs) >= 2:
            vs = vs[:-2] + (vs[-1], vs[-2])
        elif how == "step" and vs:
            vs = vs[:-1] + ((vs[-1] + 1) // 2,)
        number = r.p(0.2) and name != "maximum"  # maximum takes tensors only
        b = r.scalar(("int", "float")) if number else r.tensor(r.bshape(vs))
        meth = "maximum" if name == "maximum" else name

        def call(lib, x, y):
            base = x.clone()
            v = _view(base, how)
            out = getattr(v, meth)(y) if meth != "maximum" else lib.maximum(v, y, out=v)
            return out, v, base
        tol = "ulp" if name in ("pow_", "remainder_") else "exact"
        return Case(f"inplace.{name}({how})", call, (a, b), tol=tol, n=2)
    return gen


def gen_out(name):
    """``op(..., out=o)`` with ``o`` of the result's shape or another (torch resizes it), the
    result's dtype or a wider/narrower one (torch casts where it can, else raises); inputs rarely
    require grad (torch refuses ``out=`` then). Outputs: the returned tensor, ``o``, and whether
    they are the same object."""
    def gen(r):
        dt = r.dtype(FLOATS) if r.p(0.8) else r.dtype()
        rg = r.p(0.1)
        a = r.tensor(None, dt, rg=rg)
        o_dt = dt if r.p(0.7) else r.choice(FLOATS + ("int64", "bool"))
        o_shape = a.shape if r.p(0.6) else r.shape(0, 2)
        args, kw = (a,), {}
        if name in ("add", "mul"):
            args = (a, r.tensor(r.bshape(a.shape), dt, rg=rg))
        elif name in ("sum", "cumsum") and a.shape:
            kw = {"dim": r.dim(len(a.shape), allow_bad=False)}
        elif name == "cumsum":
            kw = {"dim": 0}
        elif name == "matmul":
            k = r.size()
            args = (r.tensor((r.size(), k), dt, rg=rg), r.tensor((k, r.size()), dt, rg=rg))
        elif name == "cat":
            args = ([a, r.tensor(a.shape, dt, rg=rg)],)
        elif name == "where":
            args = (r.tensor(a.shape, "bool"), a, r.tensor(r.bshape(a.shape), dt, rg=rg))
        elif name == "clamp":
            kw = {"min": -0.5, "max": r.choice((0.5, 2))}

        def call(lib, *xs, **k):
            o = lib.zeros(o_shape, dtype=getattr(lib, o_dt))
            res = getattr(lib, name)(*xs, **k, out=o)
            # a float32 result written into a float64 out carries float32 rounding: compared
            # at the input's precision (o's dtype itself is compared as a string)
            narrow = dt == "float32" and o_dt == "float64" and name not in OUT_DTYPE_REDUCTIONS
            return (o.to(lib.float32) if narrow else o), str(o.dtype).split(".")[-1], res is o
        return Case(f"out.{name}", call, args, kw, tol="sum" if name in (
            "sum", "cumsum", "matmul") else "ulp", n=max(4, *a.shape, 1), grad=False)
    return gen


def _complex_tensor(r, shape=None, dtype=None, rg=None):
    shape = r.shape() if shape is None else shape
    dtype = dtype or r.choice(("complex64", "complex128"))
    re = r.values(shape, "float64")
    im = r.values(shape, "float64")
    t = r.tensor(shape, "float64", rg=False, vals=(re + 1j * im).astype(dtype))
    t.rg = r.p(0.7) if rg is None else rg
    return t


def gen_complex_unary(name):
    def gen(r):
        return Case("complex." + name, FM(r, name), (_complex_tensor(r),),
                    tol=COMPLEX_UNARY[name], n=2)
    return gen


def gen_complex_binary(name):
    def gen(r):
        a = _complex_tensor(r)
        if r.p(0.25):
            b = r.choice((2, -1.5, 0.5 + 1j, True))
        elif r.p(0.25):
            b = r.tensor(r.bshape(a.shape), r.dtype(FLOATS + INTS))
        else:
            b = _complex_tensor(r, r.bshape(a.shape), a.base.dtype.name)
        return Case("complex." + name, FM(r, name), (a, b), tol=COMPLEX_BINARY[name], n=4)
    return gen


def gen_complex_red(name):
    def gen(r):
        a = _complex_tensor(r)
        if name == "matmul":
            k = r.size()
            a = _complex_tensor(r, (r.size(), k))
            b = _complex_tensor(r, (k, r.size()), a.base.dtype.name)
            return Case("complex.matmul", FM(r, name), (a, b), tol="mm", n=max(k, 1))
        if name == "view_as_real":
            return Case("complex.view_as_real", F(name), (a,))
        kw = {}
        n = int(np.prod(a.shape)) if a.shape else 1
        if a.shape and (name == "cumsum" or r.p(0.5)):
            d = r.dim(len(a.shape), allow_bad=False)
            kw, n = {"dim": d}, a.shape[d]
        return Case("complex." + name, FM(r, name), (a,), kw, tol=COMPLEX_RED[name],
                    n=max(4 * n, 1))
    return gen


def _well_conditioned(r, batch, k, dt, rg=None, spd=False):
    """A (batch..., k, k) matrix with diagonal entries of magnitude 2k..3k and off-diagonal ones
    in (-1, 1): strictly diagonally dominant, so its condition number is below (3k+k)/(2k-k)=4
    and LU/QR/Cholesky/eigen solvers are backward stable on it."""
    a = r.g.uniform(-1, 1, size=batch + (k, k))
    sign = np.where(r.g.random(batch + (k,)) < 0.5, -1.0, 1.0) if not spd else 1.0
    idx = np.arange(k)
    a[..., idx, idx] = sign * r.g.uniform(2 * k, 3 * k, size=batch + (k,))
    if spd:
        a = (a + np.swapaxes(a, -1, -2)) / 2
    return r.tensor(a.shape, dt, rg=rg, vals=a.astype(dt),
                    layout=r.choice(("contig", "contig", "T")) if not spd else "contig")


def gen_linalg(name):
    """``torch.linalg`` functions on strictly diagonally dominant matrices (condition number
    < 4): forward errors are a few k*eps relative, so the ``mm`` bound with n = 8*k*k (the
    O(k^3) operation count over k^2 outputs, times the condition number) covers them."""
    def gen(r):
        dt = r.dtype(FLOATS)
        k = r.int(1, 4) if r.p(0.95) else 0
        batch = r.shape(0, 1)
        spd = name in ("cholesky", "eigvalsh")
        a = _well_conditioned(r, batch, k, dt, spd=spd)
        args, kw, n = (a,), {}, 8 * max(k, 1) ** 2
        if name == "solve":
            args = (a, r.tensor(batch + (k, r.int(1, 3)) if r.p(0.7) else batch + (k,), dt))
        elif name == "solve_triangular":
            kw = {"upper": r.p(0.5), "left": r.p(0.7), "unitriangular": r.p(0.2)}
            b_shape = batch + ((k, r.int(1, 3)) if kw["left"] else (r.int(1, 3), k))
            args = (a, r.tensor(b_shape, dt))
        elif name == "matrix_norm":
            kw = {"ord": r.choice(("fro", "nuc", 2, -2, 1, -1, float("inf"), -float("inf")))}
        elif name == "vector_norm":
            a = r.tensor(None, dt)
            kw = {"ord": r.choice((2, 1, 0, 3.5, float("inf"), -float("inf"), -1))}
            args, n = (a,), max(4, *a.shape, 1)
        elif name in ("cross", "vecdot"):
            shape = r.shape(0, 2) + (3,)
            args = (r.tensor(shape, dt), r.tensor(r.bshape(shape) or (3,), dt))
            if args[1].shape[-1:] != (3,) and r.p(0.9):
                args = (args[0], r.tensor(shape, dt))
        elif name == "matrix_power":
            args = (a, r.int(-2, 3))
        elif name == "matrix_exp":
            a = r.tensor(batch + (k, k), dt, vals=(r.g.standard_normal(batch + (k, k)) / 2
                                                   ).astype(dt))
            args = (a,)
        elif name == "qr":
            kw = {"mode": r.choice(("reduced", "complete", "r"))}
        elif name == "multi_dot":
            dims = [r.int(1, 4) for _ in range(r.int(3, 4))]
            args = ([r.tensor((dims[i], dims[i + 1]), dt) for i in range(len(dims) - 1)],)
            n = max(dims) ** 2
        return Case("linalg." + name, F(name, "linalg"), args, kw, tol="mm", n=n,
                    grad=name not in ("qr",) or kw.get("mode") != "r")
    return gen


def gen_stft(r):
    dt = r.dtype(FLOATS)
    n_fft = r.choice((4, 8, 16))
    length = r.int(n_fft // 2 + 1, 48)
    x = r.tensor(((r.int(1, 2),) if r.p(0.3) else ()) + (length,), dt)
    kw = {"n_fft": n_fft, "hop_length": r.choice((None, 1, n_fft // 4, 3)),
          "center": r.p(0.6), "normalized": r.p(0.3), "onesided": r.p(0.8),
          "return_complex": True}
    if kw["center"]:
        kw["pad_mode"] = r.choice(("reflect", "constant", "replicate", "circular"))
    args = (x,)
    if r.p(0.7):
        win = r.choice((n_fft, n_fft // 2))
        kw["win_length"] = win
        kw["window"] = r.tensor((win,), dt, rg=r.p(0.3), layout="contig")
    return Case("stft", FM(r, "stft"), args, kw, tol="sum", n=4 * n_fft)


def add_wide(t):
    for name in MATH_UNARY:
        t[name] = gen_math_unary(name)
    for name in MATH_BINARY:
        t[name] = gen_math_binary(name)
    for name in INT_BINARY:
        t[name] = gen_int_binary(name)
    for name in SPECIAL_UNARY:
        t["special." + name] = gen_special_unary(name)
    for name in SPECIAL_BINARY:
        t["special." + name] = gen_special_binary(name)
    t["special.misc"] = gen_special_misc
    for name in INPLACE:
        t["inplace." + name] = gen_inplace(name)
    for name in OUT_OPS:
        t["out." + name] = gen_out(name)
    for name in COMPLEX_UNARY:
        t["complex." + name] = gen_complex_unary(name)
    for name in COMPLEX_BINARY:
        t["complex." + name] = gen_complex_binary(name)
    for name in COMPLEX_RED:
        t["complex." + name] = gen_complex_red(name)
    for name in LINALG:
        t["linalg." + name] = gen_linalg(name)
    t["stft"] = gen_stft
    return t


__all__ = ["M", "add_wide"]
