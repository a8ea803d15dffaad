"""The doctor's findings and the rules that decide them (pure functions on numbers and graphs).

Each rule is a small function with its thresholds documented here; ``watcher.py``
collects the evidence through hooks and calls them. Every finding says what was
seen (evidence, with numbers) and what to change (fix).
"""

from __future__ import annotations

import collections
import dataclasses
import math

from ..backend import is_float_array, xp


@dataclasses.dataclass(frozen=True)
class Finding:
    """One mistake the doctor saw: a stable ``code``, a one-line ``title``, the ``evidence``
    (what was measured), the ``fix`` (what to change) and the optimizer ``step`` it was seen at
    (the number of ``step()`` calls completed so far while watching; 0: before the first)."""

    code: str
    title: str
    evidence: str
    fix: str
    step: int

    def __str__(self):
        return (f"[{self.code}] {self.title} (at step {self.step})\n"
                f"    evidence: {self.evidence}\n    fix: {self.fix}")


def names_list(names, limit=6):
    """``'a', 'b' and 3 more`` for a report line."""
    names = [f"'{n}'" for n in names]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names)


def is_finite_array(a):
    """Whether every value of a raw array is finite (integer arrays always are)."""
    return not (is_float_array(a) or a.dtype.kind == "c") or bool(xp.isfinite(a).all())


# ---------------------------------------------------------------- 5: scheduler cadence
def scheduler_horizon(scheduler):
    """How many ``scheduler.step()`` calls the schedule is configured to span, or None.

    T_max (CosineAnnealingLR), total_iters (LinearLR, ConstantLR, PolynomialLR), step_size
    (StepLR: one decay), the last milestone (MultiStepLR), and for ExponentialLR the steps
    that shrink the lr 1000-fold. Schedulers meant to be stepped every batch (OneCycleLR,
    CyclicLR), periodic ones (CosineAnnealingWarmRestarts) and ReduceLROnPlateau have none.
    """
    name = type(scheduler).__name__
    if name in ("OneCycleLR", "CyclicLR", "CosineAnnealingWarmRestarts", "ReduceLROnPlateau"):
        return None
    for attr in ("T_max", "total_iters", "step_size"):
        value = getattr(scheduler, attr, None)
        if isinstance(value, (int, float)) and value > 0:
            return value
    milestones = getattr(scheduler, "milestones", None)
    if milestones:
        return max(milestones)
    gamma = getattr(scheduler, "gamma", None)
    if name == "ExponentialLR" and isinstance(gamma, float) and 0 < gamma < 1:
        return math.log(1e-3) / math.log(gamma)
    return None


def stepped_per_batch(sched_steps, opt_steps):
    """The scheduler is stepped at least once per two optimizer steps (after 4 or more)."""
    return opt_steps >= 4 and 2 * sched_steps >= opt_steps


def overran_horizon(last_epoch, horizon):
    """Rule for a per-epoch scheduler stepped every batch: with a per-batch cadence, the
    scheduler reached twice its configured horizon. A schedule sized in batches for the
    run ends at its horizon; one sized in epochs but stepped per batch runs through it
    in a few batches (cosine climbs back up, StepLR has decayed twice, ...)."""
    return horizon is not None and last_epoch >= 2 * horizon


# ---------------------------------------------------------------- 8: update-to-weight ratio
def judge_ratio(ratios, band, slack):
    """'high' / 'low' / None from the recent measured update-to-weight ratios of one group.

    The median of the last 5 measurements (robust to a noisy step) is compared with the
    healthy band widened by ``slack`` on both sides ("far outside": the default run of
    ``gradstep train`` peaks near 1.8e-2 early on and a small net with SGD lr 0.05 near 3e-2: both are fine; the default slack of 10 reports above 0.1 and below 1e-5).
    """
    if len(ratios) < 5:
        return None
    recent = sorted(ratios[-5:])
    median = recent[2]
    lo, hi = band
    if median > hi * slack:
        return "high"
    if median < lo / slack:
        return "low"
    return None


# ---------------------------------------------------------------- 9: loss trend
WINDOW = 10  # steps per window of the loss rules


