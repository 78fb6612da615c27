"""Running totals per region name (energy, carbon, CPU, calls...), fed incrementally from the row
log: what the Prometheus and OpenTelemetry exporters publish as counters, which never go down,
``frugal.clear()`` included (the rows a clear forgets are added first).

At most ``max_names`` names get their own totals; calls of further names are summed under
``OTHER``, said once in a warning, so a name made per call cannot grow an exporter without bound.
"""
from __future__ import annotations

import threading
import warnings
import weakref
from typing import Any

from frugal.core import own
from frugal.core.rows import LOG, ROW_SIZE, S_ERRORS
from frugal.frames.tail import Summary, Tail, row_columns, summary_delta_columns

# the totals, each the sum of that column of frugal.results() (calls and errors: counted)
METRICS = ("energy_j", "carbon_g", "embodied_g", "cpu_s", "wall_s", "calls", "errors")
OTHER = "other"
DEFAULT_MAX_NAMES = 1000


class RunningTotals:
    """Totals per name of every call measured since it was made (those still in memory then
    included), brought up to date by ``update()``; each value is in ``METRICS`` order."""

    def __init__(self, max_names: int = DEFAULT_MAX_NAMES) -> None:
        if isinstance(max_names, bool) or not isinstance(max_names, int):
            raise TypeError(f"max_names must be an int, not {type(max_names).__name__}")
        if max_names < 1:
            raise ValueError(f"max_names must be at least 1, not {max_names}")
        self.max_names = max_names
        self.totals: dict[str, list[float]] = {}
        self.lost = 0               # rows forgotten from memory before they were counted
        self._warned_other = False
        self._lock = threading.RLock()
        self._tail = Tail(LOG.base, {})
        # A clear() forgets rows: count them first. A weak reference: a dropped exporter costs nothing.
        ref = weakref.ref(self)

        def before_clear(end: int, cleared: Summary) -> None:
            totals = ref()
            if totals is not None:
                totals._before_clear(end, cleared)

        LOG.on_clear(before_clear)

    def update(self) -> dict[str, list[float]]:
        """Add the calls measured since the last update; returns a copy of the totals."""
        with self._lock:
            counted = own.begin("export")       # frugal's own work: left out of the regions open meanwhile
            try:
                self._rows(None)
                self._summary()
            finally:
                own.end(counted)
            return {name: list(values) for name, values in self.totals.items()}

    def _before_clear(self, end: int, cleared: Summary) -> None:
        with self._lock:
            counted = own.begin("export")
            try:
                self._rows(end)
                self._tail.cleared(cleared)
                self._summary()
            finally:
                own.end(counted)

    def _rows(self, upto: int | None) -> None:
        own.import_quietly("numpy")
        import numpy as np

        start, data = self._tail.rows(upto)
        if start > self._tail.cursor:
            gone = (start - self._tail.cursor) // ROW_SIZE
            self.lost += gone
            warnings.warn(f"frugal: {gone:,} measurements were released from memory (once stored, "
                          "frugal.store.MAX_ROWS_IN_MEMORY) before the exporter counted them: its totals "
                          f"miss {self.lost:,} in all; scrape more often", RuntimeWarning, stacklevel=2)
        if data:
            cols = row_columns(data)
            errors = np.asarray(cols["status"], dtype=object) == "error"
            self._add(cols, np.ones(len(errors)), errors.astype("f8"))
        self._tail.advance(start, data)

    def _summary(self) -> None:
        import numpy as np

        from frugal.frames.columns import merge_summary

        deltas, seen = self._tail.summary_deltas()
        if deltas:
            cols = summary_delta_columns(deltas)
            # summary_columns has one row per merged name, in name-id order: the same order here
            errors = np.array([agg[S_ERRORS] for _, agg in sorted(merge_summary(deltas).items())], dtype="f8")
            self._add(cols, np.asarray(cols["calls"], dtype="f8"), errors)
        self._tail.commit(seen)

    def _add(self, cols: dict[str, Any], calls: Any, errors: Any) -> None:
        import numpy as np

        names = np.asarray(cols["name"], dtype=object)
        labels, index = np.unique(names.astype(str), return_inverse=True)
        sums = []
        for metric in METRICS:
            values = calls if metric == "calls" else errors if metric == "errors" else cols[metric]
            # NaN (nothing known) adds nothing, as frugal.results()[metric].sum() skips it
            sums.append(np.bincount(index, weights=np.nan_to_num(np.asarray(values, dtype="f8")),
                                    minlength=len(labels)))
        for i, label in enumerate(labels.tolist()):
            into = self.totals.get(label)
            if into is None:
                into = self.totals.setdefault(self._label(label), [0.0] * len(METRICS))
            for j in range(len(METRICS)):
                into[j] += float(sums[j][i])

    def _label(self, name: str) -> str:
        if len(self.totals) < self.max_names:
            return name
        if not self._warned_other:
            self._warned_other = True
            warnings.warn(f"frugal: more than {self.max_names:,} region names measured: the calls of the "
                          f"others are exported summed under the name {OTHER!r} (max_names=)",
                          RuntimeWarning, stacklevel=4)
        return OTHER
