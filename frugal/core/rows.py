"""The row log: where measured calls go, as packed rows of raw numbers, not an object per call.

One call appends 62 bytes to a bytearray (one C call, atomic under the GIL); names, error
types and settings are interned in small tables. Every row carries its own identity,
``seq``, drawn from one process-wide counter: the rarely used extras of a call (its units,
its meter readings) live in side tables keyed by it. ``Log.append`` is the one door into the
log. Everything derived (Measurement objects, energy, carbon) is computed when results are read.

The measured call takes no lock: a signal handler that measures a region while the
interrupted code is inside the log cannot deadlock on it. Interning is lock-free (ids from an
atomic counter, claimed with ``dict.setdefault``). Rows are addressed by absolute byte
offsets (``base`` counts the bytes forgotten so far), so that ``clear()`` and the store can
forget exactly the rows they saw, in one C call, while other threads keep appending.
"""
from __future__ import annotations

import itertools
import struct
import sys
import threading
import time
import warnings
from collections.abc import Callable

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    # A meter's readings for one region: (meter, counters at start, counters at end).
    MeterReading: TypeAlias = tuple[Any, Any, Any]

# The packed row, field by field in order: (name, struct code, unit, meaning). The one
# description of a row: ROW is built from it here, the numpy dtype and the decoding of each
# unit in ``frugal.frames.columns`` (numpy is not imported here: ``import frugal`` stays light).
ROW_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("seq", "I", "id", "the row's identity, next_seq() & SEQ_MASK"),
    ("name_id", "I", "id", "the region's name, interned"),
    ("t0_ns", "q", "perf_counter_ns", "the start, a perf_counter_ns reading (+ EPOCH_NS: UTC)"),
    ("wall_ns", "q", "ns", "wall time"),
    ("cpu_user_s", "d", "s", "user CPU time (all CPU time where flags has NO_SPLIT)"),
    ("cpu_system_s", "d", "s", "system CPU time"),
    ("peak_kb", "I", "KiB", "the resident high-water mark at the end (if PEAK_KNOWN)"),
    ("rss0_kb", "I", "KiB", "resident memory at the start (if RSS_KNOWN)"),
    ("rss_delta_kb", "i", "KiB", "resident memory at the end minus at the start (if RSS_KNOWN)"),
    ("parent_id", "I", "id", "the enclosing region's name_id + 1, 0 = none"),
    ("depth", "B", "count", "regions open around this one (at most 255)"),
    ("flags", "B", "bits", "status and scope: the flags below"),
    ("error_id", "H", "id", "the exception's type name, interned (0 = none)"),
    ("settings_id", "H", "id", "the settings in force, interned"),
)
ROW = struct.Struct("<" + "".join(code for _, code, _, _ in ROW_FIELDS))
ROW_SIZE = ROW.size
SEQ_MASK = 0xFFFF_FFFF       # seq is packed in 32 bits: unique among the rows a log can hold

# flags
STATUS_MASK = 0b11          # 0 ok, 1 error, 2 interrupted
THREAD_SCOPE = 0b100
CHILDREN = 0b1000
PEAK_KNOWN = 0b10000
RSS_KNOWN = 0b100000
TASK_SCOPE = 0b1000000      # a coroutine's own steps on the thread clock (scope "task")
NO_SPLIT = 0b10000000       # CPU read on a clock without a user/system split: cpu_user_s holds the total
STATUS_NAMES = ("ok", "error", "interrupted")

# Anchor to turn perf_counter_ns into UTC wall-clock time when results are read.
EPOCH_NS = time.time_ns() - time.perf_counter_ns()

_counter = itertools.count()
next_seq = _counter.__next__
"""The next row identity (a C call: atomic under the GIL); mask it with ``SEQ_MASK``."""


MANY_NAMES = 100_000
"""Distinct region names past which one warning per process says what they cost (``Log.name_id``)."""


