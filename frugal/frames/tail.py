"""What the row log gained since a reader last looked: call rows past a cursor and summary calls
past a base, for the readers that consume the log incrementally (the store's writer, the
Prometheus and OpenTelemetry exporters). One copy of that bookkeeping, so each reader sees
every call exactly once, ``frugal.clear()`` included.

numpy is imported when columns are first built, not with this module (``import frugal`` stays light).
"""
from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from frugal.core.rows import LOG, S_CALLS, S_CPU, S_ERRORS, S_T0, S_UNITS, S_WALL

if TYPE_CHECKING:
    from frugal.frames.columns import Columns

Summary = dict[tuple[int, int], list[Any]]
Snapshot = tuple[Summary, list[Summary]]     # what summary_deltas saw: the live aggregates, the retired ones


class Tail:
    """A reader's place in the log: ``cursor``, the absolute offset (``LOG.base`` + index) of the
    first row not yet consumed; ``summary_base``, the aggregates as last consumed (calls past
    them are new); ``retired``, aggregates that ``clear()`` took away, as (aggregates, base,
    reads left): threads may still add to them after the clear, so they are read twice more.

    Not thread-safe: its reader holds its own lock around it.
    """

    def __init__(self, cursor: int, summary_base: Summary) -> None:
        self.cursor = cursor
        self.summary_base = summary_base
        self.summary_t0 = time.perf_counter_ns()
        self.retired: list[tuple[Summary, Summary, int]] = []

    def rows(self, upto: int | None = None) -> tuple[int, bytes]:
        """(first absolute offset read, the rows from the cursor up to ``upto``, else all): the
        cursor does not move (``advance`` once the rows are safely consumed). A first offset past
        the cursor means rows were forgotten before this reader saw them."""
        return LOG.read(self.cursor, LOG.end() if upto is None else upto)

    def advance(self, start: int, data: bytes) -> None:
        self.cursor = start + len(data)

    def summary_deltas(self) -> tuple[Summary, Snapshot]:
        """(the calls each aggregate gained since the last ``commit``, the snapshot to commit).

        Retired aggregates are keyed apart from the live ones (a negative thread id), merged by
        name when read. Nothing changes until ``commit(snapshot)``: a reader that fails to use
        the deltas reads them again next time."""
        deltas: Summary = {}
        seen = []
        for i, (aggregates, base, _left) in enumerate(self.retired):
            snapshot = copy_summary(aggregates)
            _deltas(snapshot, base, self.summary_t0, deltas, tag=-1 - i)
            seen.append(snapshot)
        current = copy_summary(LOG.summary)
        _deltas(current, self.summary_base, self.summary_t0, deltas)
        return deltas, (current, seen)

    def commit(self, snapshot: Snapshot) -> None:
        """The deltas of ``summary_deltas`` were consumed: what it saw is the new base."""
        current, seen = snapshot
        self.retired = [(aggregates, was, left - 1)
                        for (aggregates, _base, left), was in zip(self.retired, seen) if left > 1]
        self.summary_base, self.summary_t0 = current, time.perf_counter_ns()

    def cleared(self, aggregates: Summary) -> None:
        """``clear()`` takes ``aggregates`` away from the log: read what they gained twice more."""
        self.retired.append((aggregates, self.summary_base, 2))
        self.summary_base = {}


def row_columns(data: bytes, pid: int | None = None) -> Columns:
    """Packed rows of the log as columns, energy derived (their units and meter readings from the log)."""
    from frugal.frames.columns import add_energy, own_names, raw_columns, unpack

    fields = unpack(data)
    # only the names of these rows: a batch costs what its rows do, not what every name interned does
    names = own_names(fields, LOG.names_of)
    cols = raw_columns(fields, LOG.units, names, LOG.errors, os.getpid() if pid is None else pid)
    meters = LOG.meters
    if meters:
        meters = {s: meters[s] for s in cols["_seq"].tolist() if s in meters}
    return add_energy(cols, meters)


def summary_delta_columns(deltas: Summary, pid: int | None = None) -> Columns:
    """Summary deltas (``Tail.summary_deltas``) as columns, one row per name, energy derived."""
    from frugal.frames.columns import add_energy, summary_columns

    return add_energy(summary_columns(deltas, LOG.names, os.getpid() if pid is None else pid), {})


def copy_summary(summary: Summary) -> Summary:
    # list() copies the dict in one C call; each aggregate is copied as it is
    return {k: list(v) for k, v in list(summary.items())}


def _deltas(current: Summary, base: Summary, t0: int, into: Summary, tag: int | None = None) -> None:
    """Add to ``into`` the calls each aggregate gained since ``base`` (new ones whole), keyed by
    (name id, ``tag``) when a tag is given."""
    for key, agg in current.items():
        out = key if tag is None else (key[0], tag * (1 << 64) - key[1])
        was = base.get(key)
        if was is None or was[S_T0] != agg[S_T0] or agg[S_CALLS] < was[S_CALLS]:
            into[out] = agg                                # new since the last read
            continue
        calls = agg[S_CALLS] - was[S_CALLS]
        if calls <= 0:
            continue
        d = list(agg)
        d[S_CALLS] = calls
        d[S_ERRORS] = agg[S_ERRORS] - was[S_ERRORS]
        d[S_WALL] = agg[S_WALL] - was[S_WALL]
        d[S_CPU] = agg[S_CPU] - was[S_CPU]
        if agg[S_UNITS] is not None:
            d[S_UNITS] = agg[S_UNITS] - (was[S_UNITS] or 0.0)
        d[S_T0] = t0
        into[out] = d
