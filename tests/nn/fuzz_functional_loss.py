"""The nn.functional fuzzer's loss and parametrized-activation generators (``fuzz_functional``
says how cases are drawn). Every loss is drawn with every reduction; invalid targets (out of
range, wrong shape) appear in a few percent of cases."""

from __future__ import annotations

import numpy as np

from tests.nn.fuzz_functional import FLOATS, ften, itensor, numel
from tests.ops.fuzz_gen import NNF
from tests.ops.fuzz_ops import Case

REDUCTIONS = ("mean", "sum", "none")


def _red(r):
    return {"reduction": r.choice(REDUCTIONS)}


def _shape(r, lo=0, hi=3):
    return tuple(r.int(1, 4) for _ in range(r.int(lo, hi)))


def _signs(r, shape, dt):
    v = np.where(r.g.random(shape) < 0.5, -1.0, 1.0).astype(dt)
    return ften(r, shape, dt, rg=False, vals=v)


def _probs(r, shape, dt, rg=False):
    p = r.g.random(shape)
    return ften(r, shape, dt, rg=rg, vals=(p / p.sum(-1, keepdims=True)).astype(dt))


def _log_probs(r, shape, dt):
    v = r.g.standard_normal(shape)
    v = v - np.log(np.exp(v).sum(-1, keepdims=True))
    return ften(r, shape, dt, vals=v.astype(dt))


# ---------------------------------------------------------------- regression losses
def gen_pointwise(name):
    def gen(r):
        dt = r.choice(FLOATS)
        shape = _shape(r)
        a = ften(r, shape, dt)
        b = ften(r, shape if r.p(0.9) else r.bshape(shape), dt)
        kw = _red(r)
        if name == "smooth_l1_loss" and r.p(0.6):
            kw["beta"] = r.choice((0.0, 0.5, 2.0))
        if name == "huber_loss" and r.p(0.6):
            kw["delta"] = r.choice((0.5, 2.0))
        return Case(name, NNF(name), (a, b), kw, tol="sum", n=4 * max(numel(shape), 1))
    return gen


def gen_poisson_nll(r):
    dt = r.choice(FLOATS)
    shape = _shape(r)
    log_input = r.p(0.6)
    x = ften(r, shape, dt, special=0.0) if log_input else ften(
        r, shape, dt, vals=r.g.uniform(0.0, 3.0, shape).astype(dt))
    t = ften(r, shape, dt, vals=r.g.integers(0, 5, shape).astype(dt))
    kw = {**_red(r), "log_input": log_input, "full": r.p(0.4)}
    if r.p(0.2):
        kw["eps"] = 0.1
    return Case("poisson_nll_loss", NNF("poisson_nll_loss"), (x, t), kw, tol="sum",
                n=8 * numel(shape))


def gen_gaussian_nll(r):
    dt = r.choice(FLOATS)
    shape = (r.int(1, 3), r.int(1, 4)) if r.p(0.8) else (r.int(1, 4),)
    x, t = ften(r, shape, dt, special=0.0), ften(r, shape, dt, special=0.0)
    vshape = r.choice((shape, shape[:-1] + (1,), shape[:-1]))
    var = r.g.uniform(0.1, 2.0, vshape)
    if r.p(0.04) and var.size:
        var.flat[0] = -1.0
    v = ften(r, vshape, dt, vals=var.astype(dt))
    kw = {**_red(r), "full": r.p(0.4)}
    if r.p(0.2):
        kw["eps"] = 0.5
    return Case("gaussian_nll_loss", NNF("gaussian_nll_loss"), (x, t, v), kw, tol="sum",
                n=8 * numel(shape))


def gen_kl_div(r):
    dt = r.choice(FLOATS)
    shape = (r.int(1, 3), r.int(1, 4)) if r.p(0.8) else (r.int(1, 4),)
    x = _log_probs(r, shape, dt)
    log_target = r.p(0.4)
    t = _log_probs(r, shape, dt) if log_target else _probs(r, shape, dt, rg=r.p(0.5))
    kw = {"reduction": r.choice(REDUCTIONS + ("batchmean",)), "log_target": log_target}
    return Case("kl_div", NNF("kl_div"), (x, t), kw, tol="sum", n=8 * numel(shape))


