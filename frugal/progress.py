"""The one progress bar: ``label [#####.....] 3/10 note`` on stderr, redrawn in place.

Drawn only when asked, or by default when stderr is a terminal; redrawn at most ten
times a second so that many short steps cost nothing.
"""
from __future__ import annotations

import sys
import time


class Progress:
    """A bar of ``total`` steps. ``keep=True`` leaves the last line on close; else it is erased."""

    def __init__(self, total: int, label: str, enabled: bool | None = None, keep: bool = False) -> None:
        if enabled is None:
            try:
                enabled = bool(sys.stderr is not None and sys.stderr.isatty())
            except (AttributeError, ValueError):
                enabled = False
        self.on, self.keep = bool(enabled), keep
        self.total, self.done, self.label = total, 0, label
        self._last = -1.0
        self._width = 0

    def step(self, note: str = "") -> None:
        self.done += 1
        if not self.on:
            return
        now = time.perf_counter()
        if self.done < self.total and now - self._last < 0.1:
            return
        self._last = now
        filled = 24 * min(self.done, self.total) // self.total if self.total else 0
        line = f"{self.label} [{'#' * filled}{'.' * (24 - filled)}] {self.done}/{self.total} {note}"[:100]
        sys.stderr.write("\r" + line.ljust(self._width))
        sys.stderr.flush()
        self._width = len(line)

    def close(self) -> None:
        if self.on and self._width:
            sys.stderr.write("\n" if self.keep else "\r" + " " * self._width + "\r")
            sys.stderr.flush()