class _Interned:
    """A table of strings and their ids, lock-free: ids come from an atomic counter and a
    string's id is claimed with one ``dict.setdefault`` (an id lost in a race stays unused).

    ``crowded(count)`` is called once, by whoever draws id ``limit``: the check costs nothing
    on the path that finds a string already interned.
    """

    __slots__ = ("ids", "by_id", "_next", "_limit", "_crowded")

    def __init__(self, *first: str, limit: int = -1, crowded: Callable[[int], None] | None = None) -> None:
        self.ids: dict[str, int] = {}
        self.by_id: dict[int, str] = {}
        self._next = itertools.count().__next__
        self._limit = limit
        self._crowded = crowded
        for text in first:
            self.id(text)

    def id(self, text: str) -> int:
        nid = self.ids.get(text)
        if nid is None:
            candidate = self._next()
            self.by_id[candidate] = text        # before the id can be seen in any row
            nid = self.ids.setdefault(text, candidate)
            if candidate == self._limit and self._crowded is not None:
                self._crowded(len(self.ids))
        return nid

    def table(self) -> list[str]:
        """The strings indexed by id ("" for an id lost in a race)."""
        by_id = dict(self.by_id)
        table = [""] * (max(by_id) + 1 if by_id else 0)
        for nid, text in by_id.items():
            table[nid] = text
        return table

    def labels(self, ids: list[int]) -> list[str]:
        """The strings of ``ids`` ("" for an id never drawn), in their order: what a batch of
        rows uses, read in proportion to the batch and not to the table."""
        get = self.by_id.get
        return [get(nid, "") for nid in ids]


def _many_names(count: int) -> None:
    """Say once what a name per call costs, and what to do instead."""
    # point at the user's line, not frugal's: stacklevel 2 is our caller, frame 1
    level, frame = 2, sys._getframe(1)
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("frugal."):
        level, frame = level + 1, frame.f_back
    warnings.warn(
        f"frugal: more than {MANY_NAMES:,} distinct region names ({count:,}) in this process; each "
        "name stays in memory for the life of the process and is a group of its own in every result. "
        "A name made per call (f\"req-{i}\") is the usual cause: use a constant name, with units= for "
        "the amount of work (frugal.measure(\"request\", units=n)), or record=\"summary\"; "
        "this warning is given once", RuntimeWarning, stacklevel=level)


