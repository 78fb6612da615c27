"""From raw rows to columns: the numpy columns of ``frugal.results()``, and Measurement objects.

Energy and carbon are derived here, when results are read, from the raw fields and the
settings that were in force when each call was measured (``frugal.energy.model.derive``).
A column dict maps each Measurement field to an array, plus ``_seq`` (each row's identity,
for its side data) and ``_settings_id``. Every step is vectorised over whole columns: the
packed rows are read in place by numpy, text columns are their interned tables indexed by
id; no Python object is made per row. pandas is needed only in ``frugal.frames.frame``.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from frugal.core import arrays as _arrays
from frugal.core import rows as _records
from frugal.core.rows import (
    CHILDREN, EPOCH_NS, LOG, NO_SPLIT, PEAK_KNOWN, ROW, ROW_FIELDS, RSS_KNOWN, S_CALLS, S_CPU, S_DEPTH, S_ERRORS,
    S_FLAGS, S_MAX, S_MIN, S_PARENT, S_RSS, S_SETTINGS, S_T0, S_UNITS, S_WALL, STATUS_MASK,
    STATUS_NAMES, TASK_SCOPE, THREAD_SCOPE,
)
from frugal.energy.model import DERIVED_NEW, derive_coded
from frugal.energy.row import OUTPUTS
from frugal.measurement import FIELDS, Measurement
from frugal.units import MEMORY, MEMORY_FALLBACK

if TYPE_CHECKING:
    from frugal.core.rows import MeterReading
    from frugal.machine.hardware import Machine

Columns = dict[str, Any]
"""Column name -> numpy array (or list), one entry per row."""

# The packed row read in place by numpy: struct's codes are numpy's, "<" packs without padding.
ROW_DTYPE = np.dtype([(name, "<" + code) for name, code, _, _ in ROW_FIELDS])
assert ROW_DTYPE.itemsize == ROW.size

Fields = dict[str, Any]
"""Packed rows decoded: the array names of ``_DECODE`` -> one numpy array each."""

BLOCK_ROWS = 4096
"""Rows taken apart at a time (about 250 KB): every field of a block is read while the block is in
cache, so the log's memory is read once and not once per field."""

ENERGY_FIELDS = OUTPUTS
MEMORY_FIELDS = ("peak_rss_bytes", "rss_delta_bytes", "rss_start_bytes", "peak_added_bytes")
_SCOPES = ["process", "thread", "task", "task"]
_STATUS = list(STATUS_NAMES + ("?",))


class Text:
    """A text column as the log keeps names: integer codes into a table of labels (None for
    missing). No Python object per row: frames, the store and filters work on the codes; a
    label is read only when one row is (``text[i]``)."""

    __slots__ = ("codes", "labels")

    def __init__(self, codes: Any, labels: Any) -> None:
        self.codes: np.ndarray = np.asarray(codes)
        self.labels: list[Any] = list(labels)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, np.integer)):
            return self.labels[int(self.codes[key])]
        return Text(self.codes[key], self.labels)

    def objects(self) -> np.ndarray:
        """The column as an object array of str and None."""
        table = np.empty(len(self.labels), dtype=object)
        table[:] = self.labels
        values: np.ndarray = table[self.codes]
        return values

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.objects()

    def tolist(self) -> list[Any]:
        return [self.labels[c] for c in self.codes.tolist()]

    def used(self) -> Text:
        """The same column with only the labels it uses (in order of their codes)."""
        if len(self.labels) <= 1:
            return self
        present = np.flatnonzero(np.bincount(self.codes, minlength=len(self.labels)))
        if len(present) == len(self.labels):
            return self
        remap = np.zeros(len(self.labels), dtype="i8")
        remap[present] = np.arange(len(present))
        return Text(remap[self.codes], [self.labels[i] for i in present.tolist()])

    @staticmethod
    def concat(parts: list[Any]) -> Text:
        """Columns one after the other (Text or arrays of str and None), their tables merged."""
        table: dict[Any, int] = {}
        codes = []
        for part in parts:
            text = part if isinstance(part, Text) else text_of(part)
            remap = np.array([table.setdefault(label, len(table)) for label in text.labels] or [0], dtype="i8")
            codes.append(remap[text.codes] if len(text.codes) else np.zeros(0, dtype="i8"))
        return Text(np.concatenate(codes) if codes else np.zeros(0, dtype="i8"), list(table))


