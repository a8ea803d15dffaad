"""``torch.jit.annotations``: model code imports typing names from here (``List``, ``Tuple``...)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, Union  # noqa: F401, UP035 - re-exported as torch does

# TorchScript's "a scalar or a list of N" hints; eagerly they are plain ``List``
BroadcastingList1 = BroadcastingList2 = BroadcastingList3 = List  # noqa: UP006
