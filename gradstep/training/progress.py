"""A per-epoch progress bar: tqdm when installed and stderr is a terminal.

In a log (stderr redirected to a file or a pipe) there is no bar, whose ``\\r``
frames would fill the log; the run's per-epoch lines say the same. ``enabled=True``
(``gradstep train --progress``) forces the bar, ``False`` (``--no-progress``) drops it.
"""

from __future__ import annotations

import sys
import time


def stderr_is_terminal():
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


class Progress:
    def __init__(self, total, desc, enabled=None):
        enabled = stderr_is_terminal() if enabled is None else enabled
        self.total, self.desc, self.enabled = total, desc, enabled
        self.start = time.perf_counter()
        self._bar = None
        if enabled:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, desc=desc, leave=False, unit="batch", dynamic_ncols=True,
                                 file=sys.stderr)
            except ImportError:
                self._bar = None

    def update(self, loss):
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def close(self):
        if self._bar is not None:
            self._bar.close()
        return time.perf_counter() - self.start
