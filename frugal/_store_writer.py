"""The store's background writer: a daemon thread that moves this process's new rows from the
in-memory log to one store, off the hot path (``frugal.store`` holds the one writer and its hooks)."""
from __future__ import annotations

import os
import threading
import time
import uuid
import warnings
from typing import TYPE_CHECKING, Any

from frugal._records import LOG, ROW_SIZE, S_CALLS, S_CPU, S_ERRORS, S_T0, S_UNITS, S_WALL
from frugal._run_info import settings_json

if TYPE_CHECKING:
    from frugal.store import Store

FLUSH_EVERY_S = 1.0              # call rows reach the store at least this often
FLUSH_ROWS = 5_000               # ... or as soon as this many wait
SUMMARY_EVERY_S = 60.0           # summary aggregates reach the store at least this often
POLL_S = 0.1                     # how often the writer thread looks at the log


class Writer:
    """Moves this process's new rows from the in-memory log to one store, off the hot path."""

    def __init__(self, store: Store, run: dict[str, Any], cursor: int,
                 summary_base: dict[tuple[int, int], list[Any]]) -> None:
        self.store = store
        self.run = run
        self.cursor = cursor
        self.last_row = bytes(LOG.rows[cursor - ROW_SIZE:cursor]) if cursor else b""
        self.summary_base = summary_base
        self.summary_t0 = time.perf_counter_ns()
        self.lock = threading.RLock()
        self.stopped = threading.Event()
        self.last_flush = self.last_summary = time.monotonic()
        self.failures: set[str] = set()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, name="frugal-store", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stopped.wait(POLL_S):
            now = time.monotonic()
            pending = (len(LOG.rows) - self.cursor) // ROW_SIZE
            if pending >= FLUSH_ROWS or (pending and now - self.last_flush >= FLUSH_EVERY_S) or pending < 0:
                self.flush(summary=False)
            if now - self.last_summary >= SUMMARY_EVERY_S:
                self.flush(summary=True)

    def flush(self, summary: bool = True, last: str | None = None) -> int:
        """Store what is new in the log; returns how many rows were stored.

        A failure warns and keeps the rows in the log: once per kind of failure until a flush
        succeeds again (a failure after a recovery is news), and always when ``last`` says
        what becomes of the rows next (the process ends, ``clear()`` drops them).
        """
        with self.lock:
            try:
                n = self._flush_rows()
                if summary:
                    n += self._flush_summary()
                self.failures.clear()
                return n
            except Exception as exc:
                key = type(exc).__name__
                if last is not None or key not in self.failures:
                    self.failures.add(key)
                    warnings.warn(f"frugal: could not store measurements in {self.store.path} ({exc}); "
                                  f"{last or 'they stay in frugal.results()'}", RuntimeWarning, stacklevel=2)
                return 0
            finally:
                self.last_flush = time.monotonic()
                if summary:
                    self.last_summary = self.last_flush

    def _resync(self) -> None:
        # The log was cleared (frugal.clear()) since the last flush: start again at its beginning.
        rows = LOG.rows
        if self.cursor and (len(rows) < self.cursor or bytes(rows[self.cursor - ROW_SIZE:self.cursor]) != self.last_row):
            self.cursor, self.last_row = 0, b""

    def _flush_rows(self) -> int:
        from frugal.columns import add_energy, raw_columns

        self._resync()
        rows = LOG.rows
        end = len(rows)
        end -= end % ROW_SIZE
        if end <= self.cursor:
            return 0
        data = bytes(rows[self.cursor:end])     # one C call: a consistent copy under the GIL
        names, errors = list(LOG.names), list(LOG.errors)
        cols = raw_columns(data, LOG.units, names, errors, os.getpid())
        meters = LOG.meters
        if meters:
            meters = {s: meters[s] for s in cols["_seq"].tolist() if s in meters}
        add_energy(cols, meters)
        n = self.store.append(self._run(), cols)
        self.cursor, self.last_row = end, data[-ROW_SIZE:]
        return n

    def _flush_summary(self) -> int:
        from frugal.columns import add_energy, summary_columns

        # (name id, thread id) -> aggregate; list() copies the dict in one C call
        current = {k: list(v) for k, v in list(LOG.summary.items())}
        delta: dict[tuple[int, int], list[Any]] = {}
        for key, agg in current.items():
            base = self.summary_base.get(key)
            if base is None or base[S_T0] != agg[S_T0] or agg[S_CALLS] < base[S_CALLS]:
                delta[key] = agg                                # new since the last flush (or cleared)
                continue
            calls = agg[S_CALLS] - base[S_CALLS]
            if calls <= 0:
                continue
            d = list(agg)
            d[S_CALLS] = calls
            d[S_ERRORS] = agg[S_ERRORS] - base[S_ERRORS]
            d[S_WALL] = agg[S_WALL] - base[S_WALL]
            d[S_CPU] = agg[S_CPU] - base[S_CPU]
            if agg[S_UNITS] is not None:
                d[S_UNITS] = agg[S_UNITS] - (base[S_UNITS] or 0.0)
            d[S_T0] = self.summary_t0
            delta[key] = d
        now = time.perf_counter_ns()
        n = 0
        if delta:
            cols = add_energy(summary_columns(delta, list(LOG.names), os.getpid()), {})
            n = self.store.append(self._run(), cols)
        self.summary_base, self.summary_t0 = current, now
        return n

    def _run(self) -> dict[str, Any]:
        if self.run.get("settings") is None:
            self.run["settings"] = settings_json()
        return self.run

    def stop(self) -> None:
        self.stopped.set()

    def forked(self) -> Writer:
        """The writer of a forked child: a new run, starting after the rows it inherited."""
        run = dict(self.run, run_id=uuid.uuid4().hex, pid=os.getpid(), started_at=time.time_ns())
        end = len(LOG.rows)
        base = {k: list(v) for k, v in list(LOG.summary.items())}   # one thread after fork: no lock needed
        return Writer(self.store, run, end - end % ROW_SIZE, base)
