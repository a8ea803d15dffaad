"""torch.optim._functional: the functional optimizers, which published optimizer code calls
with lists of tensors (``F.adam(params, grads, exp_avgs, ...)``).

Each is the function of its optimizer's module (``adam`` is ``gradstep.optim.adam.adam``),
with torch's signature, and updates the given tensors in place with the numbers of the
optimizer class.
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
from .sparse_adam import sparse_adam

__all__ = ["adadelta", "adagrad", "adam", "adamax", "adamw", "asgd", "nadam", "radam", "rmsprop",
           "rprop", "sgd", "sparse_adam"]

