"""One of gradstep's fast paths, on and off, in one training-step loop: a paired A/B.

On a VM whose speed swings by 20-30% from minute to minute, runs in separate processes
cannot resolve a change of a few percent. Here one process alternates the switch step by
step, so both arms see the same machine; the result is the median of the paired
differences (on minus off). Each switch is the function that chooses the fast path;
turning it off runs the code the fast path replaced.

Run: ``.venv/bin/python bench/paired.py transformer-32 attention [steps per arm]``
Cases are bench/_train.py's; switches: see SWITCHES.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _train import CASES, _torch_like_step, make_weights  # noqa: E402


def _switch(module_name, attr, off):
    """(set(on: bool)) for ``module.attr``, ``off`` replacing it when off."""
    import importlib

    module = importlib.import_module(module_name)
    on = getattr(module, attr)
    return lambda flag: setattr(module, attr, on if flag else off)


def _numpy_transpose(a):
    return np.ascontiguousarray(a.T)


SWITCHES = {  # name: (module, attribute, what runs when off)
    "attention": ("gradstep.nn._functional.attention_fused", "usable", lambda *a: False),
    "layer_norm": ("gradstep.nn._functional.normalization", "_fused_layer_norm",
                   lambda *a: None),
    "linear_weight_first": ("gradstep.nn._functional.linear", "_weight_first_pays",
                            lambda *a: False),
    "omatcopy": ("gradstep._blas", "transposed", _numpy_transpose),
    "conv_grid": ("gradstep.nn._functional.conv_shifts", "grid_usable", lambda *a: False),
}


def main(argv):
    if len(argv) < 2 or argv[0] not in CASES or argv[1] not in SWITCHES:
        sys.exit(f"usage: paired.py {{{','.join(CASES)}}} {{{','.join(SWITCHES)}}} [steps]")
    case, name = argv[0], argv[1]
    steps = int(argv[2]) if len(argv) > 2 else 30
    import gradstep

    set_switch = _switch(*SWITCHES[name])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "w.npz")
        make_weights(case, path)
        step = _torch_like_step(gradstep, case, np.load(path))
    for flag in (True, False, True, False):  # warm both paths
        set_switch(flag)
        step()
    times = {True: [], False: []}
    for i in range(2 * steps):
        flag = i % 2 == 1
        set_switch(flag)
        t0 = time.perf_counter()
        step()
        times[flag].append(time.perf_counter() - t0)
    set_switch(True)
    for flag in (False, True):
        t = sorted(times[flag])
        print(f"{name} {'on ' if flag else 'off'}: min {t[0] * 1e3:.2f} ms, "
              f"median {t[len(t) // 2] * 1e3:.2f} ms ({steps} steps)")
    diffs = sorted(b - a for a, b in zip(times[False], times[True]))
    print(f"{case}, {name}: median paired difference (on - off) "
          f"{diffs[len(diffs) // 2] * 1e3:+.3f} ms a step")


if __name__ == "__main__":
    main(sys.argv[1:])
