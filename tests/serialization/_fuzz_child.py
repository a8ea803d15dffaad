"""Fuzz child: loads case files under a memory limit and reports one line per case.

Usage: python -m tests.serialization._fuzz_child DIR FIRST LIMIT_MB
Lines: ``S i`` (start), then ``OK i <digest>``, ``CE i``, ``EX i <type>: <message>``,
``GS i <what changed>`` (a load changed shared state), ``TR i <error>`` (training broke afterwards).
When gradstep loads a zip, torch (the oracle) loads it too: ``T i`` before, ``TD i`` if both load
and the data differ (a torch crash after ``T i`` is torch's, not ours).
"""

import hashlib
import io
import os
import resource
import sys


def _vm_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _compare_with_torch(torch, data, mine, i, out):
    import warnings

    from .craft import canon

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = repr(canon(torch.load(io.BytesIO(data), weights_only=True)))
    except Exception:  # noqa: BLE001 - torch refusing is fine: gradstep may accept more (NumPy data)
        return
    if theirs != mine:
        out.write(f"TD {i} gradstep {mine[:200]!r} torch {theirs[:200]!r}\n")


def main():
    folder, first, limit_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    import numpy  # noqa: F401
    import torch

    import gradstep as gs
    from gradstep.serialization import CheckpointError

    from .craft import assert_training_works, canon, global_state

    assert_training_works()
    before = global_state()
    limit = _vm_bytes() + limit_mb * (1 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    names = sorted((int(n.split(".")[0]), n) for n in os.listdir(folder) if n.endswith(".case"))
    out = sys.stdout
    for i, n in names:
        if i < first:
            continue
        with open(os.path.join(folder, n), "rb") as f:
            data = f.read()
        out.write(f"S {i}\n")
        out.flush()
        try:
            obj = gs.load(io.BytesIO(data), weights_only=False)  # NumPy data loads, as in torch
            mine = repr(canon(obj))
            del obj
            out.write(f"OK {i} {hashlib.sha256(mine.encode()).hexdigest()[:16]}\n")
            if data.startswith(b"PK"):
                out.write(f"T {i}\n")
                out.flush()
                _compare_with_torch(torch, data, mine, i, out)
        except CheckpointError:
            out.write(f"CE {i}\n")
        except BaseException as e:  # noqa: BLE001 - anything else is what the fuzzer looks for
            out.write(f"EX {i} {type(e).__name__}: {str(e)[:300]!r}\n")
        if global_state() != before:
            out.write(f"GS {i} shared state changed\n")
            before = global_state()
        if i % 20 == 0:
            try:
                assert_training_works()
            except BaseException as e:  # noqa: BLE001
                out.write(f"TR {i} {type(e).__name__}: {e}\n")
        out.flush()
    out.write("DONE\n")


if __name__ == "__main__":
    main()
