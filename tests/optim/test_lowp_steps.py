"""Optimizer steps on float16/bfloat16 parameters equal torch's bit for bit.

torch's optimizers are chains of tensor ops, and on a 16-bit tensor each op computes in
float32 and rounds once to the tensor's dtype; ``gradstep/optim/_lowp_update.py`` follows
those chains for SGD, Adam/AdamW, RMSprop and Adagrad, on torch's per-parameter path
(``foreach=False``/``None``) and on its multi-tensor one (``foreach=True``, whose in-place
``_foreach_mul_`` rounds its scalar to the 16-bit type first). Parameters and every state
tensor are compared after several steps.

Sizes are multiples of 64: torch's vectorized kernels take 16 or 32 elements of a 16-bit type
at a time and run each tensor's last few elements through a scalar loop, whose ``add(alpha=)``
rounds ``alpha * y`` to the 16-bit type before adding (gradstep follows the vectorized
kernels, as ``gradstep.ops`` does). ``test_odd_sizes_differ_only_in_the_last_elements`` holds
that remainder to a tolerance.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
import torch

import gradstep
from gradstep.optim import _flat, _lowp_update

DTYPES = ["float16", "bfloat16"]
SHAPES = [(16, 64), (128,), (3, 64)]
EPS = {"float16": 2.0**-10, "bfloat16": 2.0**-7}
NP_DTYPE = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16}

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.8, dampening=0.2, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-3, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.3)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, eps=1e-3, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.1, eps=1e-4, maximize=True)),
]


def _ids(case):
    name, kwargs = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


def data(shapes, steps, seed=0):
    """float32 initial values and gradients (a mix of scales, so that roundings vary)."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[(rng.standard_normal(s) * rng.choice([0.1, 1.0, 4.0], s)).astype(np.float32)
              for s in shapes] for _ in range(steps)]
    return init, grads


def _bits(lib, t):
    """A 16-bit tensor's bit patterns as a NumPy uint16 array."""
    t = t.detach()
    if lib is torch:
        return t.view(torch.int16).numpy().view(np.uint16).copy()
    return t._data.view(np.uint16).copy()


def run(lib, name, kwargs, dtype, foreach, init, grads):
    """Bits of every parameter and elementwise state tensor after the steps."""
    dt = getattr(lib, dtype)
    params = [lib.nn.Parameter(lib.tensor(a).to(dt)) for a in init]
    opt = getattr(lib.optim, name)(params, foreach=foreach, **kwargs)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = lib.tensor(g).to(dt)
        opt.step()
    states = [{k: _bits(lib, v) for k, v in opt.state[p].items() if v.dim()} for p in params]
    return [_bits(lib, p) for p in params], states


def assert_same_bits(ours, theirs, dtype, what):
    """Identical bit patterns, except that NaNs (0/0 where float16 rounds eps to 0) only need
    to be NaN on both sides."""
    a = ours.view(NP_DTYPE[dtype]).astype(np.float32)
    b = theirs.view(NP_DTYPE[dtype]).astype(np.float32)
    assert (np.isnan(a) == np.isnan(b)).all(), f"{what}: NaNs at other places"
    differ = (ours != theirs) & ~np.isnan(b)
    assert not differ.any(), (f"{what}: {int(differ.sum())} of {differ.size} elements differ, "
                              f"e.g. {a[differ][:4]} vs torch's {b[differ][:4]}")


def assert_runs_equal(ours, theirs, dtype):
    (params, states), (t_params, t_states) = ours, theirs
    for i, (p, tp) in enumerate(zip(params, t_params)):
        assert_same_bits(p, tp, dtype, f"param {i}")
    for i, (s, ts) in enumerate(zip(states, t_states)):
        assert set(s) == set(ts), f"state keys of param {i}: {sorted(s)} != {sorted(ts)}"
        for key in ts:
            assert_same_bits(s[key], ts[key], dtype, f"state[{key!r}] of param {i}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("foreach", [None, False, True])
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_steps_equal_torch_bit_for_bit(case, foreach, dtype):
    name, kwargs = case
    init, grads = data(SHAPES, 6)
    assert_runs_equal(run(gradstep, name, kwargs, dtype, foreach, init, grads),
                      run(torch, name, kwargs, dtype, foreach, init, grads), dtype)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in ("SGD", "Adam", "AdamW")][1::2],
                         ids=_ids)
def test_float16_flat_path_in_chunks_equals_torch(case, monkeypatch):
    """float16 groups take the flat path (bfloat16 ones do not); cut into small chunks."""
    monkeypatch.setattr(_flat, "CHUNK", 256)
    name, kwargs = case
    init, grads = data(SHAPES, 4, seed=3)
    for foreach in (None, True):
        assert_runs_equal(run(gradstep, name, kwargs, "float16", foreach, init, grads),
                          run(torch, name, kwargs, "float16", foreach, init, grads), "float16")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_odd_sizes_differ_only_in_the_last_elements(case, dtype):
    """Sizes that are not multiples of 64: the elements before the last multiple of 64 are
    torch's to the bit; the others went through torch's scalar loop, whose ``add(alpha=)``
    rounds differently (see the module doc). Each step can move such an element by one
    rounding of each of its few ``add``s, each at most an ulp of max(1, |value|) for the
    values here (|lr * grad| and |momentum * buf| stay below the parameters' scale): we
    allow one ulp per step (torch 2.13 on AVX-512 measured at most 3.5 ulps after 12 steps)."""
    name, kwargs = case
    steps = 8
    shapes = [(7, 3), (100,), (65,)]
    init, grads = data(shapes, steps, seed=5)
    for foreach in (False, True):
        ours, _ = run(gradstep, name, kwargs, dtype, foreach, init, grads)
        theirs, _ = run(torch, name, kwargs, dtype, foreach, init, grads)
        for i, (a, b) in enumerate(zip(ours, theirs)):
            head = a.size // 64 * 64
            assert_same_bits(a[:head], b[:head], dtype, f"param {i}, first {head} elements")
            x = a.view(NP_DTYPE[dtype]).astype(np.float64)
            y = b.view(NP_DTYPE[dtype]).astype(np.float64)
            with np.errstate(invalid="ignore"):  # inf - inf: float16 rounds eps to 0 (x/0)
                close = (x == y) | (np.abs(x - y) <= steps * EPS[dtype] * np.maximum(1.0, abs(y)))
            assert (close | np.isnan(x) & np.isnan(y)).all(), f"param {i}: {x[~close]} {y[~close]}"


