"""The store's background writer: a daemon thread that moves this process's new rows from the
in-memory log to one store, off the hot path (``frugal.store`` holds the one writer and its hooks).

Why it cannot starve: a flush is a handful of system calls and SQLite statements whatever the
number of rows (the rows become one columnar chunk, one INSERT), so the few times it must win
the GIL back from a CPU-bound measured thread (a switch interval, 5 ms, each) cost tens of
milliseconds, not one per row as ``executemany`` would. Rows therefore reach the store within
about ``FLUSH_EVERY_S`` plus the time of one write, even at 100,000 measured calls a second.

Memory stays bounded while a store is set: the log keeps at most ``MAX_ROWS_IN_MEMORY``
rows. Past that, the oldest are forgotten from memory: those already stored stay in the store
(``frugal.results()`` then says so); those not stored yet (the store is failing, locked or
full) are dropped, counted, warned about, shown by ``frugal.environment()`` and recorded with
the run in the store once it takes rows again. Never silently.
"""
from __future__ import annotations

import os
import threading
import time
import warnings
from typing import TYPE_CHECKING, Any

from frugal.core import own
from frugal.core.rows import LOG, ROW_SIZE
from frugal.frames.tail import Summary, Tail, copy_summary, row_columns, summary_delta_columns
from frugal.store.run_info import new_run_id, settings_json
from frugal.errors import raised_by_signal_handler

if TYPE_CHECKING:
    from collections.abc import Callable

    from frugal.store.location import AnyStore

FLUSH_EVERY_S = 0.25             # call rows reach the store at least this often (plus one write)
FLUSH_ROWS = 50_000              # ... or as soon as this many wait
SUMMARY_EVERY_S = 60.0           # summary aggregates reach the store at least this often
POLL_S = 0.05                    # how often the writer thread looks at the log
MAX_ROWS_IN_MEMORY = 1 << 22     # rows the log keeps while a store is set (4,194,304: 260 MB)
EXIT_TIMEOUT_S = 1.0             # the longest the last flush at exit may take