# ---------------------------------------------------------------- classification losses
def _class_input(r, dt, kd=True):
    n, c = r.int(1, 3), r.int(1, 4)
    form = r.choice(("nc", "nc", "c", "kd") if kd else ("nc", "nc", "c"))
    if form == "c":
        shape = (c,)
    elif form == "nc":
        shape = (n, c)
    else:
        shape = (n, c) + tuple(r.int(1, 3) for _ in range(r.int(1, 2)))
    return ften(r, shape, dt, special=0.01), shape, c


def _index_target(r, shape, c, ignore=None):
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    t = r.g.integers(0, c, size=tshape)
    if ignore is not None and t.size:
        t = np.where(r.g.random(tshape) < 0.3, ignore, t)
    if r.p(0.03) and t.size:
        t.flat[0] = c  # out of range
    return itensor(r, t)


def gen_nll(name):
    def gen(r):
        dt = r.choice(FLOATS)
        x, shape, c = _class_input(r, dt)
        kw = _red(r)
        if r.p(0.4):
            kw["weight"] = ften(r, (c,), dt, rg=False, vals=r.g.uniform(0.1, 2.0, c).astype(dt))
        if r.p(0.3):
            kw["ignore_index"] = r.choice((0, -1, 1))
        if name == "cross_entropy" and r.p(0.3):
            kw["label_smoothing"] = r.choice((0.1, 0.5))
        if name == "cross_entropy" and r.p(0.35):
            t = _probs(r, shape[:1] + shape[2:] + shape[1:2] if len(shape) > 2 else shape, dt)
            if len(shape) > 2:  # probabilities live on dim 1: move the class dim there
                t = ften(r, shape, dt, rg=False,
                         vals=np.moveaxis(t.logical(), -1, 1).astype(dt).copy())
        else:
            t = _index_target(r, shape, c, kw.get("ignore_index"))
        return Case(name, NNF(name), (x, t), kw, tol="sum", n=8 * numel(shape))
    return gen


def gen_bce(r):
    dt = r.choice(FLOATS)
    shape = _shape(r)
    p = 1 / (1 + np.exp(-r.g.standard_normal(shape) * 2))
    if r.p(0.1) and p.size:
        p.flat[0] = r.choice((0.0, 1.0))
    x = ften(r, shape, dt, vals=p.astype(dt))
    t = ften(r, shape, dt, rg=r.p(0.3), vals=r.g.random(shape).astype(dt))
    kw = _red(r)
    if r.p(0.4):
        kw["weight"] = ften(r, shape[len(shape) - r.int(0, len(shape)):], dt, rg=False,
                            special=0.0)
    return Case("binary_cross_entropy", NNF("binary_cross_entropy"), (x, t), kw, tol="sum",
                n=8 * numel(shape))


def gen_bce_logits(r):
    dt = r.choice(FLOATS)
    shape = _shape(r, 1)
    x = ften(r, shape, dt, scale=3.0)
    t = ften(r, shape, dt, rg=r.p(0.3), vals=r.g.random(shape).astype(dt))
    kw = _red(r)
    if r.p(0.4):
        kw["weight"] = ften(r, shape[len(shape) - r.int(0, len(shape)):], dt, rg=r.p(0.3),
                            special=0.0)
    if r.p(0.4):
        kw["pos_weight"] = ften(r, shape[-1:], dt, rg=r.p(0.3),
                                vals=r.g.uniform(0.2, 3, shape[-1:]).astype(dt))
    return Case("binary_cross_entropy_with_logits", NNF("binary_cross_entropy_with_logits"),
                (x, t), kw, tol="sum", n=8 * numel(shape))


def gen_margin(name):
    """hinge_embedding, soft_margin: an input and a +-1 target of the same shape."""
    def gen(r):
        dt = r.choice(FLOATS)
        shape = _shape(r)
        kw = _red(r)
        if name == "hinge_embedding_loss" and r.p(0.5):
            kw["margin"] = r.choice((0.0, 0.5, 2.0))
        return Case(name, NNF(name), (ften(r, shape, dt), _signs(r, shape, dt)), kw, tol="sum",
                    n=4 * numel(shape))
    return gen


def gen_margin_ranking(r):
    dt = r.choice(FLOATS)
    shape = _shape(r, 0, 1)
    kw = {**_red(r), "margin": r.choice((0.0, 0.5))}
    return Case("margin_ranking_loss", NNF("margin_ranking_loss"),
                (ften(r, shape, dt), ften(r, shape, dt), _signs(r, shape, dt)), kw, tol="sum",
                n=4 * numel(shape))