def text_of(values: Any) -> Text:
    """Any text column as Text (labels in order of first appearance)."""
    if isinstance(values, Text):
        return values
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    labels = list(dict.fromkeys(items))
    if len(labels) <= 1:
        return Text(np.zeros(len(items), dtype="i8"), labels)
    index = {label: i for i, label in enumerate(labels)}
    return Text(np.fromiter(map(index.__getitem__, items), dtype="i8", count=len(items)), labels)


def memory_column(columns: Any) -> str:
    """The column shown and compared as memory in ``columns`` (a column dict or a DataFrame):
    ``peak_added_bytes`` where it holds a value, else ``peak_rss_bytes``."""
    if MEMORY in columns:
        values = columns[MEMORY]
        # a pandas column turns its missing values (pd.NA) into NaN itself; numpy reads None as NaN
        floats = (values.to_numpy(dtype="f8", na_value=np.nan) if hasattr(values, "to_numpy")
                  else np.asarray(values, dtype="f8"))
        if not np.isnan(floats).all():
            return MEMORY
    return MEMORY_FALLBACK


def _known(values: np.ndarray, known: Any, all_known: bool) -> np.ndarray:
    """Floats, NaN where not ``known`` (one pass less when all are)."""
    if all_known:
        return values
    out: np.ndarray = np.where(known, values, np.nan)
    return out


def _filled(values: np.ndarray, value: Any) -> np.ndarray:
    values.fill(value)
    return values


# What each value of the flags byte says, looked up in one pass over a column.
_FLAGS = np.arange(256)
_SCOPE_CODE = ((_FLAGS & THREAD_SCOPE) != 0) + 2 * ((_FLAGS & TASK_SCOPE) != 0)
_STATUS_CODE = _FLAGS & STATUS_MASK


def scopes(flags: np.ndarray) -> Text:
    """The ``scope`` column of packed flags: "process", "thread" or "task"."""
    return Text(_SCOPE_CODE[flags], _SCOPES)


# How a unit of the packed row (``ROW_FIELDS``) is decoded: (the array's unit, which replaces the
# field's in its name, dtype, operation, operand). A unit not here is copied as it is packed.
_READ: dict[str, tuple[str | None, str, Any, Any]] = {
    "perf_counter_ns": ("utc_ns", "i8", np.add, EPOCH_NS),
    "ns": ("s", "f8", np.divide, 1e9),
    "KiB": ("bytes", "f8", np.multiply, 1024.0),
    "count": (None, "i8", None, None),      # int64 like every count of a frame (depth, calls)
}


def _decoding(name: str, code: str, unit: str) -> tuple[str, str, np.dtype[Any], Any, Any]:
    """How field ``name`` becomes an array: (field, array, dtype, operation, operand)."""
    suffix, dtype, operation, operand = _READ.get(unit, (None, code, None, None))
    array = name if suffix is None else f"{name.rpartition('_')[0]}_{suffix}"
    return name, array, np.dtype(dtype), operation, operand


# The operation runs on each block of rows while the block is in cache, into the array itself.
_DECODE = tuple(_decoding(name, code, unit) for name, code, unit, _ in ROW_FIELDS)


def _empty_fields(n: int, spare: list[np.ndarray] | None = None, extra: int = 0) -> Fields:
    """Arrays for the decoded fields; those of 8 bytes an item are rows of one block (``_arrays``),
    with ``extra`` more rows of it put in ``spare``."""
    wide = [(array, dtype) for _, array, dtype, _, _ in _DECODE if np.dtype(dtype).itemsize == 8]
    block = _arrays.block(len(wide), extra, n, spare)
    fields = {array: row.view(dtype) for (array, dtype), row in zip(wide, block)}
    fields.update({array: np.empty(n, dtype=dtype) for _, array, dtype, _, _ in _DECODE if array not in fields})
    return fields


def _fill(fields: Fields, block: np.ndarray, first: int) -> None:
    end = first + len(block)
    for field, array, _, operation, operand in _DECODE:
        if operation is None:
            fields[array][first:end] = block[field]
        else:
            operation(block[field], operand, out=fields[array][first:end])