class Writer:
    """Moves this process's new rows from the in-memory log to one store, off the hot path.

    ``tail`` is its place in the log: the first row not yet stored, the aggregates as last stored.
    """

    def __init__(self, store: AnyStore, run: dict[str, Any], cursor: int, summary_base: Summary) -> None:
        self.store = store
        self.run = run
        self.tail = Tail(cursor, summary_base)
        self.lock = threading.RLock()
        self.stopped = threading.Event()
        self.retired = False            # replaced by another store: writes nothing more
        self.last_flush = self.last_summary = time.monotonic()
        self.failures: set[str] = set()
        self.unrecorded_drops = 0       # rows dropped that the store has not been told of yet
        # a write whose commit got no answer (a server store): (does the store have it?, what to
        # do if so), settled before the next write, so that its rows are written once
        self.unsettled: tuple[Callable[[], bool], Callable[[], None]] | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = thread = threading.Thread(target=self._loop, name="frugal-store", daemon=True)
        own.start_thread(thread.start)

    def _loop(self) -> None:
        # Each wake-up costs this thread CPU (about 0.1 ms here, in the wait itself): frugal's own,
        # added as the thread wakes (from the clock its last poll ended at to the one this starts at).
        last: int | None = None
        while not self.stopped.wait(POLL_S):
            counted = own.begin("store")
            if counted and last is not None:
                own.add("store", counted[0][1] - last)
            try:
                self._poll()
            finally:
                last = own.end(counted)

    def _poll(self) -> None:
        now = time.monotonic()
        pending = (LOG.base + len(LOG.rows) - self.tail.cursor) // ROW_SIZE
        if pending >= FLUSH_ROWS or (pending and now - self.last_flush >= FLUSH_EVERY_S):
            self.flush(summary=False)
        if now - self.last_summary >= SUMMARY_EVERY_S:
            self.flush(summary=True)
        if LOG.count() > MAX_ROWS_IN_MEMORY:
            self.flush(summary=False)

    def flush(self, summary: bool = True, last: str | None = None, upto: int | None = None,
              timeout: float | None = None) -> int:
        """Store what is new in the log (up to the absolute offset ``upto``, else all); returns
        how many rows were stored.

        A failure warns and keeps the rows in the log: once per kind of failure until a flush
        succeeds again (a failure after a recovery is news), and always when ``last`` says
        what becomes of the rows next (the process ends, ``clear()`` drops them). ``timeout``
        bounds the wait for another process's write lock, and for a flush in progress (s).
        """
        # frugal's own work, on this thread's clock: left out of the regions open meanwhile
        counted = own.begin("store")
        try:
            return self._flush(summary, last, upto, timeout)
        finally:
            own.end(counted)

    def _flush(self, summary: bool, last: str | None, upto: int | None, timeout: float | None) -> int:
        self._settings()    # outside the lock: it may wait for configure(), which may wait for us
        if not self.lock.acquire(timeout=-1 if timeout is None else timeout):
            warnings.warn(f"frugal: could not store the last measurements in {self.store.path} within "
                          f"{timeout:g} s (a write was in progress); {last or 'they stay in frugal.results()'}",
                          RuntimeWarning, stacklevel=3)
            return 0
        try:
            if self.retired:
                return 0
            kwargs = {} if timeout is None else {"timeout": timeout}
            if self.unsettled is not None:
                settle, done = self.unsettled
                if settle():        # raises while the server is still away: the next flush asks again
                    done()
                self.unsettled = None
            n = self._flush_rows(upto, kwargs)
            if summary:
                n += self._flush_summary(kwargs)
            self.failures.clear()
            return n
        except Exception as exc:
            if raised_by_signal_handler(exc):
                raise
            key = type(exc).__name__
            if last is not None or key not in self.failures:
                self.failures.add(key)
                warnings.warn(f"frugal: could not store measurements in {self.store.path} ({exc}); "
                              f"{last or 'they stay in frugal.results()'}", RuntimeWarning, stacklevel=3)
            return 0
        finally:
            self.last_flush = time.monotonic()
            if summary:
                self.last_summary = self.last_flush
            try:
                self._bound_memory()
            finally:
                self.lock.release()

    def _flush_rows(self, upto: int | None, kwargs: dict[str, Any]) -> int:
        own.import_quietly("numpy")     # the first flush may be the first to import it
        start, data = self.tail.rows(upto)
        if start > self.tail.cursor:     # forgotten before they could be stored (counted when dropped)
            self.tail.cursor = start
        if not data and not self.unrecorded_drops:
            return 0
        cols = row_columns(data, os.getpid())
        drops = self.unrecorded_drops

        def done() -> None:
            self.tail.advance(start, data)
            self.unrecorded_drops -= drops

        try:
            n = self.store.append(self._run(), cols, dropped=drops, **kwargs)
        except Exception as exc:
            self._unsure(exc, done)
            raise
        done()
        return n

    def _flush_summary(self, kwargs: dict[str, Any]) -> int:
        deltas, seen = self.tail.summary_deltas()
        n = 0
        if deltas:
            try:
                n = self.store.append(self._run(), summary_delta_columns(deltas, os.getpid()), **kwargs)
            except Exception as exc:
                self._unsure(exc, lambda: self.tail.commit(seen))
                raise
        self.tail.commit(seen)
        return n

    def _unsure(self, exc: Exception, done: Callable[[], None]) -> None:
        """A write that failed as its commit went unanswered (``CommitUnknown``): remember how to
        settle it (``done`` once the store says it has the rows)."""
        settle = getattr(exc, "settle", None)
        if settle is not None:
            self.unsettled = (settle, done)

    def before_clear(self, end: int, cleared: Summary) -> None:
        """``frugal.clear()`` forgets the rows before ``end`` and the ``cleared`` aggregates: store
        them first (a failure warns: they are lost)."""
        with self.lock:
            last = "clear() drops them now"
            self.flush(summary=False, last=last, upto=end)
            # The aggregates being cleared now, and at the next flush what threads still added to them.
            self.tail.cleared(cleared)
            self.flush(summary=True, last=last, upto=end)

    def _bound_memory(self) -> None:
        """Keep at most MAX_ROWS_IN_MEMORY rows: forget the oldest, an eighth of the limit at a time."""
        excess = LOG.count() - MAX_ROWS_IN_MEMORY
        if excess <= 0:
            return
        cut = LOG.base + max(excess, MAX_ROWS_IN_MEMORY // 8) * ROW_SIZE
        stored = max(0, min(cut, self.tail.cursor) - LOG.base) // ROW_SIZE
        gone = LOG.drop(cut) // ROW_SIZE
        lost = max(0, gone - stored)
        LOG.released += gone - lost
        if lost:
            LOG.dropped += lost
            self.unrecorded_drops += lost
            self.tail.cursor = max(self.tail.cursor, LOG.base)
            warnings.warn(f"frugal: {lost:,} measurements were dropped before they could be stored in "
                          f"{self.store.path} (more than {MAX_ROWS_IN_MEMORY:,} waited in memory); "
                          f"{LOG.dropped:,} in all (frugal.environment()['rows_dropped'])",
                          RuntimeWarning, stacklevel=4)

    def _settings(self) -> None:
        if self.run.get("settings") is None:
            self.run["settings"] = settings_json()

    def _run(self) -> dict[str, Any]:
        self._settings()
        return self.run

    def stop(self) -> None:
        self.stopped.set()

    def retire(self, last: str) -> tuple[int, Summary]:
        """Flush everything, then write nothing more: (cursor, summary base) for the next writer,
        which takes over at the exact row where this one stopped. ``last``: what becomes of
        rows this store cannot take (said in the warning)."""
        self.stop()
        with self.lock:
            self.flush(summary=True, last=last)
            self.retired = True
            return self.tail.cursor, self.tail.summary_base

    def forked(self) -> Writer:
        """The writer of a forked child: a new run, starting after the rows it inherited."""
        run = dict(self.run, run_id=new_run_id(), pid=os.getpid(), started_at=time.time_ns())
        return Writer(self.store, run, LOG.end(), copy_summary(LOG.summary))

