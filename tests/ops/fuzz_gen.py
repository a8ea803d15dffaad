"""The differential fuzzer's op table: for each op, a generator of random cases.

Each generator takes a ``Rand`` and returns a ``Case`` (``fuzz_ops``). Shapes cover 0-d,
zero-size dims and broadcasting; tensor arguments are contiguous, transposed, sliced with a
step or expanded; dtypes are float32/float64/int64/int32/uint8/bool, mixed in pairs and
with Python scalars.

Every op of the brief exists in gradstep (test_differential checks it). The bitwise ops are
generated as the ``& | ^ ~`` operators, which every version of gradstep has.
"""

from __future__ import annotations

import numpy as np

from tests.ops.fuzz_ops import Case, Inp

FLOATS = ("float32", "float64")
INTS = ("int64", "int32", "uint8")
ALL = FLOATS + INTS + ("bool",)
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0])


class Rand:
    def __init__(self, seed):
        self.g = np.random.default_rng(seed)

    def p(self, prob):
        return bool(self.g.random() < prob)

    def int(self, lo, hi):
        return int(self.g.integers(lo, hi + 1))

    def choice(self, seq):
        return seq[int(self.g.integers(len(seq)))]

    def dtype(self, pool=ALL):
        if pool is ALL and self.p(0.55):
            return self.choice(FLOATS)
        return self.choice(pool)

    def size(self):
        return 0 if self.p(0.07) else self.int(1, 4)

    def shape(self, lo=0, hi=3):
        return tuple(self.size() for _ in range(self.int(lo, hi)))

    def bshape(self, shape):
        """A shape that broadcasts with ``shape`` (rarely one that doesn't)."""
        if self.p(0.04) and shape:
            s = list(shape)
            s[-1] = s[-1] + 2
            return tuple(s)
        keep = self.int(0, len(shape)) if self.p(0.4) else len(shape)
        out = [1 if self.p(0.3) else s for s in shape[len(shape) - keep:]]
        if self.p(0.15):
            out = [self.int(1, 3)] + out
            if shape and out[0] != 1:
                out[0] = 1 if len(out) <= len(shape) else out[0]
        return tuple(out)

    def values(self, shape, dtype):
        g = self.g
        if dtype == "bool":
            return g.random(shape) < 0.5
        if dtype in INTS:
            lo = 0 if dtype == "uint8" else -6
            return g.integers(lo, 7, size=shape).astype(dtype)
        v = g.standard_normal(shape) * self.choice((1.0, 1.0, 3.0, 0.1))
        if self.p(0.2):
            v = np.round(v * 2) / 2  # ties and exact integers
        if self.p(0.08) and v.size:
            m = g.random(shape) < 0.3
            v = np.where(m, g.choice(SPECIAL, size=shape), v)
        return v.astype(dtype)

    def tensor(self, shape=None, dtype=None, rg=None, layout=None, vals=None):
        shape = self.shape() if shape is None else tuple(shape)
        dtype = dtype or self.dtype()
        arr = self.values(shape, dtype) if vals is None else vals
        if rg is None:
            rg = dtype in FLOATS and self.p(0.75)
        rg = bool(rg and dtype in FLOATS)
        if layout is None:
            opts = ["contig"] * 3 + (["T"] if len(shape) >= 2 else []) + \
                   (["step"] if len(shape) >= 1 else []) + \
                   (["expand"] if any(s != 1 for s in shape) else [])
            layout = self.choice(opts)
        if layout == "T":
            base = np.ascontiguousarray(np.swapaxes(arr, -1, -2))
        elif layout == "step":
            base = np.repeat(arr, 2, axis=-1)
        elif layout == "expand":
            d = self.choice([i for i, s in enumerate(shape) if s != 1])
            base = np.take(arr, [0], axis=d) if shape[d] else np.take(
                np.zeros(tuple(1 if i == d else s for i, s in enumerate(shape)), arr.dtype),
                [0], axis=d)
        else:
            base = arr
        return Inp(base, layout, shape, rg)

    def scalar(self, kinds=("int", "float", "bool")):
        k = self.choice(kinds)
        if k == "bool":
            return self.p(0.5)
        if k == "int":
            return self.int(-4, 5)
        return self.choice((0.5, -1.5, 2.0, 0.0, 3.25, -0.1))

    def dim(self, ndim, allow_bad=True):
        if allow_bad and self.p(0.03):
            return ndim + 1
        n = max(ndim, 1)
        return self.int(-n, n - 1)