def unpack(rows: bytes | bytearray) -> Fields:
    """Packed rows decoded into one array per field (``_DECODE``), a block at a time."""
    a = np.frombuffer(rows, dtype=ROW_DTYPE)
    fields = _empty_fields(len(a))
    for first in range(0, len(a), BLOCK_ROWS):
        _fill(fields, a[first:first + BLOCK_ROWS], first)
    return fields


def log_fields(log: _records.Log, spare: list[np.ndarray] | None = None, extra: int = 0) -> Fields:
    """The rows of ``log`` decoded, each piece while it is in cache (``Log.scan``); ``extra``
    more rows of their block are put in ``spare`` (for the columns made from them)."""
    fields = _empty_fields(0)

    def visit(piece: bytearray, first: int, total: int) -> None:
        nonlocal fields
        if first == 0:
            fields = _empty_fields(total, spare, extra)
        _fill(fields, np.frombuffer(piece, dtype=ROW_DTYPE), first)

    log.scan(visit, BLOCK_ROWS * ROW.size)
    return fields


def own_names(fields: Fields, names_of: Callable[[list[int]], list[str]]) -> list[str]:
    """The names that decoded rows use (as a region and as a parent), looked up with
    ``names_of(ids)`` (``Log.names_of``); their ``name_id`` and ``parent_id`` are renumbered in
    place to index that list, as ``raw_columns`` reads them. A batch then costs in proportion to
    its rows, not to every name interned so far (a name per call makes millions)."""
    name_id, parent_id = fields["name_id"], fields["parent_id"]
    has_parent = parent_id > 0
    ids = np.unique(np.concatenate([name_id, parent_id[has_parent] - 1]))
    name_id[:] = np.searchsorted(ids, name_id)
    parent_id[has_parent] = np.searchsorted(ids, parent_id[has_parent] - 1) + 1
    return names_of(ids.tolist())


