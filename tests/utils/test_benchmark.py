"""torch.utils.benchmark on gradstep: Timer's protocol, Measurement's statistics, Compare's table.

The statistics and tables are compared with torch's on the same raw times (Measurements built
from fixed numbers), so the oracle is exact; the Timer tests check run counts and the
consistency of what it measured, never how long anything took beyond > 0.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.utils.benchmark as tb

import gradstep as gs
import gradstep.utils.benchmark as gb

TIMES = [
    [1.2e-6, 1.1e-6, 1.3e-6, 1.25e-6, 1.15e-6, 1.22e-6],
    [3.1e-5, 2.9e-5, 3.0e-5, 3.05e-5, 8.0e-5],
    [0.51, 0.53, 0.52],
    [2.5e-3],
    [4.0e-8, 4.1e-8, 3.9e-8, 7.9e-8, 4.05e-8, 4.0e-8, 4.2e-8, 3.95e-8],
]


def _measurement(lib, raw, number=10, **spec):
    fields = dict(stmt="x + y", setup="pass", label="add", sub_label=None, description=None)
    fields.update(spec)
    return lib.Measurement(number_per_run=number, raw_times=list(raw),
                           task_spec=lib.TaskSpec(**fields))


def _body(m):
    """A Measurement's repr without its first line (the object's address and module)."""
    return repr(m).split("\n", 1)[1]


@pytest.mark.parametrize("raw", TIMES)
@pytest.mark.parametrize("number", [1, 100])
def test_measurement_statistics_are_torchs(raw, number):
    ours, theirs = _measurement(gb, raw, number), _measurement(tb, raw, number)
    np.testing.assert_allclose(ours.times, theirs.times, rtol=0)
    # float64 quantiles by linear interpolation; the mean may differ in summation order
    for attr in ("median", "iqr"):
        assert getattr(ours, attr) == pytest.approx(getattr(theirs, attr), rel=1e-12, abs=0)
    assert ours.mean == pytest.approx(theirs.mean, rel=1e-14)
    assert ours.significant_figures == theirs.significant_figures
    assert ours.has_warnings == theirs.has_warnings
    assert ours.meets_confidence(0.05) == theirs.meets_confidence(0.05)
    assert _body(ours) == _body(theirs)
    assert ours.title == theirs.title and ours.as_row_name == theirs.as_row_name
    assert ours.label == "add" and ours.num_threads == 1  # the task's fields read through


def test_measurement_merge_is_torchs():
    def merged(lib):
        ms = [_measurement(lib, TIMES[0], 10), _measurement(lib, TIMES[1], 100),
              _measurement(lib, TIMES[2], 10, sub_label="other")]
        return [(m.sub_label, m.number_per_run, m.times) for m in lib.Measurement.merge(ms)]

    assert merged(gb) == merged(tb)


@pytest.mark.parametrize("t", [3e-10, 2.2e-9, 4.5e-7, 0.0123, 5.0, 1234.5])
def test_units_and_figures_are_torchs(t):
    assert gb.select_unit(t) == tb.select_unit(t)
    for n in (1, 2, 3):
        assert gb.trim_sigfig(t, n) == tb.trim_sigfig(t, n)
    unit = gb.select_unit(t)[0]
    assert gb.unit_to_english(unit) == tb.unit_to_english(unit)


def _compare_inputs(lib):
    ms = []
    for threads in (1, 4):
        for k, desc in enumerate(("n=1", "n=64")):
            for j, sub in enumerate(("float", "int")):
                raw = [t * (1 + k) * (1 + j) / threads for t in TIMES[0]]
                ms.append(_measurement(lib, raw, 100, sub_label=sub, description=desc,
                                       num_threads=threads))
    ms.append(_measurement(lib, TIMES[1], 10, label="other", description="n=1"))
    ms.append(_measurement(lib, TIMES[4], 10, label="other", description="n=64"))
    return ms


@pytest.mark.parametrize("options", [(), ("trim_significant_figures",), ("colorize",),
                                     ("highlight_warnings", "trim_significant_figures")])
def test_compare_prints_torchs_table(options):
    tables = []
    for lib in (gb, tb):
        c = lib.Compare(_compare_inputs(lib))
        for opt in options:
            getattr(c, opt)()
        tables.append(str(c))
    assert tables[0] == tables[1]
    assert "1 threads: " in tables[0] and "4 threads: " in tables[0]


def test_compare_rejects_what_is_not_a_measurement():
    for lib in (gb, tb):
        with pytest.raises(ValueError, match="Expected an instance of `Measurement`"):
            lib.Compare([1.0])


def test_compare_without_descriptions():
    """torch fails on a Measurement without a description (len(None)); one column here."""
    text = str(gb.Compare([_measurement(gb, TIMES[0], 10, description=None)]))
    assert text.startswith("[") and "x + y  |  121.0" in text and "nanoseconds" in text


# ---------------------------------------------------------------- Timer
def _counting_timer(**kw):
    calls = []
    t = gb.Timer("calls.append(1)", globals={"calls": calls}, **kw)
    return t, calls


def test_timeit_runs_number_times_after_warmup():
    t, calls = _counting_timer()
    m = t.timeit(number=500)
    assert isinstance(m, gb.Measurement)
    assert m.number_per_run == 500 and len(m.raw_times) == 1 and m.raw_times[0] > 0
    assert len(calls) == 500 + max(500 // 100, 2)
    assert m.times == [m.raw_times[0] / 500] and m.median == m.mean == m.times[0]


def test_blocked_autorange_counts_are_consistent():
    t, calls = _counting_timer()
    m = t.blocked_autorange(min_run_time=0.02)
    n = m.number_per_run
    assert n >= 1 and re.fullmatch(r"10*", str(n))  # a power of ten
    assert all(r > 0 for r in m.raw_times) and sum(m.raw_times) >= 0.02
    # the block-size search ran 1, 10, ..., n once each; then the blocks ran n each
    search = sum(10**k for k in range(len(str(n))))
    assert len(calls) == search + n * len(m.raw_times)
    assert min(m.times) <= m.median <= max(m.times)
    assert m.iqr >= 0


def test_adaptive_autorange_stops_on_confidence_or_time():
    t, calls = _counting_timer()
    m = t.adaptive_autorange(threshold=0.5, max_run_time=0.5)
    spent = sum(m.raw_times)
    assert len(m.raw_times) > 3 or spent > 0.5
    assert m.meets_confidence(0.5) or spent > 0.5
    assert len(calls) >= m.number_per_run * len(m.raw_times)


def test_timer_globals_setup_and_threads():
    x = gs.ones(3)
    g = {"x": x}
    t = gb.Timer("y = torch.add(x, shift)", setup="shift = 1.0", globals=g, num_threads=2,
                 label="L", sub_label="S", description="D")
    prior = gs.get_num_threads()
    m = t.timeit(10)
    assert g == {"x": x}  # copied, not filled in
    assert gs.get_num_threads() == prior
    assert (m.label, m.sub_label, m.description, m.num_threads) == ("L", "S", "D", 2)
    assert "2 threads" in repr(m)


def test_timer_errors_are_torchs():
    for lib in (gb, tb):
        with pytest.raises(ValueError, match="only a `str` stmt"):
            lib.Timer(lambda: None)
        with pytest.raises(ValueError, match="global_setup is C\\+\\+ only"):
            lib.Timer("pass", global_setup="#include <x>")
        with pytest.raises(NotImplementedError, match="blocked_autorange"):
            lib.Timer("pass").repeat()
    with pytest.raises(NotImplementedError, match="libtorch"):
        gb.Timer("pass", language="cpp")


def test_statement_sees_gradstep_as_torch():
    calls = []
    gb.Timer("calls.append(torch)", globals={"calls": calls}).timeit(1)
    assert calls[0] is gs
    assert torch.__name__ == "torch"  # the test's torch is still the oracle
