"""ctc_loss / CTCLoss against torch: values and gradients (through log_softmax and directly
on log_probs, where torch's gradient carries an extra softmax term), padded and
concatenated targets, empty targets, unbatched input, impossible alignments.

Tolerance: helpers.TOL x100 — the loss is a log-sum-exp over all alignments built by
T recursive log-sum-exps; each step rounds, so the float32 error grows with T (12
here) times the magnitude of the accumulated log-probabilities (~T * log C ~ 20).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check
from tests.nn.bad_input import assert_same_outcome, rand

T, N, C = 12, 3, 5
RNG = np.random.default_rng(0)
TARGETS = RNG.integers(1, C, (N, 6))
TARGET_LENGTHS = [4, 6, 0]
INPUT_LENGTHS = [12, 10, 7]


def _inputs(dt):
    return [gradstep.tensor(np.random.default_rng(1).standard_normal((T, N, C)).astype(dt),
                            requires_grad=True)]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("log_softmax", [True, False])
@pytest.mark.parametrize("concatenated", [False, True])
def test_ctc_loss(reduction, log_softmax, concatenated):
    flat = np.concatenate([TARGETS[b, :n] for b, n in enumerate(TARGET_LENGTHS)])

    def fn(L, x):
        lp = x.log_softmax(2) if log_softmax else x
        tg = L.tensor(flat) if concatenated else L.tensor(TARGETS)
        return L.nn.functional.ctc_loss(lp, tg, L.tensor(INPUT_LENGTHS),
                                        L.tensor(TARGET_LENGTHS), reduction=reduction)

    check(fn, inputs=_inputs, scale=100)


def test_module_blank_and_tuple_lengths():
    ours, theirs = gradstep.nn.CTCLoss(blank=4), torch.nn.CTCLoss(blank=4)
    assert repr(ours) == repr(theirs)
    tg = TARGETS - 1  # labels 0..3, blank 4
    check(lambda L, x: (ours if L is gradstep else theirs)(
        x.log_softmax(2), L.tensor(tg), tuple(INPUT_LENGTHS), tuple(TARGET_LENGTHS)),
        inputs=_inputs, scale=100)


def test_unbatched():
    check(lambda L, x: L.nn.functional.ctc_loss(x.log_softmax(1), L.tensor(TARGETS[0, :4]),
                                                L.tensor(9), L.tensor(4), reduction="none"),
          [(T, C)], scale=100)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_impossible_alignment(zero_infinity):
    # 5 labels with a repeat need 6 frames; 4 are given: the likelihood is 0
    tg = [[1, 2, 2, 3, 1]]

    def fn(L, x):
        return L.nn.functional.ctc_loss(x.log_softmax(2), L.tensor(tg), L.tensor([4]),
                                        L.tensor([5]), reduction="sum",
                                        zero_infinity=zero_infinity)

    check(fn, [(6, 1, C)], grad=zero_infinity)


def test_errors():
    for L in (torch, gradstep):
        x = L.zeros(4, 2, 3).log_softmax(2)
        with pytest.raises(RuntimeError):
            L.nn.functional.ctc_loss(x, L.ones(2, 2).long(), L.tensor([5, 4]), L.tensor([2, 2]))
        with pytest.raises(RuntimeError):
            L.nn.functional.ctc_loss(x, L.ones(2, 2).long(), L.tensor([4, 4]), L.tensor([2, 2]),
                                     blank=3)


# ---- found by tests/nn/test_functional_differential.py
def test_ctc_with_every_target_empty_and_concatenated():
    from tests.ops.fuzz_ops import disagreement
    lp = np.log(np.random.default_rng(0).dirichlet(np.ones(3), size=(4, 2)))
    assert disagreement(lambda L, lp: L.nn.functional.ctc_loss(
        lp, L.zeros(0, dtype=L.int64), [4, 2], [0, 0], reduction="none"), lp) is None


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_ctc_gradient_of_an_impossible_alignment_is_nan_as_torch(reduction):
    from tests.ops.fuzz_ops import disagreement
    lp = np.log(np.random.default_rng(1).dirichlet(np.ones(3), size=(3, 2)))
    call = lambda L, lp: L.nn.functional.ctc_loss(  # noqa: E731
        lp, L.tensor([[1, 1], [1, 2]]), [2, 3], [2, 2], reduction=reduction)
    assert disagreement(call, lp, tol="sum", n=64) is None
    g = gradstep.tensor(lp, requires_grad=True)
    call(gradstep, g).sum().backward()
    assert np.isnan(g.grad.numpy()[:2, 0]).all() and np.isfinite(g.grad.numpy()[:, 1]).all()


def _ctc(L, lp_shape=(5, 2, 4), tgt=(2, 3), il=(5, 5), tl=(3, 2), blank=0, lengths_dtype=None):
    lp = rand(L, lp_shape).log_softmax(-1)
    t = L.tensor(np.random.default_rng(0).integers(1, 4, tgt))
    il, tl = L.tensor(il, dtype=lengths_dtype), L.tensor(tl)
    return L.nn.functional.ctc_loss(lp, t, il, tl, blank=blank)


@pytest.mark.parametrize("kw", [
    {"tl": (4, 3)}, {"tl": (3, 4)}, {"il": (6, 5)}, {"il": (5, 5, 5)}, {"tl": (3,)},
    {"lp_shape": (5, 4)}, {"lp_shape": (5, 4), "tgt": (2, 3), "il": (5,), "tl": (3,)},
    {"tgt": (2, 3, 1)}, {"tgt": ()}, {"tgt": (4,)}, {"tgt": (6,)}, {"tgt": (3, 3)}, {"tgt": (1, 3)},
    {"tl": (-1, 2)}, {"il": (-1, 5)}, {"blank": 4}, {"lp_shape": (5, 2, 4, 1)}, {"lp_shape": (5,)},
    {"tgt": (2, 3, 1), "il": (5, 5, 5)}, {"blank": 7, "il": (5, 5, 5)}, {"tl": (-1, 2), "il": (7, 5)},
    {"lengths_dtype": "float"}])
def test_ctc_argument_errors_as_torch(kw):
    """torch's checks in its order: ranks, blank, length counts, target lengths against the
    targets' sizes, then input lengths (a 3-D target is no NumPy broadcast error)."""
    def build(L):
        args = dict(kw)
        if args.get("lengths_dtype"):
            args["lengths_dtype"] = L.float32
        return _ctc(L, **args)
    assert_same_outcome(build)