def _median(values):
    s = sorted(values)
    return s[len(s) // 2]


class LossTrend:
    """The step losses seen through 10-step windows: the first window, the last one, and the
    best window median so far; the diverging and flat rules in O(1) time and memory a step."""

    def __init__(self):
        self.n = 0  # losses added
        self.first = []  # the first WINDOW losses
        self.recent = collections.deque(maxlen=WINDOW)
        self.first_median = None
        self.current = None  # median of the last window, as of the last multiple of 5 steps
        self.best = math.inf

    def add(self, loss):
        """Record a step's loss; returns ``(current median, best earlier median)`` if diverging.

        Rule: over at least 20 steps, the median loss of the last 10 steps is more than twice
        the lowest median of any earlier 10-step window and above the first window's median
        (the loss climbed back past where training started: noise around a small loss, which
        can easily double, does not count).
        """
        n = self.n = self.n + 1
        self.recent.append(loss)
        if n <= WINDOW:
            self.first.append(loss)
            if n == WINDOW:
                self.first_median = _median(self.first)
        if n < WINDOW or n % 5:  # windows ending every 5th step are enough, at a fifth of the cost
            return None
        current = self.current = _median(self.recent)
        best, self.best = self.best, min(self.best, current)
        if n >= 2 * WINDOW and current > 2 * best and current > self.first_median:
            return current, best
        return None

    def flat(self, min_steps=30):
        """``(first median, last median)`` if, after at least ``min_steps`` steps, there is no
        progress: the median of the last 10 step losses is within 1% of the median of the first
        10 (a loss that already reached ~0 is not flat). Judged every 5th step, as ``add``."""
        if self.n < max(min_steps, WINDOW) or self.n % 5:
            return None
        first, last = self.first_median, self.current
        if abs(first) > 1e-6 and abs(last - first) <= 0.01 * abs(first):
            return first, last
        return None


# ---------------------------------------------------------------- 10: accumulation scaling
def is_scaled_loss(t):
    """Whether the tensor given to ``backward()`` is a loss multiplied or divided by a constant
    (``loss / k``, ``loss * (1 / k)``): its last op is a Mul/Div with one differentiable input."""
    fn = t.grad_fn
    if fn is None or fn.name() not in ("DivBackward0", "MulBackward0"):
        return False
    return sum(e is not None for e in fn._next) == 1


# ---------------------------------------------------------------- 6: where a NaN came from
def _forward_order(root, stop=None):
    """Nodes reachable from ``root`` (not below ``stop``), producers before consumers."""
    order, seen = [], {root}
    stack = [(root, iter(root._next))]
    while stack:
        node, edges = stack[-1]
        for e in edges:
            if e is None:
                continue
            n = e[0]
            if n in seen or n is stop:
                continue
            seen.add(n)
            stack.append((n, iter(n._next)))
            break
        else:
            stack.pop()
            order.append(node)
    return order


def first_nonfinite_node(loss, stop=None):
    """The op (graph node) that first made a non-finite value on the way to ``loss``.

    Uses only what the graph already holds: each node's saved inputs (and saved output),
    which also tell the value of the node that produced them. The answer is the first
    node, in forward order, whose output is known to be non-finite while every input
    value known for it is finite; failing that, the first node with a known non-finite
    output. Returns ``(node, note)`` or ``(None, note)``; ``stop`` (the model's output
    node) bounds the walk to the loss computation.
    """
    root = loss.grad_fn
    if root is None:
        return None, "the loss has no graph"
    order = _forward_order(root, stop)
    outputs = {root: loss._data}
    for node in order:
        out = getattr(node, "_out_data", None)
        if out is not None:
            outputs[node] = out
        saved, saves = getattr(node, "_saved", ()), getattr(node, "saves", ())
        for j, t in enumerate(saved):
            if t is None or j >= len(saves) or saves[j] >= len(node._next):
                continue
            e = node._next[saves[j]]
            if e is not None:
                outputs.setdefault(e[0], t._data)
    fallback = None
    for node in order:
        out = outputs.get(node)
        if out is None or is_finite_array(out):
            continue
        fallback = fallback or node
        if all(is_finite_array(v) for v in _known_inputs(node, outputs)):
            return node, ""
    if fallback is not None:
        return fallback, "(an input of it is not saved in the graph, so the op before it may be the source)"
    return None, "no saved value in the loss computation is non-finite"


def _known_inputs(node, outputs):
    values = [t._data for t in getattr(node, "_saved", ()) if t is not None]
    for e in node._next:
        if e is not None and e[0] in outputs:
            values.append(outputs[e[0]])
        if e is not None and type(e[0]).__name__ == "AccumulateGrad":
            values.append(e[0].variable._data)
    return values