def raw_columns(rows: bytes | Fields, units: dict[int, float], names: list[str],
                errors: list[str], pid: int | None, spare: list[np.ndarray] | None = None) -> Columns:
    """Packed rows (or what ``unpack`` decoded of them, which becomes the columns' own memory)
    as named columns (numpy arrays), energy not yet derived; the new ones are taken from
    ``spare`` while it lasts (``_arrays.rows``)."""
    a = rows if isinstance(rows, dict) else unpack(rows)
    n = len(a["seq"])
    flags = a["flags"]
    # Most logs hold few kinds of rows: what every row says is known from two reductions.
    any_flag = int(np.bitwise_or.reduce(flags)) if n else 0
    all_flags = int(np.bitwise_and.reduce(flags)) if n else 0xFF
    uniform = n > 0 and any_flag == all_flags
    wall, user, system = a["wall_s"], a["cpu_user_s"], a["cpu_system_s"]
    cpu, util, unit_values, added, calls, pids = _arrays.rows(RAW_NEW, n, spare=spare)
    np.add(user, system, out=cpu)
    if any_flag & NO_SPLIT:         # one clock without a split: the total is in the user slot
        no_split = (flags & NO_SPLIT) != 0
        cpu[no_split] = user[no_split]
        user[no_split] = system[no_split] = np.nan
    all_peak, all_rss = bool(all_flags & PEAK_KNOWN), bool(all_flags & RSS_KNOWN)
    peak_known = all_peak or (flags & PEAK_KNOWN) != 0
    rss_known = all_rss or (flags & RSS_KNOWN) != 0
    peak, start = a["peak_bytes"], a["rss0_bytes"]
    np.maximum(np.subtract(peak, start, out=added), 0.0, out=added)
    seq = a["seq"]
    if units:
        unit_values[:] = np.fromiter((units.get(s, np.nan) for s in seq.tolist()), dtype="f8", count=n)
    else:
        unit_values.fill(np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(cpu, wall, out=util)
    timed = wall > 0
    if not timed.all():
        util[~timed] = np.nan
    if uniform:                      # one kind of row: constant columns cost nothing
        status = Text(np.zeros(n, dtype="u1"), [_STATUS[_STATUS_CODE[any_flag]]])
        scope = Text(np.zeros(n, dtype="u1"), [_SCOPES[_SCOPE_CODE[any_flag]]])
        children = np.full(n, bool(any_flag & CHILDREN))
    else:
        status, scope, children = Text(_STATUS_CODE[flags], _STATUS), scopes(flags), (flags & CHILDREN) != 0
    return {
        "name": Text(a["name_id"], names + [""]),
        "started_at": a["t0_utc_ns"].view("datetime64[ns]"),
        "wall_s": wall,
        "cpu_user_s": user,
        "cpu_system_s": system,
        "cpu_s": cpu,
        "cpu_util": util,
        "peak_rss_bytes": _known(peak, peak_known, all_peak),
        "rss_delta_bytes": _known(a["rss_delta_bytes"], rss_known, all_rss),
        "rss_start_bytes": _known(start, rss_known, all_rss),
        "peak_added_bytes": _known(added, peak_known & rss_known, all_peak and all_rss),
        "units": unit_values,
        "status": status,
        "error": Text(a["error_id"], [None] + errors[1:]),
        "parent": Text(a["parent_id"], [None] + names),
        "depth": a["depth"],
        "scope": scope,
        "children": children,
        "calls": _filled(calls.view("i8"), 1),
        "wall_min_s": wall,
        "wall_max_s": wall,
        "pid": _filled(pids.view("i8"), -1 if pid is None else pid),
        # internal, for derivation
        "_seq": seq,
        "_settings_id": a["settings_id"],
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
        "parent": Text(parents, [None] + names),
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


def add_energy(cols: Columns, meters: dict[int, MeterReading], machine: Machine | None = None,
               spare: list[np.ndarray] | None = None) -> Columns:
    """Fill the energy and carbon columns from the raw ones (``frugal.energy.model.derive``);
    ``meters`` maps a row's ``_seq`` to its meter readings; ``machine``: the one they were
    measured on, this one by default; ``spare``: rows to make the new columns in. Text columns
    come as Text."""
    derived, labels = derive_coded(cols, meters, machine, spare)
    cols.update(derived)
    for field, table in labels.items():
        cols[field] = Text(derived[field], table)
    return cols


def concat(parts: list[Columns]) -> Columns:
    """Column dicts one after the other (the keys of the first); text stays Text."""
    if len(parts) == 1:
        return parts[0]
    return {k: Text.concat([p[k] for p in parts]) if any(isinstance(p[k], Text) for p in parts)
            else np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}


RAW_NEW = 6
"""Arrays that ``raw_columns`` makes beside the decoded fields."""


def log_columns(log: _records.Log = LOG, pid: int | None = None, spare: list[np.ndarray] | None = None,
                extra: int = 0) -> Columns:
    """All results of this process: call rows, then summary rows, energy derived.

    With ``spare`` (a list), the decoded rows, the columns made from them and ``extra`` more
    arrays are rows of one block; what is left of them is in ``spare`` (``_arrays``)."""
    summary = {k: list(v) for k, v in list(log.summary.items())}
    if spare is not None:
        extra += RAW_NEW + DERIVED_NEW
    rows = log_fields(log, spare, extra)
    units = dict(log.units)
    meters = dict(log.meters)
    names = log.names
    cols = raw_columns(rows, units, names, log.errors, pid, spare)
    if summary:
        cols = concat([cols, summary_columns(summary, names, pid)])
    return add_energy(cols, meters, spare=spare)


def measurement_from_row(row: bytes, units: float | None, meters: MeterReading | None) -> Measurement:
    """The Measurement of one packed row and its side data (the context manager's ``m.result``)."""
    seq = ROW.unpack(row)[0]
    fields = unpack(row)
    names = own_names(fields, LOG.names_of)
    cols = raw_columns(fields, {seq: units} if units is not None else {}, names, LOG.errors, os.getpid())
    cols = add_energy(cols, {seq: meters} if meters is not None else {})
    return measurements(cols)[0]


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


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
        # whole microseconds, truncated as pandas' Timestamp.to_pydatetime does (no float rounding)
        kw["started_at"] = _EPOCH + timedelta(microseconds=ns // 1000)
        out.append(Measurement(**kw))
    return out
