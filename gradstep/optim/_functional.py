"""torch.optim._functional: the functional optimizers, which published optimizer code calls
with lists of tensors (``F.adam(params, grads, exp_avgs, ...)``).

Each is the function of its optimizer's module (``adam`` is ``gradstep.optim.adam.adam``),
with torch's signature, and updates the given tensors in place with the numbers of the
optimizer class. ``sparse_adam`` needs sparse gradients, which gradstep does not have.
"""

from __future__ import annotations

from .adadelta import adadelta
from .adagrad import adagrad
from .adam import adam
from .adamax import adamax
from .adamw import adamw
from .asgd import asgd
from .nadam import nadam
from .radam import radam
from .rmsprop import rmsprop
from .rprop import rprop
from .sgd import sgd

__all__ = ["adadelta", "adagrad", "adam", "adamax", "adamw", "asgd", "nadam", "radam", "rmsprop",
           "rprop", "sgd", "sparse_adam"]


def sparse_adam(params, grads, exp_avgs, exp_avg_sqs, state_steps, *, eps, beta1, beta2, lr,
                maximize):
    """torch.optim._functional.sparse_adam: every gradstep gradient is dense, and torch's
    function fails on a dense one (it coalesces the gradient first) with this error."""
    if params:
        raise RuntimeError("coalesce expected sparse coordinate tensor layout but got Strided")