def gen_multilabel_margin(r):
    dt = r.choice(FLOATS)
    c = r.int(1, 4)
    shape = (r.int(1, 3), c) if r.p(0.8) else (c,)
    t = np.full(shape, -1)
    for row in t.reshape(-1, c):
        k = r.int(0, c)
        row[:k] = r.g.permutation(c)[:k]
    if r.p(0.03):
        t.flat[0] = c
    return Case("multilabel_margin_loss", NNF("multilabel_margin_loss"),
                (ften(r, shape, dt), itensor(r, t)), _red(r), tol="sum", n=4 * c)


def gen_multilabel_soft_margin(r):
    dt = r.choice(FLOATS)
    c = r.int(1, 4)
    shape = (r.int(1, 3), c)
    t = ften(r, shape, dt, rg=False, vals=(r.g.random(shape) < 0.5).astype(dt))
    kw = _red(r)
    if r.p(0.4):
        kw["weight"] = ften(r, (c,), dt, rg=False, special=0.0)
    return Case("multilabel_soft_margin_loss", NNF("multilabel_soft_margin_loss"),
                (ften(r, shape, dt), t), kw, tol="sum", n=4 * c)


def gen_multi_margin(r):
    dt = r.choice(FLOATS)
    x, shape, c = _class_input(r, dt, kd=False)
    kw = {**_red(r), "p": r.choice((1, 2, 1, 3)) if r.p(0.97) else 3,
          "margin": r.choice((1.0, 0.5, 2.0))}
    if r.p(0.4):
        kw["weight"] = ften(r, (c,), dt, rg=False, vals=r.g.uniform(0.1, 2.0, c).astype(dt))
    return Case("multi_margin_loss", NNF("multi_margin_loss"), (x, _index_target(r, shape, c)),
                kw, tol="sum", n=8 * c)


def gen_cosine_embedding(r):
    dt = r.choice(FLOATS)
    d = r.int(1, 4)
    lead = (r.int(1, 3),) if r.p(0.8) else ()
    kw = {**_red(r), "margin": r.choice((0.0, 0.5, -0.5))}
    return Case("cosine_embedding_loss", NNF("cosine_embedding_loss"),
                (ften(r, lead + (d,), dt, special=0.0), ften(r, lead + (d,), dt, special=0.0),
                 _signs(r, lead, dt)), kw, tol="sum", n=16 * d)


def gen_triplet(r):
    dt = r.choice(FLOATS)
    d = r.int(1, 4)
    shape = (r.int(1, 3), d) if r.p(0.8) else (d,)
    args = tuple(ften(r, shape, dt, special=0.0) for _ in range(3))
    kw = {**_red(r), "margin": r.choice((1.0, 0.5)), "p": r.choice((1.0, 2.0, 3.0)),
          "swap": r.p(0.4)}
    return Case("triplet_margin_loss", NNF("triplet_margin_loss"), args, kw, tol="sum", n=16 * d)


def _triplet_distance(kind):
    def call(lib, a, p, n, **k):
        fn = None
        if kind == "cosine":
            def fn(x, y):
                return 1 - lib.nn.functional.cosine_similarity(x, y)
        return lib.nn.functional.triplet_margin_with_distance_loss(
            a, p, n, distance_function=fn, **k)
    return call


def gen_triplet_distance(r):
    dt = r.choice(FLOATS)
    d = r.int(1, 4)
    shape = (r.int(1, 3), d)
    args = tuple(ften(r, shape, dt, special=0.0) for _ in range(3))
    kw = {**_red(r), "margin": r.choice((1.0, 0.5)), "swap": r.p(0.4)}
    return Case("triplet_margin_with_distance_loss",
                _triplet_distance(r.choice(("default", "cosine"))), args, kw, tol="sum",
                n=16 * d)


def gen_ctc(r):
    dt = r.choice(FLOATS)
    t_len, n, c = r.int(1, 6), r.int(1, 3), r.int(2, 4)
    lp = _log_probs(r, (t_len, n, c), dt)
    blank = r.choice((0, c - 1))
    in_lens = [r.int(1, t_len) for _ in range(n)]
    tg_lens = [r.int(0, min(3, t_len)) for _ in range(n)]
    labels = [x for x in range(c) if x != blank]
    seqs = [r.g.choice(labels, size=k).tolist() for k in tg_lens]
    if r.p(0.5):
        s = max(max(tg_lens), 1)
        targets = itensor(r, [q + [labels[0]] * (s - len(q)) for q in seqs])
    else:
        targets = itensor(r, [x for q in seqs for x in q])
    lens = (tuple(in_lens), tuple(tg_lens)) if r.p(0.5) else (itensor(r, in_lens),
                                                              itensor(r, tg_lens))
    kw = {"blank": blank, **_red(r), "zero_infinity": r.p(0.4)}
    return Case("ctc_loss", NNF("ctc_loss"), (lp, targets) + lens, kw, tol="sum",
                n=16 * t_len * c)


