"""nn.DataParallel on the CPU: torch keeps no device ids and calls the module directly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradstep
from tests.helpers import check


def test_data_parallel_is_transparent():
    rng = np.random.default_rng(0)
    lin = gradstep.nn.Linear(3, 2)
    tlin = torch.nn.Linear(3, 2)
    for p, tp in zip(lin.parameters(), tlin.parameters()):
        p.data = gradstep.tensor(tp.detach().numpy().copy())
    ours, theirs = gradstep.nn.DataParallel(lin), torch.nn.DataParallel(tlin)
    assert ours.module is lin and ours.device_ids == theirs.device_ids == []
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["module.weight", "module.bias"]
    assert repr(ours) == repr(theirs)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    check(lambda L, a: (ours if L is gradstep else theirs)(a), inputs=[gradstep.tensor(x)],
          dtypes=("float32",))
    with pytest.raises(RuntimeError):
        torch.nn.parallel.data_parallel(tlin, torch.tensor(x))
    with pytest.raises(RuntimeError):
        gradstep.nn.parallel.data_parallel(lin, gradstep.tensor(x))
