"""A per-epoch progress bar: tqdm when installed, otherwise a plain line at the end."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total, desc, enabled=True):
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
