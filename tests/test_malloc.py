"""gradstep._malloc: freed array memory stays in the process (no page faults per step)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import gradstep  # noqa: F401 - importing gradstep tunes malloc
from gradstep import _malloc

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc")


_STEPS = """
import resource
import numpy as np
import gradstep  # noqa: F401 - importing gradstep tunes malloc


def step():  # like a training step: many multi-MB temporaries alive together, then all freed
    arrays = [np.ones(3 * 2**20 // 8) for _ in range(12)]  # 12 x 3 MB, each touched
    return sum(float(a[-1]) for a in arrays)


step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@linux_only
@pytest.mark.parametrize("tuning, bound", [("1", lambda n: n < 500), ("0", lambda n: n > 5000)])
def test_repeated_step_sized_allocations_do_not_page_fault(tuning, bound):
    # in a fresh process: the heap that earlier tests in this worker left (its layout, mappings
    # beside it) decides whether glibc can grow it in place, which this test must not depend on.
    # Untuned (GRADSTEP_MALLOC_TUNING=0) each 3 MB array is mmapped and faulted in again every
    # step: about 9,000 faults a step here (bound: 1,000), so the untuned run shows the test can fail.
    env = dict(os.environ, GRADSTEP_MALLOC_TUNING=tuning)
    out = subprocess.run([sys.executable, "-c", _STEPS], capture_output=True, text=True, env=env,
                         timeout=120, check=True).stdout
    faults = int(out.split()[-1])
    assert bound(faults), f"{faults} page faults over 5 steps for memory freed and reused (tuning {tuning})"


@linux_only
def test_env_switch_leaves_malloc_alone(monkeypatch):
    monkeypatch.setenv("GRADSTEP_MALLOC_TUNING", "0")
    assert _malloc.retain_freed_memory() is False
    monkeypatch.setenv("GRADSTEP_MALLOC_TUNING", "1")
    assert _malloc.retain_freed_memory() is True
