"""``Timer``: ``timeit.Timer`` with torch's benchmark protocol (warmup, thread count, replicates).

Python statements only: torch's ``language="cpp"`` compiles against libtorch, which gradstep
does not have, and ``collect_callgrind`` needs valgrind over a C++ build; both raise.
"""

from __future__ import annotations

import enum
import textwrap
import timeit
from collections.abc import Callable
from typing import Any

from . import common

__all__ = ["Timer", "timer", "Language"]


def timer() -> float:
    """The clock: ``timeit.default_timer`` (no device to synchronize first)."""
    return timeit.default_timer()


class Language(enum.Enum):
    PYTHON = 0
    CPP = 1


def _tidy(code: str) -> str:
    """Dedented, without the leading newline of a triple-quoted block or trailing space."""
    code = textwrap.dedent(code)
    return (code[1:] if code and code[0] == "\n" else code).rstrip()


class Timer:
    """Time a Python statement (``stmt``, after ``setup``) as ``torch.utils.benchmark.Timer``.

    ``globals`` are copied (and get ``torch`` if missing); ``label``, ``sub_label``,
    ``description`` and ``env`` name the result for ``Compare``; the statement runs with
    ``num_threads`` intra-op threads (default 1, as in torch).
    """

    _timer_cls = timeit.Timer

    def __init__(self, stmt: str = "pass", setup: str = "pass", global_setup: str = "",
                 timer: Callable[[], float] = timer, globals: dict[str, Any] | None = None,
                 label: str | None = None, sub_label: str | None = None,
                 description: str | None = None, env: str | None = None, num_threads: int = 1,
                 language: Language | str = Language.PYTHON) -> None:
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        if language in (Language.CPP, "cpp", "c++"):
            raise NotImplementedError(
                "Timer(language='cpp') compiles the statement against libtorch's C++ API, which "
                "gradstep does not have; time the Python statement instead")
        if language not in (Language.PYTHON, "py", "python"):
            raise ValueError(f"Invalid language `{language}`.")
        if global_setup:
            raise ValueError(f"global_setup is C++ only, got `{global_setup}`. Most likely this "
                             "code can simply be moved to `setup`.")
        self._globals = dict(globals or {})
        self._globals.setdefault("torch", _torch_module())
        self._language = Language.PYTHON
        stmt, setup = _tidy(stmt), _tidy(setup)
        self._timer = self._timer_cls(stmt=stmt, setup=setup, timer=timer, globals=self._globals)
        self._task_spec = common.TaskSpec(stmt=stmt, setup=setup, global_setup=global_setup,
                                          label=label, sub_label=sub_label,
                                          description=description, env=env,
                                          num_threads=num_threads)

    def _timeit(self, number: int) -> float:
        return max(self._timer.timeit(number), 1e-9)  # never 0: times are divided by

    def timeit(self, number: int = 1000000) -> common.Measurement:
        """Run ``stmt`` ``number`` times (after a warmup of ``number // 100``, at least 2): one
        measurement, as ``timeit.Timer.timeit``."""
        with common.set_torch_threads(self._task_spec.num_threads):
            self._timeit(number=max(int(number // 100), 2))
            return common.Measurement(number_per_run=number,
                                      raw_times=[self._timeit(number=number)],
                                      task_spec=self._task_spec)

    def repeat(self, repeat: int = -1, number: int = -1) -> None:
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback=None) -> None:
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _measurement_loop(self, number, time_hook, stop_hook, min_run_time, max_run_time=None,
                          callback=None) -> list[float]:
        """Blocks of ``number`` runs until ``min_run_time`` is spent and ``stop_hook`` agrees
        (or ``max_run_time`` is spent)."""
        total, can_stop, times = 0.0, False, []
        with common.set_torch_threads(self._task_spec.num_threads):
            while total < min_run_time or not can_stop:
                spent = time_hook()
                times.append(spent)
                total += spent
                if callback:
                    callback(number, spent)
                can_stop = stop_hook(times)
                if max_run_time and total > max_run_time:
                    break
        return times

    def _estimate_block_size(self, min_run_time: float) -> int:
        """Runs per block: 10x more until the timer's own cost is <= 0.01% of a block and a
        block takes >= min_run_time / 1000 (or one block outlasts min_run_time)."""
        with common.set_torch_threads(self._task_spec.num_threads):
            overhead = sorted(self._timeit(0) for _ in range(5))[2]
            number = 1
            while True:
                taken = self._timeit(number)
                if overhead / taken <= 1e-4 and taken >= min_run_time / 1000:
                    break
                if taken > min_run_time or number * 10 > 2147483647:
                    break
                number *= 10
        return number

    def blocked_autorange(self, callback=None, min_run_time: float = 0.2) -> common.Measurement:
        """Blocks of a size that hides the timer's cost, until ``min_run_time`` seconds."""
        number = self._estimate_block_size(min_run_time)
        times = self._measurement_loop(number, lambda: self._timeit(number), lambda t: True,
                                       min_run_time=min_run_time, callback=callback)
        return common.Measurement(number_per_run=number, raw_times=times,
                                  task_spec=self._task_spec)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01,
                           max_run_time: float = 10.0, callback=None) -> common.Measurement:
        """Blocks until more than 3 of them have IQR / median < ``threshold`` (and
        ``min_run_time`` is spent), or ``max_run_time`` is spent."""
        number = self._estimate_block_size(min_run_time=0.05)

        def stop_hook(times):
            return len(times) > 3 and common.Measurement(
                number_per_run=number, raw_times=times,
                task_spec=self._task_spec).meets_confidence(threshold=threshold)

        times = self._measurement_loop(number, lambda: self._timeit(number), stop_hook,
                                       min_run_time, max_run_time, callback=callback)
        return common.Measurement(number_per_run=number, raw_times=times,
                                  task_spec=self._task_spec)

    def collect_callgrind(self, *args, **kwargs):
        raise NotImplementedError(
            "collect_callgrind counts instructions with valgrind over a C++ torch build; "
            "gradstep has none. Use blocked_autorange() for wall times")


def _torch_module():
    """What ``torch`` is inside a timed statement: gradstep (which ``import torch`` gives)."""
    import sys

    return sys.modules[__name__.split(".", 1)[0]]
