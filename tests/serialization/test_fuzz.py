"""Fuzzing: mutated torch and gradstep checkpoints load correctly or raise CheckpointError, in a
memory-limited child process; nothing executes and no shared state changes.

``make test`` runs GRADSTEP_FUZZ_CASES=1500 cases (the default, about 8 s of CPU); ``make fuzz``
runs 20000 (``make fuzz FUZZ_CASES=...`` for another count).
GRADSTEP_FUZZ_SEED picks another sequence. Failing inputs are copied to GRADSTEP_FUZZ_KEEP (or the
test's tmp folder) and listed in the failure message.
"""

import collections
import hashlib
import io
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

import gradstep as gs

from .craft import canon, gradstep_sample, state_dict_sample
from .fuzz import MARKER, cases

N_CASES = int(os.environ.get("GRADSTEP_FUZZ_CASES", "1500"))
SEED = int(os.environ.get("GRADSTEP_FUZZ_SEED", "0"))
LIMIT_MB = 1024  # address space the child may add on top of what its imports took
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _torch_bytes(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def _gs_bytes(obj, fmt):
    buf = io.BytesIO()
    gs.save(obj, buf, format=fmt)
    return buf.getvalue()


def _seeds():
    gs.manual_seed(0)
    sample = gradstep_sample()
    numpy_data = {"a": np.arange(6.0).reshape(2, 3), "s": np.float32(2.5), "i": np.array([1, 2], np.int16)}
    small = collections.OrderedDict(w=torch.ones(2, 3), n=torch.tensor(3), l=[1, (2.5, "x")])
    torch_cs, gs_cs = _complex_sparse()
    return [("torch_state_dict", "torch", _torch_bytes(state_dict_sample())),
            ("torch_numpy", "torch", _torch_bytes(numpy_data)),
            ("torch_protocol4", "torch", _torch_bytes(small, pickle_protocol=4)),
            ("torch_numpy_protocol5", "torch", _torch_bytes(numpy_data, pickle_protocol=5)),
            ("gradstep_torch", "torch", _gs_bytes(sample, "torch")),
            ("gradstep_native", "gs", _gs_bytes(sample, "gradstep")),
            ("torch_complex_sparse", "torch", _torch_bytes(torch_cs)),
            ("gradstep_complex_sparse", "torch", _gs_bytes(gs_cs, "torch")),
            ("gradstep_complex_sparse_native", "gs", _gs_bytes(gs_cs, "gradstep"))]


def _complex_sparse():
    """Complex tensors (a view with an offset, a Parameter), sparse COO tensors (coalesced or not,
    hybrid) and layouts, from torch and from gradstep (layouts are not in the native format)."""
    torch.manual_seed(0)
    z = torch.randn(3, 4, dtype=torch.complex64)
    idx = [[2, 0, 2], [1, 3, 1]]
    s = torch.sparse_coo_tensor(torch.tensor(idx), torch.randn(3, dtype=torch.float64), (3, 4), check_invariants=True)
    theirs = {"z": z, "zv": z[1:, 1::2], "zp": torch.nn.Parameter(torch.randn(2, dtype=torch.complex128)),
              "s": s, "c": s.coalesce(), "l": [torch.strided, torch.sparse_coo]}
    gz = gs.randn(3, 2, dtype=gs.complex128)
    gsp = gs.sparse_coo_tensor(gs.tensor(idx), gs.randn(3, 2), (3, 4, 2))
    return theirs, {"z": gz, "zv": gz[1:], "s": gsp, "c": gsp.coalesce(), "p": gs.nn.Parameter(gs.randn(2))}


def _digest(data):
    return hashlib.sha256(repr(canon(gs.load(io.BytesIO(data), weights_only=False))).encode()).hexdigest()[:16]


def _run_child(folder, first, timeout):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-m", "tests.serialization._fuzz_child", folder, str(first),
                           str(LIMIT_MB)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout.splitlines(), proc.stderr


def test_fuzz_loads(tmp_path):
    if os.path.exists(MARKER):
        os.remove(MARKER)
    seeds = _seeds()
    expected = {name: _digest(data) for name, _, data in seeds}
    folder = tmp_path / "cases"
    folder.mkdir()
    meta = {}
    for i, name, data, valid, what in cases(seeds, N_CASES, SEED):
        (folder / f"{i}.case").write_bytes(data)
        meta[i] = (name, valid, what)
    failures, results, first, torch_crashes = [], {}, 0, 0
    while True:
        rc, lines, err = _run_child(str(folder), first, timeout=120 + N_CASES // 5)
        started = None
        for line in lines:
            tag, _, rest = line.partition(" ")
            if tag == "S":
                started = int(rest)
            elif tag in ("OK", "CE", "EX"):
                i, _, info = rest.partition(" ")
                results[int(i)] = (tag, info)
                started = None
            elif tag == "T":
                started = ("torch", int(rest))
            elif tag in ("GS", "TR", "TD"):
                i, _, info = rest.partition(" ")
                failures.append((int(i), f"{tag}: {info}"))
        if lines and lines[-1] == "DONE":
            break
        if started is None:
            raise AssertionError(f"fuzz child failed outside a case (rc {rc}): {err[-2000:]}")
        if isinstance(started, tuple):  # torch (the oracle) crashed on a file gradstep loaded
            torch_crashes += 1
            first = started[1] + 1
            continue
        failures.append((started, f"child died (rc {rc}) while loading: {err[-500:]}"))
        first = started + 1
    for i, (tag, info) in results.items():
        name, valid, what = meta[i]
        if tag == "EX":
            failures.append((i, f"raised {info}"))
        elif valid and (tag != "OK" or info != expected[name]):
            failures.append((i, f"content-preserving mutation gave {tag} {info}"))
    assert len(results) + sum("child died" in f for _, f in failures) == N_CASES
    assert torch_crashes < N_CASES // 100 + 1
    assert not os.path.exists(MARKER), "a fuzzed pickle executed code"
    if failures:
        keep = os.environ.get("GRADSTEP_FUZZ_KEEP", str(tmp_path / "failures"))
        os.makedirs(keep, exist_ok=True)
        for i, _ in failures:
            shutil.copy(folder / f"{i}.case", os.path.join(keep, f"{i}.case"))
        report = "\n".join(f"case {i} ({meta[i][0]}, {meta[i][2]}): {f}" for i, f in sorted(failures)[:40])
        raise AssertionError(f"{len(failures)} of {N_CASES} fuzz cases failed (inputs in {keep}):\n{report}")
    outcomes = collections.Counter(tag for tag, _ in results.values())
    assert outcomes["OK"] and outcomes["CE"], outcomes  # the mutations reach both outcomes
