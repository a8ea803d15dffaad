"""The share of torch's public API that gradstep has must not drop below the recorded figures.

The figures are those printed by ``bench/api_coverage.py`` when they were last raised (the
README's table); raise them here when coverage grows.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RECORDED = {  # namespace -> names gradstep has (of torch's total at the time)
    "torch.* functions": 545,  # of 550
    "Tensor methods": 549,  # of 558
    "nn modules (non-Lazy)": 150,  # of 150
    "nn.functional": 129,  # of 133
    "nn.utils (with submodules)": 56,  # of 56
    "autograd (functional, graph, forward_ad)": 32,  # of 36
}


def test_coverage_does_not_drop():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "api_coverage.py"), "--json"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    rows = {r["namespace"]: r for r in json.loads(proc.stdout)}
    assert set(rows) == set(RECORDED)
    for name, floor in RECORDED.items():
        assert rows[name]["gradstep"] >= floor, (name, rows[name], floor)