def F(name, ns=None):
    def call(lib, *a, **k):
        return getattr(lib if ns is None else getattr(lib, ns) if "." not in ns else
                       lib.nn.functional, name)(*a, **k)
    return call


def M(name):
    return lambda lib, x, *a, **k: getattr(x, name)(*a, **k)


def FM(r, name):
    """The function or the method, at random."""
    return F(name) if r.p(0.5) else M(name)


def NNF(name):
    return lambda lib, *a, **k: getattr(lib.nn.functional, name)(*a, **k)


# ---------------------------------------------------------------- elementwise
ARITH = {"add": "exact", "sub": "exact", "mul": "exact", "div": "exact", "floor_divide": "exact",
         "remainder": "ulp", "pow": "ulp"}
OPERATOR = {"add": "+", "sub": "-", "mul": "*", "div": "/", "floor_divide": "//",
            "remainder": "%", "pow": "**"}


def binary_operands(r, float_bias=False):
    s1 = r.shape()
    if s1 and r.p(0.1):  # an empty operand (its partner may still hold zero divisors)
        s1 = s1[:-1] + (0,)
    a = r.tensor(s1, r.dtype(FLOATS) if float_bias and r.p(0.6) else None)
    if r.p(0.25):
        return a, r.scalar()
    return a, r.tensor(r.bshape(s1), r.dtype())


def gen_arith(name):
    def gen(r):
        a, b = binary_operands(r)
        kw = {}
        if name in ("add", "sub") and r.p(0.3):
            kw["alpha"] = r.choice((2, -1, 0.5, True))
        if name == "div" and r.p(0.4):
            kw["rounding_mode"] = r.choice(("trunc", "floor"))
        tol = "ulp" if "alpha" in kw else ARITH[name]
        if r.p(0.35) and not kw:
            op = OPERATOR[name]
            swap = not isinstance(b, Inp) and r.p(0.5)
            x, y = (b, a) if swap else (a, b)
            call = eval(f"lambda lib, x, y: x {op} y")  # noqa: S307 - a fixed operator table
            return Case(f"{'r' if swap else ''}{op}", call, (x, y), tol=tol, n=2)
        return Case(name, FM(r, name), (a, b), kw, tol=tol, n=2)
    return gen


COMPARE = ("eq", "ne", "lt", "le", "gt", "ge")
LOGICAL = ("logical_and", "logical_or", "logical_xor")


CMP_OPERATOR = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def gen_compare(name):
    def gen(r):
        a, b = binary_operands(r)
        if r.p(0.3):
            swap = not isinstance(b, Inp) and r.p(0.5)
            x, y = (b, a) if swap else (a, b)
            call = eval(f"lambda lib, x, y: x {CMP_OPERATOR[name]} y")  # noqa: S307
            return Case(CMP_OPERATOR[name], call, (x, y))
        return Case(name, FM(r, name), (a, b))
    return gen


def gen_logical(name):
    def gen(r):
        a = r.tensor()
        b = r.tensor(r.bshape(a.shape))
        return Case(name, FM(r, name), (a, b))
    return gen


def gen_bitwise(op):
    def gen(r):
        a = r.tensor(None, r.choice(INTS + ("bool",)) if r.p(0.9) else None)
        b = r.scalar(("int", "bool")) if r.p(0.3) else r.tensor(r.bshape(a.shape),
                                                                  r.choice(INTS + ("bool",)))
        call = eval(f"lambda lib, x, y: x {op} y")  # noqa: S307
        return Case(op, call, (a, b))
    return gen


# sqrt is "ulp", not "exact": torch's vectorized float32 sqrt is not always correctly rounded
# (seen 1 ulp off on an expanded input), so gradstep's correctly rounded one may differ by an ulp
UNARY = {"exp": "ulp", "log": "ulp", "sqrt": "ulp", "rsqrt": "ulp", "sin": "ulp", "cos": "ulp",
         "tanh": "ulp", "sigmoid": "ulp", "abs": "exact", "neg": "exact", "sign": "exact",
         "floor": "exact", "ceil": "exact", "round": "exact", "trunc": "exact",
         "reciprocal": "exact", "erf": "ulp", "expm1": "ulp", "log1p": "ulp", "log2": "ulp",
         "log10": "ulp", "square": "exact", "relu": "exact", "logical_not": "exact",
         "isnan": "exact", "isinf": "exact", "isfinite": "exact"}


def gen_unary(name):
    def gen(r):
        kw = {}
        if name == "round" and r.p(0.2):
            kw["decimals"] = r.choice((1, 2, -1))
        return Case(name, FM(r, name), (r.tensor(),), kw, tol=UNARY[name] if not kw else "ulp")
    return gen