class Log:
    """The process's measured calls since the last ``clear()``."""

    def __init__(self) -> None:
        self.rows = bytearray()
        self.base = 0           # absolute offset of rows[0]: bytes of rows forgotten so far
        self.cut = threading.RLock()    # held to read or forget rows by absolute offset (never by the hot path)
        self.released = 0       # rows since clear() forgotten from memory once stored (MAX_ROWS_IN_MEMORY)
        self.dropped = 0        # rows forgotten before they could be stored: lost, and reported
        self._names = _Interned(limit=MANY_NAMES, crowded=_many_names)
        self._errors = _Interned("")
        self.units: dict[int, float] = {}               # seq -> units
        self.meters: dict[int, MeterReading] = {}       # seq -> meter readings
        self.summary: dict[tuple[int, int], list[Any]] = {}  # (name_id, thread id) -> aggregate
        # told before rows are forgotten: the byte offset where the rows that go end, and the
        # summary aggregates that go (the store writes both first)
        self.clear_listeners: list[Callable[[int, dict[tuple[int, int], list[Any]]], None]] = []

    def append(self, row: bytes, seq: int, units: float | None = None,
               meters: MeterReading | None = None) -> None:
        """Add one packed row (``ROW``) and its extras: the one door into the log.

        The extras go in first, so whoever sees the row sees them too.
        """
        if units is not None:
            self.units[seq] = units
        if meters is not None:
            self.meters[seq] = meters
        self.rows.extend(row)

    def name_id(self, name: str) -> int:
        return self._names.id(name)

    def names_of(self, ids: list[int]) -> list[str]:
        """The region names of ``ids``, in their order (``""`` for an unknown id)."""
        return self._names.labels(ids)

    def error_id(self, exc_type: type) -> int:
        return self._errors.id(exc_type.__qualname__)

    @property
    def names(self) -> list[str]:
        """Interned region names, indexed by name id."""
        return self._names.table()

    @property
    def errors(self) -> list[str]:
        """Interned exception type names, indexed by error id (0 is "")."""
        return self._errors.table()

    def count(self) -> int:
        return len(self.rows) // ROW_SIZE

    def take_rows(self) -> bytes:
        """A consistent copy of the rows (one C call; rows are whole: each is added by one)."""
        return bytes(self.rows)

    def scan(self, visit: Callable[[bytearray, int, int], None], piece: int = 1 << 18) -> None:
        """Hand ``visit(rows, first, total)`` the rows recorded so far in pieces of about ``piece``
        bytes: ``rows`` a copy of some whole rows, ``first`` the index of its first row, ``total``
        how many rows the scan covers. Each piece is copied just before it is visited, so a reader
        that takes the piece apart finds it in cache; rows are whole (each is added by one C call)
        and no other thread can forget any meanwhile (``cut`` is held). A signal handler of this
        thread that calls ``clear()`` during the scan makes it start again, from the rows left
        (``first`` is 0 again). ``visit`` is called at least once (with no rows if there are none)."""
        step = max(piece - piece % ROW_SIZE, ROW_SIZE)
        with self.cut:
            while True:
                base = self.base
                end = len(self.rows) // ROW_SIZE * ROW_SIZE
                for offset in range(0, end or 1, step):
                    visit(self.rows[offset:min(offset + step, end)], offset // ROW_SIZE, end // ROW_SIZE)
                    if self.base != base:
                        break
                else:
                    return

    def end(self) -> int:
        """The absolute offset just past the last row now."""
        with self.cut:
            return self.base + len(self.rows)

    def read(self, start: int, end: int) -> tuple[int, bytes]:
        """(first absolute offset read, the rows from ``start`` up to ``end``): rows already
        forgotten are skipped (the first offset says from where the bytes start)."""
        with self.cut:
            base = self.base
            start = max(start, base)
            return start, bytes(self.rows[start - base:max(start, end) - base])

    def on_clear(self, listener: Callable[[int, dict[tuple[int, int], list[Any]]], None]) -> None:
        """Call ``listener(end, summary)`` before each ``clear()`` forgets ``rows[:end]`` and the
        ``summary`` aggregates (the store writes them first)."""
        self.clear_listeners.append(listener)

    def clear(self) -> None:
        """Forget every row and aggregate recorded before this call (``frugal.clear()``).

        Rows that other threads append while it runs are kept: the listeners are told the
        byte offset of the end of what goes, and exactly that prefix is deleted.
        """
        end = self.end()
        summary, self.summary = self.summary, {}
        for listener in list(self.clear_listeners):
            listener(end, summary)
        self.drop(end)
        self.released = 0

    def drop(self, end: int) -> int:
        """Forget the rows before absolute offset ``end`` (one C call) and their side data;
        returns how many bytes went."""
        with self.cut:
            cut = end - self.base
            if cut <= 0:
                return 0
            if self.units or self.meters:
                gone = {fields[0] for fields in ROW.iter_unpack(self.rows[:cut])}
                for table in (self.units, self.meters):
                    for seq in [s for s in list(table) if s in gone]:
                        table.pop(seq, None)
                    if not table:
                        table.clear()   # a dict keeps its size after pops; clear() gives the memory back
            del self.rows[:cut]
            self.base += cut
            return cut

    def forget(self) -> None:
        """Forget every row and aggregate, telling nobody (a forked child's copy of the parent's log).

        Names stay interned: decorated functions hold their name ids for life.
        """
        self.cut = threading.RLock()     # another thread may have held it at fork
        self.base = self.released = self.dropped = 0
        del self.rows[:]
        self.units.clear()
        self.meters.clear()
        self.summary = {}


# Summary aggregate layout (a list, updated in place by its own thread only):
# [calls, errors, wall_ns_sum, wall_ns_min, wall_ns_max, cpu_ns_sum, first_t0_ns,
#  max_rss_kb, flags, parent_id, depth, units_sum, settings_id]
S_CALLS, S_ERRORS, S_WALL, S_MIN, S_MAX, S_CPU, S_T0, S_RSS, S_FLAGS, S_PARENT, S_DEPTH, S_UNITS, S_SETTINGS = range(13)

LOG = Log()
