"""From raw rows to columns: the numpy columns of ``frugal.results()``, and Measurement objects.

Energy and carbon are derived here, when results are read, from the raw fields and the
settings that were in force when each call was measured (``frugal.energy.model.derive``).
A column dict maps each Measurement field to an array, plus ``_seq`` (each row's identity,
for its side data) and ``_settings_id``. Every step is vectorised over whole columns: the
packed rows are read in place by numpy, text columns are their interned tables indexed by
id; no Python object is made per row. pandas is needed only in ``frugal.frame``.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from frugal import _records
from frugal._records import (
    CHILDREN, EPOCH_NS, LOG, NO_SPLIT, PEAK_KNOWN, ROW, RSS_KNOWN, S_CALLS, S_CPU, S_DEPTH, S_ERRORS,
    S_FLAGS, S_MAX, S_MIN, S_PARENT, S_RSS, S_SETTINGS, S_T0, S_UNITS, S_WALL, STATUS_MASK,
    STATUS_NAMES, TASK_SCOPE, THREAD_SCOPE,
)
from frugal.energy.model import OUTPUTS, derive
from frugal.measurement import FIELDS, Measurement

if TYPE_CHECKING:
    from frugal._records import MeterReading

Columns = dict[str, Any]
"""Column name -> numpy array (or list), one entry per row."""

ROW_DTYPE = np.dtype([
    ("seq", "<u4"), ("name_id", "<u4"), ("t0_ns", "<i8"), ("wall_ns", "<i8"), ("cpu_user_s", "<f8"),
    ("cpu_system_s", "<f8"), ("peak_kb", "<u4"), ("rss0_kb", "<u4"), ("rss_delta_kb", "<i4"),
    ("parent_id", "<u4"), ("depth", "u1"), ("flags", "u1"), ("error_id", "<u2"), ("settings_id", "<u2"),
])
assert ROW_DTYPE.itemsize == ROW.size

ENERGY_FIELDS = OUTPUTS
MEMORY_FIELDS = ("peak_rss_bytes", "rss_delta_bytes", "rss_start_bytes", "peak_added_bytes")
_SCOPES = np.array(["process", "thread", "task", "task"], dtype=object)
_STATUS = np.array(STATUS_NAMES + ("?",), dtype=object)


def _nan_where(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    out = values.astype("f8")
    out[~known] = np.nan
    return out


def _lookup(table: list[Any], ids: np.ndarray) -> np.ndarray:
    """``table[id]`` for every id, as an object array (one fancy index)."""
    values: np.ndarray = np.array(table, dtype=object)[ids]
    return values


def scopes(flags: np.ndarray) -> np.ndarray:
    """The ``scope`` column of packed flags: "process", "thread" or "task"."""
    values: np.ndarray = _SCOPES[((flags & THREAD_SCOPE) != 0) + 2 * ((flags & TASK_SCOPE) != 0)]
    return values


def raw_columns(rows: bytes, units: dict[int, float], names: list[str],
                errors: list[str], pid: int | None) -> Columns:
    """Decode packed rows into named columns (numpy arrays), energy not yet derived."""
    a = np.frombuffer(rows, dtype=ROW_DTYPE)
    n = len(a)
    flags = a["flags"]
    wall = a["wall_ns"] / 1e9
    user = a["cpu_user_s"].copy()
    system = a["cpu_system_s"].copy()
    cpu = user + system
    no_split = (flags & NO_SPLIT) != 0
    if no_split.any():       # one clock without a split: the total stands in the user slot
        cpu[no_split] = user[no_split]
        user[no_split] = system[no_split] = np.nan
    peak_known = (flags & PEAK_KNOWN) != 0
    rss_known = (flags & RSS_KNOWN) != 0
    peak_kb = a["peak_kb"].astype("i8")
    rss0_kb = a["rss0_kb"].astype("i8")
    seq = a["seq"].astype("i8")
    if units:
        unit_values = np.fromiter((units.get(s, np.nan) for s in seq.tolist()), dtype="f8", count=n)
    else:
        unit_values = np.full(n, np.nan)
    return {
        "name": _lookup(names + [""], a["name_id"]),
        "started_at": (a["t0_ns"] + EPOCH_NS).astype("datetime64[ns]"),
        "wall_s": wall,
        "cpu_user_s": user,
        "cpu_system_s": system,
        "cpu_s": cpu,
        "cpu_util": np.divide(cpu, wall, out=np.full(n, np.nan), where=wall > 0),
        "peak_rss_bytes": _nan_where(peak_kb * 1024, peak_known),
        "rss_delta_bytes": _nan_where(a["rss_delta_kb"].astype("i8") * 1024, rss_known),
        "rss_start_bytes": _nan_where(rss0_kb * 1024, rss_known),
        "peak_added_bytes": _nan_where(np.maximum(peak_kb - rss0_kb, 0) * 1024, peak_known & rss_known),
        "units": unit_values,
        "status": _STATUS[np.minimum(flags & STATUS_MASK, 3)],
        "error": _lookup([None] + errors[1:], a["error_id"]),
        "parent": _lookup([None] + names, a["parent_id"]),
        "depth": a["depth"].astype("i8"),
        "scope": scopes(flags),
        "children": (flags & CHILDREN) != 0,
        "calls": np.ones(n, dtype="i8"),
        "wall_min_s": wall,
        "wall_max_s": wall,
        "pid": np.full(n, -1 if pid is None else pid, dtype="i8"),
        # internal, for derivation
        "_seq": seq,
        "_settings_id": a["settings_id"].astype("i8"),
    }


def merge_summary(summary: dict[tuple[int, int], list[Any]]) -> dict[int, list[Any]]:
    """Merge the per-thread aggregates of each name into one."""
    merged: dict[int, list[Any]] = {}
    for (nid, _tid), agg in sorted(summary.items()):
        agg = list(agg)
        into = merged.get(nid)
        if into is None:
            merged[nid] = agg
            continue
        into[S_CALLS] += agg[S_CALLS]
        into[S_ERRORS] += agg[S_ERRORS]
        into[S_WALL] += agg[S_WALL]
        into[S_MIN] = min(into[S_MIN], agg[S_MIN])
        into[S_MAX] = max(into[S_MAX], agg[S_MAX])
        into[S_CPU] += agg[S_CPU]
        into[S_T0] = min(into[S_T0], agg[S_T0])
        into[S_RSS] = max(into[S_RSS], agg[S_RSS])
        if agg[S_UNITS] is not None:
            into[S_UNITS] = (into[S_UNITS] or 0.0) + agg[S_UNITS]
    return merged


def summary_columns(summary: dict[tuple[int, int], list[Any]], names: list[str],
                    pid: int | None) -> Columns:
    """One row per summarised name: totals, extremes and counts over all threads."""
    items = sorted(merge_summary(summary).items())
    n = len(items)
    aggs = [agg for _, agg in items]
    wall = np.array([agg[S_WALL] for agg in aggs], dtype="f8") / 1e9
    cpu = np.array([agg[S_CPU] for agg in aggs], dtype="f8") / 1e9
    flags = np.array([agg[S_FLAGS] for agg in aggs], dtype="i8")
    errors = np.array([agg[S_ERRORS] for agg in aggs], dtype="i8")
    t0 = np.array([agg[S_T0] for agg in aggs], dtype="i8")
    parents = np.array([agg[S_PARENT] for agg in aggs], dtype="i8")
    return {
        "name": np.array([names[nid] for nid, _ in items], dtype=object),
        "started_at": (t0 + EPOCH_NS).astype("datetime64[ns]"),
        "wall_s": wall,
        # summary mode reads one CPU clock (no user/system split), to stay under 2 us a call
        "cpu_user_s": np.full(n, np.nan),
        "cpu_system_s": np.full(n, np.nan),
        "cpu_s": cpu,
        "cpu_util": np.divide(cpu, wall, out=np.full(n, np.nan), where=wall > 0),
        "peak_rss_bytes": np.array([agg[S_RSS] * 1024.0 if agg[S_RSS] else np.nan for agg in aggs], dtype="f8"),
        "rss_delta_bytes": np.full(n, np.nan),
        "rss_start_bytes": np.full(n, np.nan),
        "peak_added_bytes": np.full(n, np.nan),     # summary mode does not reset the mark
        "units": np.array([np.nan if agg[S_UNITS] is None else agg[S_UNITS] for agg in aggs], dtype="f8"),
        "status": np.where(errors > 0, "error", "ok").astype(object),
        "error": np.array([f"{e} of {agg[S_CALLS]} calls failed" if e else None
                           for e, agg in zip(errors, aggs)], dtype=object),
        "parent": _lookup([None] + names, parents),
        "depth": np.array([agg[S_DEPTH] for agg in aggs], dtype="i8"),
        "scope": scopes(flags),
        "children": (flags & CHILDREN) != 0,
        "calls": np.array([agg[S_CALLS] for agg in aggs], dtype="i8"),
        "wall_min_s": np.array([agg[S_MIN] for agg in aggs], dtype="f8") / 1e9,
        "wall_max_s": np.array([agg[S_MAX] for agg in aggs], dtype="f8") / 1e9,
        "pid": np.full(n, -1 if pid is None else pid, dtype="i8"),
        "_seq": np.full(n, -1, dtype="i8"),      # summary rows have no side data
        "_settings_id": np.array([agg[S_SETTINGS] for agg in aggs], dtype="i8"),
    }


def add_energy(cols: Columns, meters: dict[int, MeterReading]) -> Columns:
    """Fill the energy and carbon columns from the raw ones (``frugal.energy.model.derive``);
    ``meters`` maps a row's ``_seq`` to its meter readings."""
    cols.update(derive(cols, meters))
    return cols


