"""gradstep._malloc: freed array memory stays in the process (no page faults per step)."""

from __future__ import annotations

import resource
import sys

import numpy as np
import pytest

import gradstep  # noqa: F401 - importing gradstep tunes malloc
from gradstep import _malloc

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc")


@linux_only
def test_repeated_step_sized_allocations_do_not_page_fault():
    # like a training step: many multi-MB temporaries alive together, then all freed
    def step():
        arrays = [np.ones(3 * 2**20 // 8) for _ in range(12)]  # 12 x 3 MB, each touched
        return sum(float(a[-1]) for a in arrays)

    step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        step()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 500, f"{faults} page faults for memory freed and reused (about 9,000 per step untuned)"


@linux_only
def test_env_switch_leaves_malloc_alone(monkeypatch):
    monkeypatch.setenv("GRADSTEP_MALLOC_TUNING", "0")
    assert _malloc.retain_freed_memory() is False
    monkeypatch.setenv("GRADSTEP_MALLOC_TUNING", "1")
    assert _malloc.retain_freed_memory() is True