def gen_invert(r):
    return Case("~", lambda lib, x: ~x, (r.tensor(),))


def gen_clamp(r):
    a = r.tensor()
    kind = r.choice(("scalar", "tensor"))
    lo = hi = None
    while lo is None and hi is None:
        if r.p(0.7):
            lo = r.scalar(("int", "float")) if kind == "scalar" else r.tensor(r.bshape(a.shape))
        if r.p(0.7):
            hi = r.scalar(("int", "float")) if kind == "scalar" else r.tensor(r.bshape(a.shape))
    name = r.choice(("clamp", "clip"))
    if r.p(0.5):
        return Case(name, FM(r, name), (a, lo, hi))
    return Case(name, FM(r, name), (a,), {"min": lo, "max": hi})


def gen_minmax_elem(name):
    def gen(r):
        a = r.tensor()
        b = r.tensor(r.bshape(a.shape)) if r.p(0.9) else r.scalar()
        return Case(name, FM(r, name), (a, b))
    return gen


def gen_where(r):
    c = r.tensor(None, "bool")
    a = r.tensor(r.bshape(c.shape)) if r.p(0.8) else r.scalar()
    b = r.tensor(r.bshape(c.shape)) if r.p(0.8) else r.scalar()
    if isinstance(a, Inp) and r.p(0.3):
        return Case("where", lambda lib, c, a, b: a.where(c, b), (c, a, b))
    return Case("where", F("where"), (c, a, b))


def gen_lerp(r):
    dt = r.dtype(FLOATS)
    a = r.tensor(None, dt)
    b = r.tensor(r.bshape(a.shape), dt)
    w = r.choice((0.25, 0.75, 2.0, -0.5)) if r.p(0.5) else r.tensor(r.bshape(a.shape), dt)
    return Case("lerp", FM(r, "lerp"), (a, b, w), tol="ulp")


# ---------------------------------------------------------------- activations, nn.functional
ACT = {"relu": "exact", "gelu": "ulp", "silu": "ulp", "softplus": "ulp", "elu": "ulp",
       "leaky_relu": "exact"}


def gen_act(name):
    def gen(r):
        kw = {}
        if name == "gelu" and r.p(0.4):
            kw["approximate"] = "tanh"
        if name == "softplus" and r.p(0.4):
            kw = {"beta": r.choice((0.5, 2.0)), "threshold": r.choice((1.0, 20.0))}
        if name == "elu" and r.p(0.4):
            kw["alpha"] = 0.5
        if name == "leaky_relu" and r.p(0.4):
            kw["negative_slope"] = 0.2
        return Case(name, NNF(name), (r.tensor(None, r.dtype(FLOATS) if r.p(0.9) else None),),
                    kw, tol=ACT[name])
    return gen


def gen_mse(r):
    dt = r.dtype(FLOATS)
    a = r.tensor(None, dt)
    b = r.tensor(a.shape if r.p(0.9) else r.bshape(a.shape), dt)
    red = r.choice(("mean", "sum", "none"))
    return Case("mse_loss", NNF("mse_loss"), (a, b), {"reduction": red}, tol="sum",
                n=max(1, int(np.prod(a.shape))))


def gen_cross_entropy(r):
    dt = r.dtype(FLOATS)
    n, c = r.size(), r.int(1, 4)
    shape = (n, c) if r.p(0.7) else (c,)
    x = r.tensor(shape, dt)
    kw = {"reduction": r.choice(("mean", "sum", "none"))}
    if r.p(0.5):
        tshape = shape[:-1]
        t = r.tensor(tshape, "int64", vals=r.g.integers(0, c, size=tshape), layout="contig")
        if r.p(0.2):
            kw["ignore_index"] = 0
    else:
        p = r.g.random(shape)
        t = r.tensor(shape, dt, vals=(p / p.sum(-1, keepdims=True)).astype(dt), rg=False)
    if r.p(0.2):
        kw["label_smoothing"] = 0.1
    return Case("cross_entropy", NNF("cross_entropy"), (x, t), kw, tol="sum", n=4 * c)


def gen_linear(r):
    dt = r.dtype(FLOATS)
    k, o = r.size(), r.size()
    x = r.tensor(r.shape(0, 2) + (k,), dt)
    w = r.tensor((o, k), dt)
    args = (x, w) + ((r.tensor((o,), dt),) if r.p(0.6) else ())
    return Case("linear", NNF("linear"), args, tol="mm", n=k + 1)
