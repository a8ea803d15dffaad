"""``check_accumulation``: does accumulating k micro-batches give the whole batch's gradient?

``.grad`` adds up over ``backward()`` calls, so k micro-batch backwards followed by one
``step()`` are meant to equal one backward on the whole batch. Two classic ways it goes wrong:

* the micro-batch loss is not divided by k: the accumulated gradient is k times too big
  (the ratio of the gradients is k);
* the loss is a mean over elements (tokens) and the micro-batches hold different numbers of
  them: dividing each mean by k weights a token of a small micro-batch more than one of a
  big micro-batch. The right weight of micro-batch i is n_i / N (sum the per-token losses
  and divide by the total count).

The check computes both gradients on a deep copy of the model (the model, its ``.grad``
and the random number generator state are left as they were) and names the cause.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np


@dataclasses.dataclass
class AccumulationReport:
    """What ``check_accumulation`` found; ``str(report)`` explains it, ``verdict`` is one line."""

    micro_batches: int
    scale: float
    counts: list  # elements (tokens) the loss averages over, per micro-batch
    max_abs: float  # max |accumulated - whole-batch| over every gradient entry
    max_rel: float  # max_abs / max |whole-batch gradient|
    ratio: float  # <acc, ref> / <ref, ref>: 1 when they agree, k when the loss is not divided by k
    tolerance: float
    cause: str  # "agree", "not-divided", "uneven-mean", "other"
    explanation: str
    fix: str

    @property
    def agree(self):
        return self.cause == "agree"

    @property
    def verdict(self):
        head = (f"accumulation check ({self.micro_batches} micro-batches): "
                f"max abs diff {self.max_abs:.3g}, relative {self.max_rel:.3g}")
        if self.agree:
            return head + " - matches the whole batch"
        return head + f" - MISMATCH: {self.explanation} Fix: {self.fix}"

    def __str__(self):
        lines = [f"gradstep doctor: gradient accumulation over {self.micro_batches} micro-batches "
                 f"(each loss x {self.scale:.6g}) vs one backward on the whole batch",
                 f"  elements per micro-batch: {self.counts}",
                 f"  max |accumulated - whole| = {self.max_abs:.6g}  (relative {self.max_rel:.3g}, "
                 f"rounding tolerance {self.tolerance:.3g})",
                 f"  gradient ratio accumulated/whole = {self.ratio:.6g}"]
        if self.agree:
            lines.append("  verdict: the accumulated gradient equals the whole batch's (to rounding)")
        else:
            lines.append(f"  verdict: they differ. {self.explanation}")
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)


def check_accumulation(model, loss_fn, batch, micro_batches=2, *, scale=None, count=None,
                       ignore_index=-100, train=False):
    """Compare k accumulated micro-batch gradients with the whole batch's gradient.

    ``batch`` is ``(inputs, targets)``; the loss of a part is ``loss_fn(model(inputs), targets)``
    (``loss_fn`` a criterion such as ``nn.CrossEntropyLoss()``). The batch is split along
    dim 0 into ``micro_batches`` parts as ``Tensor.chunk`` does, and each part's loss is
    multiplied by ``scale`` before its backward (default ``1 / k``, the usual recipe; pass
    ``scale=1`` to check a loop that does not divide). ``count(part)`` gives the number of
    elements a part's loss averages over (default: the targets' elements that are not
    ``ignore_index``). The copy runs in eval mode (no dropout, BatchNorm on its running
    statistics), so that only the accumulation recipe is compared; ``train=True`` keeps the
    model's mode. Returns an :class:`AccumulationReport`.
    """
    inputs, targets = batch
    k = int(micro_batches)
    if k < 1:
        raise ValueError(f"check_accumulation: micro_batches must be >= 1, got {micro_batches}")
    scale = 1.0 / k if scale is None else float(scale)
    parts = list(zip(inputs.chunk(k), targets.chunk(k)))
    k = len(parts)  # chunk gives fewer parts when the batch has fewer than k rows
    counts = [int(count(p)) if count is not None else _count(p[1], ignore_index) for p in parts]

    from ..random import get_rng_state, set_rng_state

    rng = get_rng_state()
    try:
        ref = _grads(model, loss_fn, [(inputs, targets)], [1.0], train)
        per = [_grads(model, loss_fn, [p], [1.0], train) for p in parts]
    finally:
        set_rng_state(rng)
    acc = scale * sum(per)
    total = sum(counts)
    weighted = sum((n / total) * g for n, g in zip(counts, per)) if total else acc
    eps = np.finfo(_dtype(model)).eps
    tol = float(64 * k * eps)  # k sums of O(1)-scaled float terms, each within a few ulps of the whole
    scale_ref = float(np.max(np.abs(ref))) if ref.size else 0.0
    max_abs = float(np.max(np.abs(acc - ref))) if ref.size else 0.0
    max_rel = max_abs / scale_ref if scale_ref else max_abs
    ref_sq = float(ref @ ref)
    ratio = float(acc @ ref) / ref_sq if ref_sq else 1.0
    cause, why, fix = _diagnose(k, scale, counts, acc, ref, weighted, ratio, max_rel, tol, scale_ref)
    return AccumulationReport(k, scale, counts, max_abs, max_rel, ratio, tol, cause, why, fix)


def _diagnose(k, scale, counts, acc, ref, weighted, ratio, max_rel, tol, scale_ref):
    if max_rel <= tol:
        return "agree", "", ""
    uneven = len(set(counts)) > 1
    weighted_ok = scale_ref and float(np.max(np.abs(weighted - ref))) / scale_ref <= tol
    if uneven and weighted_ok:
        return ("uneven-mean",
                f"the loss is a mean over elements and the micro-batches hold different numbers of "
                f"them ({counts}); dividing each mean by {k} weights them equally, the whole batch "
                f"weights each element by 1/{sum(counts)}.",
                f"sum the per-element losses (reduction='sum') and divide by the total count "
                f"{sum(counts)}, i.e. scale micro-batch i by n_i / N instead of 1/{k}")
    residual = float(np.max(np.abs(acc - ratio * ref))) / (abs(ratio) * scale_ref) if scale_ref else 1.0
    if residual <= tol and abs(ratio - 1) > tol:
        if abs(ratio - k) <= k * 1e-3:
            return ("not-divided",
                    f"the accumulated gradient is {ratio:.6g} x the whole batch's (= k = {k}): each "
                    f"micro-batch loss is a mean and was not divided by {k}.",
                    f"backward (loss / {k}) for each micro-batch")
        return ("not-divided",
                f"the accumulated gradient is {ratio:.6g} x the whole batch's: the micro-batch "
                f"losses are scaled by {scale:.6g} where {1 / (ratio / scale):.6g} would match.",
                f"scale each micro-batch loss by {scale / ratio:.6g} (1/{k} for a mean loss, 1 for "
                f"a sum)")
    return ("other",
            "the gradients differ in direction, not just by a factor: a batch-dependent layer "
            "(BatchNorm in train mode), randomness (dropout), or a loss that is not a sum or mean "
            "over samples.",
            "check with train=False (the default: eval mode), and accumulate only losses that "
            "are sums or means over samples")


def _count(targets, ignore_index):
    d = targets._data
    if d.dtype.kind in "iu":
        return int(np.count_nonzero(d != ignore_index))
    return int(d.size)


def _dtype(model):
    for p in model.parameters():
        if p._data.dtype.kind == "f":
            return p._data.dtype
    return np.dtype(np.float32)


def _grads(model, loss_fn, parts, scales, train):
    """The flattened float64 gradient of sum(scale * loss(part)) on a copy of the model."""
    m = copy.deepcopy(model)
    if not train:
        m.eval()
    for p in m.parameters():
        p.grad = None
    for (x, y), s in zip(parts, scales):
        loss = loss_fn(m(x), y)
        (loss * s if s != 1.0 else loss).backward()
    flat = [np.zeros(p._data.size) if p.grad is None else p.grad._data.astype(np.float64).ravel()
            for p in m.parameters()]
    return np.concatenate(flat) if flat else np.zeros(0)
