"""The row log: where measured calls go, as packed rows of raw numbers, not an object per call.

One call appends 58 bytes to a bytearray (one C call, atomic under the GIL); names, error
types and settings are interned in small tables. Every row carries its own identity,
``seq``, drawn from one process-wide counter: the rarely used extras of a call (its units,
its meter readings) live in side tables keyed by it. ``Log.append`` is the one door into the
log. Everything derived (Measurement objects, energy, carbon) is computed when results are read.
"""
from __future__ import annotations

import itertools
import struct
import threading
import time
from collections.abc import Callable

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    # A meter's readings for one region: (meter, counters at start, counters at end).
    MeterReading: TypeAlias = tuple[Any, Any, Any]

# seq, name_id, t0_ns, wall_ns, cpu_user_s, cpu_system_s, peak_kb, rss_delta_kb,
# parent_id (name_id + 1, 0 = none), depth, flags, error_id, settings_id
ROW = struct.Struct("<IIqqddIiIBBHH")
ROW_SIZE = ROW.size
SEQ_MASK = 0xFFFF_FFFF       # seq is packed in 32 bits: unique among the rows a log can hold

# flags
STATUS_MASK = 0b11          # 0 ok, 1 error, 2 interrupted
THREAD_SCOPE = 0b100
CHILDREN = 0b1000
PEAK_KNOWN = 0b10000
RSS_KNOWN = 0b100000
STATUS_NAMES = ("ok", "error", "interrupted")

# Anchor to turn perf_counter_ns into UTC wall-clock time when results are read.
EPOCH_NS = time.time_ns() - time.perf_counter_ns()

_counter = itertools.count()
next_seq = _counter.__next__
"""The next row identity (a C call: atomic under the GIL); mask it with ``SEQ_MASK``."""


class Log:
    """The process's measured calls since the last ``clear()``."""

    def __init__(self) -> None:
        self.rows = bytearray()
        self.names: list[str] = []
        self.name_ids: dict[str, int] = {}
        self.errors: list[str] = [""]
        self.error_ids: dict[str, int] = {"": 0}
        self.units: dict[int, float] = {}               # seq -> units
        self.meters: dict[int, MeterReading] = {}       # seq -> meter readings
        self.summary: dict[tuple[int, int], list[Any]] = {}  # (name_id, thread id) -> aggregate
        self.lock = threading.Lock()
        self.clear_listeners: list[Callable[[], None]] = []   # told before the log is cleared

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
        nid = self.name_ids.get(name)
        if nid is None:
            with self.lock:
                nid = self.name_ids.get(name)
                if nid is None:
                    nid = len(self.names)
                    self.names.append(name)
                    self.name_ids[name] = nid
        return nid

    def error_id(self, exc_type: type) -> int:
        name = exc_type.__qualname__
        eid = self.error_ids.get(name)
        if eid is None:
            with self.lock:
                eid = self.error_ids.get(name)
                if eid is None:
                    eid = len(self.errors)
                    self.errors.append(name)
                    self.error_ids[name] = eid
        return eid

    def count(self) -> int:
        return len(self.rows) // ROW_SIZE

    def take_rows(self) -> bytes:
        """A consistent copy of the rows (whole rows only)."""
        data = bytes(self.rows)
        return data[: len(data) - len(data) % ROW_SIZE]

    def on_clear(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` before each ``clear()`` (the store writes what is pending)."""
        self.clear_listeners.append(listener)

    def clear(self) -> None:
        """Tell the listeners, then forget every row and aggregate (``frugal.clear()``)."""
        for listener in list(self.clear_listeners):
            listener()
        self.forget()

    def forget(self) -> None:
        """Forget every row and aggregate, telling nobody (a forked child's copy of the parent's log).

        Names stay interned: decorated functions hold their name ids for life.
        """
        del self.rows[:]
        self.units.clear()
        self.meters.clear()
        self.summary.clear()


# Summary aggregate layout (a list, updated in place by its own thread only):
# [calls, errors, wall_ns_sum, wall_ns_min, wall_ns_max, cpu_ns_sum, first_t0_ns,
#  max_rss_kb, flags, parent_id, depth, units_sum, settings_id]
S_CALLS, S_ERRORS, S_WALL, S_MIN, S_MAX, S_CPU, S_T0, S_RSS, S_FLAGS, S_PARENT, S_DEPTH, S_UNITS, S_SETTINGS = range(13)

LOG = Log()
