"""From raw rows to columns: the numpy columns of ``frugal.results()``, and Measurement objects.

Energy and carbon are derived here, when results are read, from the raw fields and the
settings that were in force when each call was measured (``frugal.energy.model.derive``).
A column dict maps each Measurement field to an array, plus ``_seq`` (each row's identity,
for its side data) and ``_settings_id``. pandas is needed only in ``frugal.frame``.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from frugal import _records
from frugal._records import (
    CHILDREN, EPOCH_NS, LOG, PEAK_KNOWN, ROW, RSS_KNOWN, S_CALLS, S_CPU, S_DEPTH, S_ERRORS,
    S_FLAGS, S_MAX, S_MIN, S_PARENT, S_RSS, S_SETTINGS, S_T0, S_UNITS, S_WALL, STATUS_MASK,
    STATUS_NAMES, THREAD_SCOPE,
)
from frugal.energy.model import OUTPUTS, derive
from frugal.measurement import FIELDS, Measurement

if TYPE_CHECKING:
    from frugal._records import MeterReading

Columns = dict[str, Any]
"""Column name -> numpy array (or list), one entry per row."""

ROW_DTYPE = np.dtype([
    ("seq", "<u4"), ("name_id", "<u4"), ("t0_ns", "<i8"), ("wall_ns", "<i8"), ("cpu_user_s", "<f8"),
    ("cpu_system_s", "<f8"), ("peak_kb", "<u4"), ("rss_delta_kb", "<i4"), ("parent_id", "<u4"),
    ("depth", "u1"), ("flags", "u1"), ("error_id", "<u2"), ("settings_id", "<u2"),
])
assert ROW_DTYPE.itemsize == ROW.size

ENERGY_FIELDS = OUTPUTS


def _nan_where(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    out = values.astype("f8")
    out[~known] = np.nan
    return out


def raw_columns(rows: bytes, units: dict[int, float], names: list[str],
                errors: list[str], pid: int | None) -> Columns:
    """Decode packed rows into named columns (numpy arrays), energy not yet derived."""
    a = np.frombuffer(rows, dtype=ROW_DTYPE)
    n = len(a)
    flags = a["flags"]
    names_arr = np.array(names + [""], dtype=object)
    wall = a["wall_ns"] / 1e9
    cpu = a["cpu_user_s"] + a["cpu_system_s"]
    status = flags & STATUS_MASK
    peak_known = (flags & PEAK_KNOWN) != 0
    rss_known = (flags & RSS_KNOWN) != 0
    t0 = a["t0_ns"]
    seq = a["seq"].astype("i8")
    cols: Columns = {
        "name": names_arr[a["name_id"]],
        "started_at": (t0 + EPOCH_NS).astype("datetime64[ns]"),
        "wall_s": wall,
        "cpu_user_s": a["cpu_user_s"].copy(),
        "cpu_system_s": a["cpu_system_s"].copy(),
        "cpu_s": cpu,
        "cpu_util": np.divide(cpu, wall, out=np.full(n, np.nan), where=wall > 0),
        "peak_rss_bytes": _nan_where(a["peak_kb"].astype("f8") * 1024, peak_known),
        "rss_delta_bytes": _nan_where(a["rss_delta_kb"].astype("f8") * 1024, rss_known),
        "units": np.array([units.get(s, np.nan) for s in seq.tolist()], dtype="f8") if units else np.full(n, np.nan),
        "status": np.array(STATUS_NAMES + ("?",), dtype=object)[np.minimum(status, 3)],
        "error": np.array([None] + errors[1:], dtype=object)[a["error_id"]],
        "parent": np.where(a["parent_id"] > 0, names_arr[a["parent_id"].astype("i8") - 1], None),
        "depth": a["depth"].astype("i8"),
        "scope": np.where(flags & THREAD_SCOPE, "thread", "process").astype(object),
        "children": (flags & CHILDREN) != 0,
        "calls": np.ones(n, dtype="i8"),
        "wall_min_s": wall,
        "wall_max_s": wall,
        "pid": np.full(n, -1 if pid is None else pid, dtype="i8"),
        # internal, for derivation
        "_seq": seq,
        "_settings_id": a["settings_id"].astype("i8"),
    }
    return cols


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
    names_arr = np.array(names + [""], dtype=object)
    t0 = np.array([agg[S_T0] for agg in aggs], dtype="i8")
    parents = [agg[S_PARENT] for agg in aggs]
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
        "units": np.array([np.nan if agg[S_UNITS] is None else agg[S_UNITS] for agg in aggs], dtype="f8"),
        "status": np.where(errors > 0, "error", "ok").astype(object),
        "error": np.array([f"{e} of {agg[S_CALLS]} calls failed" if e else None
                           for e, agg in zip(errors, aggs)], dtype=object),
        "parent": np.array([names_arr[p - 1] if p > 0 else None for p in parents], dtype=object),
        "depth": np.array([agg[S_DEPTH] for agg in aggs], dtype="i8"),
        "scope": np.where(flags & THREAD_SCOPE, "thread", "process").astype(object),
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


def log_columns(log: _records.Log = LOG, pid: int | None = None) -> Columns:
    """All results of this process: call rows, then summary rows, energy derived."""
    summary = {k: list(v) for k, v in list(log.summary.items())}
    rows = log.take_rows()
    units = dict(log.units)
    meters = dict(log.meters)
    cols = raw_columns(rows, units, list(log.names), list(log.errors), pid)
    if summary:
        extra = summary_columns(summary, list(log.names), pid)
        cols = {k: np.concatenate([cols[k], extra[k]]) for k in cols}
    return add_energy(cols, meters)


def measurement_from_row(row: bytes, units: float | None, meters: MeterReading | None) -> Measurement:
    """The Measurement of one packed row and its side data (the context manager's ``m.result``)."""
    seq = ROW.unpack(row)[0]
    cols = raw_columns(row, {seq: units} if units is not None else {}, list(LOG.names),
                       list(LOG.errors), os.getpid())
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
        for f in ("peak_rss_bytes", "rss_delta_bytes"):
            if kw[f] is not None:
                kw[f] = int(kw[f])
        ns = int(cols["started_at"][i].astype("datetime64[ns]").astype("i8"))
        kw["started_at"] = datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)
        out.append(Measurement(**kw))
    return out