LOWP_FUNCTIONS = ["sgd_update", "adam_update", "rmsprop_update", "adagrad_update"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float32_and_float64_never_take_the_lowp_updates(dtype, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a float32/float64 step called a float16/bfloat16 update")

    for fn in LOWP_FUNCTIONS:
        monkeypatch.setattr(_lowp_update, fn, refuse)
    init, grads = data(SHAPES, 2)
    for name, kwargs in CASES:
        for foreach in (None, False, True):
            params, _ = run(gradstep, name, kwargs, dtype, foreach, init, grads)
            assert params[0].size > 0


def test_each_lowp_update_is_taken_for_float16(monkeypatch):
    called = set()
    for fn in LOWP_FUNCTIONS:
        original = getattr(_lowp_update, fn)

        def spy(*args, _fn=fn, _original=original, **kwargs):
            called.add(_fn)
            return _original(*args, **kwargs)

        monkeypatch.setattr(_lowp_update, fn, spy)
    init, grads = data(SHAPES, 1)
    for name in ("SGD", "Adam", "RMSprop", "Adagrad"):
        run(gradstep, name, dict(lr=0.1), "float16", None, init, grads)
    assert called == set(LOWP_FUNCTIONS)


# ---------------------------------------------------------------- the op rules, one by one
def _pair(arr, dtype):
    t = torch.from_numpy(arr).to(getattr(torch, dtype))
    return t, t.float().numpy()


def _ours(x32, dtype):
    """A float32 result of ``_lowp_update`` as torch's 16-bit tensor, for comparing bits."""
    return torch.from_numpy(np.ascontiguousarray(x32, np.float32)).to(getattr(torch, dtype))


RULES = {
    "mul_": (lambda a, b, c: a.clone().mul_(0.9),
             lambda A, B, C, dt: _lowp_update._mul(A, 0.9, dt)),
    "_foreach_mul_": (lambda a, b, c: _foreach_mul_(a, 0.9),
                      lambda A, B, C, dt: _lowp_update._mul(A, 0.9, dt, foreach_inplace=True)),
    "add_alpha": (lambda a, b, c: a.add(b, alpha=-0.07),
                  lambda A, B, C, dt: _lowp_update._add(A, B, -0.07, dt)),
    "add_scalar": (lambda a, b, c: c.add(0.1234),
                   lambda A, B, C, dt: _lowp_update._add_scalar(C, 0.1234, dt)),
    "div_scalar": (lambda a, b, c: a.div(0.3),
                   lambda A, B, C, dt: _lowp_update._div_scalar(A, 0.3, dt)),
    "addcmul": (lambda a, b, c: a.addcmul(b, c, value=0.1),
                lambda A, B, C, dt: _lowp_update._addcmul(A, B, C, 0.1, dt)),
    "addcdiv": (lambda a, b, c: a.addcdiv(b, c, value=-0.01),
                lambda A, B, C, dt: _lowp_update._addcdiv(A, B, C, -0.01, dt)),
    "lerp_small": (lambda a, b, c: a.lerp(b, 0.1),
                   lambda A, B, C, dt: _lowp_update._lerp(A, B, 0.1, dt)),
    "lerp_large": (lambda a, b, c: a.lerp(b, 0.9),
                   lambda A, B, C, dt: _lowp_update._lerp(A, B, 0.9, dt)),
    "sqrt": (lambda a, b, c: c.sqrt(), lambda A, B, C, dt: _lowp_update._sqrt(C, dt)),
}


def _foreach_mul_(a, s):
    out = a.clone()
    torch._foreach_mul_([out], s)
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule", sorted(RULES))
def test_op_rule_equals_torch(rule, dtype):
    rng = np.random.default_rng(7)
    (a, A), (b, B) = (_pair(rng.standard_normal(4096).astype(np.float32), dtype) for _ in "ab")
    c, C = _pair(rng.uniform(0.1, 3.0, 4096).astype(np.float32), dtype)
    theirs, ours = RULES[rule]
    np_dtype = np.dtype(NP_DTYPE[dtype])
    expected = theirs(a, b, c)
    got = _ours(ours(A, B, C, np_dtype), dtype)
    assert torch.equal(got.view(torch.int16), expected.view(torch.int16)), rule


def test_foreach_mul_rounds_its_scalar_unlike_mul():
    """The one rule where torch's multi-tensor path differs (why ``foreach`` is passed)."""
    a = torch.from_numpy(np.random.default_rng(8).standard_normal(4096).astype(np.float32))
    a = a.to(torch.float16)
    assert not torch.equal(a.clone().mul_(0.9), _foreach_mul_(a, 0.9))