def concat(parts: list[Columns]) -> Columns:
    """Column dicts one after the other (the keys of the first)."""
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}


def log_columns(log: _records.Log = LOG, pid: int | None = None) -> Columns:
    """All results of this process: call rows, then summary rows, energy derived."""
    summary = {k: list(v) for k, v in list(log.summary.items())}
    rows = log.take_rows()
    units = dict(log.units)
    meters = dict(log.meters)
    names = log.names
    cols = raw_columns(rows, units, names, log.errors, pid)
    if summary:
        cols = concat([cols, summary_columns(summary, names, pid)])
    return add_energy(cols, meters)


def measurement_from_row(row: bytes, units: float | None, meters: MeterReading | None) -> Measurement:
    """The Measurement of one packed row and its side data (the context manager's ``m.result``)."""
    seq = ROW.unpack(row)[0]
    cols = raw_columns(row, {seq: units} if units is not None else {}, LOG.names, LOG.errors, os.getpid())
    cols = add_energy(cols, {seq: meters} if meters is not None else {})
    return measurements(cols)[0]


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def measurements(cols: Columns) -> list[Measurement]:
    """One Measurement per row of a column dict (NaN becomes None)."""
    n = len(cols["name"])
    out = []
    for i in range(n):
        kw = {f: _py(cols[f][i]) for f in FIELDS if f != "started_at"}
        for f in MEMORY_FIELDS:
            if kw[f] is not None:
                kw[f] = int(kw[f])
        ns = int(cols["started_at"][i].astype("datetime64[ns]").astype("i8"))
        kw["started_at"] = datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)
        out.append(Measurement(**kw))
    return out
