"""gradstep.doctor.checks: the loss-trend rules (O(1) per step) against a plain reading of them."""

import numpy as np

from gradstep.doctor.checks import WINDOW, LossTrend


def _median(v):
    return sorted(v)[len(v) // 2]


def _reference(losses, min_steps):
    """Both verdicts after each step, from the whole history (the rules as documented)."""
    out, best = [], float("inf")
    for n in range(1, len(losses) + 1):
        div = flat = None
        if n >= WINDOW and n % 5 == 0:
            cur, first = _median(losses[n - WINDOW:n]), _median(losses[:WINDOW])
            if n >= 2 * WINDOW and cur > 2 * best and cur > first:
                div = (cur, best)
            best = min(best, cur)
            if n >= min_steps and abs(first) > 1e-6 and abs(cur - first) <= 0.01 * abs(first):
                flat = (first, cur)
        out.append((div, flat))
    return out


def test_loss_trend_matches_the_rules_and_keeps_two_windows():
    rng = np.random.default_rng(0)
    for kind in ("falling", "rising", "flat", "noisy"):
        t = np.arange(300)
        base = {"falling": 2.0 * np.exp(-t / 50), "rising": 0.5 + t / 20.0, "flat": np.full(300, 1.3),
                "noisy": 1.0 + 0.5 * np.sin(t / 7.0)}[kind]
        losses = list(base * (1 + 0.001 * rng.standard_normal(300)))
        trend = LossTrend()
        got = [(trend.add(v), trend.flat(30)) for v in losses]
        assert got == _reference(losses, 30), kind
        assert trend.n == 300 and len(trend.first) == WINDOW and len(trend.recent) == WINDOW
    assert any(d for d, _ in _reference(list(0.5 + np.arange(300) / 20.0), 30))  # the rules can fire
    assert any(f for _, f in _reference([1.3] * 300, 30))
