"""``binary_cross_entropy_with_logits``: sigmoid and binary cross-entropy in one stable
expression, and the node that gives its target torch's gradient where a ``pos_weight``
is given. ``loss.py`` re-exports it."""

from __future__ import annotations

from ...amp._policy import autocast_op
from ...autograd.function import Node, as_torch_node
from ...ops import elementwise as E
from .loss import _check_reduction, _reduce, legacy_reduction


@autocast_op("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,  # noqa: A002
                                     reduce=None, reduction="mean", pos_weight=None):
    """Sigmoid + BCE in one stable expression: (1 - t) x + lw softplus(-x), with
    lw = 1 + (pos_weight - 1) t."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    _check_logits_target_dtype(input, target)
    # -log_sigmoid(x), as torch: one smooth op, so the gradient at x = 0 is sigmoid's (a max
    # plus |x| composition gives each kink's one-sided slope there)
    softplus_neg = E.softplus(-input, 1.0, float("inf"))  # no linear cut-off: exact past 20
    if pos_weight is not None:
        t = target.detach() if target.requires_grad else target
        log_weight = (pos_weight - 1) * t + 1
        loss = (1 - t) * input + log_weight * softplus_neg
        if t is not target:
            loss = LogitsTargetGrad.apply(loss, target, input=input, pos_weight=pos_weight,
                                          softplus_neg=softplus_neg)
    else:
        loss = (1 - target) * input + softplus_neg
    if weight is not None:
        loss = loss * weight
    return as_torch_node(_reduce(loss, reduction), "BinaryCrossEntropyWithLogitsBackward0")


class LogitsTargetGrad(Node):
    """``binary_cross_entropy_with_logits``'s loss with a ``pos_weight`` as it is, the
    target's gradient torch's ``pos_weight * softplus(-x) - softplus(x)``: the composition's
    ``(pos_weight - 1) * softplus(-x) - x`` is the same number but at x = -inf, where it is
    inf - inf (NaN) and torch's is inf. Only where the target requires grad."""

    def forward(self, loss, target):
        return loss

    def backward(self, g):
        coef = self.pos_weight * self.softplus_neg - E.softplus(self.input, 1.0, float("inf"))
        return g, g * coef

    def release(self):
        super().release()
        self.input = self.pos_weight = self.softplus_neg = None


def _check_logits_target_dtype(input, target):  # noqa: A002
    """torch computes the loss into a tensor of ``target``'s dtype: integer labels fail."""
    td = target.dtype
    if not td.is_floating_point and td.name != "bool" and input.dtype.is_floating_point:
        from ...ops._util import dtype_title

        raise RuntimeError(f"result type {dtype_title(input.dtype)} can't be cast to the "
                           f"desired output type {dtype_title(td)}")


__all__ = ["binary_cross_entropy_with_logits"]
