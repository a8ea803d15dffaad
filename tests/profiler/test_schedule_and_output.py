"""torch.profiler's schedule, its callbacks, its table and its trace files, with torch as oracle."""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
import subprocess
import sys
import warnings

import pytest
import torch

import gradstep as gs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---------------------------------------------------------------- schedule
SCHEDULES = [dict(wait=1, warmup=1, active=3, repeat=1), dict(wait=1, warmup=1, active=2, repeat=2),
             dict(wait=0, warmup=0, active=1), dict(wait=2, warmup=1, active=3, skip_first=1),
             dict(wait=3, warmup=2, active=1, skip_first=4, skip_first_wait=1),
             dict(wait=0, warmup=2, active=2, repeat=3)]


@pytest.mark.parametrize("kw", SCHEDULES)
def test_schedule_actions_are_torchs(kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warmup=0 warns in both
        ours, theirs = gs.profiler.schedule(**kw), torch.profiler.schedule(**kw)
    assert [ours(s).name for s in range(40)] == [theirs(s).name for s in range(40)]
    assert [a.name for a in gs.profiler.ProfilerAction] == [
        a.name for a in torch.profiler.ProfilerAction]


def _scheduled_run(lib, steps=12, **kw):
    """(step_num, ProfilerStep ranges, aten::mul count) at each on_trace_ready."""
    fired = []

    def ready(prof):
        events = prof.events()
        steps_seen = sorted(e.trace_name for e in events if e.name == "ProfilerStep*")
        fired.append((prof.step_num, steps_seen, sum(e.name == "aten::mul" for e in events)))

    x = lib.ones(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.profiler.profile(schedule=lib.profiler.schedule(**kw),
                                  on_trace_ready=ready) as prof:
            for _ in range(steps):
                x * 2
                prof.step()
    return fired


@pytest.mark.parametrize("kw", SCHEDULES[:4])
def test_on_trace_ready_fires_at_torchs_steps(kw):
    assert _scheduled_run(gs, **kw) == _scheduled_run(torch, **kw)


def test_without_schedule_on_trace_ready_fires_at_exit():
    seen = []
    with gs.profiler.profile(on_trace_ready=lambda p: seen.append(len(p.events()))):
        gs.ones(2) * 2
    assert seen == [1]


def test_acc_events_keeps_every_cycle():
    x = gs.ones(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with gs.profiler.profile(schedule=gs.profiler.schedule(wait=0, warmup=1, active=1),
                                 acc_events=True) as prof:
            for _ in range(6):  # W R W R W R: three cycles of one recorded step
                x * 2
                prof.step()
    assert sum(e.name == "aten::mul" for e in prof.events()) == 3


def test_schedule_and_activity_errors_are_torchs():
    for lib in (gs, torch):
        with pytest.raises(AssertionError, match=r"active=0 \(need > 0\)"):
            lib.profiler.schedule(wait=1, warmup=1, active=0)
        with pytest.raises(AssertionError, match="No valid profiler activities"):
            lib.profiler.profile(activities=[])
        with pytest.raises(AssertionError, match="initialized before getting key averages"):
            lib.profiler.profile().key_averages()
        with pytest.raises(ValueError, match="specified more than once"):
            lib.profiler.profile(activities=[lib.profiler.ProfilerActivity.CPU] * 2)


def test_activities_and_cuda():
    assert {a.name: a.value for a in gs.profiler.ProfilerActivity} == {
        k: a.value for k, a in torch.profiler.ProfilerActivity.__members__.items()}
    assert gs.profiler.supported_activities() == {gs.profiler.ProfilerActivity.CPU}
    with pytest.warns(UserWarning, match="CUDA requested"):
        prof = gs.profiler.profile(activities=[gs.profiler.ProfilerActivity.CUDA])
    with prof:  # the CPU is recorded all the same: the work runs there
        gs.ones(2) * 2
    assert [e.name for e in prof.events()] == ["aten::mul"]


# ---------------------------------------------------------------- table
def _profiled(lib, **kw):
    x = lib.ones(4, 4, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.profiler.profile(**kw) as prof:
            with lib.profiler.record_function("block"):
                (x @ x).sum().backward()
    return prof


def _header(table):
    """The column names of a table (the line after the first ---- line)."""
    lines = table.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("---"))
    return re.split(r"\s{2,}", lines[i + 1].strip())


@pytest.mark.parametrize("kw,group", [({}, False), (dict(record_shapes=True), True),
                                      (dict(profile_memory=True), False)])
def test_table_columns_are_torchs(kw, group):
    ours, theirs = _profiled(gs, **kw), _profiled(torch, **kw)
    t_ours = ours.key_averages(group_by_input_shape=group).table(sort_by="cpu_time_total")
    t_theirs = theirs.key_averages(group_by_input_shape=group).table(sort_by="cpu_time_total")
    assert _header(t_ours) == _header(t_theirs)
    assert t_ours.splitlines()[-1].startswith("Self CPU time total: ")


def test_table_options_lay_out_as_torchs():
    ours, theirs = _profiled(gs), _profiled(torch)
    for kw in (dict(row_limit=2, header="my header"), dict(top_level_events_only=True)):
        a = ours.key_averages().table(sort_by="self_cpu_time_total", **kw).splitlines()
        b = theirs.key_averages().table(sort_by="self_cpu_time_total", **kw).splitlines()
        prelude = next(k for k, line in enumerate(b) if line.startswith("---"))
        assert a[:prelude] == b[:prelude]  # "=====", the header, the top-level note
    rows = ours.key_averages().table(row_limit=2).splitlines()
    assert len(rows) == 3 + 2 + 2  # ---, names, ---, 2 rows, ---, total
    top = ours.key_averages().table(top_level_events_only=True)
    assert "block" in top and "aten::sum" not in top  # sum ran inside the block


def test_table_sorts_largest_first():
    prof = _profiled(gs)
    avgs = prof.key_averages()
    table = avgs.table(sort_by="count", row_limit=-1)
    shown = [line.split()[-1] for line in table.splitlines()[3:-2]]
    assert [int(c) for c in shown] == sorted((a.count for a in avgs), reverse=True)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        avgs.table(sort_by="nope")


# ---------------------------------------------------------------- trace files
def _check_trace(trace):
    complete = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    for e in complete:
        assert {"name", "ts", "dur", "pid", "tid"} <= set(e) and e["dur"] >= 0
    return complete


def test_export_chrome_trace(tmp_path):
    prof = _profiled(gs, record_shapes=True)
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    complete = _check_trace(json.loads(path.read_text()))
    names = [e["name"] for e in complete]
    assert names.count("block") == 1 and "aten::matmul" in names and "MmBackward0" in names
    (block,) = [e for e in complete if e["name"] == "block"]
    mm = min((e for e in complete if e["name"] == "aten::matmul"), key=lambda e: e["ts"])
    assert block["ts"] <= mm["ts"]  # the forward product, inside the block (ns rounding)
    assert mm["ts"] + mm["dur"] <= block["ts"] + block["dur"] + 1e-3
    assert mm["args"]["Input Dims"] == [[4, 4], [4, 4]]
    assert block["cat"] == "user_annotation" and mm["cat"] == "cpu_op"
    prof.export_chrome_trace(str(tmp_path / "trace.json.gz"))
    with gzip.open(tmp_path / "trace.json.gz", "rt") as f:
        assert len(_check_trace(json.load(f))) == len(complete)


def test_legacy_eventlist_trace_is_a_json_array(tmp_path):
    prof = _profiled(gs)
    prof.events().export_chrome_trace(str(tmp_path / "t.json"))
    data = json.loads((tmp_path / "t.json").read_text())
    assert isinstance(data, list) and len(data) == len(prof.events())
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in data)


def test_tensorboard_trace_handler(tmp_path):
    x = gs.ones(3)
    with gs.profiler.profile(schedule=gs.profiler.schedule(wait=1, warmup=1, active=1, repeat=2),
                             on_trace_ready=gs.profiler.tensorboard_trace_handler(
                                 str(tmp_path / "log"))) as prof:
        for _ in range(8):
            x * 2
            prof.step()
    files = sorted(os.listdir(tmp_path / "log"))
    worker = f"{socket.gethostname()}_{os.getpid()}"
    assert len(files) == 2  # repeat=2 cycles
    assert all(re.fullmatch(re.escape(worker) + r"\.\d+\.pt\.trace\.json", f) for f in files)
    for f in files:
        names = [e["name"] for e in _check_trace(json.loads((tmp_path / "log" / f).read_text()))]
        assert names.count("aten::mul") == 1 and any(n.startswith("ProfilerStep#") for n in names)
    handler = gs.profiler.tensorboard_trace_handler(str(tmp_path / "gz"), "w0", use_gzip=True)
    with gs.profiler.profile(on_trace_ready=handler):
        x * 2
    (gz,) = os.listdir(tmp_path / "gz")
    assert re.fullmatch(r"w0\.\d+\.pt\.trace\.json\.gz", gz)


def test_export_stacks(tmp_path):
    with gs.profiler.profile(with_stack=True) as prof:
        gs.ones(3) * 2
    prof.export_stacks(str(tmp_path / "stacks.txt"))
    lines = (tmp_path / "stacks.txt").read_text().splitlines()
    assert lines and all(re.fullmatch(r".+ \d+", line) for line in lines)
    assert any(__file__ in line for line in lines)  # the caller's frame is in the stack
    with pytest.raises(ValueError, match="metric should be one of"):
        prof.export_stacks(str(tmp_path / "x"), "wall")


# ---------------------------------------------------------------- a torch program
PROGRAM = """
import torch
import torch.nn as nn
from torch.profiler import ProfilerActivity, profile, record_function

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(32, 8), torch.randint(0, 2, (32,))
with profile(activities=[ProfilerActivity.CPU], record_shapes=True,
             schedule=torch.profiler.schedule(wait=1, warmup=1, active=2),
             on_trace_ready=torch.profiler.tensorboard_trace_handler("log")) as prof:
    for step in range(5):
        with record_function("model_forward"):
            loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        prof.step()
with torch.autograd.profiler.profile() as legacy:
    model(x)
print(legacy.key_averages().table(sort_by="cpu_time_total", row_limit=5))
print(sorted(os.listdir("log")) != [])
"""


def test_a_torch_program_runs_under_gradstep(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text("import os\n" + PROGRAM)
    out = subprocess.run([sys.executable, "-m", "gradstep", "run", str(prog)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    assert "aten::linear" in out.stdout and out.stdout.strip().endswith("True")
    assert len(os.listdir(tmp_path / "log")) == 1
