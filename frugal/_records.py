"""Where measured calls go: packed rows of raw numbers, not an object per call.

One call appends 54 bytes to a bytearray (one C call, atomic under the GIL); names,
error types and settings are interned in small tables. Rarely used extras (units, meter
readings) live in side tables keyed by the call's start time in ns. Everything derived
(Measurement objects, energy, carbon) is computed when results are read.
"""
from __future__ import annotations

import struct
import threading
import time

# name_id, t0_ns, wall_ns, cpu_user_s, cpu_system_s, peak_kb, rss_delta_kb,
# parent_id (name_id + 1, 0 = none), depth, flags, error_id, settings_id
ROW = struct.Struct("<IqqddIiIBBHH")
ROW_SIZE = ROW.size
pack = ROW.pack

# flags
STATUS_MASK = 0b11          # 0 ok, 1 error, 2 interrupted
THREAD_SCOPE = 0b100
CHILDREN = 0b1000
PEAK_KNOWN = 0b10000
RSS_KNOWN = 0b100000
STATUS_NAMES = ("ok", "error", "interrupted")

# Anchor to turn perf_counter_ns into UTC wall-clock time when results are read.
EPOCH_NS = time.time_ns() - time.perf_counter_ns()


class Log:
    """The process's measured calls since the last ``clear()``."""

    def __init__(self) -> None:
        self.rows = bytearray()
        self.names: list[str] = []
        self.name_ids: dict[str, int] = {}
        self.errors: list[str] = [""]
        self.error_ids: dict[str, int] = {"": 0}
        self.units: dict[int, float] = {}       # t0_ns -> units
        self.meters: dict[int, tuple] = {}      # t0_ns -> (meter, start reading, end reading)
        self.summary: dict[tuple[int, int], list] = {}  # (name_id, thread id) -> aggregate
        self.lock = threading.Lock()

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

    def clear(self) -> None:
        # Names stay interned: decorated functions hold their name ids for life.
        del self.rows[:]
        self.units.clear()
        self.meters.clear()
        self.summary.clear()


# Summary aggregate layout (a list, updated in place by its own thread only):
# [calls, errors, wall_ns_sum, wall_ns_min, wall_ns_max, cpu_ns_sum, first_t0_ns,
#  max_rss_kb, flags, parent_id, depth, units_sum, settings_id]
S_CALLS, S_ERRORS, S_WALL, S_MIN, S_MAX, S_CPU, S_T0, S_RSS, S_FLAGS, S_PARENT, S_DEPTH, S_UNITS, S_SETTINGS = range(13)

LOG = Log()