# ---------------------------------------------------------------- activations with parameters
# torch's gradient at a NaN input depends on the kernel that meets it: its vectorized loop
# (whole chunks of two vectors of a contiguous run) blends the other way than its scalar one
# (the rest), which gradstep follows (see nn/_functional/activation.py above hardshrink).
# With fewer elements than two 16-byte vectors hold, every element runs the scalar loop on
# any CPU; larger inputs draw no NaN.
NAN_BY_KERNEL = ("hardtanh", "relu6", "hardshrink", "softshrink", "elu", "celu", "selu",
                 "hardswish")


def _scalar_kernel_only(shape, dt):
    return numel(shape) < 2 * 16 // np.dtype(dt).itemsize


def _act_input(r, dt, kw, name):
    """Random values with some exactly at the activation's thresholds."""
    shape = _shape(r)
    v = r.values(shape, dt)
    if name in NAN_BY_KERNEL and not _scalar_kernel_only(shape, dt):
        v = np.nan_to_num(v, nan=0.25)
    marks = [x for x in kw.values() if isinstance(x, float)]
    if marks and v.size and r.p(0.3):
        v = np.where(r.g.random(shape) < 0.3, r.choice(marks), v).astype(dt)
    return ften(r, shape, dt, vals=v)


def _act_kwargs(r, name):
    if name == "hardtanh":
        lo = r.choice((-1.0, -0.5, 0.0))
        return {"min_val": lo, "max_val": r.choice((1.0, 0.5, lo - 0.5 if r.p(0.05) else 2.0))}
    if name == "threshold":
        return {"threshold": r.choice((0.0, 0.5, -1.0)), "value": r.choice((0.0, -2.0, 3.5))}
    if name == "rrelu":
        return {"lower": r.choice((0.125, 0.1)), "upper": r.choice((1 / 3, 0.5)), "training": False}
    if name in ("celu", "elu"):
        return {"alpha": r.choice((1.0, 0.5, 2.0, 0.0 if name == "celu" and r.p(0.1) else 1.5))}
    if name == "softplus":
        return {"beta": r.choice((1.0, 0.5, 2.0)), "threshold": r.choice((20.0, 1.0, 0.5))}
    if name in ("hardshrink", "softshrink"):
        return {"lambd": r.choice((0.5, 1.0, 0.0, -0.5 if r.p(0.1) else 0.25))}
    if name == "leaky_relu":
        return {"negative_slope": r.choice((0.01, 0.2, -0.5, 1.5))}
    return {}


ACTS = ("hardtanh", "threshold", "rrelu", "celu", "softplus", "hardshrink", "softshrink", "elu",
        "leaky_relu", "relu6", "selu", "hardsigmoid", "hardswish", "mish", "logsigmoid",
        "softsign", "tanhshrink", "silu")


def gen_act(name):
    def gen(r):
        dt = r.choice(FLOATS)
        kw = _act_kwargs(r, name)
        x = _act_input(r, dt, {"min_val": 0.0, "max_val": 6.0} if name == "relu6" else kw, name)
        if name == "threshold":  # threshold and value are positional-only in spirit
            return Case(name, NNF(name), (x, kw["threshold"], kw["value"]), tol="ulp")
        return Case(name, NNF(name), (x,), kw, tol="ulp")
    return gen


def gen_prelu(r):
    dt = r.choice(FLOATS)
    shape = tuple(r.int(1, 4) for _ in range(r.int(0, 4)))
    c = shape[1] if len(shape) >= 2 else (shape[0] if len(shape) == 1 else 1)
    wn = r.choice((1, c, c, c + 1))
    w = ften(r, (wn,), dt, special=0.0)
    x = ften(r, shape, dt, vals=r.values(shape, dt))
    return Case("prelu", NNF("prelu"), (x, w), tol="sum", n=4 * max(numel(shape), 1))
