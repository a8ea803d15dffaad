"""Cost of the torch import hook: the MLP training step under ``gradstep run``-style
``install_as_torch()`` (``import torch`` gives gradstep) vs a plain ``import gradstep``.

The hook only changes how modules are found, so the two should be equal within noise.
Each variant runs in its own fresh process, alternating, best of ``--repeats``.
Run: ``.venv/bin/python bench/hook.py`` (``--min-time 0 --min-steps 2 --repeats 1`` for a
smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _train import make_weights, measure  # noqa: E402

VARIANTS = ("plain", "hooked")


def _child(variant, case, weights, min_time, min_steps):
    if variant == "hooked":
        import gradstep

        gradstep.install_as_torch()
        name = "torch"  # resolved by the hook to gradstep itself
    else:
        name = "gradstep"
    result = measure(name, case, weights, min_time=min_time, min_steps=min_steps)
    if variant == "hooked":
        result["torch_is_gradstep"] = sys.modules["torch"].__name__ == "gradstep"
    return result


def _run(variant, case, weights, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", variant, case, weights,
           str(args.min_time), str(args.min_steps)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{variant} {case} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", nargs="+", default=["mlp-64", "mlp-512"])
    p.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", "3")))
    p.add_argument("--min-time", type=float, default=2.0)
    p.add_argument("--min-steps", type=int, default=5)
    args = p.parse_args(argv)
    print("torch import hook: MLP training step, steps/s (best of "
          f"{args.repeats}); ratio = hooked / plain")
    print(f"{'case':10s} {'plain/s':>9s} {'hooked/s':>9s} {'ratio':>6s}")
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            path = os.path.join(tmp, f"{case}.npz")
            make_weights(case, path)
            runs = {v: [] for v in VARIANTS}
            for _ in range(args.repeats):
                for v in VARIANTS:
                    runs[v].append(_run(v, case, path, args))
            assert all(r["torch_is_gradstep"] for r in runs["hooked"])
            best = {v: max(r["steps_per_s"] for r in rs) for v, rs in runs.items()}
            print(f"{case:10s} {best['plain']:9.1f} {best['hooked']:9.1f} "
                  f"{best['hooked'] / best['plain']:6.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        v, c, w, t, s = sys.argv[2:7]
        print(json.dumps(_child(v, c, w, float(t), int(s))))
    else:
        main()
