"""Optimizers: ``gradstep.optim.SGD``, ``Adam``, ... with torch.optim's API and numbers."""

from . import optimizer
from .optimizer import Optimizer
